"""Sensitivity of the Fig. 3b ordering to the world parameters that matter.

Each sweep point is one world (seed ``base.seeds[0]``) with one parameter
changed; on it the study trains baseline, dislike_feature and
dislike_feature_label and measures dislike responsiveness at k+1 (see
:mod:`experiments.paper.study`). The parameters:

* ``response.dislike_averse``: P(dislike) of an item from a creator or
  cluster the user is averse to. Raises the dislike rate, and every extra
  dislike is one that predicts the next.
* ``response.dislike_base``: the background dislike rate elsewhere (at most
  2 x base for very bad items). These dislikes are transient: they say nothing
  about the creator's next item, so a larger base makes dislikes *less
  persistent* (a smaller share of them comes from a lasting aversion).
* ``corpus.two_cluster_share``: share of creators with a second cluster;
  higher means creators are less concentrated in one content cluster, so a
  creator signal and a content signal come apart.

Per point the log's own statistics say what the world looks like to a model:
the dislike rate, the share of dislikes that hit a persistent aversion, the
probability that a user dislikes an item of a creator they disliked before
(the signal a responsive model must learn), and the share of a creator's items
in its main cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.paper.study import (
    STUDY_FLOAT_FORMAT,
    StudyConfig,
    is_current,
    measure_stamp,
    measure_world,
    ordering_checks,
    prepare_world,
    world_config,
    write_json,
)
from recommenders import Feedback
from recommenders.atomic import atomic_write_csv
from recommenders.sequences import read_log
from simulator.responsiveness.simulated import ResponsivenessConfig, total_user_steps
from simulator.world.log_statistics import creator_repeat
from simulator.world.world import World

SWEEP_VARIANTS = ("baseline", "dislike_feature", "dislike_feature_label")

DEFAULT_SWEEP: dict[str, tuple[float, ...]] = {
    "response.dislike_averse": (0.2, 0.5, 0.8),
    "response.dislike_base": (0.0, 0.02, 0.1),
    "corpus.two_cluster_share": (0.0, 0.3, 1.0),
}


@dataclass(frozen=True)
class SweepPoint:
    parameter: str
    value: float

    @property
    def folder_name(self) -> str:
        return f"{self.parameter}={self.value:g}"


def sweep_points(sweep: dict[str, tuple[float, ...]]) -> list[SweepPoint]:
    return [SweepPoint(p, float(v)) for p, values in sweep.items() for v in values]


def point_config(base: StudyConfig, point: SweepPoint) -> StudyConfig:
    """``base`` on its first seed, with ``point`` applied, the sweep's variants, horizon 1."""
    measure: ResponsivenessConfig = replace(
        base.measure, horizon=1, branches=("long_dwell", "long_dwell+dislike")
    )
    return replace(
        base,
        seeds=base.seeds[:1],
        world_overrides=(*base.world_overrides, (point.parameter, point.value)),
        variants=SWEEP_VARIANTS,
        measure=measure,
        filter_baseline=False,
    )


def world_statistics(world: World, log: pd.DataFrame) -> dict[str, float]:
    """What the logs of a world look like (see the module docstring); shares in [0, 1]."""
    corpus = world.corpus
    users = log["user"].to_numpy()
    items = log["item"].to_numpy()
    disliked = log["feedback"].to_numpy() == Feedback.DISLIKE
    averse = world.user_model(0).averse(users, items)
    # Repeat-dislike: among events whose creator this user disliked at an earlier
    # position, the share that are dislikes again (the same numbers a fitted
    # world's log is compared on).
    repeat = creator_repeat(users, items, disliked, corpus.creator)
    main_share = (
        pd.crosstab(corpus.creator, corpus.cluster).max(axis=1)
        / np.bincount(corpus.creator, minlength=corpus.n_creators)
    ).mean()
    return {
        "dislike_rate": float(disliked.mean()),
        "dislikes_on_aversion": float(averse[disliked].mean()) if disliked.any() else np.nan,
        "p_dislike_after_creator_dislike": repeat["p_dislike_after_creator_dislike"],
        "p_dislike_otherwise": repeat["p_dislike_otherwise"],
        "creator_main_cluster_share": float(main_share),
    }


@dataclass(frozen=True)
class PointTask:
    """One sweep point (world, logs, training, measurement), self-contained so that a
    worker process or a Ray task can run it; ``threads`` caps torch's threads."""

    base: StudyConfig
    point: SweepPoint
    out: Path
    overwrite: bool = False
    device: str = "cpu"
    threads: int | None = None
    steps: int = 0


def run_point(task: PointTask, progress=None) -> pd.DataFrame:
    """The rows of one point (:func:`run_sensitivity`); ``progress`` gets user-steps
    when it runs in this process."""
    if task.threads is not None:
        import torch

        torch.set_num_threads(task.threads)
    return _point_rows(task.base, task.point, task.out, task.overwrite, task.device, None, progress)


def run_sensitivity(
    base: StudyConfig,
    sweep: dict[str, tuple[float, ...]],
    out: Path,
    overwrite: bool = False,
    device: str = "cpu",
    on_point: Callable[[SweepPoint], object] | None = None,
    epoch: Callable[[str, dict], object] | None = None,
    measure_progress: Callable[[int], object] | None = None,
    executor=None,
) -> pd.DataFrame:
    """One row per (point, kind): world statistics, responsiveness per variant, ordering.

    Writes ``out/POINT/...`` (world, logs, models, ``point.csv``) and
    ``out/sensitivity.csv``. A point whose value is the default world's shares
    the folder ``out/default``. A point's row is reused while its checkpoints
    and protocol are unchanged.

    ``executor`` (:mod:`simulator.executors`; default: this process) runs the
    points: each folder's first point there (each reports only when done, with
    an equal share of this machine's cores as torch threads), then, in this
    process, the points that share a folder with it, which reuse its rows. The
    table is the same wherever the points ran.
    """
    from simulator.executors import LocalExecutor

    points = sweep_points(sweep)
    executor = executor or LocalExecutor()
    frames: dict[int, pd.DataFrame] = {}
    if not isinstance(executor, LocalExecutor):
        first: dict[Path, int] = {}
        for index, point in enumerate(points):
            first.setdefault(point_folder(base, point, out), index)
        threads = executor.threads
        steps = total_user_steps(point_config(base, points[0]).measure) * len(SWEEP_VARIANTS)
        tasks = [
            PointTask(base, points[i], out, overwrite, device, threads, steps)
            for i in first.values()
        ]
        for rows in executor.run(run_point, tasks, measure_progress):
            point = SweepPoint(rows["parameter"].iloc[0], float(rows["value"].iloc[0]))
            frames[points.index(point)] = rows
            if on_point is not None:
                on_point(point)
        overwrite = False  # what remains shares a folder just written: reuse it
    for index, point in enumerate(points):
        if index in frames:
            continue
        if on_point is not None:
            on_point(point)
        frames[index] = _point_rows(base, point, out, overwrite, device, epoch, measure_progress)
    table = pd.concat([frames[i] for i in range(len(points))], ignore_index=True)
    atomic_write_csv(out / "sensitivity.csv", table, STUDY_FLOAT_FORMAT)
    return table


def _point_rows(base, point, out, overwrite, device, epoch, measure_progress) -> pd.DataFrame:
    config = point_config(base, point)
    folder = point_folder(base, point, out)
    run = prepare_world(config, config.seeds[0], folder, overwrite, epoch)
    stamp = measure_stamp(run, config)
    if is_current(folder / "point.json", stamp, folder / "point.csv"):
        rows = pd.read_csv(folder / "point.csv")
    else:
        log = read_log(run.folder / "interactions.csv.gz", run.world.corpus.n_items)
        stats = world_statistics(run.world, log)
        summary, _, _ = measure_world(run, config, device, measure_progress)
        checks = ordering_checks(summary).set_index("kind")
        records = []
        for kind, group in summary.groupby("kind", sort=True):
            by = group.set_index("model")
            row = {"kind": kind, **stats}
            for model in SWEEP_VARIANTS:
                row[model] = by.loc[model, "relative_change"]
                row[f"{model}_low"] = by.loc[model, "ci_low"]
                row[f"{model}_high"] = by.loc[model, "ci_high"]
            row["ordering_holds"] = bool(checks.loc[kind, "holds"])
            records.append(row)
        atomic_write_csv(folder / "point.csv", pd.DataFrame(records), STUDY_FLOAT_FORMAT)
        write_json(folder / "point.json", stamp)
        rows = pd.read_csv(folder / "point.csv")
    rows.insert(0, "value", point.value)
    rows.insert(0, "parameter", point.parameter)
    return rows


def point_folder(base: StudyConfig, point: SweepPoint, out: Path) -> Path:
    """``out/PARAM=VALUE``, or ``out/default`` for a point that changes nothing."""
    return out / ("default" if _is_default(base, point) else point.folder_name)


def _is_default(base: StudyConfig, point: SweepPoint) -> bool:
    """True when ``point`` leaves the world as ``base`` makes it."""
    changed = world_config(0, base.world_users, point_config(base, point).world_overrides)
    return changed == world_config(0, base.world_users, base.world_overrides)
