import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommenders.datasets import data_root, load_ml1m

from .conftest import load_cli, write_ml1m_ratings

FAST = ["--n-resamples", "200", "--no-progress"]
FILES = [
    "per_user.csv.gz",
    "responsiveness.csv",
    "responsiveness.pdf",
    "responsiveness.png",
    "run.json",
]
DATA_DIR = data_root()


@pytest.fixture(scope="module")
def cli():
    return load_cli("real_responsiveness")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A hand-made data set in the ML-1M folder format: 25 users, 60 movies, 6 directors."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("ml1m-format")
    genres = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi"]
    pd.DataFrame(
        {
            "movie_id": np.arange(1, 61),
            "title": [f"Movie {i}" for i in range(1, 61)],
            "genres": [
                "|".join(rng.choice(genres, size=rng.integers(1, 3), replace=False))
                for _ in range(60)
            ],
            # Every 9th movie has no known director, as 1.6% do in ML-1M.
            "director_id": [None if i % 9 == 4 else f"d{i % 6}" for i in range(60)],
            "director_name": [None if i % 9 == 4 else f"Director {i % 6}" for i in range(60)],
        }
    ).to_csv(path / "items.csv", index=False)
    weights = np.linspace(2, 1, 60) / 90
    write_ml1m_ratings(path, rng, n_users=25, n_movies=60, lengths=(4, 11), weights=weights)
    return path


def _run(cli, folder, out, *args):
    return cli.main(["--data", str(folder), *FAST, "--out", str(out), *args])


def test_writes_every_output_and_the_reference_results(cli, folder, tmp_path, capsys):
    out = tmp_path / "run"
    code = _run(
        cli, folder, out, "--k", "4", "--adapter", "popularity", "--adapter", "filter:popularity"
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert (out / "responsiveness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "responsiveness.csv").set_index(["model", "kind"])
    popularity = table.loc["popularity"]
    assert (popularity[["relative_change", "ci_low", "ci_high"]] == 0.0).all().all()
    creator = table.loc[("filter:popularity", "creator")]
    assert (creator.relative_change, creator.ci_low, creator.ci_high) == (-1.0, -1.0, -1.0)
    assert set(table["step"]) == {5} and set(table["branch"]) == {"rating=1"}
    per_user = pd.read_csv(out / "per_user.csv.gz")
    assert len(per_user) == 2 * 25 * 2  # models x users (all have >= 4 events) x branches
    assert (per_user["repeats"] == 0).all()
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["k"] == 4 and record["config"]["ratings"] == [5, 1]
    assert record["branches"] == {"rating=5": "POSITIVE", "rating=1": "DISLIKE"}
    assert record["data"]["fingerprint"] == load_ml1m(folder).fingerprint
    assert record["users"]["users_measured"] == 25
    reference = per_user[(per_user["branch"] == "rating=5") & (per_user["model"] == "popularity")]
    unknown = int(reference["x_k_creator"].lt(0).sum())
    assert unknown > 0, "the hand-made data should have an x_k of unknown director"
    assert record["users"]["undefined"]["creator"] == unknown
    assert creator.n == 25 - unknown
    printed = capsys.readouterr().out
    assert "filter:popularity" in printed and "95% CI" in printed and "25 users measured" in printed


def test_refuses_to_overwrite_unless_asked(cli, folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(cli, folder, out, "--k", "4", "--adapter", "popularity") == 0
    capsys.readouterr()
    assert _run(cli, folder, out, "--k", "4", "--adapter", "popularity") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "--overwrite" in error and error.count("\n") == 1
    assert _run(cli, folder, out, "--k", "4", "--adapter", "popularity", "--overwrite") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--k", "0"], "k must be an integer >= 1 or None"),
        (["--k", "abc"], "--k must be a positive integer or 'last', got 'abc'"),
        (["--k", "99"], "no user has k = 99 events"),
        (["--adapter", "nope"], "unknown adapter 'nope'"),
        (["--ratings", "5,4"], "same feedback (5 -> POSITIVE, 4 -> POSITIVE)"),
        (["--data", "/nonexistent/ml-1m"], "/nonexistent/ml-1m not found"),
    ],
)
def test_one_line_errors(cli, folder, tmp_path, capsys, args, message):
    code = _run(cli, folder, tmp_path / "x", "--k", "4", *args)  # a later --k/--data wins
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and error.count("\n") == 1
    assert not (tmp_path / "x" / "responsiveness.csv").exists()


def test_adapter_arguments_reach_the_model_and_run_json(cli, folder, tmp_path):
    """``--adapter-arg`` reaches ``Class(corpus, **kwargs)`` on real histories too, and
    run.json records what was passed, so the run can be repeated from it."""
    spec = "tests.experiments.keyword_adapter:Shifted"
    plain, shifted = tmp_path / "plain", tmp_path / "shifted"
    assert _run(cli, folder, plain, "--k", "4", "--adapter", spec) == 0
    argv = ["--k", "4", "--adapter", spec, "--adapter-arg", spec, "offset=3"]
    assert _run(cli, folder, shifted, *argv) == 0
    assert "adapter_args" not in json.loads((plain / "run.json").read_text())
    assert json.loads((shifted / "run.json").read_text())["adapter_args"] == {spec: {"offset": 3}}
    # Popularity from rank 3 on is another slate: the same users, other counts.
    a, b = (pd.read_csv(out / "per_user.csv.gz") for out in (plain, shifted))
    assert a["user"].tolist() == b["user"].tolist()
    assert not a[["content", "creator"]].equals(b[["content", "creator"]])


def test_k_last_forks_every_user_at_their_own_last_event(cli, folder, tmp_path):
    out = tmp_path / "run"
    assert _run(cli, folder, out, "--k", "last", "--adapter", "filter:popularity") == 0
    per_user = pd.read_csv(out / "per_user.csv.gz")
    lengths = pd.read_csv(folder / "interactions.csv.gz").groupby("user_id").size()
    steps = per_user.drop_duplicates("user_id").set_index("user_id")["step"]
    pd.testing.assert_series_equal(steps.sort_index(), lengths + 1, check_names=False)
    assert set(pd.read_csv(out / "responsiveness.csv")["step"]) == {0}


def test_checkpoint_trained_on_this_data_only(cli, folder, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from recommenders.checkpoint import save_checkpoint
    from recommenders.models import ModelConfig, build_model
    from recommenders.variants import get_variant

    data = load_ml1m(folder)
    torch.manual_seed(0)
    model = build_model(ModelConfig(dim=8, max_len=12), data.n_items)
    blind = save_checkpoint(
        tmp_path / "gru-baseline", model, get_variant("baseline"), data.fingerprint
    )
    out = tmp_path / "run"
    assert _run(cli, folder, out, "--k", "4", "--checkpoint", str(blind)) == 0
    table = pd.read_csv(out / "responsiveness.csv")
    assert list(table["model"].unique()) == ["gru-baseline"]
    assert (table["relative_change"] == 0.0).all()  # feedback-blind: exactly 0
    other = save_checkpoint(tmp_path / "elsewhere", model, get_variant("baseline"), "0123abcd")
    capsys.readouterr()
    assert _run(cli, folder, tmp_path / "y", "--k", "4", "--checkpoint", str(other)) == 2
    error = capsys.readouterr().err
    assert "was trained on world 0123abcd" in error and error.count("\n") == 1


def _real(name: str) -> Path:
    path = DATA_DIR / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent (MovieLens is not shipped; set RESP_DATA_DIR to its folder)")
    return path


def test_real_ml1m_popularity_is_zero_and_the_filter_removes_the_director(cli, tmp_path):
    data = _real("ml-1m")
    out = tmp_path / "run"
    args = ["--n-users", "300", "--adapter", "popularity", "--adapter", "filter:popularity"]
    assert _run(cli, data, out, *args) == 0
    table = pd.read_csv(out / "responsiveness.csv").set_index(["model", "kind"])
    assert (table.loc["popularity", "relative_change"] == 0.0).all()
    creator = table.loc[("filter:popularity", "creator")]
    assert creator.relative_change == -1.0 and creator.mean_a > 0
    record = json.loads((out / "run.json").read_text())
    assert record["users"]["users_eligible"] == 4294  # ML-1M users with >= 50 ratings
    assert record["users"]["users_measured"] == 300


def test_real_ml100k_has_no_director_so_creator_is_undefined(cli, tmp_path):
    data = _real("ml-100k")
    out = tmp_path / "run"
    args = ["--dataset", "ml100k", "--n-users", "100", "--k", "last", "--adapter", "popularity"]
    assert _run(cli, data, out, *args) == 0
    table = pd.read_csv(out / "responsiveness.csv").set_index("kind")
    assert table.loc["creator", "n"] == 0 and np.isnan(table.loc["creator", "relative_change"])
    assert table.loc["content", "relative_change"] == 0.0
