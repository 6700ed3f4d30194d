"""The simulated live A/B test of the paper's variants (Wang et al. 2023, section 3).

Every seed-0 variant of the Fig. 3b study (and ``filter:baseline``) serves one
arm of :func:`simulator.live_ab.run_live_ab` on the same world, against the
feedback-blind baseline, with the paper's live numbers beside the results
(:data:`experiments.published.LIVE_AB`). The result is reused while its stamp
(config, world, checkpoints) is current.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from experiments import published
from experiments.paper.study import (
    FILTER_NAME,
    StudyConfig,
    is_current,
    measure_stamp,
    prepare_world,
    study_adapters,
)
from simulator.live_ab.output import write_live_ab
from simulator.live_ab.simulation import LiveABConfig, run_live_ab


def run_live_ab_study(
    study: StudyConfig,
    out: Path,
    n_users: int,
    n_days: int,
    device: str = "cpu",
    progress: bool = True,
    stage: Callable[[str], object] = lambda _: None,
) -> pd.DataFrame:
    """The pooled summary (``live_ab_summary.csv`` in ``out / "live_ab"``), measured or reused."""
    run = prepare_world(study, study.seeds[0], out / "fig3b" / f"seed-{study.seeds[0]}")
    config = LiveABConfig(n_users=n_users, n_days=n_days, seed=0)
    stamp = {"config": config.to_dict(), **measure_stamp(run, study)}
    folder = out / "live_ab"
    if is_current(folder / "live_ab.json", stamp, folder / "live_ab_summary.csv", key="stamp"):
        stage(f"live A/B: {folder} is current")
    else:
        stage(f"live A/B: {len(study.variants)} arms, {config.n_users} users")
        arms = study_adapters(run, study, device=device)
        result = run_live_ab(
            run.world, arms, config, progress=progress, reference=published.LIVE_AB
        )
        specs = {name: f"checkpoint:{path}" for name, path in run.checkpoints.items()}
        if FILTER_NAME in arms:
            specs[FILTER_NAME] = f"filter:checkpoint:{run.checkpoints['baseline']}"
        write_live_ab(folder, result, run.world, specs, extra={"stamp": stamp})
    return pd.read_csv(folder / "live_ab_summary.csv")
