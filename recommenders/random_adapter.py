"""Uniform random recommendations that are still a pure function of the history."""

from __future__ import annotations

import numpy as np

from recommenders.adapter import CorpusLike, ScoringAdapter
from recommenders.history import HistoryBatch

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (arithmetic wraps mod 2**64).

    ``z = x + φ; z = (z ^ z>>30)·m1; z = (z ^ z>>27)·m2; return z ^ z>>31``.
    A bijection on 64-bit words whose output bits each depend on every input bit.
    """
    # Wrapping is the point; numpy only warns about it for 0-d inputs.
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> _S30)) * _MIX1
        z = (z ^ (z >> _S27)) * _MIX2
        return z ^ (z >> _S31)


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

    Item ``i`` of a row scores ``u_i = H(key ^ H(i)) >> 11``, a 53-bit integer,
    with ``key`` from :func:`history_keys`; the slate is the top ``slate_size``
    scores. The ``u_i`` behave as i.i.d. uniforms, so the top-k is a uniform random ordered subset,
    yet the same history always gets the same slate, in any batch.
    """

    def __init__(self, corpus: CorpusLike, seed: int = 0, exclude_consumed: bool = True) -> None:
        super().__init__(corpus.n_items, exclude_consumed)
        self.seed = int(seed)
        self._item_words = splitmix64(np.arange(self.n_items, dtype=np.uint64))

    def score(self, batch: HistoryBatch) -> np.ndarray:
        keys = history_keys(batch, self.seed)
        words = splitmix64(keys[:, None] ^ self._item_words[None, :])
        # The top 53 bits are exactly representable in float64: no ties from rounding.
        return (words >> _S11).astype(np.float64)
