r"""Metrics of a simulated live A/B test and their paired comparison with the baseline arm.

The raw result of :func:`simulator.live_ab.simulation.run_live_ab` is a table with one
row per (arm, day, user) holding counts of that user's session that day (see
:data:`USER_DAY_COLUMNS`). Each column is declared once in :data:`COUNTERS`, with how
it is counted from a batch of recorded events (:class:`EventCount`) or computed at
the day's end (:class:`DayValue`); the simulation's day counters, its per-event
bookkeeping and the table all follow those declarations. Every metric is a ratio
of two columns, ``numerator / denominator`` (:data:`METRICS`):

=======================  ===============  ===========  ================================
metric                   numerator        denominator  unit
=======================  ===============  ===========  ================================
``active``               active           (1)          share of users (DAU / n_users)
``churn``                churned          prev_active  share of yesterday's users
``consumed``             consumed         active       items per active user-day
``dislike_rate``         dislikes         consumed     per consumed item
``repeat_dislike_rate``  repeat_dislikes  consumed     per consumed item
``skip_rate``            skips            consumed     per consumed item
``repeat_skip_rate``     repeat_skips     consumed     per consumed item
``enjoyment``            enjoyment        active       item lengths per active user-day
``diversity``            diversity        has_items    nats per user-day with items
=======================  ===============  ===========  ================================

A repeated dislike (skip) is a DISLIKE (SKIP) event on an item whose creator
the user had already disliked (skipped) at any earlier step, on any day.
Feedback codes are exclusive, so a disliked short watch is a dislike, not a skip.

**How a ratio is formed.** For a set of days D (one day, or all days
pooled), user u's value is the ratio of *that user's* totals,

.. math::  m_u = \sum_{d \in D} \mathrm{num}[u, d] \;/\; \sum_{d \in D} \mathrm{den}[u, d],

defined when the denominator is > 0 (a dislike rate of a user who consumed
nothing is undefined, not 0). An arm's value is the mean of m_u over users,
each user weighing equally: the unit of randomisation is the user, as in a
user-diverted live experiment. This is a mean of per-user ratios, not the
arm-wide ratio of sums (which would weigh heavy users more).

**Comparison.** Against the baseline arm, a metric's relative change is

.. math::  R = (\bar m^{arm} - \bar m^{base}) / \bar m^{base}

(a fraction; x100 for percent), over the users whose m_u is defined in *both*
arms. Every arm serves the same users with the same keyed random numbers, so
the two values of a user are a pair: the 95 % CI comes from
:func:`simulator.bootstrap.relative_change_ci`, a paired BCa bootstrap that
resamples users and keeps both arms' values of each drawn user together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agents.response import DISLIKE, LIKE, POSITIVE, SKIP
from simulator.bootstrap import relative_change_ci


def entropy_nats(counts: np.ndarray) -> np.ndarray:
    r"""Shannon entropy :math:`-\sum_c p_c \ln p_c`, :math:`p_c = n_c / \sum n`, per row.

    ``counts`` (n, n_classes) non-negative; a row of zeros gives 0.
    """
    counts = np.asarray(counts, np.float64)
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / total
        terms = np.where(counts > 0, -p * np.log(np.where(counts > 0, p, 1.0)), 0.0)
    # Adding exact zeros (absent clusters) in any order gives the same float sum.
    return terms.sum(axis=1)


@dataclass(frozen=True)
class Events:
    """One recorded step: one consumed item for each of n distinct users in session.

    Attributes:
        items: int (n,) the consumed items.
        feedback: int (n,) their Feedback codes (exclusive: a disliked short
            watch is DISLIKE, not SKIP).
        dwell: float (n,) their dwell, in fractions of the item's length.
        creator, cluster: int (n,) each item's creator and content cluster.
        creator_feedback: uint8 (n,) the user's creator memory: bit ``1 << code``
            is set when the user gave Feedback ``code`` to an item of this
            item's creator at any *earlier* event, on any day.
    """

    items: np.ndarray
    feedback: np.ndarray
    dwell: np.ndarray
    creator: np.ndarray
    cluster: np.ndarray
    creator_feedback: np.ndarray

    def had_creator(self, code: int) -> np.ndarray:
        """bool (n,): the user had given ``code`` to this item's creator before this event."""
        return (self.creator_feedback & np.uint8(1 << code)) != 0

    @property
    def enjoyed(self) -> np.ndarray:
        """bool (n,): POSITIVE or LIKE, the events the return model counts as enjoyed."""
        return (self.feedback == POSITIVE) | (self.feedback == LIKE)


@dataclass(frozen=True)
class UserDay:
    """Every user's day at its end.

    Attributes:
        counts: name -> (n_users,) the day's total of each :class:`EventCount`.
        clusters: int (n_users, n_clusters) items consumed per content cluster that day.
        active, prev_active: bool (n_users,) in session today / the day before.
        satisfaction: float (n_users,) the return model's score of the user's
            last session (:mod:`simulator.live_ab.simulation`).
    """

    counts: Mapping[str, np.ndarray]
    clusters: np.ndarray
    active: np.ndarray
    prev_active: np.ndarray
    satisfaction: np.ndarray


@dataclass(frozen=True)
class EventCount:
    """A per-user-day total: the sum of ``per_event(events)`` over the user's events that day.

    ``per_event`` gives one value per event of a batch (bool counts as 0/1);
    ``column=False`` keeps the total for other values (the return model's
    satisfaction) without a column in the table.
    """

    name: str
    per_event: Callable[[Events], np.ndarray]
    unit: str
    dtype: type = np.int64
    column: bool = True


@dataclass(frozen=True)
class DayValue:
    """A per-user-day value computed once, at the day's end, from its :class:`UserDay`."""

    name: str
    value: Callable[[UserDay], np.ndarray]
    unit: str
    dtype: type = np.int64

    @property
    def column(self) -> bool:
        """Always a column: nothing else reads a day value."""
        return True


COUNTERS: tuple[EventCount | DayValue, ...] = (
    DayValue("active", lambda d: d.active, "1 when the user had a session that day"),
    DayValue("prev_active", lambda d: d.prev_active, "1 when the user was active the day before"),
    DayValue("churned", lambda d: d.prev_active & ~d.active, "1: active yesterday, not today"),
    EventCount("consumed", lambda e: np.ones(len(e.items), np.int64), "items consumed"),
    DayValue("has_items", lambda d: d.counts["consumed"] > 0, "1 when >= 1 item was consumed"),
    EventCount("dislikes", lambda e: e.feedback == DISLIKE, "DISLIKE events"),
    EventCount(
        "repeat_dislikes",
        lambda e: (e.feedback == DISLIKE) & e.had_creator(DISLIKE),
        "DISLIKE events on a creator the user had disliked before",
    ),
    EventCount("skips", lambda e: e.feedback == SKIP, "SKIP events"),
    EventCount(
        "repeat_skips",
        lambda e: (e.feedback == SKIP) & e.had_creator(SKIP),
        "SKIP events on a creator the user had skipped before",
    ),
    EventCount("likes", lambda e: e.feedback == LIKE, "LIKE events"),
    EventCount(
        "enjoyment",
        lambda e: np.where(e.enjoyed, e.dwell, 0.0),
        "summed dwell (item lengths) of POSITIVE and LIKE events",
        np.float64,
    ),
    DayValue(
        "diversity",
        lambda d: entropy_nats(d.clusters),
        "entropy (nats) of the day's consumed clusters, 0 with no items",
        np.float64,
    ),
    DayValue(
        "satisfaction",
        lambda d: np.where(d.active, d.satisfaction, np.nan),
        "the return model's session score in [-1, 1], NaN when inactive",
        np.float64,
    ),
    EventCount("enjoyed", lambda e: e.enjoyed, "POSITIVE or LIKE events", column=False),
)
"""Every per-user-day quantity, declared once, in the table's column order.

An :class:`EventCount` is tallied from each recorded batch of events, a
:class:`DayValue` computed at the day's end; a metric is a ratio of two
columns (:data:`METRICS`)."""

USER_DAY_COLUMNS = (
    "arm",
    "day",
    "user",
    *(c.name for c in COUNTERS if c.column),
)
"""Columns of the per-user-day table: the keys (``day`` runs 1..n_days), then
:data:`COUNTERS`' columns in order."""


def day_counts(n_users: int) -> dict[str, np.ndarray]:
    """A new day's totals: zeros for every :class:`EventCount`, each of its dtype."""
    return {c.name: np.zeros(n_users, c.dtype) for c in COUNTERS if isinstance(c, EventCount)}


def count_events(counts: Mapping[str, np.ndarray], rows: np.ndarray, events: Events) -> None:
    """Add one batch to the day's totals; ``rows`` (distinct users) line up with ``events``."""
    for counter in COUNTERS:
        if isinstance(counter, EventCount):
            counts[counter.name][rows] += counter.per_event(events)


def day_columns(day: UserDay) -> dict[str, np.ndarray]:
    """The day's columns, in :data:`COUNTERS`' order (keys ``arm, day, user`` excluded)."""
    columns = {}
    for counter in COUNTERS:
        if isinstance(counter, DayValue):
            columns[counter.name] = np.asarray(counter.value(day)).astype(counter.dtype)
        elif counter.column:
            columns[counter.name] = day.counts[counter.name]
    return columns


@dataclass(frozen=True)
class Metric:
    """One metric: per user, ``sum(numerator) / sum(denominator)`` over the days considered."""

    name: str
    numerator: str
    denominator: str | None  # None: 1 per user-day, every user counts every day
    unit: str


METRICS: tuple[Metric, ...] = (
    Metric("dislike_rate", "dislikes", "consumed", "dislikes per consumed item"),
    Metric("repeat_dislike_rate", "repeat_dislikes", "consumed", "repeated-creator dislikes/item"),
    Metric("skip_rate", "skips", "consumed", "skips per consumed item"),
    Metric("repeat_skip_rate", "repeat_skips", "consumed", "repeated-creator skips per item"),
    Metric("enjoyment", "enjoyment", "active", "satisfied dwell (item lengths) per session"),
    Metric("diversity", "diversity", "has_items", "cluster entropy (nats) per session"),
    Metric("consumed", "consumed", "active", "items per session"),
    Metric("active", "active", None, "share of users active (DAU / n_users)"),
    Metric("churn", "churned", "prev_active", "share of yesterday's users not returning"),
)
METRIC_NAMES = tuple(m.name for m in METRICS)


def check_metrics(metrics: tuple[Metric, ...], columns: tuple[str, ...]) -> None:
    """One-line ValueError for a metric whose numerator or denominator is no counter column."""
    counted = set(columns) - {"arm", "day", "user"}
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ValueError(f"metric names repeat: {names}")
    for m in metrics:
        for part in (m.numerator, m.denominator):
            if part is not None and part not in counted:
                raise ValueError(
                    f"metric {m.name!r}: {part!r} is not a per-user-day column; "
                    f"declare it in COUNTERS (columns: {sorted(counted)})"
                )


check_metrics(METRICS, USER_DAY_COLUMNS)

COMPARISON_COLUMNS = (
    "arm",
    "baseline",
    "metric",
    "day",
    "mean_baseline",
    "mean_arm",
    "relative_change",
    "ci_low",
    "ci_high",
    "significant",
    "n",
    "method",
)


def _cube(users: pd.DataFrame, column: str | None, arms, days, n_users) -> np.ndarray:
    """(n_arms, n_days, n_users) array of a column; the table must be complete and sorted."""
    if column is None:
        return np.ones((len(arms), len(days), n_users))
    return users[column].to_numpy(np.float64).reshape(len(arms), len(days), n_users)


def _sorted_complete(users: pd.DataFrame, arms: list[str]) -> tuple[pd.DataFrame, list, int]:
    missing = [c for c in ("arm", "day", "user") if c not in users.columns]
    if missing:
        raise ValueError(f"user-day table lacks column(s) {missing}")
    days = sorted(users["day"].unique())
    n_users = users["user"].nunique()
    if len(users) != len(arms) * len(days) * n_users:
        raise ValueError(
            "user-day table must hold one row per (arm, day, user): "
            f"{len(users)} rows for {len(arms)} arms x {len(days)} days x {n_users} users"
        )
    order = {arm: i for i, arm in enumerate(arms)}
    ranked = users.assign(_arm=users["arm"].map(order)).sort_values(
        ["_arm", "day", "user"], kind="stable"
    )
    return ranked, days, n_users


def _compare(
    base: tuple[np.ndarray, np.ndarray],
    arm: tuple[np.ndarray, np.ndarray],
    confidence: float,
    n_resamples: int,
    seed: int,
) -> dict:
    """Paired relative change of mean per-user ratios, over users defined in both arms."""
    (num_a, den_a), (num_b, den_b) = base, arm
    both = (den_a > 0) & (den_b > 0)
    n = int(both.sum())
    if n < 2:
        nan = float("nan")
        return {
            "mean_baseline": nan,
            "mean_arm": nan,
            "relative_change": nan,
            "ci_low": nan,
            "ci_high": nan,
            "n": n,
            "method": "undefined: fewer than 2 users defined in both arms",
        }
    s_a = num_a[both] / den_a[both]
    s_b = num_b[both] / den_b[both]
    res = relative_change_ci(s_a, s_b, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return {
        "mean_baseline": res.mean_a,
        "mean_arm": res.mean_b,
        "relative_change": res.relative_change,
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        "n": res.n,
        "method": res.method,
    }


def compare_arms(
    users: pd.DataFrame,
    baseline: str,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    reference: Mapping[tuple[str, str], float] | None = None,
    on_interval: Callable[[], object] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Relative change of every metric of every arm vs ``baseline``, per day and pooled.

    ``users`` is the per-user-day table (one row per arm x day x user). Arms
    are taken in order of first appearance. Returns ``(daily, summary)``:
    ``daily`` has one row per (arm, metric, day), ``summary`` one per
    (arm, metric) pooled over all days (per-user totals over the days, then
    the ratio; see the module docstring) with a published value in ``paper``:
    ``reference[(arm, metric)]`` (e.g. :data:`experiments.published.LIVE_AB`),
    NaN where it has none or no ``reference`` is given. ``significant`` is True when the CI
    excludes 0. Every bootstrap uses ``seed``, so reruns are bit-identical.
    ``on_interval`` is called after each of the ``(arms - 1) x metrics x (days + 1)``
    intervals.
    """
    arms = list(dict.fromkeys(users["arm"]))
    if baseline not in arms:
        raise ValueError(f"baseline arm {baseline!r} is not among the arms {arms}")
    ranked, days, n_users = _sorted_complete(users, arms)
    b = arms.index(baseline)
    cubes = {
        m.name: (
            _cube(ranked, m.numerator, arms, days, n_users),
            _cube(ranked, m.denominator, arms, days, n_users),
        )
        for m in METRICS
    }
    daily_rows, summary_rows = [], []
    for a, arm in enumerate(arms):
        if a == b:
            continue
        for metric in METRICS:
            num, den = cubes[metric.name]
            key = {"arm": arm, "baseline": baseline, "metric": metric.name}
            for d, day in enumerate(days):
                stats = _compare(
                    (num[b, d], den[b, d]), (num[a, d], den[a, d]), confidence, n_resamples, seed
                )
                daily_rows.append({**key, "day": int(day), **stats})
                if on_interval is not None:
                    on_interval()
            pooled = _compare(
                (num[b].sum(0), den[b].sum(0)),
                (num[a].sum(0), den[a].sum(0)),
                confidence,
                n_resamples,
                seed,
            )
            summary_rows.append({**key, "day": "all", **pooled})
            if on_interval is not None:
                on_interval()
    daily = _finish(pd.DataFrame(daily_rows, columns=list(COMPARISON_COLUMNS)))
    summary = _finish(pd.DataFrame(summary_rows, columns=list(COMPARISON_COLUMNS)))
    summary = summary.drop(columns="day")
    summary["paper"] = [
        (reference or {}).get((arm, metric), np.nan)
        for arm, metric in zip(summary["arm"], summary["metric"], strict=True)
    ]
    return daily, summary


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    low, high = table["ci_low"], table["ci_high"]
    table["significant"] = ((low > 0) | (high < 0)).astype(bool)
    table["n"] = table["n"].astype(np.int64)
    return table
