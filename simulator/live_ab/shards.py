"""Sharded, resumable live A/B tests: every arm's closed loop over user ranges.

A user's days in an arm depend on that user's keyed draws and the arm's adapter
alone (:func:`simulator.live_ab.simulation.simulate_arm`), so each shard of a
:class:`~simulator.shards.ShardPlan` runs every arm for its users and writes
their per-(arm, day, user) rows and final histories to one file;
:func:`merge_live_shards` reassembles each arm's table and histories in user
order and compares the arms (:func:`~simulator.live_ab.simulation.compare_live_ab`),
so the result is that of one process whatever the shard count or executor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recommenders import PAD, HistoryBatch
from recommenders.devices import DEFAULT_CACHE_BYTES
from simulator.live_ab.simulation import ArmRun, LiveABConfig, LiveABResult, compare_live_ab
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

PLAN_FORMAT = "live-ab-shards"
_HISTORY = ("items", "feedback", "dwell", "lengths")


def run_live_shard(task: ShardTask, progress: Callable[[int], object] | None = None) -> Path:
    """Run every arm of ``task`` on its users and write the shard file; its path."""
    from simulator.live_ab.simulation import simulate_arm

    world = task_world(task.world, task.specs, task.threads)
    frames, meta, arrays = [], {}, {}
    for index, name in enumerate(task.specs):
        adapter = task.adapter(name, world)
        run = simulate_arm(
            world,
            adapter,
            task.config,
            task.users,
            on_day=(lambda: progress(len(task.users))) if progress is not None else lambda: None,
        )
        frame = run.table.copy()
        frame.insert(0, "arm", name)
        frames.append(frame)
        meta[name] = {
            "adapter": adapter.name,
            "seconds": run.seconds,
            "recommend_calls": run.service.calls,
            "histories": run.service.histories,
            "recommend_seconds": run.service.recommend_seconds,
        }
        for part in _HISTORY:
            arrays[f"history:{index}:{part}"] = getattr(run.histories, part)
    write_shard(task.path, pd.concat(frames, ignore_index=True), meta, arrays)
    return task.path


def merge_live_shards(
    folder: Path,
    plan: ShardPlan,
    config: LiveABConfig,
    arms: list[str],
    progress: bool = False,
    reference: Mapping[tuple[str, str], float] | None = None,
    start: float | None = None,
) -> LiveABResult:
    """The :class:`LiveABResult` of all shard files: each arm's rows in (day, user)
    order and its histories in user order, as one process would have them (``start``:
    the ``perf_counter`` the run began at, for its wall time)."""
    shards = read_all(folder, plan)
    table = pd.concat([frame for frame, _, _ in shards], ignore_index=True)
    runs, adapter_names = {}, {}
    for index, name in enumerate(arms):
        rows = table[table["arm"] == name]
        order = np.lexsort((rows["user"].to_numpy(), rows["day"].to_numpy()))
        metas = [meta[name] for _, meta, _ in shards]
        runs[name] = ArmRun(
            rows.iloc[order].drop(columns="arm").reset_index(drop=True),
            _stack_histories([arrays for _, _, arrays in shards], index),
            service_total(metas),
            sum(m["seconds"] for m in metas),
        )
        adapter_names[name] = metas[0]["adapter"]
    return compare_live_ab(runs, adapter_names, config, progress, reference, start)


def _stack_histories(shards: list[dict], arm: int) -> HistoryBatch:
    """The histories of the ``arm``-th arm in every shard, one batch padded to the longest."""
    lengths = np.concatenate([s[f"history:{arm}:lengths"] for s in shards])
    width = int(lengths.max()) if lengths.size else 0

    def stacked(part: str, fill) -> np.ndarray:
        blocks = []
        for s in shards:
            block = s[f"history:{arm}:{part}"]
            pad = np.full((len(block), width - block.shape[1]), fill, block.dtype)
            blocks.append(np.concatenate([block, pad], axis=1))
        return np.concatenate(blocks)

    return HistoryBatch(
        stacked("items", PAD), stacked("feedback", PAD), stacked("dwell", np.nan), lengths
    )


def live_ab_in_shards(
    world: AnyWorld,
    arms: Mapping[str, str],
    config: LiveABConfig,
    folder: Path,
    n_shards: int,
    executor,
    only: int | None = None,
    world_file: Path | None = None,
    device: str = "cpu",
    cache_bytes: int | None = DEFAULT_CACHE_BYTES,
    overwrite: bool = False,
    progress: Callable[[int], object] | None = None,
    reference: Mapping[tuple[str, str], float] | None = None,
    arguments: Mapping[str, Mapping[str, object]] | None = None,
) -> ShardedRun:
    """Run the shards of ``folder`` not written yet (all, or shard ``only``) on
    ``executor``, then merge when every shard is there; ``runs`` of the result is the
    :class:`LiveABResult` (None while shards are missing). ``progress`` gets user-days;
    ``arguments`` maps an arm's name to its adapter's constructor keyword arguments."""
    plan = ShardPlan(config.n_users, n_shards)
    start = time.perf_counter()
    return run_shards(
        PLAN_FORMAT,
        world,
        dict(arms),
        config,
        folder,
        plan,
        executor,
        run_live_shard,
        config.n_days,
        lambda: merge_live_shards(
            folder, plan, config, list(arms), reference=reference, start=start
        ),
        only,
        world_file,
        device,
        cache_bytes,
        overwrite,
        progress,
        arguments,
    )
