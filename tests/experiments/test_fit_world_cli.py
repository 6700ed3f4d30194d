"""experiments/fit_world.py: a preset, a table given by column names, and one-line errors."""

import json

import numpy as np
import pandas as pd
import pytest

from recommenders.datasets.presets import preset_folder
from simulator.world import load_world
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
    assert list(statistics.columns) == [
        "real",
        "fitted",
        "fitted, gamma_D = 0",
        "fitted world, simulated choices",
        "default world",
    ]
    assert statistics.loc["n_users", "fitted world, simulated choices"] == 30
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
        (["--threads", "0"], "argument --threads: must be in [1, "),
        (["--threads", "1000000000"], "per core of this machine's"),
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


def test_the_fitted_world_runs_every_protocol(tmp_path, capsys):
    """fit_world.py writes world.npz (the table's catalogue, --n-users users) and
    responsiveness.py, live_ab.py and make_logs.py run in it with --world; the
    feedback-blind popularity adapter gives exactly 0 with CI [0, 0]."""
    out = tmp_path / "fit"
    code = cli.main(
        [
            *write_tables(tmp_path),
            *FAST,
            "--baselines",
            "none",
            "--n-users",
            "50",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    world = load_world(out / "world.npz")
    assert world.kind == "fitted" and world.n_users == 50
    np.testing.assert_array_equal(world.corpus.item_ids, np.arange(100, 140))
    record = json.loads((out / "run.json").read_text())
    assert record["world"]["fingerprint"] == world.fingerprint
    assert record["world"]["data"]["fingerprint"] == world.data_fingerprint
    capsys.readouterr()
    measured = tmp_path / "resp"
    code = load_cli("responsiveness").main(
        ["--world", str(out / "world.npz"), "--n-users", "50", "--k", "3", "--adapter",
         "popularity", "--adapter", "filter:popularity", "--n-resamples", "200",
         "--no-progress", "--out", str(measured)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(measured / "responsiveness.csv")
    blind = table[table["model"] == "popularity"]
    assert (blind[["relative_change", "ci_low", "ci_high"]].to_numpy() == 0).all()
    filtered = table[(table["model"] == "filter:popularity") & (table["kind"] == "creator")]
    assert filtered["relative_change"].iloc[0] == -1.0
    run = json.loads((measured / "run.json").read_text())
    assert run["world"]["kind"] == "fitted" and run["world"]["data"]["name"] == "ratings"
    live = tmp_path / "live"
    code = load_cli("live_ab").main(
        ["--world", str(out / "world.npz"), "--n-users", "30", "--days", "2",
         "--max-session", "5", "--arm", "baseline=popularity", "--arm",
         "random=random", "--n-resamples", "200", "--no-progress", "--out", str(live)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    logs = tmp_path / "logs"
    code = load_cli("make_logs").main(
        ["--world", str(out / "world.npz"), "--n-users", "20", "--n-steps", "8", "--out", str(logs)]
    )
    assert code == 0, capsys.readouterr().err
    assert load_world(logs / "world.npz").fingerprint == world.fingerprint
    assert len(pd.read_csv(logs / "interactions.csv.gz")) == 160
