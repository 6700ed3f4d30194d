"""``responsiveness.py`` in shards: the files of an unsharded run, whatever the shard
count, executor or order the shards ran in; a run killed with SIGTERM resumes."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--adapter", "popularity", "--adapter", "filter:itemknn", "--n-users", "90", "--k", "6",
         "--n-resamples", "300", "--no-progress"]  # fmt: skip
TABLES = ("responsiveness.csv", "per_user.csv.gz")


def tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory, responsiveness_cli):
    out = tmp_path_factory.mktemp("unsharded")
    assert responsiveness_cli.main([*SMALL, "--out", str(out)]) == 0
    return tables(out)


@pytest.mark.parametrize(
    "extra",
    [["--shards", "1"], ["--shards", "4"], ["--shards", "90"],
     ["--shards", "5", "--executor", "processes", "--workers", "2"]],
    ids=["1", "4", "90", "processes"],
)  # fmt: skip
def test_sharded_tables_are_byte_identical(responsiveness_cli, tmp_path, unsharded, extra):
    out = tmp_path / "run"
    assert responsiveness_cli.main([*SMALL, *extra, "--out", str(out)]) == 0
    assert tables(out) == unsharded


def test_ray_tables_are_byte_identical(responsiveness_cli, tmp_path, unsharded, capsys):
    pytest.importorskip("ray")
    out = tmp_path / "run"
    code = responsiveness_cli.main(
        [*SMALL, "--executor", "ray", "--workers", "2", "--out", str(out)]
    )
    assert code == 0
    assert tables(out) == unsharded
    assert "shards: 8 measured, 0 kept" in capsys.readouterr().err  # 4 per worker


def test_shards_run_one_at_a_time_then_merge(responsiveness_cli, tmp_path, unsharded, capsys):
    out = tmp_path / "run"
    for shard in ("3/3", "1/3"):
        assert responsiveness_cli.main([*SMALL, "--shard", shard, "--out", str(out)]) == 0
        assert f"shard {shard} written" in capsys.readouterr().out
        assert not (out / "responsiveness.csv").exists()
    assert responsiveness_cli.main([*SMALL, "--shard", "2/3", "--out", str(out)]) == 0
    assert tables(out) == unsharded
    assert "shards: 1 measured, 0 kept" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--shard", "0/3"], "argument --shard: I/N needs 1 <= I <= N, got '0/3'"),
        (["--shard", "2"], "argument --shard: must be I/N, e.g. 3/10, got '2'"),
        (["--shards", "0"], "argument --shards: must be >= 1, got 0"),
        (["--shards", "91"], r"shards must be in \[1, n_users = 90\], got 91"),
        (["--workers", "2"], "--workers 2 needs --executor processes or ray"),
        (["--workers", "x", "--executor", "ray"], "argument --workers: must be a whole number"),
    ],
)
def test_bad_shard_arguments_are_one_line_errors(
    responsiveness_cli, tmp_path, capsys, extra, message
):
    assert responsiveness_cli.main([*SMALL, *extra, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err


def test_shards_of_another_run_are_refused(responsiveness_cli, tmp_path, capsys):
    out = tmp_path / "run"
    assert responsiveness_cli.main([*SMALL, "--shard", "1/2", "--out", str(out)]) == 0
    capsys.readouterr()
    other = [*SMALL[:-1], "--horizon", "2", "--no-progress"]
    assert responsiveness_cli.main([*other, "--shard", "2/2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds shards of another run (it differs in: config)" in err


def _start(out: Path) -> subprocess.Popen:
    command = [
        sys.executable, "experiments/responsiveness.py", "--adapter", "popularity",
        "--adapter", "itemknn", "--n-users", "400", "--k", "20", "--n-resamples", "200",
        "--shards", "10", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("shard-*.npz")}


@pytest.mark.slow
def test_sigterm_mid_run_then_rerun_measures_only_the_rest(tmp_path):
    clean = tmp_path / "clean"
    whole = _start(clean)
    assert whole.wait(timeout=300) == 0, whole.stderr.read()
    out = tmp_path / "out"
    killed = _start(out)
    deadline = time.monotonic() + 300
    while len(_stamps(out / "shards")) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    killed.send_signal(signal.SIGTERM)
    assert killed.wait(timeout=60) == 128 + signal.SIGTERM, killed.stderr.read()
    before = _stamps(out / "shards")
    assert 3 <= len(before) < 10, "the run finished before it could be killed mid-way"
    assert not (out / "run.json").exists()
    assert not list((out / "shards").glob(".*.tmp*")), "a temporary file outlived the kill"
    rerun = _start(out)
    assert rerun.wait(timeout=300) == 0
    assert f"shards: {10 - len(before)} measured, {len(before)} kept" in rerun.stderr.read()
    after = _stamps(out / "shards")
    assert {name: after[name] for name in before} == before  # finished shards untouched
    assert tables(out) == tables(clean)
