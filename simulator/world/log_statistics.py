r"""Statistics of an interaction log, to compare a simulated log with a real one.

Every function takes plain arrays of a log sorted by (user, position) (the
order of :class:`recommenders.datasets.InteractionData.log` and of the
simulator's logs) and per-item metadata, and computes the same numbers on any
log, so a posterior-predictive check (real item sequences, outcomes drawn from
a fitted response model; :mod:`simulator.world.outcome_simulation`) and the
real log are measured alike. numpy and pandas only.

A *dislike* is an event with feedback ``Feedback.DISLIKE`` (not DISMISS), the
definition of the response model's covariate D
(:func:`simulator.world.response_fit.sequential_covariates`).

The statistics, with their units:

* **creator repeat** (:func:`creator_repeat`): does a dislike of a creator
  predict a dislike of that creator's next item? Shares of events in [0, 1],
  a lift as a ratio of shares.
* **per-user dislike rates** (:func:`per_user_dislike_rates`): the spread of
  users' own dislike shares, summarised by quantiles.
* **genre continuation** (:func:`genre_continuation`): share of a user's
  consecutive event pairs whose items share a content cluster.
* **consumed popularity** (:func:`consumed_popularity`): how concentrated
  consumption is on few items (top-decile share, Gini coefficient).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from recommenders.history import Feedback

USER_RATE_QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
"""Quantiles of the per-user dislike rates reported by :func:`log_statistics`."""

TOP_SHARE = 0.10
"""The most-consumed share of the catalogue whose share of events is reported."""


def _share(mask: np.ndarray) -> float:
    """Mean of a bool array; NaN for an empty one (an undefined share, not 0)."""
    return float(mask.mean()) if mask.size else math.nan


def user_creator_groups(users: np.ndarray, creators: np.ndarray) -> np.ndarray:
    """int64 (n_events,): one group per (user, known creator) of each event.

    ``creators`` is each event's creator (-1 unknown). Every unknown-creator
    event is a group of its own, so it neither sees nor leaves a past.
    """
    users = np.asarray(users, np.int64)
    creators = np.asarray(creators, np.int64)
    known = creators >= 0
    n_creators = int(creators.max()) + 1 if known.any() else 1
    return np.where(known, users * n_creators + creators, -1 - np.arange(len(users)))


def shares_cluster_with_previous(
    users: np.ndarray, items: np.ndarray, cluster_matrix: np.ndarray
) -> np.ndarray:
    """bool (n_events,): the event's item shares a cluster with the same user's previous
    row's item (False on each user's first row; the log is sorted by user and position)."""
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    matrix = np.asarray(cluster_matrix, bool)
    shares = np.zeros(len(users), bool)
    shares[1:] = (users[1:] == users[:-1]) & (matrix[items[1:]] & matrix[items[:-1]]).any(axis=1)
    return shares


def creator_disliked_before(
    users: np.ndarray, items: np.ndarray, disliked: np.ndarray, creator: np.ndarray
) -> np.ndarray:
    """bool (n_events,): the user disliked an earlier item of this event's creator.

    "Earlier" is an earlier row of the same user (the log is sorted by user and
    position); an event of an unknown creator (``creator[item] == -1``) is
    never True. The event's own dislike does not count.
    """
    disliked = np.asarray(disliked, bool)
    creators = np.asarray(creator, np.int64)[np.asarray(items, np.int64)]
    key = user_creator_groups(users, creators)
    before = pd.Series(disliked.astype(np.int64)).groupby(key).cumsum().to_numpy() - disliked
    return (creators >= 0) & (before > 0)


def creator_repeat(
    users: np.ndarray, items: np.ndarray, disliked: np.ndarray, creator: np.ndarray
) -> dict:
    r"""Repeat-dislike of creators: the signal a dislike-responsive model must learn.

    With :math:`R` the events whose known creator the user disliked at an
    earlier position (:func:`creator_disliked_before`), :math:`d_t` the event's
    dislike indicator and :math:`U_R` the users with at least one event in R:

    * ``base_dislike_rate`` = :math:`\frac{1}{n}\sum_t d_t`, share of all events;
    * ``p_dislike_after_creator_dislike`` = :math:`\frac{1}{|R|}\sum_{t \in R} d_t`;
    * ``p_dislike_otherwise`` = the same share over the events not in R;
    * ``own_rate`` = :math:`\sum_{t: u_t \in U_R} d_t \,/\, |\{t: u_t \in U_R\}|`,
      the pooled dislike share of the users in :math:`U_R` over all their
      events: what those users do anyway, so that a lift above 1 is not just
      "users who dislike a lot dislike a lot";
    * ``lift`` = ``p_dislike_after_creator_dislike / own_rate`` (ratio; 1 = a
      creator dislike says nothing beyond the user's own rate);
    * ``own_rate_per_repeat`` = :math:`\frac{1}{|R|}\sum_{t \in R} r_{u_t}`, with
      :math:`r_u` user u's dislike share over all their events: the own rate
      weighted as the repeat events are, so a user with many repeat events
      counts that often; ``lift_per_repeat`` the lift against it. The heavy
      dislikers dominate R, so this baseline is the stricter of the two;
    * ``n_repeat_events`` = :math:`|R|`.

    Shares are in [0, 1]; a share over no events, and the lift of an empty R,
    is NaN (undefined), never 0. ``own_rate`` is positive whenever R is not
    empty (each event in R follows a dislike of the same user).
    """
    users = np.asarray(users, np.int64)
    disliked = np.asarray(disliked, bool)
    repeat = creator_disliked_before(users, items, disliked, creator)
    repeat_users = np.zeros(int(users.max()) + 1 if users.size else 0, bool)
    repeat_users[users[repeat]] = True
    p_repeat = _share(disliked[repeat])
    own = _share(disliked[repeat_users[users]]) if repeat.any() else math.nan
    if repeat.any():
        per_user = np.bincount(users, weights=disliked, minlength=len(repeat_users))
        per_user = per_user / np.maximum(np.bincount(users, minlength=len(repeat_users)), 1)
        own_weighted = float(per_user[users[repeat]].mean())
    else:
        own_weighted = math.nan
    return {
        "base_dislike_rate": _share(disliked),
        "p_dislike_after_creator_dislike": p_repeat,
        "p_dislike_otherwise": _share(disliked[~repeat]),
        "own_rate": own,
        "lift": p_repeat / own if repeat.any() else math.nan,
        "own_rate_per_repeat": own_weighted,
        "lift_per_repeat": p_repeat / own_weighted if repeat.any() else math.nan,
        "n_repeat_events": int(repeat.sum()),
    }


def per_user_dislike_rates(users: np.ndarray, disliked: np.ndarray) -> np.ndarray:
    """float64 (number of distinct users,): each user's share of dislikes over their events.

    One entry per user id present in ``users``, in ascending id order; a user
    id without events has no entry (its rate is undefined).
    """
    users = np.asarray(users, np.int64)
    if not users.size:
        return np.zeros(0)
    events = np.bincount(users)
    dislikes = np.bincount(users, weights=np.asarray(disliked, np.float64), minlength=len(events))
    present = events > 0
    return dislikes[present] / events[present]


def genre_continuation(users: np.ndarray, items: np.ndarray, cluster_matrix: np.ndarray) -> float:
    """Share of consecutive event pairs of a user whose items share at least one cluster.

    Pairs are (row t-1, row t) of the same user; an item without clusters
    shares none. In [0, 1]; NaN when no user has two events.
    """
    users = np.asarray(users, np.int64)
    pair = np.zeros(len(users), bool)
    pair[1:] = users[1:] == users[:-1]
    return _share(shares_cluster_with_previous(users, items, cluster_matrix)[pair])


def consumed_popularity(items: np.ndarray, n_items: int) -> dict:
    r"""How concentrated consumption is, from the event count :math:`c_i` of every catalogue item.

    * ``top10_share``: share of events (in [0, 1]) on the
      :math:`\lceil 0.1\,n \rceil` most-consumed items of the n-item catalogue;
    * ``gini``: Gini coefficient of the counts over the whole catalogue
      (items never consumed count as 0),
      :math:`G = \frac{\sum_{j=1}^{n} (2j - n - 1)\, c_{(j)}}{n \sum_j c_{(j)}}`
      with :math:`c_{(j)}` ascending; 0 = every item equally often, 1 - 1/n =
      all events on one item;
    * ``coverage``: share of catalogue items consumed at least once.

    NaN for an empty log or catalogue.
    """
    items = np.asarray(items, np.int64)
    if not items.size or n_items < 1:
        return {"top10_share": math.nan, "gini": math.nan, "coverage": math.nan}
    counts = np.sort(np.bincount(items, minlength=n_items).astype(np.float64))
    total = counts.sum()
    top = math.ceil(TOP_SHARE * n_items)
    rank = np.arange(1, n_items + 1)
    return {
        "top10_share": float(counts[-top:].sum() / total),
        "gini": float(((2 * rank - n_items - 1) * counts).sum() / (n_items * total)),
        "coverage": float((counts > 0).mean()),
    }


def log_statistics(
    log: pd.DataFrame, creator: np.ndarray, cluster_matrix: np.ndarray, n_items: int
) -> dict[str, float]:
    """Every statistic of this module on one log, flat (see each function for its formula).

    ``log`` has int columns ``user``, ``item`` and ``feedback`` (Feedback
    codes), sorted by (user, position); ``creator`` is int (n_items,) with -1
    unknown, ``cluster_matrix`` bool (n_items, n_clusters). Keys:
    ``n_events``, ``n_users``, ``positive_rate`` (share of POSITIVE or LIKE
    events), the keys of :func:`creator_repeat` and :func:`consumed_popularity`,
    ``user_dislike_rate_q10`` ... ``_q90`` (quantiles of
    :func:`per_user_dislike_rates`, linear interpolation; NaN without users)
    and ``genre_continuation``.
    """
    users = log["user"].to_numpy(np.int64)
    items = log["item"].to_numpy(np.int64)
    feedback = log["feedback"].to_numpy(np.int64)
    disliked = feedback == int(Feedback.DISLIKE)
    positive = np.isin(feedback, (int(Feedback.POSITIVE), int(Feedback.LIKE)))
    rates = per_user_dislike_rates(users, disliked)
    out: dict[str, float] = {
        "n_events": len(log),
        "n_users": len(rates),
        "positive_rate": _share(positive),
    }
    out.update(creator_repeat(users, items, disliked, creator))
    for q in USER_RATE_QUANTILES:
        out[f"user_dislike_rate_q{round(100 * q)}"] = (
            float(np.quantile(rates, q)) if rates.size else math.nan
        )
    out["genre_continuation"] = genre_continuation(users, items, cluster_matrix)
    out.update(consumed_popularity(items, n_items))
    return out


def genre_weights(cluster_matrix: np.ndarray) -> np.ndarray:
    """float64 (n_items, n_clusters): 1 / (number of the item's clusters) on each of them
    (0 for an item with none): every genre of a multi-genre item counts equally."""
    matrix = np.asarray(cluster_matrix, np.float64)
    counts = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, counts, out=np.zeros_like(matrix), where=counts > 0)
