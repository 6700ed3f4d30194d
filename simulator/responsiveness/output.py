"""Writing a responsiveness run to disk: tables, run record, Fig 3b-style plots.

Files in the output folder (each written atomically):

* ``responsiveness.csv``: per model x branch x similarity kind x step:
  branch means, relative change, CI low/high, n, CI method;
* ``per_user.csv.gz``: one row per (model, user, branch, step);
* ``run.json``: full config, world fingerprint, package versions, seed,
  what each similarity kind counts, wall times;
* ``responsiveness.png`` / ``.pdf`` (and ``horizon.png`` / ``.pdf`` when the
  horizon is longer than one step).

CSV floats are written with a fixed format, so the same seed gives
byte-identical tables.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from recommenders.atomic import atomic_write_csv
from simulator import records
from simulator.records import begin_results, finish_results, package_versions, world_record
from simulator.responsiveness.plots import plot_horizon, plot_responsiveness
from simulator.responsiveness.simulated import ResponsivenessConfig, ResponsivenessRun
from simulator.similarity import SIMILARITY_KINDS
from simulator.world import AnyWorld

RESULT_FILES = ("responsiveness.csv", "per_user.csv.gz", "run.json")


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse to overwrite a responsiveness run's results silently (:data:`RESULT_FILES`)."""
    records.check_output_dir(out, overwrite, RESULT_FILES)


def summary_table(runs: list[ResponsivenessRun]) -> pd.DataFrame:
    return pd.concat([run.summary for run in runs], ignore_index=True)


def write_run(
    out: Path,
    runs: list[ResponsivenessRun],
    config: ResponsivenessConfig,
    world: AnyWorld,
    extra: dict | None = None,
) -> dict[str, Path]:
    """Write every result file of a comparison into ``out``; returns name -> path.

    ``run.json`` is the manifest: removed first, written last with each file's SHA-256
    (:func:`simulator.records.finish_results`), so an interrupted write never leaves a
    manifest over a mix of old and new files.
    """
    begin_results(out, "run.json")
    table = summary_table(runs)
    paths = {
        "responsiveness.csv": out / "responsiveness.csv",
        "per_user.csv.gz": out / "per_user.csv.gz",
    }
    atomic_write_csv(paths["responsiveness.csv"], table)
    per_user = pd.concat([run.per_user for run in runs], ignore_index=True)
    atomic_write_csv(paths["per_user.csv.gz"], per_user)
    record = {
        "command": sys.argv,
        "config": config.to_dict(),
        "world": world_record(world),
        "seed": config.seed,
        "similarity": {name: kind.description for name, kind in SIMILARITY_KINDS.items()},
        "versions": package_versions(),
        "models": {
            run.model: {
                "wall_seconds": run.wall_seconds,
                "user_steps": run.user_steps,
                "user_steps_per_second": run.user_steps / run.wall_seconds,
                "recommend_seconds": run.service.recommend_seconds,
                "recommend_calls": run.service.calls,
            }
            for run in runs
        },
        **(extra or {}),
    }
    title = (
        f"Responsiveness: {config.branches[1]} vs {config.branches[0]}, "
        f"k={config.k}, n={config.n_users}"
    )
    for path in plot_responsiveness(table, out / "responsiveness", title=title):
        paths[path.name] = path
    if config.horizon > 1:
        for path in plot_horizon(table, out / "horizon"):
            paths[path.name] = path
    paths["run.json"] = finish_results(out, "run.json", record, list(paths.values()))
    return paths


def _percent(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{100 * value:+.1f}%"


def _mean(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:.4f}"


def format_table(table: pd.DataFrame) -> str:
    """A readable text table: one line per model x branch x kind x step, in percent."""
    shown = pd.DataFrame(
        {
            "model": table["model"],
            "branch": table["branch"],
            "kind": table["kind"],
            "step": table["step"],
            "mean_a": table["mean_a"].map(_mean),
            "mean_b": table["mean_b"].map(_mean),
            "change": table["relative_change"].map(_percent),
            "95% CI": [
                "undefined"
                if math.isnan(lo) or math.isnan(hi)
                else f"[{_percent(lo)}, {_percent(hi)}]"
                for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
            "n": table["n"],
        }
    )
    return shown.to_string(index=False)
