"""A run killed at any moment leaves either its previous complete results or a folder
without a manifest, never a manifest over a mix; the rerun gives the same bytes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from simulator.records import check_results

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "experiments/responsiveness.py", "--adapter", "popularity",
           "--adapter", "random", "--n-users", "300", "--k", "20", "--n-resamples", "300",
           "--no-progress"]  # fmt: skip
TABLES = ("responsiveness.csv", "per_user.csv.gz")


def _run(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [*COMMAND, "--out", str(out), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_sigterm_at_random_moments_never_leaves_a_mixed_folder(tmp_path):
    clean = tmp_path / "clean"
    start = time.perf_counter()
    assert _run(clean).wait(timeout=300) == 0
    seconds = time.perf_counter() - start
    check_results(clean, "run.json")
    out = tmp_path / "out"
    assert _run(out).wait(timeout=300) == 0
    # Kill overwriting runs at seeded random moments across a whole run's duration.
    # They use another seed, so their files differ from the previous run's: a mix of
    # old and new files would not match one manifest.
    for delay in np.random.default_rng(0).uniform(0.2, 1.1, size=6) * seconds:
        process = _run(out, "--overwrite", "--seed", "1")
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)
        if (out / "run.json").exists():
            check_results(out, "run.json")  # complete: every listed file is the one listed
    assert _run(out, "--overwrite").wait(timeout=300) == 0
    check_results(out, "run.json")
    for name in TABLES:
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name


def test_a_changed_or_missing_file_is_told_apart(tmp_path):
    from simulator.records import begin_results, finish_results

    begin_results(tmp_path, "run.json")
    (tmp_path / "a.csv").write_text("1\n")
    finish_results(tmp_path, "run.json", {"x": 1}, [tmp_path / "a.csv"])
    assert check_results(tmp_path, "run.json")["x"] == 1
    (tmp_path / "a.csv").write_text("2\n")
    with pytest.raises(
        ValueError, match=r"a.csv is not the file run.json lists \(a mixed folder\)"
    ):
        check_results(tmp_path, "run.json")
    begin_results(tmp_path, "run.json")
    with pytest.raises(ValueError, match=r"holds no run\.json: its run did not finish"):
        check_results(tmp_path, "run.json")
