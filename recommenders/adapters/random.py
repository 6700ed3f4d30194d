"""Uniform random recommendations that are still a pure function of the history."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommenders.adapter import CorpusLike, ScoringAdapter, fast_path_applies
from recommenders.hashing import splitmix64
from recommenders.history import History, HistoryBatch

_S11 = np.uint64(11)
_DRAW_TAG = np.uint64(0x243F6A8885A308D3)  # fractional digits of pi: separates the draw stream
# Sort keys (id << shift | slot) are int32, which sorts faster, while (n_items + 1) << shift
# is at most this; int64 otherwise.
_INT32_KEYS = 2**31 - 1


def history_keys(batch: HistoryBatch, seed: int) -> np.ndarray:
    """One uint64 key per row, a hash of (seed, length, items, feedback).

    ``key = H(H(seed) ^ H(length) ^ Σ_t H(H(H(t) + item_t) + feedback_t))``, the
    sum taken mod 2**64 over the row's real events only, so the key does not
    depend on how wide the batch is padded nor on the other rows. Dwell is ignored.
    """
    positions = np.arange(batch.width, dtype=np.uint64)
    items = batch.items.astype(np.uint64)  # PAD wraps to 2**64-1; masked below
    feedback = batch.feedback.astype(np.uint64)
    event = splitmix64(splitmix64(splitmix64(positions)[None, :] + items) + feedback)
    event[~batch.mask] = 0
    content = event.sum(axis=1, dtype=np.uint64)
    seed_word = np.uint64(seed % 2**64)
    lengths = batch.lengths.astype(np.uint64)
    return splitmix64(splitmix64(seed_word) ^ splitmix64(lengths) ^ content)


class RandomAdapter(ScoringAdapter):
    """A slate drawn uniformly without replacement from the unconsumed items.

    A row's ``key`` (:func:`history_keys`) seeds two hash streams:

    * draws ``d_j = H(H(key ^ T) ^ H(j))``, ``j = 0, 1, ...`` (``T`` a fixed tag),
      each naming item ``d_j mod n_items``; a ``d_j`` in the top ``2**64 mod
      n_items`` words names nothing, so every item is exactly equally likely;
    * scores ``u_i = H(key ^ H(i)) >> 11`` per item ``i``, 53-bit integers.

    The row ranks first the items named by its first ``m = 1024 + 4·length``
    draws, in the order of their first draw, then every other item by
    decreasing ``u_i`` (ties to the lower id); :meth:`score` writes this
    ranking as scores. The slate is its first ``slate_size`` unconsumed items.
    With the hashes as i.i.d. uniforms the ranking is a uniformly random
    permutation of the items, so a slate is a uniformly random ordered set of
    distinct unconsumed items, and a shorter slate is a prefix of a longer one;
    yet the same history always gets the same slate, in any batch.

    :meth:`recommend` computes only the first ``2·slate_size + 16`` draws of a
    row (4 times more while the row is still short, up to ``m``) and scores
    every item only for a row whose ``m`` draws leave it short of a slate.
    """

    _DRAWS_BASE = 1024
    _DRAWS_PER_EVENT = 4

    def __init__(self, corpus: CorpusLike, seed: int = 0, exclude_consumed: bool = True) -> None:
        super().__init__(corpus.n_items, exclude_consumed)
        self.seed = int(seed)
        self._item_words = splitmix64(np.arange(self.n_items, dtype=np.uint64))
        rest = 2**64 % self.n_items
        self._reject_from = None if rest == 0 else np.uint64(2**64 - rest)

    def score(self, batch: HistoryBatch) -> np.ndarray:
        n = len(batch)
        keys = history_keys(batch, self.seed)
        words = splitmix64(keys[:, None] ^ self._item_words[None, :])
        # The top 53 bits are exactly representable in float64: no ties from rounding.
        scores = (words >> _S11).astype(np.float64) * 2.0**-53  # in [0, 1)
        budget = self._budget(batch.lengths)
        n_draws = int(budget.max()) if n else 0
        ids, named = self._draws(keys, n_draws)
        later = budget[:, None] - np.arange(n_draws)[None, :]  # m - j: larger when earlier
        named &= later > 0
        rows = np.broadcast_to(np.arange(n)[:, None], ids.shape)
        # An item's first draw gives it 1 + m - j >= 2, above every u_i.
        np.maximum.at(scores, (rows[named], ids[named]), (1.0 + later)[named])
        return scores

    def _budget(self, lengths: np.ndarray) -> np.ndarray:
        """The number of draws ``m`` of each row, from its length."""
        return self._DRAWS_BASE + self._DRAWS_PER_EVENT * lengths.astype(np.int64)

    def _draws(self, keys: np.ndarray, n_draws: int) -> tuple[np.ndarray, np.ndarray]:
        """The first ``n_draws`` draws of each row: item ids and whether they name one."""
        stream = splitmix64(keys ^ _DRAW_TAG)
        words = splitmix64(stream[:, None] ^ splitmix64(np.arange(n_draws, dtype=np.uint64)))
        ids = (words % np.uint64(self.n_items)).astype(np.int64)
        if self._reject_from is None:
            return ids, np.ones(words.shape, bool)
        return ids, words < self._reject_from

    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        """The slates of :meth:`_recommend_dense`, from a few draws per row.

        A row's slate is its first ``slate_size`` draws that name an item neither
        consumed nor named by an earlier draw. Cost O(n · (slate_size + width) ·
        log) for a batch, plus O(n_items) for each row that exhausts its draws.
        """
        batch = HistoryBatch.of(histories)
        n, n_items, k = len(batch), self.n_items, slate_size
        real = batch.mask
        if not fast_path_applies(batch, real, k, n_items):
            return self._recommend_dense(batch, slate_size)
        if self.exclude_consumed:
            consumed = np.where(real, batch.items, n_items)
            consumed.sort(axis=1)
            distinct = consumed < n_items
            distinct[:, 1:] &= consumed[:, 1:] != consumed[:, :-1]
            if (n_items - distinct.sum(axis=1) < k).any():
                return self._recommend_dense(batch, slate_size)  # raises, naming the row
        else:
            consumed = np.zeros((n, 0), np.int64)
        keys = history_keys(batch, self.seed)
        budget = self._budget(batch.lengths)
        out = np.empty((n, k), np.int64)
        pending, exhausted = np.arange(n), []
        n_draws = 2 * k + 16
        while pending.size:
            n_draws = min(n_draws, int(budget[pending].max()))
            if n_draws:
                rows, slates = self._first_new(
                    keys[pending], budget[pending], consumed[pending], n_draws, k
                )
                out[pending[rows]] = slates
                pending = np.delete(pending, rows)
            spent = budget[pending] <= n_draws
            exhausted.append(pending[spent])
            pending = pending[~spent]
            n_draws *= 4
        exhausted = np.concatenate(exhausted)
        if exhausted.size:
            out[exhausted] = self._recommend_dense(batch.take(exhausted), k)
        return out

    def _first_new(
        self,
        row_keys: np.ndarray,
        budget: np.ndarray,
        consumed: np.ndarray,
        n_draws: int,
        k: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows whose first ``n_draws`` draws name ``k`` distinct unconsumed items,
        and those items in draw order, (len(rows), k).

        ``consumed`` holds each row's consumed ids, ``n_items`` in empty slots.
        """
        n_items = self.n_items
        ids, named = self._draws(row_keys, n_draws)
        named &= np.arange(n_draws)[None, :] < budget[:, None]
        n, width = len(row_keys), consumed.shape[1]
        # One row of slots per history: its draws (n_items where they name nothing),
        # then its consumed ids. Sorted by (id, slot), a repeated id becomes a run
        # that starts with its first draw and ends with a consumed slot, if any.
        n_slots = n_draws + width
        shift = max(n_slots - 1, 1).bit_length()
        dtype = np.int32 if (n_items + 1) << shift <= _INT32_KEYS else np.int64
        keys = np.empty((n, n_slots), dtype)
        keys[:, :n_draws] = np.where(named, ids, n_items)
        keys[:, n_draws:] = consumed
        keys <<= shift
        keys |= np.arange(n_slots, dtype=dtype)
        keys.sort(axis=1)
        run_ids = keys >> shift
        slots = (keys & ((1 << shift) - 1)).ravel()
        first = np.empty((n, n_slots), bool)
        first[:, 0] = True  # a run never spans two rows
        np.not_equal(run_ids[:, 1:], run_ids[:, :-1], out=first[:, 1:])
        starts = np.flatnonzero(first)
        run_ids = run_ids.ravel()
        ends = np.empty_like(starts)
        np.subtract(starts[1:], 1, out=ends[:-1])
        ends[-1] = n * n_slots - 1
        new = (run_ids[starts] < n_items) & (slots[starts] < n_draws) & (slots[ends] < n_draws)
        starts = starts[new]
        fresh = np.zeros((n, n_draws), bool)
        fresh[starts // n_slots, slots[starts]] = True
        taken = np.cumsum(fresh, axis=1)
        rows = np.nonzero(taken[:, -1] >= k)[0]
        fresh = fresh[rows]
        fresh &= taken[rows] <= k
        return rows, ids[rows][fresh].reshape(rows.size, k)

    def _recommend_dense(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        """The reference: score every item (:meth:`score`) and take the top slate."""
        return ScoringAdapter.recommend(self, histories, slate_size)
