"""Where independent tasks run: this process, a pool of local processes, or a Ray cluster.

Each executor runs ``fn(task)`` for every task and yields the results as tasks
finish (in any order). Tasks must be self-contained and picklable (a
``simulator.shards.ShardTask`` carries its world, specs and config), and their results must not
depend on where they ran, so that every executor gives the same files.

* ``local``: one after the other in this process (the default; no extra
  process, and ``progress`` gets every step).
* ``processes``: ``workers`` spawned local processes (:mod:`multiprocessing`).
* ``ray``: Ray tasks, on a local Ray started for the run with ``workers`` CPUs,
  or on the cluster at ``address`` (``ray://host:10001`` or ``auto``). Ray is the
  optional extra ``pip install -e '.[ray]'``.

:data:`EXECUTORS` is the table of executors by name.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass


class ExecutorError(ValueError):
    """An executor that cannot be set up (bad worker count, Ray missing)."""


@dataclass(frozen=True)
class LocalExecutor:
    """Tasks one after the other in this process."""

    workers: int = 1
    address: str | None = None

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
    """Tasks as Ray tasks of one CPU each: on a Ray started here with ``workers`` CPUs
    (stopped when the run ends), or on the running cluster at ``address``."""

    workers: int = 2
    address: str | None = None

    def run(self, fn: Callable, tasks: list, progress: Callable[[int], object] | None = None):
        ray = _import_ray()
        started = not ray.is_initialized()
        if started:
            if self.address is None:
                ray.init(
                    num_cpus=self.workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            else:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        try:
            remote = ray.remote(num_cpus=1, max_retries=0)(fn)
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


def make_executor(name: str, workers: int = 1, address: str | None = None):
    """The executor ``name`` with ``workers`` workers; one-line :class:`ExecutorError`s."""
    if name not in EXECUTORS:
        raise ExecutorError(f"unknown executor {name!r}: use one of {sorted(EXECUTORS)}")
    if workers < 1:
        raise ExecutorError(f"--workers must be >= 1, got {workers}")
    if name == "local" and workers != 1:
        raise ExecutorError(f"--workers {workers} needs --executor processes or ray")
    if address is not None and name != "ray":
        raise ExecutorError(f"--ray-address needs --executor ray, not {name}")
    if name == "ray":
        _import_ray()
    return EXECUTORS[name](workers, address)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "--executor ray needs Ray: pip install -e '.[ray]' (or pip install 'ray>=2.9')"
        ) from None
    return ray
