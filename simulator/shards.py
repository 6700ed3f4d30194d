"""User shards: what a sharded, resumable run of any simulation is made of.

Every behaviour draw is keyed by (seed, user id) and an adapter's slate depends
on the history alone (the contract), so the users ``[lo, hi)`` of a run can be
simulated apart from the others and give their rows of the whole run. A
:class:`ShardPlan` cuts ``range(n_users)`` into contiguous ranges; each shard's
rows go to ``shard-IIIII-of-NNNNN.npz`` (plain arrays and JSON, read without
pickle), written atomically when the shard finishes, so a file that exists is
complete. A folder's ``plan.json`` records what its shards are of; a rerun with
the same record keeps the shards already there (an interrupted run resumes) and
one with another record is refused (:func:`prepare_folder`).

The simulations built on this: :mod:`simulator.responsiveness.shards` (the
counterfactual protocol) and :mod:`simulator.live_ab.shards` (the live A/B test).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recommenders.atomic import atomic_path, atomic_write_text
from simulator.engine.service import ServiceStats
from simulator.world import AnyWorld

PLAN_FILE = "plan.json"


class ShardPlanError(ValueError):
    """A shard folder that belongs to another run, or a shard argument out of range."""


@dataclass(frozen=True)
class ShardPlan:
    """``n_users`` users in ``n_shards`` contiguous ranges whose sizes differ by at most one."""

    n_users: int
    n_shards: int

    def __post_init__(self) -> None:
        if not 1 <= self.n_shards <= self.n_users:
            raise ShardPlanError(
                f"shards must be in [1, n_users = {self.n_users}], got {self.n_shards}"
            )

    def users(self, index: int) -> range:
        """The users of shard ``index`` (0-based)."""
        if not 0 <= index < self.n_shards:
            raise ShardPlanError(f"shard index must be in [0, {self.n_shards}), got {index}")
        return range(
            index * self.n_users // self.n_shards, (index + 1) * self.n_users // self.n_shards
        )

    def file_name(self, index: int) -> str:
        return f"shard-{index + 1:05d}-of-{self.n_shards:05d}.npz"


@dataclass(frozen=True)
class ShardTask:
    """One shard's work, self-contained so that another process or machine can run it.

    ``world`` is the world or the path of its file (cheaper to send to workers, which
    must then see the file); ``specs`` maps each model's (or arm's) name to its adapter
    spec (:func:`simulator.adapter_specs.build_adapter`); ``config`` is the protocol's
    or the live test's; ``threads`` caps torch's threads in the worker (None: torch's
    default); ``steps`` is the shard's size in the progress bar's unit; ``arguments``
    maps a model's name to its adapter's constructor keyword arguments
    (:class:`simulator.adapter_specs.AdapterArguments`; JSON values, so any executor
    can ship them).
    """

    world: object
    specs: Mapping[str, str]
    config: object
    users: range
    path: Path
    device: str = "cpu"
    cache_bytes: int | None = None
    threads: int | None = None
    steps: int = field(default=0, compare=False)
    arguments: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    def adapter(self, name: str, world: AnyWorld):
        """The adapter of model ``name`` in a worker (:func:`shard_adapter`)."""
        return shard_adapter(
            self.specs[name], world, self.device, self.cache_bytes, self.arguments.get(name)
        )


@dataclass(frozen=True)
class ShardedRun:
    """What a sharded run did: the shards it ``measured`` (0-based), the ones it found
    ``kept`` from an earlier run, and the merged result ``runs`` (None while shards are
    missing, after a run of one shard)."""

    measured: list[int]
    kept: list[int]
    runs: object
    wall_seconds: float


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` (the i-th of N shards, 1-based) -> (0-based index, N); one-line errors."""
    head, sep, tail = text.partition("/")
    try:
        index, count = int(head), int(tail)
    except ValueError:
        raise ShardPlanError(f"--shard must be I/N, e.g. 3/10, got {text!r}") from None
    if not sep or count < 1 or not 1 <= index <= count:
        raise ShardPlanError(f"--shard I/N needs 1 <= I <= N, got {text!r}")
    return index - 1, count


def write_shard(path: Path, frame: pd.DataFrame, meta: dict, arrays: Mapping | None = None):
    """``frame``'s columns as plain arrays (text as unicode, never objects), ``meta`` as
    JSON and any further named ``arrays``, atomically: reading needs no pickle."""
    stored = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        stored[f"column:{name}"] = values if values.dtype.kind in "biuf" else values.astype(str)
    for name, values in (arrays or {}).items():
        stored[f"array:{name}"] = np.asarray(values)
    stored["meta"] = np.array(json.dumps({"columns": list(frame.columns), "meta": meta}))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **stored)


def read_shard(path: Path) -> tuple[pd.DataFrame, dict, dict[str, np.ndarray]]:
    """A shard file's rows, its ``meta`` and its further arrays (:func:`write_shard`)."""
    with np.load(path, allow_pickle=False) as data:
        record = json.loads(str(data["meta"]))
        frame = pd.DataFrame({name: data[f"column:{name}"] for name in record["columns"]})
        arrays = {
            name.removeprefix("array:"): data[name] for name in data.files if name[:6] == "array:"
        }
    return frame, record["meta"], arrays


def plan_record(
    kind: str,
    plan: ShardPlan,
    config: dict,
    models: Mapping,
    world: AnyWorld,
    arguments: Mapping[str, Mapping] | None = None,
):
    """What the shards of a folder are of: equal records give interchangeable shards.

    In the form JSON reads back (tuples as lists), so that it compares equal to the
    record a previous run wrote. Adapter ``arguments`` (model name -> keyword
    arguments, models without any left out) are part of it when there are any: they
    change the slates."""
    record = {
        "format": kind,
        "version": 1,
        "config": config,
        "models": dict(models),
        "world": world.fingerprint,
        "n_shards": plan.n_shards,
    }
    if arguments:
        record["arguments"] = dict(arguments)
    return json.loads(json.dumps(record))


def prepare_folder(folder: Path, record: dict, overwrite: bool) -> None:
    """Create ``folder`` with ``record`` as its plan, or keep it when its plan is ``record``.

    A folder of another plan is a one-line :class:`ShardPlanError`, unless ``overwrite``
    (then its shards are deleted)."""
    plan_path = folder / PLAN_FILE
    if plan_path.exists():
        try:
            existing = json.loads(plan_path.read_text())
        except (OSError, ValueError):
            existing = None
        if existing == record:
            return
        if not overwrite:
            differ = sorted(
                k for k in record if not isinstance(existing, dict) or existing.get(k) != record[k]
            )
            raise ShardPlanError(
                f"{folder} holds shards of another run (it differs in: {', '.join(differ)}); "
                "rerun that command, pass --overwrite, or choose another --out"
            )
        shutil.rmtree(folder)
    elif folder.exists() and any(folder.iterdir()) and not overwrite:
        raise ShardPlanError(f"{folder} exists without {PLAN_FILE}; pass --overwrite")
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(plan_path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def finished(folder: Path, plan: ShardPlan) -> list[int]:
    """Indices of the shards whose files exist (each was written whole, atomically)."""
    return [i for i in range(plan.n_shards) if (folder / plan.file_name(i)).exists()]


def read_all(folder: Path, plan: ShardPlan) -> list[tuple[pd.DataFrame, dict, dict]]:
    """Every shard file of ``plan`` in shard order; a one-line error names missing ones."""
    done = set(finished(folder, plan))
    missing = [i + 1 for i in range(plan.n_shards) if i not in done]
    if missing:
        raise ShardPlanError(
            f"{folder}: shard(s) {missing[:10]} of {plan.n_shards} are not finished"
        )
    return [read_shard(folder / plan.file_name(i)) for i in range(plan.n_shards)]


def shipped_world(world: AnyWorld, folder: Path, world_file: Path | None, local: bool):
    """What tasks get as their world: the object itself in this process, else the path
    of its file (``world_file``, or a copy saved once in ``folder``), which every worker
    must be able to read."""
    if local:
        return world
    if world_file is None:
        world_file = folder / "world.npz"
        if not world_file.exists():
            world.save(world_file)
    return Path(world_file).resolve()


def absolute_checkpoints(spec: str) -> str:
    """``spec`` with its ``checkpoint:PATH`` made absolute (workers may run elsewhere)."""
    head, sep, rest = spec.partition("checkpoint:")
    if not sep:
        return spec
    return f"{head}checkpoint:{Path(rest).expanduser().resolve()}"


_BUILT: dict = {}


def shard_adapter(
    spec: str,
    world: AnyWorld,
    device: str,
    cache_bytes: int | None,
    kwargs: Mapping[str, object] | None = None,
):
    """The adapter of ``spec`` with constructor keyword arguments ``kwargs``, built once
    per process: fitting itemknn or loading a checkpoint for every shard would cost
    more than measuring it, and adapters are pure functions of the histories, so
    reuse across shards is safe."""
    from simulator.adapter_specs import build_adapter

    kwargs = dict(kwargs or {})
    key = (spec, world.fingerprint, device, cache_bytes, json.dumps(kwargs, sort_keys=True))
    if key not in _BUILT:
        if len(_BUILT) >= 8:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = build_adapter(spec, world, device, cache_bytes, kwargs)
    return _BUILT[key]


def task_world(world: AnyWorld | Path, specs: Mapping[str, str], threads: int | None):
    """In a worker: the task's world (loaded from its file if need be), with torch's
    threads capped to ``threads`` when a checkpoint is among ``specs``."""
    from simulator.world import load_world

    if threads is not None and any("checkpoint:" in s for s in specs.values()):
        import torch

        torch.set_num_threads(threads)
    return load_world(world) if isinstance(world, Path) else world


def run_shards(
    kind: str,
    world: AnyWorld,
    specs: Mapping[str, str],
    config,
    folder: Path,
    plan: ShardPlan,
    executor,
    fn: Callable,
    steps_per_user: int,
    merge: Callable[[], object],
    only: int | None = None,
    world_file: Path | None = None,
    device: str = "cpu",
    cache_bytes: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int], object] | None = None,
    arguments: Mapping[str, Mapping[str, object]] | None = None,
) -> ShardedRun:
    """Run ``fn(ShardTask)`` on every shard of ``plan`` not written yet in ``folder``
    (all, or shard ``only``) on ``executor``, then, when every shard is there,
    ``merge()`` (its result is the :class:`ShardedRun`'s ``runs``).

    ``kind``, ``specs`` (name -> adapter spec), ``config.to_dict()`` and the adapters'
    constructor ``arguments`` (name -> keyword arguments) make the folder's plan
    record (:func:`prepare_folder`). Tasks elsewhere than in this
    process get the world as a file (:func:`shipped_world`), absolute checkpoint
    paths and the executor's torch threads per worker.
    """
    from simulator.executors import LocalExecutor

    arguments = {name: dict(kw) for name, kw in (arguments or {}).items() if kw}
    record = plan_record(kind, plan, config.to_dict(), specs, world, arguments)
    prepare_folder(folder, record, overwrite)
    kept = finished(folder, plan)
    todo = [i for i in (range(plan.n_shards) if only is None else [only]) if i not in kept]
    local = isinstance(executor, LocalExecutor)
    shipped = shipped_world(world, folder, world_file, local) if todo else world
    tasks = [
        ShardTask(
            shipped,
            {name: absolute_checkpoints(spec) for name, spec in specs.items()},
            config,
            plan.users(i),
            (folder / plan.file_name(i)).resolve(),
            device,
            cache_bytes,
            executor.threads,
            steps=len(plan.users(i)) * steps_per_user * len(specs),
            arguments=arguments,
        )
        for i in todo
    ]
    start = time.perf_counter()
    for _ in executor.run(fn, tasks, progress):
        pass
    wall = time.perf_counter() - start
    merged = merge() if len(finished(folder, plan)) == plan.n_shards else None
    return ShardedRun(todo, [i for i in kept if only is None or i == only], merged, wall)


def service_total(records: list[dict]) -> ServiceStats:
    """The service counters of one model summed over its shards' records."""
    return ServiceStats(
        calls=sum(r["recommend_calls"] for r in records),
        histories=sum(r["histories"] for r in records),
        recommend_seconds=sum(r["recommend_seconds"] for r in records),
    )
