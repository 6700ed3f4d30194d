"""Writing a simulated live A/B test to disk.

Files in the output folder, each written atomically (:mod:`recommenders.atomic`):

* ``live_ab_daily.csv``: relative change vs the baseline per arm x metric x day;
* ``live_ab_summary.csv``: the same pooled over all days, with the paper's
  value in ``paper`` (NaN where it reports none);
* ``live_ab_users.csv.gz``: the raw per-(arm, day, user) table;
* ``live_ab.json``: config, arms and their specs, seed, world, daily active
  users, package versions and wall times;
* ``live_ab.png`` / ``live_ab.pdf``: the Fig. 2-style plot.

CSV floats have a fixed format and the gzip header no timestamp, so the same
seed gives byte-identical CSVs (``live_ab.json`` holds wall times, so it differs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from recommenders.atomic import atomic_write_csv
from simulator.live_ab.plots import plot_live_ab
from simulator.live_ab.simulation import LiveABResult
from simulator.records import (
    OutputExistsError,
    begin_results,
    check_writable,
    finish_results,
    package_versions,
    world_record,
)
from simulator.world import AnyWorld

CSV_FILES = ("live_ab_daily.csv", "live_ab_summary.csv", "live_ab_users.csv.gz")
RESULT_FILES = (*CSV_FILES, "live_ab.json", "live_ab.png", "live_ab.pdf")


def check_live_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse to write into a non-empty folder (or onto a file) unless ``overwrite``;
    a folder holding only ``shards/`` is a sharded run resuming (its plan is checked by
    :func:`simulator.shards.prepare_folder`)."""
    out = Path(out)
    check_writable(out)
    if out.is_dir() and any(p.name != "shards" for p in out.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out} is not empty; pass --overwrite or choose another --out")


def write_live_ab(
    out: Path,
    result: LiveABResult,
    world: AnyWorld,
    specs: dict[str, str] | None = None,
    extra: dict | None = None,
) -> dict[str, Path]:
    """Write every result file into ``out`` (created if missing); returns name -> path.

    ``specs`` maps arm names to the adapter specs they were built from, for the record.
    """
    out = Path(out)
    begin_results(out, "live_ab.json")  # the manifest: removed first, written last
    paths = {name: out / name for name in CSV_FILES}
    atomic_write_csv(paths["live_ab_daily.csv"], result.daily)
    atomic_write_csv(paths["live_ab_summary.csv"], result.summary)
    atomic_write_csv(paths["live_ab_users.csv.gz"], result.users)
    dau = result.daily_active_users()
    record = {
        "command": sys.argv,
        "config": result.config.to_dict(),
        "seed": result.config.seed,
        "baseline": result.config.baseline,
        "arms": {
            name: {
                "spec": (specs or {}).get(name),
                "adapter": result.adapter_names[name],
                "wall_seconds": result.arm_seconds[name],
                "recommend_calls": result.service[name].calls,
                "user_steps": result.service[name].histories,
                "recommend_seconds": result.service[name].recommend_seconds,
            }
            for name in result.arms
        },
        "daily_active_users": {name: [int(v) for v in dau[name]] for name in result.arms},
        "world": world_record(world),
        "versions": package_versions(),
        "wall_seconds": result.wall_seconds,
        **(extra or {}),
    }
    c = result.config
    title = f"Simulated live A/B test vs {c.baseline}: {c.n_users} users, {c.n_days} days, 95% CI"
    for path in plot_live_ab(result.daily, out / "live_ab", title=title):
        paths[path.name] = path
    paths["live_ab.json"] = finish_results(out, "live_ab.json", record, list(paths.values()))
    return paths


def format_summary(summary: pd.DataFrame) -> str:
    """A readable text table of the pooled results, in percent."""

    def percent(x: float) -> str:
        return "n/a" if pd.isna(x) else f"{100 * x:+.2f}%"

    shown = pd.DataFrame(
        {
            "arm": summary["arm"],
            "metric": summary["metric"],
            "baseline": summary["mean_baseline"].map("{:.4g}".format),
            "arm value": summary["mean_arm"].map("{:.4g}".format),
            "change": summary["relative_change"].map(percent),
            "95% CI": [
                f"[{percent(lo)}, {percent(hi)}]"
                for lo, hi in zip(summary["ci_low"], summary["ci_high"], strict=True)
            ],
            "sig": summary["significant"].map({True: "*", False: ""}),
            "paper": summary["paper"].map(lambda x: "" if pd.isna(x) else percent(x)),
            "n": summary["n"],
        }
    )
    return shown.to_string(index=False)
