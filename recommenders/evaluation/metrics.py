"""Ranking metrics from target ranks and top-k lists (numpy only, one relevant item per event).

A rank r is the number of items ranked above the target after excluding the
user's input items (0 = first place; :func:`recommenders.evaluation.ranking.target_ranks`).
With one relevant item per held-out event, per event (:func:`hits_at`, :func:`ndcg_gains`)
and averaged over events (:func:`recall_at`, :func:`ndcg_at`):

* Recall@K = mean of 1[r < K] (Recall@1 is the hit rate at the top);
* NDCG@K = mean of 1[r < K] / log2(r + 2) (the ideal DCG is 1).

Negative-target metrics (lower is better; "disliked" means the feedback code
``Feedback.DISLIKE``, i.e. rating <= 2 on MovieLens under the default rule):

* **disliked target in top K**: among users whose held-out target was disliked,
  the share with r < K: how often the model still recommends an item the user
  went on to dislike. It is Recall@K restricted to those users, so a model that
  learns nothing from dislikes scores about its overall Recall@K here.
* **disliked-creator share**: among users with at least one disliked input event
  whose creator (the director on ML-1M) is known, the mean over users of
  |{i in top K : creator(i) in D_u}| / K, where D_u is the set of creators of the
  user's disliked input events (every input event, not only the model's last
  ``max_len``). Items of unknown creator (-1) never count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recommenders.history import PAD


def hits_at(ranks: np.ndarray, k: int) -> np.ndarray:
    """Per event, 1[rank < k] as float64."""
    return (np.asarray(ranks) < k).astype(np.float64)


def ndcg_gains(ranks: np.ndarray, k: int) -> np.ndarray:
    """Per event, 1[rank < k] / log2(rank + 2) as float64 (the DCG of one relevant item)."""
    ranks = np.asarray(ranks, np.float64)
    return np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)


PER_EVENT: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "hit": hits_at,
    "ndcg": ndcg_gains,
}
"""Per-event scores by name, for paired comparisons of two models on the same events."""


def recall_at(ranks: np.ndarray, k: int) -> float:
    """Mean of :func:`hits_at`; NaN for no ranks."""
    ranks = np.asarray(ranks)
    return float(hits_at(ranks, k).mean()) if ranks.size else float("nan")


def ndcg_at(ranks: np.ndarray, k: int) -> float:
    """Mean of :func:`ndcg_gains`; NaN for no ranks."""
    ranks = np.asarray(ranks)
    return float(ndcg_gains(ranks, k).mean()) if ranks.size else float("nan")


def disliked_target_in_top(ranks: np.ndarray, disliked: np.ndarray, k: int = 10) -> float:
    """Share of users with a disliked target whose target ranks in the top ``k``; NaN if none."""
    return recall_at(np.asarray(ranks)[np.asarray(disliked, bool)], k)


def disliked_creator_share(
    top: np.ndarray,
    input_items: np.ndarray,
    input_disliked: np.ndarray,
    creator: np.ndarray,
) -> np.ndarray:
    """Per user, the share of the top-k items by a creator the user disliked (NaN: no such user).

    Args:
        top: int (n, k) recommended items per user.
        input_items: int (n, L) each user's input items, PAD = -1 beyond its length.
        input_disliked: bool (n, L) True where the input event was disliked.
        creator: int (n_items,) creator of each item, -1 unknown.

    Returns float64 (n,): |{i in top_u : creator(i) in D_u}| / k, NaN for users with
    no disliked input event of known creator (they do not count in the mean; see
    the module docstring).
    """
    top = np.asarray(top, np.int64)
    items = np.asarray(input_items, np.int64)
    creator = np.asarray(creator, np.int64)
    n_creators = int(creator.max()) + 1 if creator.size else 0
    valid = np.asarray(input_disliked, bool) & (items != PAD)
    rows, cols = np.nonzero(valid)
    disliked_creator = creator[items[rows, cols]]
    known = disliked_creator >= 0
    # (user, creator) pairs as one integer key, so membership is one np.isin.
    keys = np.unique(rows[known] * n_creators + disliked_creator[known])
    users = np.unique(rows[known])
    shares = np.full(len(top), np.nan)
    if users.size:
        top_creator = creator[top[users]]
        hit = (top_creator >= 0) & np.isin(users[:, None] * n_creators + top_creator, keys)
        shares[users] = hit.mean(axis=1)
    return shares


def mean_defined(values: np.ndarray) -> tuple[float, int]:
    """(mean of the non-NaN values, how many there are); NaN and 0 when none."""
    values = np.asarray(values, np.float64)
    defined = values[~np.isnan(values)]
    return (float(defined.mean()) if defined.size else float("nan")), int(defined.size)
