r"""A simulated live A/B test (Wang et al. 2023, section 3) as a closed loop.

Each arm serves the *same* users ``0..n_users-1`` of a world with one
recommender for ``n_days`` simulated days:

* **Sessions.** A user active on a day runs one session: at step t the
  recommender serves a slate for the user's whole history so far (every day
  before included), the user picks from it with :class:`agents.LogitChoice`,
  a multinomial logit over the slate plus a no-choice option of finite
  utility ``no_choice_utility``; picking no-choice ends the session, and so
  does reaching ``max_session`` items. Dwell and feedback of a consumed item
  come from the world's response model. Session momentum (the response
  model's short-term interest) reads only today's events: a new day is a new
  session.
* **Return model.** Every user is active on day 1. A session's satisfaction
  is

  .. math::  s = (n_\mathrm{enjoyed} - n_\mathrm{disliked}) / \max(n_\mathrm{consumed}, 1)
             \in [-1, 1],

  enjoyed = POSITIVE or LIKE, so skips count 0 and an empty session (no-choice
  at once) scores 0. The user opens the app on the next day with probability

  .. math::  P(\mathrm{active}_{d+1}) = \sigma(\mathrm{return\_bias}
             + \mathrm{return\_weight} \cdot s_\mathrm{last}),

  where :math:`s_\mathrm{last}` is the satisfaction of the user's most recent
  session, and the uniform draw is keyed by (seed, user, day,
  ``Purpose.SESSION``). A user who stays away keeps the same chance every day
  (an absence lasts a geometric number of days), so a user whose last visit
  brought dislikes and skips comes back less often. The response model has no
  dismissals (``Feedback.DISMISS`` is never produced), so the paper's
  "dismissing users" has no counterpart; churn (users active yesterday who
  do not return today) and daily active users are reported instead.
* **Common random numbers.** Every draw is keyed by (seed, user, step,
  purpose) through :class:`agents.KeyedRandom`, with the global step
  ``(day - 1) * max_session + t``, so draws never repeat across days and every
  arm gives user u at step t the same Gumbel noise for slate position j, the
  same dwell noise and the same like / dislike / return uniforms. Two arms
  differ only through their recommender, and comparisons are paired per user
  (:mod:`simulator.live_ab.metrics`).

One simpy process per arm runs the days and steps; at each step the users
still in session make one batched request to the
:class:`~simulator.engine.service.RecommenderService` (one ``recommend`` call), and
only they receive events.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import simpy
from tqdm import tqdm

from agents import NO_CHOICE, LogitChoice, Purpose, Recent, UserModel
from agents.response import sigmoid
from recommenders import PAD, HistoryBatch, RecommenderAdapter
from simulator.bootstrap import MAX_RESAMPLES
from simulator.engine.service import RecommenderService, ServiceStats
from simulator.live_ab.metrics import (
    METRICS,
    Events,
    UserDay,
    compare_arms,
    count_events,
    day_columns,
    day_counts,
)
from simulator.world import AnyWorld


@dataclass(frozen=True)
class LiveABConfig:
    """Parameters of a simulated live experiment.

    Attributes:
        n_users: users of the world taking part (ids 0..n_users-1), in every arm.
        n_days: simulated days.
        max_session: most items a user consumes in one day's session.
        slate_size: items per slate.
        seed: keys every behaviour draw and the bootstrap.
        temperature: of the logit choice (utility units).
        no_choice_utility: utility of leaving (utility units, finite): the
            higher, the shorter sessions get when slates are poor.
        return_bias, return_weight: the return model
            ``P(active tomorrow) = sigmoid(return_bias + return_weight * s)``
            (see the module docstring); the defaults give 0.82 for a neutral
            session (s = 0), 0.97 for a fully enjoyed one (s = 1) and 0.38
            for one in which every item was disliked (s = -1).
        baseline: name of the arm the others are compared with.
        confidence, n_resamples: of the paired bootstrap CIs.
    """

    n_users: int = 2000
    n_days: int = 14
    max_session: int = 20
    slate_size: int = 10
    seed: int = 0
    temperature: float = 1.0
    no_choice_utility: float = 1.0
    return_bias: float = 1.5
    return_weight: float = 2.0
    baseline: str = "baseline"
    confidence: float = 0.95
    n_resamples: int = 2000

    def __post_init__(self) -> None:
        checks = [
            (self.n_users >= 2, f"n_users must be >= 2 (a paired bootstrap), got {self.n_users}"),
            (self.n_days >= 1, f"n_days must be >= 1, got {self.n_days}"),
            (self.max_session >= 1, f"max_session must be >= 1, got {self.max_session}"),
            (self.slate_size >= 1, f"slate_size must be >= 1, got {self.slate_size}"),
            (0 <= self.seed < 2**63, f"seed must be in [0, 2**63), got {self.seed}"),
            (self.temperature > 0, f"temperature must be > 0, got {self.temperature}"),
            (
                np.isfinite(self.no_choice_utility),
                f"no_choice_utility must be finite (users must be able to leave), "
                f"got {self.no_choice_utility}",
            ),
            (np.isfinite(self.return_bias), f"return_bias must be finite, got {self.return_bias}"),
            (
                np.isfinite(self.return_weight) and self.return_weight >= 0,
                f"return_weight must be finite and >= 0, got {self.return_weight}",
            ),
            (bool(self.baseline), "baseline must name an arm"),
            (0 < self.confidence < 1, f"confidence must be in (0, 1), got {self.confidence}"),
            (
                100 <= self.n_resamples <= MAX_RESAMPLES,
                f"n_resamples must be in [100, {MAX_RESAMPLES:,}], got {self.n_resamples}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict:
        return asdict(self)

    def check_world(self, world: AnyWorld) -> None:
        """One-line errors for an experiment the world cannot host."""
        if self.n_users > world.n_users:
            raise ValueError(f"n_users {self.n_users} exceeds the world's {world.n_users} users")
        needed = self.n_days * self.max_session + self.slate_size
        if needed > world.corpus.n_items:
            raise ValueError(
                f"n_days * max_session + slate_size = {needed} exceeds the world's "
                f"{world.corpus.n_items} items (slates exclude consumed items)"
            )


@dataclass
class LiveABResult:
    """A finished experiment.

    Attributes:
        users: per-(arm, day, user) table (:data:`simulator.live_ab.metrics.USER_DAY_COLUMNS`).
        daily: relative change vs the baseline per (arm, metric, day).
        summary: the same pooled over all days, with the paper's values.
        histories: every user's full history per arm at the end.
        adapter_names: each arm's ``adapter.name``.
        service: recommender calls, histories served and seconds per arm.
        arm_seconds: wall seconds of each arm's simulation.
        wall_seconds: wall seconds of the whole run, comparisons included.
    """

    config: LiveABConfig
    arms: tuple[str, ...]
    users: pd.DataFrame
    daily: pd.DataFrame
    summary: pd.DataFrame
    histories: dict[str, HistoryBatch]
    adapter_names: dict[str, str]
    service: dict[str, ServiceStats]
    arm_seconds: dict[str, float]
    wall_seconds: float

    def daily_active_users(self) -> pd.DataFrame:
        """Active users per day (rows) and arm (columns)."""
        dau = self.users.pivot_table(index="day", columns="arm", values="active", aggfunc="sum")
        return dau[list(self.arms)].astype(np.int64)


class _LiveUsers:
    """One arm's users: ragged histories over all days, plus today's counters.

    Histories are (n_users, capacity) arrays with a length per user, so users
    whose session ended simply stop growing; a request copies only the rows
    still in session, cut to their longest history. The day's totals are those
    :data:`simulator.live_ab.metrics.COUNTERS` declares.
    """

    def __init__(self, n_users: int, capacity: int, model: UserModel, n_clusters: int) -> None:
        self.items = np.full((n_users, capacity), PAD, np.int64)
        self.feedback = np.full((n_users, capacity), PAD, np.int64)
        self.dwell = np.full((n_users, capacity), np.nan)
        self.lengths = np.zeros(n_users, np.int64)
        self.session_start = np.zeros(n_users, np.int64)
        self.cluster = model.item_cluster
        self.creator = model.item_creator
        n_creators = int(self.creator.max()) + 1
        # Per (user, creator), the feedback codes given at any earlier event, any
        # day, as bits 1 << code: Feedback has 5 codes, so one byte holds them all.
        self.creator_feedback = np.zeros((n_users, n_creators), np.uint8)
        self.n_clusters = n_clusters
        self.start_day()

    def start_day(self) -> None:
        n = len(self.lengths)
        self.session_start = self.lengths.copy()
        self.counts = day_counts(n)
        self.cluster_counts = np.zeros((n, self.n_clusters), np.int64)

    def histories(self, rows: np.ndarray) -> HistoryBatch:
        lengths = self.lengths[rows]
        width = int(lengths.max()) if rows.size else 0
        return HistoryBatch(
            self.items[rows, :width], self.feedback[rows, :width], self.dwell[rows, :width], lengths
        )

    def recent(self, rows: np.ndarray, window: int, all_sessions: bool = False) -> Recent:
        """The last ``window`` events of ``rows`` (today's only unless ``all_sessions``),
        most recent first (-1 = none); at most as many columns as the longest reach."""
        start = 0 if all_sessions else self.session_start[rows, None]
        reach = self.lengths[rows] - (0 if all_sessions else self.session_start[rows])
        window = min(window, int(reach.max()) if rows.size else 0)
        cols = self.lengths[rows, None] - 1 - np.arange(window)[None, :]
        valid = cols >= start
        at = (rows[:, None], np.where(valid, cols, 0))
        return Recent(
            items=np.where(valid, self.items[at], PAD),
            feedback=np.where(valid, self.feedback[at], PAD),
        )

    def record(self, rows: np.ndarray, items: np.ndarray, feedback, dwell) -> None:
        """Append one event to each of ``rows`` (distinct) and count it."""
        col = self.lengths[rows]
        self.items[rows, col] = items
        self.feedback[rows, col] = feedback
        self.dwell[rows, col] = dwell
        self.lengths[rows] = col + 1
        creators = self.creator[items]
        events = Events(
            items=items,
            feedback=feedback,
            dwell=dwell,
            creator=creators,
            cluster=self.cluster[items],
            creator_feedback=self.creator_feedback[rows, creators],
        )
        count_events(self.counts, rows, events)
        # Marked after counting, so a creator's first dislike is not a repeat.
        self.creator_feedback[rows, creators] |= (1 << np.asarray(feedback)).astype(np.uint8)
        self.cluster_counts[rows, events.cluster] += 1

    def satisfaction(self) -> np.ndarray:
        c = self.counts
        return (c["enjoyed"] - c["dislikes"]) / np.maximum(c["consumed"], 1)

    def day_table(
        self, day: int, users: np.ndarray, active, prev_active, satisfaction
    ) -> dict[str, np.ndarray]:
        """The day's rows: ``day``, ``user`` (the ids ``users``), then every column of
        ``COUNTERS`` in order."""
        today = UserDay(self.counts, self.cluster_counts, active, prev_active, satisfaction)
        return {
            "day": np.full(len(active), day, np.int64),
            "user": users,
            **day_columns(today),
        }


@dataclass(frozen=True)
class ArmRun:
    """One arm's closed loop over some users: per-(day, user) rows, the users' final
    histories, the service's counters and the wall seconds it took."""

    table: pd.DataFrame
    histories: HistoryBatch
    service: ServiceStats
    seconds: float


def simulate_arm(
    world: AnyWorld,
    adapter: RecommenderAdapter,
    config: LiveABConfig,
    users: range | None = None,
    on_day=lambda: None,
) -> ArmRun:
    """One arm's closed loop for ``users`` (default: all ``config.n_users``).

    Every draw is keyed by the user's id and the adapter is a function of each
    history alone, so the users of a sub-range get exactly their rows of the whole
    run (:mod:`simulator.live_ab.shards` splits runs this way)."""
    start = time.perf_counter()
    users = range(config.n_users) if users is None else users
    if users.step != 1 or not 0 <= users.start < users.stop <= config.n_users:
        raise ValueError(f"users must be a range within [0, {config.n_users}), got {users}")
    env = simpy.Environment()
    service = RecommenderService(env, adapter, world.corpus.n_items, config.slate_size)
    model = world.user_model(config.seed)
    policy = LogitChoice(config.temperature, config.no_choice_utility)
    window = model.history_window
    n = len(users)
    state = _LiveUsers(n, config.n_days * config.max_session, model, world.corpus.n_clusters)
    # Rows of ``state`` are 0..n-1; draws and the user model take the users' ids.
    ids = np.arange(users.start, users.stop, dtype=np.int64)
    days: list[dict[str, np.ndarray]] = []

    def run_days():
        active = np.ones(n, bool)
        prev_active = np.zeros(n, bool)
        satisfaction = np.zeros(n)
        for day in range(config.n_days):
            if day:
                draw = model.keys.uniform(ids, day, Purpose.SESSION)[:, 0]
                p_return = sigmoid(config.return_bias + config.return_weight * satisfaction)
                prev_active, active = active, draw < p_return
            state.start_day()
            in_session = active.copy()
            for t in range(config.max_session):
                rows = np.flatnonzero(in_session)
                if not rows.size:
                    break
                slates = yield service.request(state.histories(rows))
                step = day * config.max_session + t
                recent = state.recent(rows, window, model.history_spans_sessions)
                picks = policy.choose(model.keys, ids[rows], step, slates, model, recent)
                chose = np.flatnonzero(picks != NO_CHOICE)
                in_session[rows[picks == NO_CHOICE]] = False
                rows, items = rows[chose], slates[chose, picks[chose]]
                recent = Recent(recent.items[chose], recent.feedback[chose])
                response = model.respond(ids[rows], items, step, recent)
                state.record(rows, items, response.feedback, response.dwell)
                yield env.timeout(1.0)
            # Inactive users keep their last session's satisfaction (see the return model).
            satisfaction = np.where(active, state.satisfaction(), satisfaction)
            days.append(state.day_table(day + 1, ids, active, prev_active, satisfaction))
            on_day()
            yield env.timeout((day + 1) * config.max_session - env.now)

    env.process(run_days())
    env.run()
    table = pd.DataFrame({k: np.concatenate([d[k] for d in days]) for k in days[0]})
    histories = state.histories(np.arange(n))
    return ArmRun(table, histories, service.stats, time.perf_counter() - start)


def run_live_ab(
    world: AnyWorld,
    arms: Mapping[str, RecommenderAdapter],
    config: LiveABConfig | None = None,
    progress: bool = True,
    reference: Mapping[tuple[str, str], float] | None = None,
) -> LiveABResult:
    """Run every arm on the same users and compare each with ``config.baseline``.

    Args:
        world: users, items and response model.
        arms: arm name -> recommender, in the order reported; must contain
            the baseline and at least one other arm.
        config: the experiment (default :class:`LiveABConfig`).
        progress: show a tqdm bar (stderr) over arm-days.
        reference: published changes by (arm, metric), put beside the pooled
            results in the summary's ``paper`` column (NaN elsewhere).

    Returns:
        A :class:`LiveABResult`; relative changes are fractions (see
        :mod:`simulator.live_ab.metrics` for how each metric and CI is formed).

    Raises:
        ValueError: (one line) too few arms, no baseline arm, an empty arm
            name, or a config the world cannot host.
    """
    config = config or LiveABConfig()
    names = tuple(arms)
    if len(names) < 2:
        raise ValueError(f"need at least 2 arms (a baseline and a treatment), got {len(names)}")
    if config.baseline not in arms:
        raise ValueError(f"baseline arm {config.baseline!r} is not among the arms {list(names)}")
    if any(not str(name).strip() for name in names):
        raise ValueError("arm names must be non-empty")
    config.check_world(world)
    start = time.perf_counter()
    runs = {}
    with tqdm(
        total=len(names) * config.n_days, unit="arm-day", desc="live A/B", disable=not progress
    ) as bar:
        for name in names:
            bar.set_postfix(arm=name)
            runs[name] = simulate_arm(world, arms[name], config, on_day=lambda: bar.update(1))
    adapter_names = {name: arms[name].name for name in names}
    return compare_live_ab(runs, adapter_names, config, progress, reference, start)


def compare_live_ab(
    runs: Mapping[str, ArmRun],
    adapter_names: Mapping[str, str],
    config: LiveABConfig,
    progress: bool = True,
    reference: Mapping[tuple[str, str], float] | None = None,
    start: float | None = None,
) -> LiveABResult:
    """The :class:`LiveABResult` of every arm's run over all users (arms in order):
    paired comparisons with ``config.baseline`` (bootstrap CIs) per day and pooled.
    ``start``: the ``perf_counter`` the run began at (default: now)."""
    start = time.perf_counter() if start is None else start
    names = tuple(runs)
    tables = []
    for name in names:
        table = runs[name].table.copy()
        table.insert(0, "arm", name)
        tables.append(table)
    users = pd.concat(tables, ignore_index=True)
    intervals = (len(names) - 1) * len(METRICS) * (config.n_days + 1)
    with tqdm(total=intervals, unit="interval", desc="bootstrap CIs", disable=not progress) as bar:
        daily, summary = compare_arms(
            users,
            config.baseline,
            config.confidence,
            config.n_resamples,
            config.seed,
            reference,
            on_interval=bar.update,
        )
    return LiveABResult(
        config=config,
        arms=names,
        users=users,
        daily=daily,
        summary=summary,
        histories={name: runs[name].histories for name in names},
        adapter_names=dict(adapter_names),
        service={name: runs[name].service for name in names},
        arm_seconds={name: runs[name].seconds for name in names},
        wall_seconds=time.perf_counter() - start,
    )
