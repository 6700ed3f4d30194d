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
RUNS = {
    # command, its manifest, the files that must come out byte-identical on a rerun
    "responsiveness": (
        ["experiments/responsiveness.py", "--adapter", "popularity", "--adapter", "random",
         "--n-users", "300", "--k", "20", "--n-resamples", "300", "--no-progress"],
        "run.json",
        ("responsiveness.csv", "per_user.csv.gz"),
    ),
    "make_logs": (
        ["experiments/make_logs.py", "--n-users", "300", "--n-steps", "20"],
        "logs.json",
        ("world.npz", "interactions.csv.gz"),
    ),
}  # fmt: skip


def _run(command: list[str], out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, *command, "--out", str(out), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_sigterm_at_random_moments_never_leaves_a_mixed_folder(tmp_path, name):
    command, manifest, tables = RUNS[name]
    clean = tmp_path / "clean"
    start = time.perf_counter()
    assert _run(command, clean).wait(timeout=300) == 0
    seconds = time.perf_counter() - start
    check_results(clean, manifest)
    out = tmp_path / "out"
    assert _run(command, out).wait(timeout=300) == 0
    # Kill overwriting runs at seeded random moments across a whole run's duration.
    # They use another seed, so their files differ from the previous run's: a mix of
    # old and new files would not match one manifest.
    for delay in np.random.default_rng(0).uniform(0.2, 1.1, size=6) * seconds:
        process = _run(command, out, "--overwrite", "--seed", "1")
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)
        if (out / manifest).exists():
            check_results(out, manifest)  # complete: every listed file is the one listed
    assert _run(command, out, "--overwrite").wait(timeout=300) == 0
    check_results(out, manifest)
    for table in tables:
        assert (out / table).read_bytes() == (clean / table).read_bytes(), table
