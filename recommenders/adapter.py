"""The adapter contract every recommender implements.

A recommender maps a batch of user histories to a batch of slates. It is a
pure function of the histories it is given: the simulator owns all user
state, so forking a user is copying a history.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from recommenders.history import History, HistoryBatch
from recommenders.validation import InvalidScoresError, SlateSizeError


@runtime_checkable
class CorpusLike(Protocol):
    """What an adapter may know about the item corpus.

    ``simulator.Corpus`` satisfies it; so does any object with these fields.
    ``cluster[i]`` and ``creator[i]`` are the content cluster and creator of
    item ``i``.
    """

    n_items: int
    cluster: np.ndarray
    creator: np.ndarray


class RecommenderAdapter(abc.ABC):
    """Base class of every recommender the simulator can query.

    Subclasses implement :meth:`recommend`. An adapter named on the command
    line (``package.module:Class``) is constructed as ``Class(corpus)``.
    """

    @abc.abstractmethod
    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        """Return the next slate for each history.

        The simulator passes a :class:`HistoryBatch` of read-only arrays that
        are valid for the duration of the call: it hands each call a copy of
        its stored histories, so nothing done to them reaches the simulation,
        and it may reuse that memory for the next call (copy what you keep).

        Returns:
            int array of shape ``(len(histories), slate_size)``: item ids in
            ``[0, n_items)``, no duplicates within a row, best first.
        """

    @property
    def name(self) -> str:
        """Label used in tables and plots; the class name unless overridden."""
        return type(self).__name__


class ScoringAdapter(RecommenderAdapter):
    """An adapter defined by a score per (history, item); the slate is the top items.

    Subclasses implement :meth:`score`. The slate is the ``slate_size``
    highest-scoring items, best first, ties broken by lower item id, with the
    items already in the history excluded when ``exclude_consumed`` is true.
    A NaN score raises :class:`InvalidScoresError` naming the row and item.
    """

    def __init__(self, n_items: int, exclude_consumed: bool = True) -> None:
        if n_items <= 0:
            raise ValueError(f"n_items must be positive, got {n_items}")
        self.n_items = int(n_items)
        self.exclude_consumed = exclude_consumed

    @abc.abstractmethod
    def score(self, batch: HistoryBatch) -> np.ndarray:
        """Float array (len(batch), n_items); higher is better. May be modified in place."""

    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        batch = HistoryBatch.of(histories)
        scores = np.asarray(self.score(batch), dtype=np.float64)
        if scores.shape != (len(batch), self.n_items):
            raise InvalidScoresError(
                f"{self.name}.score returned shape {scores.shape}, "
                f"expected ({len(batch)}, {self.n_items})"
            )
        nan_rows, nan_items = np.nonzero(np.isnan(scores))
        if nan_rows.size:
            raise InvalidScoresError(
                f"{self.name}.score returned NaN at row {nan_rows[0]}, item {nan_items[0]} "
                f"({nan_rows.size} NaN scores in all)"
            )
        if self.exclude_consumed:
            rows, cols = np.nonzero(batch.mask)
            scores[rows, batch.items[rows, cols]] = -np.inf
        return top_k(scores, slate_size, owner=self.name)


def fast_path_applies(batch: HistoryBatch, real: np.ndarray, k: int, n_items: int) -> bool:
    """Whether a sparse fast path may serve ``batch``: rows to serve, a feasible slate
    size, and every real history id inside the corpus. Otherwise the dense
    :class:`ScoringAdapter` path runs, which raises the contract's errors."""
    events = batch.items[real]
    if len(batch) == 0 or not 0 < k <= n_items:
        return False
    return not (events.size and (events.min() < 0 or events.max() >= n_items))


def top_k(scores: np.ndarray, k: int, owner: str = "top_k") -> np.ndarray:
    """Indices of the ``k`` largest scores per row, best first, ties to the lower index.

    ``-inf`` marks an excluded item; a row with fewer than ``k`` finite
    scores raises :class:`SlateSizeError`. Cost O(n * m) plus a sort of k per row.
    """
    n, m = scores.shape
    if not 0 < k <= m:
        raise SlateSizeError(f"{owner}: slate_size {k} must be in [1, {m}]")
    # Only -inf excludes: a +inf score is a (very) recommendable item.
    recommendable = (scores > -np.inf).sum(axis=1)
    short = np.nonzero(recommendable < k)[0]
    if short.size:
        raise SlateSizeError(
            f"{owner}: row {short[0]} has only {recommendable[short[0]]} recommendable items "
            f"for a slate of {k}"
        )
    kth = np.partition(scores, m - k, axis=1)[:, m - k]
    above = scores > kth[:, None]
    equal = scores == kth[:, None]
    room = k - above.sum(axis=1)
    # Among items tied with the k-th score, keep the lowest ids: deterministic.
    chosen = above | (equal & (np.cumsum(equal, axis=1) <= room[:, None]))
    ids = np.nonzero(chosen)[1].reshape(n, k)
    chosen_scores = np.take_along_axis(scores, ids, axis=1)
    # Stable sort on -score keeps ascending ids among ties.
    order = np.argsort(-chosen_scores, axis=1, kind="stable")
    return np.take_along_axis(ids, order, axis=1)
