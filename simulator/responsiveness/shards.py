"""Sharded, resumable responsiveness runs: users split into ranges measured on their own.

The users ``[lo, hi)`` of a run give their rows of the whole run (keyed draws,
pure adapters: :mod:`simulator.shards`). :func:`run_shard` measures every model
on one :class:`~simulator.shards.ShardPlan` range and writes its per-user rows
to ``shards/shard-IIIII-of-NNNNN.npz`` when it finishes; :func:`merge_shards`
puts the rows back in the order of an unsharded run and computes the summary
(bootstrap CIs over all users) from them, so the results are those of one
process whatever the shard count or where shards ran. A rerun with the same
plan measures only the missing shards; one with another plan is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recommenders.devices import DEFAULT_CACHE_BYTES
from simulator.responsiveness.simulated import (
    ResponsivenessConfig,
    ResponsivenessRun,
    measure_responsiveness,
    summarize,
)
from simulator.shards import (
    ShardedRun,
    ShardPlan,
    ShardTask,
    read_all,
    run_shards,
    service_total,
    task_world,
    write_shard,
)
from simulator.world import AnyWorld

PLAN_FORMAT = "responsiveness-shards"


def run_shard(task: ShardTask, progress: Callable[[int], object] | None = None) -> Path:
    """Measure every model of ``task`` on its users and write the shard file; its path."""
    world = task_world(task.world, task.specs, task.threads)
    frames, meta = [], {}
    for name in task.specs:
        adapter = task.adapter(name, world)
        run = measure_responsiveness(
            world,
            adapter,
            task.config,
            name,
            progress=progress,
            summary=False,
            users=task.users,
        )
        frames.append(run.per_user)
        meta[name] = {
            "user_steps": run.user_steps,
            "wall_seconds": run.wall_seconds,
            "recommend_seconds": run.service.recommend_seconds,
            "recommend_calls": run.service.calls,
            "histories": run.service.histories,
        }
    write_shard(task.path, pd.concat(frames, ignore_index=True), meta)
    return task.path


def merge_shards(
    folder: Path,
    plan: ShardPlan,
    config: ResponsivenessConfig,
    models: list[str],
    on_interval: Callable[[], object] | None = None,
) -> list[ResponsivenessRun]:
    """One :class:`ResponsivenessRun` per model from all shard files, rows in the order
    of an unsharded run (model, then branch, step, user) and the summary over all users."""
    shards = read_all(folder, plan)
    table = pd.concat([frame for frame, _, _ in shards], ignore_index=True)
    metas = [meta for _, meta, _ in shards]
    branch_order = {name: i for i, name in enumerate(config.branches)}
    runs = []
    for name in models:
        rows = table[table["model"] == name]
        order = np.lexsort((rows["user"], rows["step"], rows["branch"].map(branch_order)))
        per_user = rows.iloc[order].reset_index(drop=True)
        stats = service_total([m[name] for m in metas])
        runs.append(
            ResponsivenessRun(
                name,
                per_user,
                summarize(per_user, config, on_interval),
                sum(m[name]["user_steps"] for m in metas),
                sum(m[name]["wall_seconds"] for m in metas),
                stats,
            )
        )
    return runs


def measure_in_shards(
    world: AnyWorld,
    specs: Mapping[str, str],
    config: ResponsivenessConfig,
    folder: Path,
    n_shards: int,
    executor,
    only: int | None = None,
    world_file: Path | None = None,
    device: str = "cpu",
    cache_bytes: int | None = DEFAULT_CACHE_BYTES,
    overwrite: bool = False,
    progress: Callable[[int], object] | None = None,
    on_interval: Callable[[], object] | None = None,
    arguments: Mapping[str, Mapping[str, object]] | None = None,
) -> ShardedRun:
    """Measure ``specs`` (name -> adapter spec) on the shards of ``folder`` that are not
    written yet (all of them, or shard ``only``), on ``executor``
    (:mod:`simulator.executors`), then merge when every shard is there.

    Workers get ``world_file`` (or, for an executor other than ``local``, a copy of the
    world saved in ``folder``) and absolute checkpoint paths, so they must see ``folder``.
    ``arguments`` maps a model's name to its adapter's constructor keyword arguments
    (JSON values); they are part of the folder's plan.
    """
    plan = ShardPlan(config.n_users, n_shards)
    return run_shards(
        PLAN_FORMAT,
        world,
        dict(specs),
        config,
        folder,
        plan,
        executor,
        run_shard,
        config.k + len(config.branches) * config.horizon,
        lambda: merge_shards(folder, plan, config, list(specs), on_interval),
        only,
        world_file,
        device,
        cache_bytes,
        overwrite,
        progress,
        arguments,
    )
