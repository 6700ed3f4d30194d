"""experiments/fit_world.py: a preset, a table given by column names, and one-line errors."""

import json

import numpy as np
import pandas as pd
import pytest

from recommenders.datasets.presets import preset_folder
from tests.experiments.conftest import load_cli

cli = load_cli("fit_world")
FAST = ["--max-iter", "40", "--n-factors", "2", "--no-progress", "--no-statistics"]


def write_tables(folder, n_users=30, missing_item=False, genres=True):
    """A MovieLens-like pair of CSVs under other column names, with half the directors."""
    rng = np.random.default_rng(1)
    rows = []
    for user in range(n_users):
        movies = rng.choice(np.arange(100, 140), size=10, replace=False)
        for t, movie in enumerate(movies):
            rows.append((user + 7, int(movie), int(rng.integers(1, 6)), 1_000_000 + 60 * t))
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "stars", "ts"])
    movies = pd.DataFrame({"movieId": np.arange(100, 140)})
    if missing_item:
        movies = movies.iloc[1:]
    movies["genres"] = ["Drama|Comedy" if m % 2 else "Horror" for m in movies["movieId"]]
    if not genres:
        movies["genres"] = ""
    movies["director"] = [f"d{m % 6}" if m % 3 else None for m in movies["movieId"]]
    ratings.to_csv(folder / "ratings.csv", index=False)
    movies.to_csv(folder / "movies.csv", index=False)
    return [
        "--interactions", str(folder / "ratings.csv"), "--user", "userId", "--item", "movieId",
        "--rating", "stars", "--order", "ts", "--order-kind", "timestamp",
        "--items", str(folder / "movies.csv"), "--item-id", "movieId", "--clusters", "genres",
        "--creator", "director",
    ]  # fmt: skip


def test_a_table_given_by_column_names(tmp_path, capsys):
    args = write_tables(tmp_path)
    out = tmp_path / "fit"
    with_statistics = [a for a in FAST if a != "--no-statistics"]
    assert cli.main([*args, *with_statistics, "--out", str(out), "--baselines", "bias-only"]) == 0
    statistics = pd.read_csv(out / "statistics.csv").set_index("statistic")
    assert list(statistics.columns) == ["real", "fitted", "fitted, gamma_D = 0", "default world"]
    assert statistics.loc["n_events", "real"] == statistics.loc["n_events", "fitted"]
    for name in ("response_model.json", "fidelity.csv", "calibration.csv", "fidelity.md"):
        assert (out / name).is_file(), name
    assert (out / "reliability.png").is_file() and (out / "run.json").is_file()
    metrics = pd.read_csv(out / "fidelity.csv")
    assert set(metrics["model"]) == {"fitted", "bias-only"}
    model = json.loads((out / "response_model.json").read_text())
    assert set(model["creator_disliked_before"]) >= {"log_odds", "ci95"}
    assert "| dislike_log_loss |" in capsys.readouterr().out
    # A rerun refuses to overwrite unless asked.
    assert cli.main([*args, *FAST, "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err


def test_ml100k_has_no_creator_effect_to_report(tmp_path):
    if not preset_folder("ml100k").is_dir():
        pytest.skip(f"{preset_folder('ml100k')} is absent (set RESP_DATA_DIR)")
    out = tmp_path / "fit"
    code = cli.main(["--dataset", "ml100k", *FAST, "--baselines", "none", "--out", str(out)])
    assert code == 0
    model = json.loads((out / "response_model.json").read_text())
    assert model["creator_disliked_before"] == {
        "unavailable": "no training event has this covariate"
    }
    assert "unavailable" in (out / "fidelity.md").read_text()


@pytest.mark.parametrize(
    "change, message",
    [
        (["--holdout", "0"], "--holdout must be in (0, 1), got 0.0"),
        (["--holdout", "1.5"], "--holdout must be in (0, 1), got 1.5"),
        (["--baselines", "magic"], "--baselines: unknown ['magic']"),
        (["--max-iter", "0"], "max_iter must be >= 1, got 0"),
        (["--threads", "0"], "--threads must be >= 1, got 0"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, change, message):
    args = write_tables(tmp_path)
    assert cli.main([*args, *FAST, *change, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "tables, message",
    [
        ({"n_users": 1}, "too little to fit a response model: 1 user(s)"),
        ({"missing_item": True}, "has item 100 in row"),
        ({"genres": False}, "no item has a content cluster"),
    ],
)
def test_bad_data_is_a_one_line_error(tmp_path, capsys, tables, message):
    args = write_tables(tmp_path, **tables)
    assert cli.main([*args, *FAST, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
