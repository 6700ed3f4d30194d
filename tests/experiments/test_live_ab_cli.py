import json

import pandas as pd
import pytest

from agents import PopulationConfig
from simulator import CorpusConfig, World, WorldConfig

from .conftest import load_cli

SMALL = ["--n-users", "30", "--days", "2", "--max-session", "6", "--n-resamples", "200"]
FILES = [
    "live_ab_daily.csv",
    "live_ab_summary.csv",
    "live_ab_users.csv.gz",
    "live_ab.json",
    "live_ab.png",
    "live_ab.pdf",
]


@pytest.fixture(scope="module")
def cli():
    return load_cli("live_ab")


@pytest.fixture(scope="module")
def world_file(tmp_path_factory):
    config = WorldConfig(
        seed=2,
        corpus=CorpusConfig(n_items=200, n_clusters=5, n_creators=20),
        population=PopulationConfig(n_users=40),
    )
    return World.generate(config).save(tmp_path_factory.mktemp("world") / "world.npz")


def run(cli, world_file, out, *extra):
    return cli.main(
        [*SMALL, "--world", str(world_file), "--no-progress", "--out", str(out), *extra]
    )


def test_writes_every_file_and_prints_the_summary(cli, world_file, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--arm", "baseline=popularity", "--arm", "dislike_feature_label=filter:popularity"]
    assert run(cli, world_file, out, *args) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    summary = pd.read_csv(out / "live_ab_summary.csv")
    assert set(summary["arm"]) == {"dislike_feature_label"}
    paper = summary.set_index("metric")["paper"]
    assert paper["dislike_rate"] == -0.0244 and paper["repeat_dislike_rate"] == -0.096
    assert paper.drop(["dislike_rate", "repeat_dislike_rate"]).isna().all()
    daily = pd.read_csv(out / "live_ab_daily.csv")
    assert sorted(daily["day"].unique()) == [1, 2]
    users = pd.read_csv(out / "live_ab_users.csv.gz")
    assert len(users) == 2 * 2 * 30  # arms x days x users
    record = json.loads((out / "live_ab.json").read_text())
    assert record["seed"] == 0 and record["config"]["n_days"] == 2
    assert record["arms"]["dislike_feature_label"]["spec"] == "filter:popularity"
    assert record["daily_active_users"]["baseline"][0] == 30
    printed = capsys.readouterr().out
    assert "repeat_dislike_rate" in printed and "95% CI" in printed and "-2.44%" in printed


def test_same_seed_gives_byte_identical_csvs(cli, world_file, tmp_path):
    for name in ("a", "b"):
        assert run(cli, world_file, tmp_path / name, "--seed", "3") == 0
    for name in FILES[:3]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_refuses_to_overwrite_unless_asked(cli, world_file, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "live_ab_summary.csv").write_text("earlier results\n")
    assert run(cli, world_file, out) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--overwrite" in err and err.count("\n") == 1
    assert (out / "live_ab_summary.csv").read_text() == "earlier results\n"
    assert run(cli, world_file, out, "--overwrite") == 0
    assert "dislike_rate" in (out / "live_ab_summary.csv").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--arm", "baseline"], "--arm must be NAME=SPEC"),
        (["--arm", "baseline=popularity", "--arm", "baseline=random"], "named twice"),
        (["--arm", "a=popularity", "--arm", "b=random"], "baseline arm 'baseline' is not among"),
        (["--arm", "baseline=popularity", "--arm", "b=nope"], "unknown adapter 'nope'"),
        (["--days", "0"], "n_days must be >= 1"),
        (["--days", "40"], "exceeds the world's 200 items"),
        (["--arm", "baseline=popularity"], "need at least 2 arms"),
        (["--threads", "0"], "argument --threads: must be in [1, "),
        (["--threads", "1000000000"], "per core of this machine's"),
    ],
)
def test_bad_arguments_are_one_line_errors(cli, world_file, tmp_path, capsys, extra, message):
    assert run(cli, world_file, tmp_path / "x", *extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x" / "live_ab_summary.csv").exists()


def test_missing_world_file_is_a_one_line_error(cli, tmp_path, capsys):
    assert run(cli, tmp_path / "nope.npz", tmp_path / "x") == 2
    assert "does not exist" in capsys.readouterr().err


TABLES = ("live_ab_daily.csv", "live_ab_summary.csv", "live_ab_users.csv.gz")


@pytest.mark.parametrize(
    "extra",
    [("--shards", "4"), ("--shards", "3", "--executor", "processes", "--workers", "2")],
    ids=["local", "processes"],
)
def test_sharded_test_writes_the_same_tables(cli, world_file, tmp_path, extra):
    assert run(cli, world_file, tmp_path / "one") == 0
    assert run(cli, world_file, tmp_path / "sharded", *extra) == 0
    for name in TABLES:
        assert (tmp_path / "sharded" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_shards_one_at_a_time_then_merged(cli, world_file, tmp_path, capsys):
    assert run(cli, world_file, tmp_path / "one") == 0
    out = tmp_path / "sharded"
    assert run(cli, world_file, out, "--shard", "2/2") == 0
    assert "shard 2/2 written" in capsys.readouterr().out
    assert not (out / "live_ab.json").exists()
    assert run(cli, world_file, out, "--shard", "1/2") == 0
    for name in TABLES:
        assert (out / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_adapter_arguments_reach_sharded_arms(cli, world_file, tmp_path):
    """An arm's constructor arguments reach the shard workers: the sharded tables equal
    one process's, and differ from those of the arm without them."""
    arms = ["--arm", "baseline=popularity", "--arm", "treatment=random"]
    given = [*arms, "--adapter-arg", "random", "seed=7"]
    assert run(cli, world_file, tmp_path / "one", *given) == 0
    assert run(cli, world_file, tmp_path / "sharded", *given, "--shards", "3") == 0
    assert run(cli, world_file, tmp_path / "default", *arms) == 0
    for name in TABLES:
        assert (tmp_path / "sharded" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
    users = {
        out: pd.read_csv(tmp_path / out / "live_ab_users.csv.gz") for out in ("one", "default")
    }
    assert not users["one"].equals(users["default"])
