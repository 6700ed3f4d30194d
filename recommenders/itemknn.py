"""Item-to-item co-occurrence recommendations (item kNN) from logged histories."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommenders.adapter import CorpusLike, ScoringAdapter
from recommenders.history import History, HistoryBatch


class ItemKNNAdapter(ScoringAdapter):
    """Score items by their similarity to the user's most recent items.

    With ``neighbors[i, j]`` the j-th neighbour of item ``i`` and ``weights[i, j]``
    its similarity (padding: neighbour -1, weight 0), a history ``h`` of length
    ``T`` scores item ``x`` as

        s(x) = Σ_{a < n_recent} Σ_j [neighbors[h_{T-1-a}, j] = x] · weights[h_{T-1-a}, j] / (1+a)

    so the latest event counts fully, the one before half, and so on. The
    score ignores feedback: a disliked item pulls in its neighbours like a liked
    one, which is what makes this a useful "unresponsive" baseline. Items with
    no score are ranked by id after the scored ones, so a slate is always full.

    Construct from arrays, with :meth:`fit` from histories, or with :meth:`load`.
    ``ItemKNNAdapter(corpus)`` alone has no neighbours: every score is 0 and the
    slate is the lowest unconsumed ids.
    """

    def __init__(
        self,
        corpus: CorpusLike,
        neighbors: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        n_recent: int = 5,
        exclude_consumed: bool = True,
    ) -> None:
        super().__init__(corpus.n_items, exclude_consumed)
        if (neighbors is None) != (weights is None):
            raise ValueError("ItemKNNAdapter: pass both neighbors and weights, or neither")
        if neighbors is None:
            neighbors = np.full((self.n_items, 0), -1, np.int64)
            weights = np.zeros((self.n_items, 0), np.float64)
        neighbors, weights = np.asarray(neighbors), np.asarray(weights)
        if neighbors.ndim != 2 or neighbors.shape[0] != self.n_items:
            raise ValueError(
                f"ItemKNNAdapter: neighbors must have shape ({self.n_items}, K), "
                f"got {neighbors.shape}"
            )
        if weights.shape != neighbors.shape:
            raise ValueError(
                f"ItemKNNAdapter: weights shape {weights.shape} != neighbors shape "
                f"{neighbors.shape}"
            )
        if neighbors.size and neighbors.dtype.kind not in "iu":
            raise ValueError(f"ItemKNNAdapter: neighbors must be integers, got {neighbors.dtype}")
        if neighbors.size and not ((neighbors >= -1) & (neighbors < self.n_items)).all():
            raise ValueError(f"ItemKNNAdapter: neighbor ids must be in [-1, {self.n_items})")
        if not np.isfinite(weights).all():
            raise ValueError("ItemKNNAdapter: weights must be finite")
        if n_recent < 1:
            raise ValueError(f"ItemKNNAdapter: n_recent must be >= 1, got {n_recent}")
        self.neighbors = neighbors.astype(np.int64)
        self.weights = np.where(self.neighbors >= 0, weights, 0.0).astype(np.float64)
        self.n_recent = int(n_recent)

    @classmethod
    def fit(
        cls,
        corpus: CorpusLike,
        histories: Sequence[History],
        n_neighbors: int = 50,
        window: int = 5,
        **kwargs,
    ) -> ItemKNNAdapter:
        """Learn neighbours from windowed co-occurrence in ``histories``.

        ``c_ij`` counts the pairs of events (s, t) in one history with items
        ``i != j`` and ``1 <= |s - t| <= window``; every feedback code counts,
        a skip or a dislike as much as a like. ``n_i`` is the number of events
        of item ``i``. Similarity is ``c_ij / sqrt(n_i n_j)``; each item keeps
        its ``n_neighbors`` most similar items (ties to the lower id), padded
        with -1 / 0. The table has ``K = min(n_neighbors, largest neighbour
        count)`` columns. ``kwargs`` go to the constructor.
        """
        if n_neighbors < 1 or window < 1:
            raise ValueError(
                f"ItemKNNAdapter.fit: n_neighbors and window must be >= 1, "
                f"got {n_neighbors} and {window}"
            )
        n_items = int(corpus.n_items)
        batch = HistoryBatch.of(histories)
        items, mask = batch.items, batch.mask
        events = items[mask]
        if events.size and (events.min() < 0 or events.max() >= n_items):
            raise ValueError(f"ItemKNNAdapter.fit: history item ids must be in [0, {n_items})")
        left, right = [], []
        for d in range(1, min(window, batch.width - 1) + 1):
            # Position t + d is real only if t is; so the right-hand mask suffices.
            a, b = items[:, :-d], items[:, d:]
            keep = mask[:, d:] & (a != b)
            left.append(a[keep])
            right.append(b[keep])
        i = np.concatenate([*left, np.zeros(0, np.int64)])
        j = np.concatenate([*right, np.zeros(0, np.int64)])
        ones = np.ones(i.size, np.float64)
        cooc = sp.coo_matrix((ones, (i, j)), shape=(n_items, n_items)).tocsr()
        cooc = (cooc + cooc.T).tocoo()  # symmetric: i before j and j before i both count
        n_events = np.bincount(events, minlength=n_items).astype(np.float64)
        sim = cooc.data / np.sqrt(n_events[cooc.row] * n_events[cooc.col])
        neighbors, weights = _top_per_row(cooc.row, cooc.col, sim, n_items, n_neighbors)
        return cls(corpus, neighbors, weights, **kwargs)

    def score(self, batch: HistoryBatch) -> np.ndarray:
        n, width = batch.items.shape
        n_recent = min(self.n_recent, width)
        if n_recent == 0 or self.neighbors.shape[1] == 0:
            return np.zeros((n, self.n_items))
        ages = np.arange(n_recent)
        positions = batch.lengths[:, None] - 1 - ages[None, :]
        real = positions >= 0
        recent = np.take_along_axis(batch.items, np.maximum(positions, 0), axis=1)
        recent = np.where(real, recent, 0)  # a placeholder id; its weights are masked out
        neighbors = self.neighbors[recent]  # (n, n_recent, K)
        weights = self.weights[recent] / (1.0 + ages)[None, :, None]
        valid = real[:, :, None] & (neighbors >= 0)
        rows = np.broadcast_to(np.arange(n)[:, None, None], neighbors.shape)
        codes = rows[valid] * self.n_items + neighbors[valid]
        flat = np.bincount(codes, weights[valid], minlength=n * self.n_items)
        return flat.reshape(n, self.n_items)

    def save(self, path: str | os.PathLike) -> None:
        """Write the neighbour table to ``path`` (.npz) atomically: never a half-written file."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(
                    f,
                    neighbors=self.neighbors,
                    weights=self.weights,
                    n_items=np.int64(self.n_items),
                    n_recent=np.int64(self.n_recent),
                )
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike, corpus: CorpusLike, **kwargs) -> ItemKNNAdapter:
        """Read a table written by :meth:`save`; ``kwargs`` override the constructor's."""
        with np.load(path, allow_pickle=False) as data:
            n_items = int(data["n_items"])
            if n_items != corpus.n_items:
                raise ValueError(
                    f"ItemKNNAdapter.load: {path} was fit on {n_items} items, "
                    f"the corpus has {corpus.n_items}"
                )
            kwargs.setdefault("n_recent", int(data["n_recent"]))
            return cls(corpus, data["neighbors"], data["weights"], **kwargs)


def _top_per_row(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest ``values`` of each row as (cols, values) arrays (n_rows, k).

    Entries are sorted by (row, -value, col), so ties go to the lower column;
    missing slots hold -1 / 0.
    """
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    starts = np.searchsorted(rows, np.arange(n_rows))
    rank = np.arange(rows.size) - starts[rows]
    keep = rank < k
    width = min(k, int(rank.max()) + 1) if rank.size else 0
    out_cols = np.full((n_rows, width), -1, np.int64)
    out_values = np.zeros((n_rows, width), np.float64)
    out_cols[rows[keep], rank[keep]] = cols[keep]
    out_values[rows[keep], rank[keep]] = values[keep]
    return out_cols, out_values
