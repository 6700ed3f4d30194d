"""Throughput of the responsiveness protocol: user-steps per second and overhead.

A *user-step* is one slate served to one user and acted upon: k per user
before and at the fork, plus one per branch and horizon step after it
(:func:`simulator.total_user_steps`). The share of wall time spent inside
``adapter.recommend`` separates the recommender's cost from the simulator's;
:func:`http_overhead` compares that time per call for an adapter in process and
behind a local HTTP server.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from recommenders import RecommenderAdapter
from recommenders.devices import DEFAULT_CACHE_BYTES
from simulator.bootstrap import relative_change_ci, scipy_interval
from simulator.responsiveness.simulated import ResponsivenessConfig, measure_responsiveness
from simulator.world import AnyWorld


@dataclass(frozen=True)
class ProtocolThroughput:
    """Best of ``repeats`` runs of one adapter (fastest wall time)."""

    adapter: str
    n_users: int
    k: int
    user_steps: int
    wall_seconds: float
    user_steps_per_second: float
    recommend_seconds: float
    recommend_share: float
    simulator_seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def protocol_throughput(
    world: AnyWorld,
    name: str,
    make_adapter: Callable[[], RecommenderAdapter],
    config: ResponsivenessConfig,
    repeats: int = 3,
) -> ProtocolThroughput:
    """Time the whole protocol (simulation, fork, bootstrap excluded) ``repeats`` times,
    each on a fresh ``make_adapter()`` (a state cache kept from an earlier run would serve
    every history of the next one)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    best = None
    for _ in range(repeats):
        adapter = make_adapter()
        run = measure_responsiveness(world, adapter, config, name=name, summary=False)
        if best is None or run.wall_seconds < best.wall_seconds:
            best = run
    wall = best.wall_seconds
    inside = best.service.recommend_seconds
    return ProtocolThroughput(
        adapter=name,
        n_users=config.n_users,
        k=config.k,
        user_steps=best.user_steps,
        wall_seconds=wall,
        user_steps_per_second=best.user_steps / wall,
        recommend_seconds=inside,
        recommend_share=inside / wall,
        simulator_seconds=wall - inside,
    )


@dataclass(frozen=True)
class IntervalTiming:
    """Wall and CPU seconds of one paired-bootstrap interval at ``n_users`` users.

    ``scipy_seconds`` is the wall time of ``scipy.stats.bootstrap`` on the same
    scores and resamples (None where it was not run: its BCa jackknife is O(n**2)).
    """

    n_users: int
    n_resamples: int
    wall_seconds: float
    cpu_seconds: float
    scipy_seconds: float | None
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict:
        return asdict(self)


def interval_timing(
    n_users: int, n_resamples: int = 2000, seed: int = 0, scipy_up_to: int = 20_000
) -> IntervalTiming:
    """Time :func:`simulator.bootstrap.relative_change_ci` (BCa) on slate shares of
    ``n_users`` forked users: propensity p ~ Beta(3, 7), branch A ~ Binomial(10, p)/10,
    branch B ~ Binomial(10, 0.8 p)/10 (a -20% change, the shape of Fig. 3b's data);
    and scipy's bootstrap on the same resamples when ``n_users <= scipy_up_to``."""
    rng = np.random.default_rng(seed)
    p = rng.beta(3.0, 7.0, n_users)
    a, b = rng.binomial(10, p) / 10, rng.binomial(10, 0.8 * p) / 10
    wall, cpu = time.perf_counter(), time.process_time()
    result = relative_change_ci(a, b, n_resamples=n_resamples, seed=seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    scipy_seconds = None
    if n_users <= scipy_up_to:
        start = time.perf_counter()
        scipy_interval(a, b, n_resamples, seed)
        scipy_seconds = time.perf_counter() - start
    return IntervalTiming(
        n_users, n_resamples, wall, cpu, scipy_seconds, result.ci_low, result.ci_high
    )


@dataclass(frozen=True)
class CacheSpeedup:
    """A checkpoint's protocol run with its prefix state cache and with full recomputation,
    in ``pairs`` alternating pairs: median seconds of each and the median of the pairs'
    ratios (recomputed / cached); ``identical``: every run's per-user table was the same."""

    adapter: str
    n_users: int
    k: int
    pairs: int
    cached_seconds: float
    recomputed_seconds: float
    speedup: float
    identical: bool

    def to_dict(self) -> dict:
        return asdict(self)


def cache_speedup(
    world: AnyWorld,
    spec: str,
    config: ResponsivenessConfig,
    pairs: int = 3,
    device: str = "cpu",
) -> CacheSpeedup:
    """Time ``spec`` (a ``checkpoint:`` adapter spec) with and without its state cache,
    alternating, each run on a freshly loaded adapter; see :class:`CacheSpeedup`."""
    from simulator.adapter_specs import build_adapter

    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    seconds = {True: [], False: []}
    tables = []
    for _ in range(pairs):
        for cached in (False, True):
            adapter = build_adapter(spec, world, device, DEFAULT_CACHE_BYTES if cached else None)
            run = measure_responsiveness(world, adapter, config, name=spec, summary=False)
            seconds[cached].append(run.wall_seconds)
            tables.append(run.per_user)
    ratios = [r / c for r, c in zip(seconds[False], seconds[True], strict=True)]
    return CacheSpeedup(
        spec,
        config.n_users,
        config.k,
        pairs,
        statistics.median(seconds[True]),
        statistics.median(seconds[False]),
        statistics.median(ratios),
        all(table.equals(tables[0]) for table in tables[1:]),
    )


@dataclass(frozen=True)
class WorkerScaling:
    """A sharded run on ``executor`` with each worker count of ``workers``, in
    alternating rounds: median wall seconds per count (start-up of the workers
    included), the speed-up of each count over the first, and whether every run
    merged to the per-user table of the first. ``threads`` is each count's CPUs per
    worker (torch threads)."""

    executor: str
    adapters: list[str]
    n_users: int
    k: int
    n_shards: int
    rounds: int
    workers: list[int]
    threads: list[int]
    seconds: list[float]
    speedup: list[float]
    identical: bool

    def to_dict(self) -> dict:
        return asdict(self)


def worker_scaling(
    world: AnyWorld,
    specs: dict[str, str],
    config: ResponsivenessConfig,
    executor: str = "ray",
    workers: tuple[int, ...] = (1, 2),
    n_shards: int = 8,
    rounds: int = 1,
    cpus_per_worker: int | None = None,
) -> WorkerScaling:
    """Time :func:`simulator.responsiveness.shards.measure_in_shards` of ``specs`` (name ->
    adapter spec) on ``executor`` with each count of ``workers`` of ``cpus_per_worker``
    CPUs each (default: the executor's, this machine's cores shared among the workers);
    see :class:`WorkerScaling`. Shards go to a temporary folder, fresh for every run
    (nothing is resumed)."""
    import tempfile
    from pathlib import Path

    from simulator.executors import make_executor
    from simulator.responsiveness.shards import measure_in_shards

    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    executors = {w: make_executor(executor, w, cpus_per_worker=cpus_per_worker) for w in workers}
    seconds: dict[int, list[float]] = {w: [] for w in workers}
    tables = []
    with tempfile.TemporaryDirectory(prefix="worker-scaling-") as scratch:
        world_file = Path(scratch) / "world.npz"
        world.save(world_file)
        for round_ in range(rounds):
            for count in workers:
                folder = Path(scratch) / f"run-{round_}-{count}"
                start = time.perf_counter()
                done = measure_in_shards(
                    world,
                    specs,
                    config,
                    folder,
                    n_shards,
                    executors[count],
                    world_file=world_file,
                )
                seconds[count].append(time.perf_counter() - start)
                tables.append([run.per_user for run in done.runs])
    medians = [statistics.median(seconds[w]) for w in workers]
    return WorkerScaling(
        executor,
        list(specs.values()),
        config.n_users,
        config.k,
        n_shards,
        rounds,
        list(workers),
        [executors[w].threads for w in workers],
        medians,
        [medians[0] / m for m in medians],
        all(all(a.equals(b) for a, b in zip(run, tables[0], strict=True)) for run in tables[1:]),
    )


@dataclass(frozen=True)
class HttpOverhead:
    """An adapter in process and served over HTTP on 127.0.0.1, in ``pairs`` alternating
    protocol runs: median seconds per ``recommend`` call of each (the service's own timer
    around the call), the median of the pairs' ratios (served / in process), the calls
    per run, and whether every run gave the same per-user table."""

    adapter: str
    n_users: int
    k: int
    pairs: int
    calls: int
    in_process_seconds: float
    served_seconds: float
    ratio: float
    identical: bool

    def to_dict(self) -> dict:
        return asdict(self)


def http_overhead(
    world: AnyWorld, config: ResponsivenessConfig, spec: str = "popularity", pairs: int = 3
) -> HttpOverhead:
    """Time ``spec``'s adapter in process and as a :class:`recommenders.adapters.http.HttpAdapter`
    of the same adapter behind :func:`recommenders.serving.serve_in_thread` (this process,
    127.0.0.1, a fresh port), alternating; see :class:`HttpOverhead`. The served time holds
    the JSON both ways, the loopback HTTP exchange and the adapter itself."""
    from recommenders.adapters.http import HttpAdapter
    from recommenders.serving import serve_in_thread
    from simulator.adapter_specs import build_adapter

    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    adapter = build_adapter(spec, world)
    per_call: dict[bool, list[float]] = {False: [], True: []}
    calls, tables = set(), []
    with serve_in_thread(adapter, world.corpus.n_items) as server:
        client = HttpAdapter(world.corpus, server.url)
        for _ in range(pairs):
            for served in (False, True):
                run = measure_responsiveness(
                    world, client if served else adapter, config, name=spec, summary=False
                )
                per_call[served].append(run.service.recommend_seconds / run.service.calls)
                calls.add(run.service.calls)
                tables.append(run.per_user)
    ratios = [s / i for i, s in zip(per_call[False], per_call[True], strict=True)]
    return HttpOverhead(
        spec,
        config.n_users,
        config.k,
        pairs,
        max(calls),
        statistics.median(per_call[False]),
        statistics.median(per_call[True]),
        statistics.median(ratios),
        len(calls) == 1 and all(table.equals(tables[0]) for table in tables[1:]),
    )
