"""Item-to-item co-occurrence recommendations (item kNN) from logged histories."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from recommenders.adapter import CorpusLike, ScoringAdapter, fast_path_applies, top_k
from recommenders.atomic import atomic_path
from recommenders.history import History, HistoryBatch

# Sort keys (id << shift | slot) are int32, which sorts faster, while (n_items + 1) << shift
# is at most this; int64 otherwise.
_INT32_KEYS = 2**31 - 1
# Rows per block of recommend(): about this many slots, so the temporaries stay in cache.
_BLOCK_CELLS = 1 << 15


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
        # Imported here, not at module level: scipy.sparse costs about 0.1 s of every
        # command's start-up, and only fitting needs it.
        import scipy.sparse as sp

        cooc = sp.coo_matrix((ones, (i, j)), shape=(n_items, n_items)).tocsr()
        cooc = (cooc + cooc.T).tocoo()  # symmetric: i before j and j before i both count
        n_events = np.bincount(events, minlength=n_items).astype(np.float64)
        sim = cooc.data / np.sqrt(n_events[cooc.row] * n_events[cooc.col])
        neighbors, weights = _top_per_row(cooc.row, cooc.col, sim, n_items, n_neighbors)
        return cls(corpus, neighbors, weights, **kwargs)

    def score(self, batch: HistoryBatch) -> np.ndarray:
        n = len(batch)
        recent = self._recent_neighbors(batch.items, batch.lengths)
        if recent is None:
            return np.zeros((n, self.n_items))
        neighbors, weights, valid = recent
        rows = np.broadcast_to(np.arange(n)[:, None, None], neighbors.shape)
        codes = rows[valid] * self.n_items + neighbors[valid]
        flat = np.bincount(codes, weights[valid], minlength=n * self.n_items)
        return flat.reshape(n, self.n_items)

    def _recent_neighbors(
        self, items: np.ndarray, lengths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Neighbours, age-discounted weights and validity of each row's recent items.

        Three arrays of shape (n, n_recent, K): ``neighbors[u, a, j]`` is the j-th
        neighbour of the item of age ``a`` in row ``u``, ``weights`` its weight over
        ``1 + a``, ``valid`` whether the event is real and the neighbour not padding.
        None when there is nothing to score (no neighbours, or a batch of width 0).
        """
        n_recent = min(self.n_recent, items.shape[1])
        if n_recent == 0 or self.neighbors.shape[1] == 0:
            return None
        ages = np.arange(n_recent)
        positions = lengths[:, None] - 1 - ages[None, :]
        real = positions >= 0
        recent = np.take_along_axis(items, np.maximum(positions, 0), axis=1)
        recent = np.where(real, recent, 0)  # a placeholder id; its weights are masked out
        neighbors = self.neighbors[recent]  # (n, n_recent, K)
        weights = self.weights[recent] / (1.0 + ages)[None, :, None]
        valid = real[:, :, None] & (neighbors >= 0)
        return neighbors, weights, valid

    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        """The slates :meth:`_recommend_dense` returns, without an (n, n_items) matrix.

        A row's score is non-zero only on the neighbours of its recent items, at
        most ``n_recent * K`` candidates; every other item scores exactly 0. So
        each row's candidates are summed (in the order :meth:`score` sums them,
        hence to the same floats), the consumed ones dropped, and the slate is
        the positive candidates by (-score, id), followed, when there are fewer
        than ``slate_size``, by the lowest ids that score 0 and are not
        consumed. A row that would need a negative-score candidate, and a batch
        the dense path treats specially (an error to raise, an item id outside
        the corpus, a score of -inf), go through :meth:`_recommend_dense`.
        Cost O(n · (width + n_recent · K) · log(width + n_recent · K)).
        """
        batch = HistoryBatch.of(histories)
        n, n_items, k = len(batch), self.n_items, slate_size
        real = batch.mask
        if not fast_path_applies(batch, real, k, n_items):
            return self._recommend_dense(batch, slate_size)
        consumed, n_consumed = _sorted_consumed(batch.items, real, n_items, self.exclude_consumed)
        if (n_items - n_consumed < k).any():
            return self._recommend_dense(batch, slate_size)  # raises, naming the first short row
        out = np.empty((n, k), np.int64)
        dense = []
        n_cand = min(self.n_recent, batch.width) * self.neighbors.shape[1]
        rows = max(1, _BLOCK_CELLS // max(n_cand + batch.width, 1))
        for start in range(0, n, rows):
            block = slice(start, start + rows)
            need_dense = self._recommend_block(
                batch.items[block],
                batch.lengths[block],
                consumed[block],
                n_consumed[block],
                out[block],
            )
            if need_dense is None:
                return self._recommend_dense(batch, slate_size)  # a score of -inf
            dense.append(start + need_dense)
        dense = np.concatenate(dense)
        if dense.size:
            out[dense] = self._recommend_dense(batch.take(dense), k)
        return out

    def _recommend_block(
        self,
        items: np.ndarray,
        lengths: np.ndarray,
        consumed: np.ndarray,
        n_consumed: np.ndarray,
        out: np.ndarray,
    ) -> np.ndarray | None:
        """Write the slates of a block of rows into ``out`` (n, k), bar some rows.

        Returns the rows left for the dense path (they need a negative-score
        candidate), or None when a candidate scores -inf.
        """
        n, k = out.shape
        n_items = self.n_items
        recent = self._recent_neighbors(items, lengths)
        if recent is None:
            return self._fill(np.arange(n), np.zeros(n, np.int64), consumed, n_consumed, out)
        neighbors, weights, valid = recent
        n_cand = neighbors.shape[1] * neighbors.shape[2]
        # One row of slots per history: its candidates (invalid ones as id n_items),
        # then its consumed ids. Sorting each row by (id, slot) turns a repeated id
        # into a run, candidates in the order score() sums them, consumed slots last.
        n_slots = n_cand + consumed.shape[1]
        shift = max(n_slots - 1, 1).bit_length()
        dtype = np.int32 if (n_items + 1) << shift <= _INT32_KEYS else np.int64
        keys = np.empty((n, n_slots), dtype)
        keys[:, :n_cand] = n_items
        np.copyto(keys[:, :n_cand], neighbors.reshape(n, n_cand), where=valid.reshape(n, n_cand))
        keys[:, n_cand:] = consumed
        keys <<= shift
        keys |= np.arange(n_slots, dtype=dtype)
        keys.sort(axis=1)
        ids = keys >> shift
        slots = keys & ((1 << shift) - 1)
        # A consumed slot reads some other finite weight: its run is dropped anyway.
        values = np.take(
            weights.ravel(), slots + (np.arange(n) * n_cand)[:, None], mode="clip"
        ).ravel()
        first = np.empty((n, n_slots), bool)
        first[:, 0] = True
        np.not_equal(ids[:, 1:], ids[:, :-1], out=first[:, 1:])
        first = first.ravel()
        starts = np.flatnonzero(first)
        # bincount adds a run's values one at a time, in order: score()'s exact sums.
        sums = np.bincount(np.cumsum(first), values)[1:]
        start_ids = ids.ravel()[starts]
        live = start_ids < n_items
        if consumed.shape[1]:
            # A run is consumed when its last slot is a consumed one.
            ends = np.empty_like(starts)
            np.subtract(starts[1:], 1, out=ends[:-1])
            ends[-1] = n * n_slots - 1
            live &= slots.ravel()[ends] < n_cand
        if sums.min() == -np.inf and np.isneginf(sums[live]).any():
            return None
        # Positive candidates by (-score, id): ids ascend along a row, and every
        # other slot scores -1, below any positive score.
        ranked = np.full(n * n_slots, -1.0)
        ranked[starts] = np.where(live & (sums > 0), sums, -1.0)
        n_pos = _top_positive(ranked.reshape(n, n_slots), ids, out)
        fill = np.nonzero(n_pos < k)[0]
        if not fill.size:
            return fill
        scored = np.full(n * n_slots, n_items, dtype)
        scored[starts] = np.where(live & (sums != 0), start_ids, n_items)
        scored = scored.reshape(n, n_slots)[fill]
        return self._fill(fill, n_pos[fill], consumed[fill], n_consumed[fill], out, scored)

    def _fill(
        self,
        fill: np.ndarray,
        n_pos: np.ndarray,
        consumed: np.ndarray,
        n_consumed: np.ndarray,
        out: np.ndarray,
        scored: np.ndarray | None = None,
    ) -> np.ndarray:
        """Complete rows ``fill`` of ``out``, whose first ``n_pos`` slots hold their
        positive candidates, with the lowest unconsumed ids that score 0.

        ``consumed`` and ``scored`` (the non-zero candidates) are those rows' ids,
        ``n_items`` in empty slots. Returns the rows with too few such ids: they
        need a negative-score candidate.
        """
        k = out.shape[1]
        blocked = [consumed] if scored is None else [consumed, scored]
        n_scored = 0 if scored is None else (scored < self.n_items).sum(axis=1)
        ok = self.n_items - n_consumed - n_scored >= k - n_pos
        if ok.any():
            rows = fill[ok]
            lowest = _lowest_free([ids[ok] for ids in blocked], self.n_items, k)
            column = np.arange(k) - n_pos[ok][:, None]  # < 0: a positive candidate's slot
            out[rows] = np.where(
                column < 0, out[rows], np.take_along_axis(lowest, np.maximum(column, 0), axis=1)
            )
        return fill[~ok]

    def _recommend_dense(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        """The reference: score every item (:meth:`score`) and take the top slate."""
        return ScoringAdapter.recommend(self, histories, slate_size)

    def save(self, path: str | os.PathLike) -> None:
        """Write the neighbour table to ``path`` (.npz) atomically: never a half-written file."""
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                neighbors=self.neighbors,
                weights=self.weights,
                n_items=np.int64(self.n_items),
                n_recent=np.int64(self.n_recent),
            )

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


def _sorted_consumed(
    items: np.ndarray, real: np.ndarray, n_items: int, exclude: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's consumed ids ascending, ``n_items`` in the padding, (n, width), and
    each row's number of distinct ids; (n, 0) and zeros when ``exclude`` is false."""
    n = items.shape[0]
    if not exclude:
        return np.zeros((n, 0), np.int64), np.zeros(n, np.int64)
    consumed = np.where(real, items, n_items)
    consumed.sort(axis=1)
    distinct = consumed < n_items
    distinct[:, 1:] &= consumed[:, 1:] != consumed[:, :-1]
    return consumed, distinct.sum(axis=1)


def _top_positive(ranked: np.ndarray, ids: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write into ``out`` (n, k) the ``ids`` of each row's best positive ``ranked``.

    Best is larger first, ties to the lower column, as in :func:`top_k`; every
    entry of ``ranked`` is positive or -1. Returns the number of positive entries
    per row, capped at k; a row's slots past it are left arbitrary.
    """
    n, k = out.shape
    width = ranked.shape[1]
    if k < width:
        kth = np.partition(ranked, width - k, axis=1)[:, width - k]
    else:
        kth = np.full(n, -1.0)
    # A row with fewer than k positives takes them all, the others those >= the k-th.
    chosen = ranked >= np.maximum(kth, np.nextafter(0.0, 1.0))[:, None]
    count = chosen.sum(axis=1)
    tied = np.nonzero(count > k)[0]
    if tied.size:  # more than k at the k-th score: top_k keeps the lower columns
        chosen[tied] = False
        chosen[np.repeat(tied, k), top_k(ranked[tied], k).ravel()] = True
        count[tied] = k
    at = np.flatnonzero(chosen)  # row by row, columns ascending
    if at.size == n * k:  # k chosen in every row
        scores = ranked.ravel()[at].reshape(n, k)
        picked = ids.ravel()[at].reshape(n, k)
    else:
        rows = np.repeat(np.arange(n), count)
        slot = np.arange(at.size) - np.repeat(np.cumsum(count) - count, count)
        scores = np.full((n, k), -np.inf)
        scores[rows, slot] = ranked.ravel()[at]
        picked = np.zeros((n, k), ids.dtype)
        picked[rows, slot] = ids.ravel()[at]
    # Stable: equal scores keep their ascending columns, hence ascending ids.
    order = np.argsort(-scores, axis=1, kind="stable")
    out[:] = np.take_along_axis(picked, order, axis=1)
    return count


def _lowest_free(blocked: list[np.ndarray], n_items: int, k: int) -> np.ndarray:
    """The ``k`` lowest ids of each row absent from its blocked ids, (n, k).

    ``blocked`` are (n, *) id arrays with ``n_items`` in empty slots; repeats are
    fine. With ``e_0 < e_1 < ...`` a row's distinct blocked ids, its t-th free id
    is ``t + #{i : e_i - i <= t}``; ids past the corpus come out ``>= n_items``.
    """
    n = blocked[0].shape[0]
    ids = np.concatenate([*blocked, np.full((n, 1), n_items, np.int64)], axis=1)
    ids.sort(axis=1)
    repeat = np.zeros(ids.shape, bool)
    np.equal(ids[:, 1:], ids[:, :-1], out=repeat[:, 1:])
    ids[repeat] = n_items
    ids.sort(axis=1)
    width = ids.shape[1]
    # e_i - i never decreases along a row; empty slots get n_items, above every t < k.
    below = np.where(ids < n_items, ids - np.arange(width), n_items)
    stride = n_items + 1
    offsets = (np.arange(n) * stride)[:, None]
    t = np.arange(k)
    counts = np.searchsorted((below + offsets).ravel(), (t + offsets).ravel(), side="right")
    return t + counts.reshape(n, k) - (np.arange(n) * width)[:, None]
