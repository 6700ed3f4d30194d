"""A data set the project has never seen, given only by its column names, through every command
that reads data: real_responsiveness.py, train.py and the benchmark (ml1m.py).

The table is a renamed copy of (a sample of) MovieLens 100K with half-star ratings, a
timestamp order and extra columns the commands must not read; the errors are checked on
small hand-made tables so they run without the shared data.
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommenders.datasets import data_root, load_preset

from .conftest import load_cli

REAL = load_cli("real_responsiveness")
TRAIN = load_cli("train")
BENCHMARK = load_cli("ml1m")
N_USERS = 150

COLUMNS = [
    "--user", "uid", "--item", "mid", "--order", "ts", "--order-kind", "timestamp",
    "--rating", "stars", "--item-id", "mid", "--clusters", "genre_list", "--title", "name",
    "--min-rating", "0.5", "--rating-step", "0.5",
]  # fmt: skip
SCHEMA = {
    "interactions": "ratings.csv",
    "items": "movies.csv",
    "user": "uid",
    "item": "mid",
    "order": "ts",
    "order_kind": "timestamp",
    "rating": "stars",
    "item_id": "mid",
    "clusters": "genre_list",
    "title": "name",
    "rule": {"min_rating": 0.5, "step": 0.5},
}


@pytest.fixture(scope="module")
def own_data(tmp_path_factory) -> Path:
    """ratings.csv (uid, mid, stars, ts, note, source) and movies.csv (mid, name,
    genre_list, blank) from ML-100K's first users, a third of the ratings moved half a star
    down, so the scale is 0.5..5 in half stars."""
    if not (data_root() / "ml-100k").is_dir():
        pytest.skip(f"ML-100K not found under {data_root()} (shared/data is not on this machine)")
    data = load_preset("ml100k")
    log = data.log[data.log["user"] < N_USERS]
    stars = log["rating"].to_numpy(np.float64)
    stars[np.arange(len(stars)) % 3 == 0] -= 0.5
    folder = tmp_path_factory.mktemp("own-data")
    frame = pd.DataFrame(
        {
            "uid": data.user_ids[log["user"]] + 1000,
            "mid": data.item_ids[log["item"]],
            "stars": stars,
            # Seconds in the log's order; successive pairs share one (ties keep file order).
            "ts": 1_000_000_000 + 60 * (log["position"].to_numpy() // 2 * 2),
            "note": "",
            "source": "test",
        }
    )
    # Rows shuffled: the order column, not the file, orders each history.
    frame.sample(frac=1.0, random_state=0).to_csv(folder / "ratings.csv", index=False)
    items = data.items
    pd.DataFrame(
        {
            "mid": items["original_id"],
            "name": items["title"],
            "genre_list": ["|".join(data.cluster_names[c] for c in cs) for cs in items["clusters"]],
            "blank": "",
        }
    ).to_csv(folder / "movies.csv", index=False)
    (folder / "schema.json").write_text(json.dumps(SCHEMA))
    return folder


def tables(folder: Path) -> list[str]:
    return ["--interactions", str(folder / "ratings.csv"), "--items", str(folder / "movies.csv")]


def real_run(folder: Path, out: Path, *options: str) -> list[str]:
    return [
        *options,
        "--adapter", "popularity", "--k", "20", "--ratings", "5,0.5",
        "--n-resamples", "200", "--no-progress", "--out", str(out),
    ]  # fmt: skip


def test_real_responsiveness_on_a_table_given_by_column_names_or_a_schema(own_data, tmp_path):
    assert REAL.main(real_run(own_data, tmp_path / "cols", *tables(own_data), *COLUMNS)) == 0
    assert (
        REAL.main(
            real_run(own_data, tmp_path / "schema", "--schema", str(own_data / "schema.json"))
        )
        == 0
    )
    for name in ("responsiveness.csv", "per_user.csv.gz"):
        assert filecmp.cmp(tmp_path / "cols" / name, tmp_path / "schema" / name, shallow=False)
    summary = pd.read_csv(tmp_path / "cols" / "responsiveness.csv")
    assert set(summary["branch"]) == {"rating=0.5"} and summary["n"].max() > 0
    per_user = pd.read_csv(tmp_path / "cols" / "per_user.csv.gz")
    # Half stars survive as they are: x_k's real rating is read, not truncated.
    assert (per_user["x_k_rating"] % 1 == 0.5).any()
    record = json.loads((tmp_path / "cols" / "run.json").read_text())
    assert record["data"]["rule"]["step"] == 0.5


def test_train_then_measure_a_model_of_the_table(own_data, tmp_path):
    models = tmp_path / "models"
    argv = [*tables(own_data), *COLUMNS, "--variant", "dislike_feature_label", "--epochs", "1"]
    assert TRAIN.main([*argv, "--dim", "16", "--max-len", "20", "--out", str(models)]) == 0
    checkpoint = models / "gru-dislike_feature_label"
    out = tmp_path / "real"
    run = real_run(own_data, out, *tables(own_data), *COLUMNS, "--checkpoint", str(checkpoint))
    assert REAL.main(run) == 0  # the checkpoint's fingerprint is this table's
    summary = pd.read_csv(out / "responsiveness.csv")
    assert set(summary["model"]) == {"popularity", "gru-dislike_feature_label"}


def test_benchmark_on_the_table(own_data, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = [*tables(own_data), *COLUMNS, "--quick", "--models", "gru-ce,gru-ce-feature"]
    assert (
        BENCHMARK.main(
            [*argv, "--users", "80", "--real-k", "10", "--no-progress", "--out", str(out)]
        )
        == 0
    )
    table = pd.read_csv(out / "benchmark.csv")
    assert table["model"].tolist() == ["gru-ce", "gru-ce-feature"]
    assert table["published_ndcg10"].isna().all()  # ML-1M's anchors are not this table's
    assert table["ndcg10"].between(0, 1).all()
    record = json.loads((out / "run.json").read_text())
    assert record["data_source"]["schema"]["rating"] == "stars"
    assert record["benchmark"].startswith("ratings sequential")
    assert (out / "paired.csv").is_file() and (
        out / "responsiveness" / "responsiveness.csv"
    ).is_file()


# --- errors: one line, naming what was wrong -------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    pd.DataFrame(
        {
            "uid": [1, 1, 1, 2, 2, 2],
            "mid": [10, 11, 12, 10, 12, 11],
            "stars": [4.5, 2.0, 3.5, 5.0, 0.5, 1.0],
            "ts": [1, 2, 3, 1, 2, 3],
        }
    ).to_csv(folder / "ratings.csv", index=False)
    return folder


def error_of(cli, capsys, argv) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("cli", [REAL, TRAIN, BENCHMARK], ids=["real", "train", "benchmark"])
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--user", "uid", "--item", "mid", "--order", "ts", "--rating", "stars"],
            "'stars' has 4.5 in row 0, not on the rating rule's scale 1..5 in steps of 1 "
            "(half stars: a rule with min_rating 0.5 and step 0.5, on the command line "
            "--min-rating 0.5 --rating-step 0.5)",
        ),
        (
            ["--user", "user_id", "--item", "mid", "--order", "ts", "--rating", "stars"],
            "missing column(s) ['user_id'] (it has ['uid', 'mid', 'stars', 'ts'])",
        ),
        (
            ["--user", "uid", "--item", "mid", "--order", "ts", "--rating", "stars",
             "--rating-step", "0.75"],
            "step 0.75 does not divide the scale [1, 5]",
        ),
        (["--dataset", "ml100k"], "--dataset names a preset; --interactions / --schema"),
    ],
)  # fmt: skip
def test_bad_tables_and_options(cli, capsys, tiny, tmp_path, options, message):
    argv = ["--interactions", str(tiny / "ratings.csv"), *options, "--out", str(tmp_path / "o")]
    assert message in error_of(cli, capsys, argv)


def test_column_options_without_a_table_are_refused(capsys, tmp_path):
    err = error_of(REAL, capsys, ["--user", "uid", "--out", str(tmp_path / "o")])
    assert "--user describes an interaction table; give it with --interactions FILE" in err


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"interactions": "ratings.csv", "usr": "uid"}, "unknown schema key 'usr'"),
        ({"interactions": "ratings.csv", "rule": {"stp": 0.5}}, "rule: unknown field 'stp'"),
        ({"rating": "stars"}, "names no interactions table"),
        ({"interactions": 3}, "'interactions' must be a path"),
    ],
)
def test_bad_schema_files(capsys, tiny, tmp_path, schema, message):
    path = tiny / f"schema-{abs(hash(json.dumps(schema, sort_keys=True)))}.json"
    path.write_text(json.dumps(schema))
    assert message in error_of(REAL, capsys, ["--schema", str(path), "--out", str(tmp_path / "o")])


def test_yaml_schema_reads_like_json(tiny, tmp_path):
    yaml = pytest.importorskip("yaml")
    from recommenders.datasets import read_schema

    mapping = {"interactions": "ratings.csv", "user": "uid", "item": "mid", "order": "ts",
               "rating": "stars", "rule": {"min_rating": 0.5, "step": 0.5}}  # fmt: skip
    (tiny / "s.yaml").write_text(yaml.safe_dump(mapping))
    (tiny / "s.json").write_text(json.dumps(mapping))
    from_yaml, from_json = read_schema(tiny / "s.yaml"), read_schema(tiny / "s.json")
    assert from_yaml == from_json and from_yaml.interactions == tiny / "ratings.csv"
    data = from_yaml.schema.load(from_yaml.interactions)
    assert data.log["rating"].tolist() == [4.5, 2.0, 3.5, 5.0, 0.5, 1.0]
