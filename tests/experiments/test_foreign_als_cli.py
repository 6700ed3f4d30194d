"""experiments/foreign_als.py: implicit's ALS measured end to end, on a hand-made data set."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.records import check_results

from .conftest import load_cli, write_ml1m_ratings

pytest.importorskip("implicit")

FAST = ["--factors", "4", "--iterations", "3", "--k", "4", "--n-resamples", "200", "--no-progress"]


@pytest.fixture(scope="module")
def cli():
    return load_cli("foreign_als")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A data set in the ML-1M folder format: 60 users, 40 movies, 5 directors."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("ml1m-format")
    genres = ["Action", "Comedy", "Drama", "Horror"]
    pd.DataFrame(
        {
            "movie_id": np.arange(1, 41),
            "title": [f"Movie {i}" for i in range(1, 41)],
            "genres": [genres[i % 4] + ("|Sci-Fi" if i % 3 == 0 else "") for i in range(40)],
            "director_id": [f"d{i % 5}" for i in range(40)],
            "director_name": [f"Director {i % 5}" for i in range(40)],
        }
    ).to_csv(path / "items.csv", index=False)
    write_ml1m_ratings(path, rng, n_users=60, n_movies=40, lengths=(6, 12))
    return path


def _run(cli, folder, out, *args):
    return cli.main(["--dataset", "ml1m", "--data", str(folder), "--out", str(out), *FAST, *args])


def test_writes_the_table_and_a_manifest_and_repeats_itself(cli, folder, tmp_path, capsys):
    assert _run(cli, folder, tmp_path / "a") == 0
    printed = capsys.readouterr().out
    record = check_results(tmp_path / "a", "foreign_als.json")
    assert sorted(record["files"]) == [
        "foreign_als.csv",
        "foreign_als.md",
        "heldout.csv",
        "responsiveness/run.json",
    ]
    table = pd.read_csv(tmp_path / "a" / "foreign_als.csv")
    assert table["model"].tolist() == [
        "popularity",
        "implicit-als-ignore",
        "implicit-als-drop",
        "implicit-als-negative",
    ]
    # Blind to the dislike: exactly no change; popularity likewise.
    blind = table.set_index("model").loc[["popularity", "implicit-als-ignore"]]
    assert (blind[["content change", "creator change"]] == 0).all().all()
    assert table["ndcg10"].between(0, 1).all()
    assert (tmp_path / "a" / "foreign_als.md").read_text() in printed
    assert record["seed"] == 0 and record["versions"]["implicit"] != "not installed"
    # The same command again gives the same bytes.
    assert _run(cli, folder, tmp_path / "b") == 0
    for name in ("foreign_als.csv", "heldout.csv", "responsiveness/per_user.csv.gz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_one_mode_and_one_line_errors(cli, folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        _run(cli, folder, out, "--dislike", "negative", "--dislike-alpha", "9", "--no-heldout") == 0
    )
    table = pd.read_csv(out / "foreign_als.csv")
    assert table["model"].tolist() == ["popularity", "implicit-als-negative"]
    assert "ndcg10" not in table
    capsys.readouterr()
    assert _run(cli, folder, out) == 2  # results there, no --overwrite
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "--overwrite" in error and error.count("\n") == 1
    assert _run(cli, folder, tmp_path / "x", "--factors", "0") == 2
    assert "--factors: must be >= 1" in capsys.readouterr().err
