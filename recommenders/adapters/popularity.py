"""Most-popular recommendations: the same global order for everyone, minus what they saw."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommenders.adapter import CorpusLike, RecommenderAdapter
from recommenders.history import History, HistoryBatch
from recommenders.validation import SlateSizeError

_BLOCK_CELLS = 1 << 16


class PopularityAdapter(RecommenderAdapter):
    """Rank items by a fixed popularity count, best first, ties to the lower id.

    Let ``order`` sort items by ``-counts`` (stable) and ``rank[order[r]] = r``.
    A row's slate is ``order[r]`` for the ``slate_size`` smallest ranks ``r``
    whose item is not in the row's history. Only ranks below
    ``slate_size + width`` can qualify, since a history of ``width`` events
    blocks at most ``width`` of them, so a batch costs O(n · (slate_size + width))
    and never builds an (n, n_items) score matrix.

    Args:
        corpus: gives ``n_items`` and, when ``counts`` is None, ``popularity``.
        counts: non-negative popularity per item, shape (n_items,), e.g.
            interaction counts from logs.
        exclude_consumed: when false every row gets the same top slate.
    """

    def __init__(self, corpus: CorpusLike, counts=None, exclude_consumed: bool = True) -> None:
        n_items = int(corpus.n_items)
        if n_items <= 0:
            raise ValueError(f"n_items must be positive, got {n_items}")
        if counts is None:
            counts = getattr(corpus, "popularity", None)
            if counts is None:
                raise ValueError(
                    "PopularityAdapter: the corpus has no 'popularity'; pass counts= "
                    "(non-negative popularity per item)"
                )
        counts = np.asarray(counts)
        if counts.shape != (n_items,):
            raise ValueError(
                f"PopularityAdapter: counts must have shape ({n_items},), got {counts.shape}"
            )
        if counts.dtype.kind not in "iuf":
            raise ValueError(f"PopularityAdapter: counts must be numeric, got {counts.dtype}")
        counts = counts.astype(np.float64)
        bad = np.nonzero(~np.isfinite(counts) | (counts < 0))[0]
        if bad.size:
            raise ValueError(
                f"PopularityAdapter: counts must be finite and non-negative, "
                f"got {counts[bad[0]]} for item {bad[0]}"
            )
        self.n_items = n_items
        self.exclude_consumed = exclude_consumed
        self.counts = counts
        self.order = np.argsort(-counts, kind="stable")
        self.rank = np.empty(n_items, np.int64)
        self.rank[self.order] = np.arange(n_items)

    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        batch = HistoryBatch.of(histories)
        k = int(slate_size)
        if not 0 < k <= self.n_items:
            raise SlateSizeError(f"{self.name}: slate_size {k} must be in [1, {self.n_items}]")
        if not self.exclude_consumed or batch.width == 0:
            return np.tile(self.order[:k], (len(batch), 1))
        out = np.empty((len(batch), k), np.int64)
        # Row blocks keep every temporary a few hundred kB: whole-batch temporaries cost
        # more in page faults (fresh mmap'd memory each call) than the arithmetic.
        rows = max(1, _BLOCK_CELLS // (k + batch.width))
        for start in range(0, len(batch), rows):
            block = slice(start, start + rows)
            self._first_unconsumed(batch.items[block], batch.lengths[block], k, out[block], start)
        return out

    def _first_unconsumed(
        self, items: np.ndarray, lengths: np.ndarray, k: int, out: np.ndarray, first_row: int
    ) -> None:
        """Write into ``out`` each row's first ``k`` items in popularity order not in ``items``."""
        n, width = items.shape
        n_cand = min(k + width, self.n_items)
        # Column n_cand of each row is a dump slot for events outside the candidates.
        stride = n_cand + 1
        ranks = self.rank[items]  # PAD reads rank[-1]; overwritten just below
        np.minimum(ranks, n_cand, out=ranks)
        np.copyto(ranks, n_cand, where=np.arange(width)[None, :] >= lengths[:, None])
        ranks += (np.arange(n) * stride)[:, None]
        consumed = np.zeros((n, stride), bool)
        consumed.ravel()[ranks] = True
        consumed[:, -1] = True
        free = ~consumed
        taken = np.cumsum(free, axis=1, dtype=np.int32)
        short = np.nonzero(taken[:, -1] < k)[0]
        if short.size:
            row = short[0]
            raise SlateSizeError(
                f"{self.name}: row {first_row + row} has only {taken[row, -1]} unconsumed "
                f"items for a slate of {k}"
            )
        # taken <= k on a free rank marks exactly the first k free ranks of the row.
        free &= taken <= k
        first_free = np.flatnonzero(free).reshape(n, k)
        first_free -= (np.arange(n) * stride)[:, None]
        np.take(self.order, first_free, out=out)
