r"""Metrics of a simulated live A/B test and their paired comparison with the baseline arm.

The raw result of :func:`simulator.live_ab.simulation.run_live_ab` is a table with one
row per (arm, day, user) holding counts of that user's session that day (see
:data:`USER_DAY_COLUMNS`). Every metric is a ratio of two of its columns,
``numerator / denominator`` (:data:`METRICS`):

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

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.bootstrap import relative_change_ci

USER_DAY_COLUMNS = (
    "arm",
    "day",
    "user",
    "active",
    "prev_active",
    "churned",
    "consumed",
    "has_items",
    "dislikes",
    "repeat_dislikes",
    "skips",
    "repeat_skips",
    "likes",
    "enjoyment",
    "diversity",
    "satisfaction",
)
"""Columns of the per-user-day table. ``day`` runs 1..n_days; counts are items;
``enjoyment`` is the summed dwell (fractions of item length) over POSITIVE and
LIKE events; ``diversity`` the entropy in nats of the day's consumed clusters
(0 with no items); ``satisfaction`` the session score of the return model
(NaN when inactive); ``churned`` = active the day before and not today."""


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
            pooled = _compare(
                (num[b].sum(0), den[b].sum(0)),
                (num[a].sum(0), den[a].sum(0)),
                confidence,
                n_resamples,
                seed,
            )
            summary_rows.append({**key, "day": "all", **pooled})
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
