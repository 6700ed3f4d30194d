"""Where independent tasks run: this process, a pool of local processes, or a Ray cluster.

Each executor runs ``fn(task)`` for every task and yields the results as tasks
finish (in any order). Tasks must be self-contained and picklable (a
``simulator.shards.ShardTask`` carries its world, specs and config), and their results must not
depend on where they ran, so that every executor gives the same files.

* ``local``: one after the other in this process (the default; no extra
  process, and ``progress`` gets every step).
* ``processes``: ``workers`` spawned local processes (:mod:`multiprocessing`).
* ``ray``: Ray tasks, on a local Ray started for the run with ``workers`` workers,
  or on the cluster at ``address`` (``ray://host:10001`` or ``auto``). Ray is the
  optional extra ``pip install -e '.[ray]'``.

A worker elsewhere than in this process gets ``threads`` CPUs: torch runs that many
threads in it, and a Ray task asks the scheduler for that many CPUs, so that what a
task uses is what the cluster accounts for. The default shares this machine's cores
among the workers started here (``cores // workers``), and is one CPU per task on an
existing cluster, Ray's own convention for a task (its ``num_cpus=1`` default), as
this machine's core count says nothing about the cluster's nodes.

:data:`EXECUTORS` is the table of executors by name.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass


class ExecutorError(ValueError):
    """An executor that cannot be set up (bad worker count, Ray missing)."""


@dataclass(frozen=True)
class LocalExecutor:
    """Tasks one after the other in this process (torch's threads left as they are)."""

    workers: int = 1
    address: str | None = None
    cpus_per_worker: int | None = None

    @property
    def threads(self) -> None:
        return None

    def run(self, fn: Callable, tasks: list, progress: Callable[[int], object] | None = None):
        for task in tasks:
            yield fn(task, progress)


@dataclass(frozen=True)
class ProcessExecutor:
    """Tasks on ``workers`` local processes (spawned: no state forked from this one).

    The workers are terminated when the run stops early (an error, Ctrl-C, SIGTERM
    turned into ``SystemExit``), so none outlives it to write a file afterwards.
    """

    workers: int = 2
    address: str | None = None
    cpus_per_worker: int | None = None

    @property
    def threads(self) -> int:
        """Torch threads per worker: ``cpus_per_worker``, or this machine's share."""
        return self.cpus_per_worker or _share(self.workers)

    def run(self, fn: Callable, tasks: list, progress: Callable[[int], object] | None = None):
        context = multiprocessing.get_context("spawn")
        # Pool, not ProcessPoolExecutor: its exit terminates running workers.
        with context.Pool(self.workers) as pool:
            calls = [(fn, task) for task in tasks]
            for steps, result in pool.imap_unordered(_call, calls, chunksize=1):
                if progress is not None:
                    progress(steps)
                yield result


def _call(call: tuple[Callable, object]) -> tuple[int, object]:
    """``fn(task)`` in a worker, with the task's step count for the progress bar."""
    fn, task = call
    return getattr(task, "steps", 0), fn(task)


@dataclass(frozen=True)
class RayExecutor:
    """Tasks as Ray tasks of :attr:`threads` CPUs each: on a Ray started here for
    ``workers`` such tasks at a time (stopped when the run ends), or on the running
    cluster at ``address``."""

    workers: int = 2
    address: str | None = None
    cpus_per_worker: int | None = None

    @property
    def threads(self) -> int:
        """CPUs (torch threads) per task: ``cpus_per_worker``; by default this machine's
        share for a Ray started here, one on an existing cluster."""
        if self.cpus_per_worker is not None:
            return self.cpus_per_worker
        return _share(self.workers) if self.address is None else 1

    def run(self, fn: Callable, tasks: list, progress: Callable[[int], object] | None = None):
        ray = _import_ray()
        started = not ray.is_initialized()
        if started:
            if self.address is None:
                ray.init(
                    num_cpus=self.workers * self.threads,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            else:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        try:
            remote = ray.remote(num_cpus=self.threads, max_retries=0)(fn)
            pending = {remote.remote(task): task for task in tasks}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(done[0])
                result = ray.get(done[0])
                if progress is not None:
                    progress(task.steps)
                yield result
        finally:
            if started:
                ray.shutdown()


EXECUTORS = {"local": LocalExecutor, "processes": ProcessExecutor, "ray": RayExecutor}
"""Executors by name (``--executor``)."""


def _share(workers: int) -> int:
    """This machine's cores shared among ``workers`` workers (at least one each)."""
    return max(1, (os.cpu_count() or 1) // workers)


def make_executor(
    name: str, workers: int = 1, address: str | None = None, cpus_per_worker: int | None = None
):
    """The executor ``name`` with ``workers`` workers of ``cpus_per_worker`` CPUs each
    (default: see the module); one-line :class:`ExecutorError`s."""
    if name not in EXECUTORS:
        raise ExecutorError(f"unknown executor {name!r}: use one of {sorted(EXECUTORS)}")
    if workers < 1:
        raise ExecutorError(f"--workers must be >= 1, got {workers}")
    if cpus_per_worker is not None and cpus_per_worker < 1:
        raise ExecutorError(f"--cpus-per-worker must be >= 1, got {cpus_per_worker}")
    if name == "local" and cpus_per_worker is not None:
        raise ExecutorError("--cpus-per-worker needs --executor processes or ray")
    if name == "local" and workers != 1:
        raise ExecutorError(f"--workers {workers} needs --executor processes or ray")
    if address is not None and name != "ray":
        raise ExecutorError(f"--ray-address needs --executor ray, not {name}")
    if name == "ray":
        _import_ray()
    return EXECUTORS[name](workers, address, cpus_per_worker)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "--executor ray needs Ray: pip install -e '.[ray]' (or pip install 'ray>=2.9')"
        ) from None
    return ray
