"""Counterfactual responsiveness (Wang et al. 2023, section 4).

For each simulated user:

1. follow a random trajectory for k-1 steps: the recommender returns a
   slate, the user consumes one item chosen by the trajectory policy, with
   dwell and feedback drawn from the response model;
2. at step k consume x_k and fork the state into branches (default
   ``long_dwell`` vs ``long_dwell+dislike``) with identical history and
   identical random numbers; the branches differ only in the event recorded
   for x_k;
3. each branch asks the recommender for the slate at step k+1 (and, with
   ``horizon > 1``, keeps following the trajectory policy to k+h); the
   similarity of a slate is, for every kind of :data:`simulator.similarity.SIMILARITY_KINDS`,
   the share of its items related to x_k (``content``: in x_k's content
   cluster; ``creator``: by x_k's creator).

Responsiveness of branch B against the reference A, per kind and step::

    R = (mean_u S_B(u) - mean_u S_A(u)) / mean_u S_A(u)

with a paired bootstrap CI over users (:func:`simulator.bootstrap.relative_change_ci`).
Users live in simulated time as one simpy process per cohort; a cohort's
requests go through the batching :class:`~simulator.engine.service.RecommenderService`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import simpy

from agents import LogitChoice, RandomTrajectory
from recommenders import HistoryBatch, RecommenderAdapter
from simulator.bootstrap import MAX_RESAMPLES, relative_change_ci
from simulator.engine.cohort import Cohort
from simulator.engine.service import RecommenderService, ServiceStats
from simulator.responsiveness.branches import DEFAULT_BRANCHES, BranchAction, parse_branches
from simulator.similarity import SIMILARITY_KINDS, similarities
from simulator.world import AnyWorld


@dataclass(frozen=True)
class ResponsivenessConfig:
    """The protocol's parameters (paper: n_users 2000, k 50, horizon 1).

    Attributes:
        n_users: simulated users (the world's users 0..n_users-1).
        k: the fork happens at the k-th consumed item (k-1 steps before it).
        slate_size: items per slate.
        horizon: slates observed after the fork, at steps k+1..k+horizon.
        branches: branch action names; the first is the reference A.
        seed: keys every behaviour draw and the bootstrap.
        policy: ``random`` (uniform from the slate, the paper's) or ``logit``
            (utility-driven multinomial logit, always consuming one item).
        cohort_size: users that act at the same simulated instants.
        cohort_stagger: simulated time between the starts of successive cohorts.
        step_interval: simulated time between a user's steps.
        batch_window: the service batches requests arriving within this time.
        confidence, n_resamples: of the bootstrap CI.
    """

    n_users: int = 2000
    k: int = 50
    slate_size: int = 10
    horizon: int = 1
    branches: tuple[str, ...] = DEFAULT_BRANCHES
    seed: int = 0
    policy: str = "random"
    cohort_size: int = 2000
    cohort_stagger: float = 0.0
    step_interval: float = 1.0
    batch_window: float = 0.0
    confidence: float = 0.95
    n_resamples: int = 2000

    def __post_init__(self) -> None:
        checks = [
            (self.n_users >= 1, f"n_users must be >= 1, got {self.n_users}"),
            (self.k >= 1, f"k must be >= 1, got {self.k}"),
            (self.slate_size >= 1, f"slate_size must be >= 1, got {self.slate_size}"),
            (self.horizon >= 1, f"horizon must be >= 1, got {self.horizon}"),
            (self.cohort_size >= 1, f"cohort_size must be >= 1, got {self.cohort_size}"),
            (
                self.policy in ("random", "logit"),
                f"policy must be random or logit, got {self.policy!r}",
            ),
            (
                math.isfinite(self.step_interval) and self.step_interval > 0,
                f"step_interval must be finite and > 0, got {self.step_interval}",
            ),
            (
                math.isfinite(self.cohort_stagger) and self.cohort_stagger >= 0,
                f"cohort_stagger must be finite and >= 0, got {self.cohort_stagger}",
            ),
            (
                math.isfinite(self.batch_window) and self.batch_window >= 0,
                f"batch_window must be finite and >= 0, got {self.batch_window}",
            ),
            (0 < self.confidence < 1, f"confidence must be in (0, 1), got {self.confidence}"),
            (
                100 <= self.n_resamples <= MAX_RESAMPLES,
                f"n_resamples must be in [100, {MAX_RESAMPLES:,}], got {self.n_resamples}",
            ),
            (0 <= self.seed < 2**63, f"seed must be in [0, 2**63), got {self.seed}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        # Names as parsed (" long_dwell" is long_dwell), so summaries find every branch.
        object.__setattr__(self, "branches", tuple(a.name for a in parse_branches(self.branches)))

    def to_dict(self) -> dict:
        return asdict(self)

    def check_world(self, world: AnyWorld) -> None:
        """One-line errors for a protocol the world cannot host."""
        if self.n_users > world.n_users:
            raise ValueError(f"n_users {self.n_users} exceeds the world's {world.n_users} users")
        needed = self.k + self.horizon - 1 + self.slate_size
        if self.slate_size > world.corpus.n_items:
            raise ValueError(
                f"slate_size {self.slate_size} exceeds the world's {world.corpus.n_items} items"
            )
        if needed > world.corpus.n_items:
            raise ValueError(
                f"k + horizon - 1 + slate_size = {needed} exceeds the world's "
                f"{world.corpus.n_items} items (slates exclude consumed items)"
            )


@dataclass
class ResponsivenessRun:
    """One adapter's measurement: per-user similarities and their summary."""

    model: str
    per_user: pd.DataFrame
    summary: pd.DataFrame
    user_steps: int
    wall_seconds: float
    service: ServiceStats


@dataclass(frozen=True)
class SlateEvent:
    """One cohort's slates, for tracing a run (see ``on_slate``).

    ``branch`` is None before the fork, else the branch index; ``step`` is the
    paper's 1-based step the slate is for (the fork's item x_k comes from the
    slate of step k; branch slates are for steps k+1..k+h).
    """

    users: np.ndarray
    step: int
    branch: int | None
    histories: HistoryBatch
    slates: np.ndarray


@dataclass
class _Record:
    """Similarities per kind, each (branch, horizon step, user), and the forked items x_k,
    of the users from ``first_user`` on."""

    shares: dict[str, np.ndarray]
    x_k: np.ndarray
    first_user: int = 0


def _user_cohort(
    env, cohort, service, attributes, model, policy, config, actions, record, delay, tick, on_slate
):
    """One cohort's life: k-1 random steps, the k-th item, the fork, the observed slates."""
    keys = model.keys
    users = cohort.users
    rows = np.arange(len(users))
    slots = users - record.first_user
    if delay:
        yield env.timeout(delay)
    for step in range(config.k):
        histories = cohort.histories()
        slates = yield service.request(histories)
        if on_slate is not None:
            on_slate(SlateEvent(users, step + 1, None, histories, slates))
        recent = cohort.recent(model.history_window)
        items = slates[rows, policy.choose(keys, users, step, slates, model, recent)]
        tick(len(users))
        if step == config.k - 1:
            break
        response = model.respond(users, items, step, recent)
        cohort.append(items, response.feedback, response.dwell)
        yield env.timeout(config.step_interval)
    x_k = items
    record.x_k[slots] = x_k
    branches = [cohort.fork() for _ in actions]
    for branch, action in zip(branches, actions, strict=True):
        branch.append(x_k, int(action.feedback), action.dwell)
    for h in range(config.horizon):
        yield env.timeout(config.step_interval)
        histories = [branch.histories() for branch in branches]
        requests = [service.request(h_b) for h_b in histories]
        yield env.all_of(requests)
        step = config.k + h  # 0-based index of the consumption at paper step k+1+h
        for b, (branch, request) in enumerate(zip(branches, requests, strict=True)):
            slates = request.value
            if on_slate is not None:
                on_slate(SlateEvent(users, step + 1, b, histories[b], slates))
            for kind, values in similarities(slates, x_k, attributes).items():
                record.shares[kind][b, h, slots] = values
            tick(len(users))
            if h + 1 < config.horizon:
                # Same keys in every branch: only the slates, never the draws, differ.
                recent = branch.recent(model.history_window)
                items = slates[rows, policy.choose(keys, users, step, slates, model, recent)]
                response = model.respond(users, items, step, recent)
                branch.append(items, response.feedback, response.dwell)


def measure_responsiveness(
    world: AnyWorld,
    adapter: RecommenderAdapter,
    config: ResponsivenessConfig,
    name: str | None = None,
    progress: Callable[[int], object] | None = None,
    summary: bool = True,
    on_slate: Callable[[SlateEvent], object] | None = None,
    on_interval: Callable[[], object] | None = None,
    users: range | None = None,
) -> ResponsivenessRun:
    """Run the counterfactual protocol for one adapter; see the module docstring.

    ``wall_seconds`` covers the simulation only; ``summary=False`` skips the
    bootstrap (the run's ``summary`` is then empty), as benchmarks do.
    ``on_slate`` receives every served slate with the histories it answered
    (read-only views: copy what you keep); ``on_interval`` is called after each of the
    summary's :func:`interval_count` bootstrap intervals.

    ``users`` (default ``range(config.n_users)``) measures only those users, a shard:
    every draw is keyed by user id, so a user's rows are those of the whole run for
    an adapter whose slates depend on each history alone (the contract's purity).
    """
    config.check_world(world)
    users = range(config.n_users) if users is None else users
    if users.step != 1 or not 0 <= users.start <= users.stop <= config.n_users:
        raise ValueError(
            f"users must be a contiguous range within [0, {config.n_users}), got {users}"
        )
    name = name or adapter.name
    actions = parse_branches(config.branches)
    policy = (
        RandomTrajectory() if config.policy == "random" else LogitChoice(no_choice_utility=-np.inf)
    )
    model = world.user_model(config.seed)
    env = simpy.Environment()
    service = RecommenderService(
        env, adapter, world.corpus.n_items, config.slate_size, config.batch_window
    )
    n, h = len(users), config.horizon
    record = _Record(
        shares={kind: np.full((len(actions), h, n), np.nan) for kind in SIMILARITY_KINDS},
        x_k=np.full(n, -1, np.int64),
        first_user=users.start,
    )
    attributes = world.item_attributes()
    steps_done = [0]

    def tick(count: int) -> None:
        steps_done[0] += count
        if progress is not None:
            progress(count)

    start = time.perf_counter()
    for index, first in enumerate(range(users.start, users.stop, config.cohort_size)):
        cohort_users = np.arange(first, min(first + config.cohort_size, users.stop))
        cohort = Cohort(cohort_users, capacity=config.k + h)
        env.process(
            _user_cohort(
                env,
                cohort,
                service,
                attributes,
                model,
                policy,
                config,
                actions,
                record,
                index * config.cohort_stagger,
                tick,
                on_slate,
            )
        )
    env.run()
    wall = time.perf_counter() - start
    per_user = _per_user_table(name, attributes, actions, record, config)
    table = summarize(per_user, config, on_interval) if summary else pd.DataFrame()
    return ResponsivenessRun(name, per_user, table, steps_done[0], wall, service.stats)


def _per_user_table(name, attributes, actions, record, config) -> pd.DataFrame:
    """Long table: one row per (user, branch, step) with one column per similarity kind,
    ordered by branch, step, user."""
    n_b, h, n = len(actions), config.horizon, len(record.x_k)
    branch = np.repeat(np.arange(n_b), h * n)
    step = np.tile(np.repeat(np.arange(h), n), n_b)
    row = np.tile(np.arange(n), n_b * h)
    user = record.first_user + row
    x_k = record.x_k[row]
    return pd.DataFrame(
        {
            "model": name,
            "user": user,
            "branch": np.array([a.name for a in actions])[branch],
            "step": config.k + 1 + step,
            "x_k": x_k,
            "x_k_cluster": attributes.cluster[x_k],
            "x_k_creator": attributes.creator[x_k],
            **{kind: record.shares[kind].ravel() for kind in SIMILARITY_KINDS},
        }
    )


def summarize(
    per_user: pd.DataFrame,
    config: ResponsivenessConfig,
    on_interval: Callable[[], object] | None = None,
) -> pd.DataFrame:
    """Responsiveness with CIs for every non-reference branch, similarity kind and step."""
    return summarize_branches(
        per_user,
        config.branches,
        config.confidence,
        config.n_resamples,
        config.seed,
        on_interval=on_interval,
    )


def interval_count(config) -> int:
    """Bootstrap intervals one adapter's summary computes: one per non-reference branch,
    similarity kind and horizon step.

    ``config`` is a :class:`ResponsivenessConfig` or a
    :class:`~simulator.responsiveness.real_histories.RealHistoryConfig` (one step).
    """
    return (len(config.branches) - 1) * len(SIMILARITY_KINDS) * getattr(config, "horizon", 1)


def summarize_branches(
    per_user: pd.DataFrame,
    branches: tuple[str, ...],
    confidence: float,
    n_resamples: int,
    seed: int,
    step: int | None = None,
    on_interval: Callable[[], object] | None = None,
) -> pd.DataFrame:
    """Paired relative change of each non-reference branch (``branches[0]`` is the reference).

    One row per model, step, branch and kind, from a per-user table with columns
    ``model, user, branch, step`` and one per registered kind
    (:data:`simulator.similarity.SIMILARITY_KINDS`, in its order). A user whose similarity is
    undefined (NaN) in either branch is left out of that kind; ``n`` counts the
    users that enter. With fewer than 2 the row is NaN and ``method`` says why.
    ``step`` given: all rows form one step of that label (e.g. real histories,
    where users fork at different positions). ``on_interval`` is called after each row
    (a progress bar's step: with many resamples the intervals take minutes).
    """
    missing = [kind for kind in SIMILARITY_KINDS if kind not in per_user.columns]
    if missing:
        raise ValueError(
            f"per-user table lacks the similarity column(s) {missing} (registered kinds: "
            f"{list(SIMILARITY_KINDS)}); measure again to add them"
        )
    rows = []
    reference = branches[0]
    steps = per_user["step"] if step is None else pd.Series(step, index=per_user.index)
    for (model, at), group in per_user.groupby(["model", steps], sort=False):
        by_branch = {b: g.sort_values("user") for b, g in group.groupby("branch")}
        for branch in branches[1:]:
            for kind in SIMILARITY_KINDS:
                a = by_branch[reference][kind].to_numpy()
                b = by_branch[branch][kind].to_numpy()
                defined = ~np.isnan(a) & ~np.isnan(b)
                a, b = a[defined], b[defined]
                if len(a) >= 2:
                    result = asdict(
                        relative_change_ci(
                            a, b, confidence=confidence, n_resamples=n_resamples, seed=seed
                        )
                    )
                else:
                    result = {
                        "mean_a": float(a.mean()) if len(a) else np.nan,
                        "mean_b": float(b.mean()) if len(b) else np.nan,
                        "relative_change": np.nan,
                        "ci_low": np.nan,
                        "ci_high": np.nan,
                        "n": len(a),
                        "method": f"undefined: {len(a)} user(s) with a defined {kind} similarity",
                    }
                rows.append(
                    {
                        "model": model,
                        "reference": reference,
                        "branch": branch,
                        "kind": kind,
                        "step": at,
                        **result,
                    }
                )
                if on_interval is not None:
                    on_interval()
    return pd.DataFrame(rows)


def compare(
    world: AnyWorld,
    adapters: Mapping[str, RecommenderAdapter],
    config: ResponsivenessConfig,
    progress: Callable[[int], object] | None = None,
) -> list[ResponsivenessRun]:
    """Measure several adapters under the same world, seed and protocol."""
    return [
        measure_responsiveness(world, adapter, config, name=name, progress=progress)
        for name, adapter in adapters.items()
    ]


def total_user_steps(config: ResponsivenessConfig) -> int:
    """User-steps one adapter's run performs: k per user plus one per branch and horizon step."""
    return config.n_users * (config.k + len(config.branches) * config.horizon)


__all__ = [
    "BranchAction",
    "ResponsivenessConfig",
    "ResponsivenessRun",
    "SlateEvent",
    "compare",
    "interval_count",
    "measure_responsiveness",
    "summarize",
    "summarize_branches",
    "total_user_steps",
]
