"""Incremental serving: user states reused across calls, keyed by the exact history prefix.

In the counterfactual protocol every call asks for histories one event longer
than the call before, and forked branches share everything but their last
event. Recomputing each history costs O(L) events per row and call (O(L^2)
per trajectory); :class:`PrefixStateCache` keeps the per-position states of a
model that supports it (``SequentialRecommender.incremental``) and computes a
history from its cached prefix with one event per row.

The adapter stays a pure function of the histories: a state is looked up by
the exact bytes of the model's input (items, feedback codes and dwell after
the variant's transform and the ``max_len`` window), never by user or call,
so a cached state is the state of that very input. Cached and recomputed
states agree to float32 rounding (they are the same arithmetic in other
kernel shapes); slates, which depend only on the order of scores, are equal
unless two scores tie to within that rounding (``experiments/bench.py
--cache-compare`` compares whole runs user for user).

Memory is bounded by ``max_bytes``: states live in blocks (one per call's
new rows, each row holding its positions 0..max_len), least recently used
blocks are evicted after a call that leaves the cache above its bound, and an
evicted prefix is recomputed when it is asked for again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recommenders.devices import DEFAULT_CACHE_BYTES
from recommenders.models.base import SequentialRecommender


@dataclass
class _Block:
    """States of ``rows`` histories: ``states[name]`` is (rows, max_len + 1, *shape).

    ``frontier[r]`` positions of row r are valid; positions below it are never
    written again, so every cached prefix of the row stays valid. ``live`` counts
    the cache entries that point into the block."""

    states: dict[str, torch.Tensor]
    frontier: np.ndarray
    nbytes: int
    last_used: int
    live: int = 0


@dataclass(frozen=True)
class CacheStats:
    """Rows served from the cache: ``hits`` (whole history cached), ``extended`` (one
    event past a cached prefix) and ``computed`` (no usable prefix, computed in full)."""

    hits: int
    extended: int
    computed: int
    blocks: int
    nbytes: int


class PrefixStateCache:
    """User states of ``model`` for right-padded model inputs, from cached prefixes.

    Args:
        model: an incremental :class:`SequentialRecommender` in eval mode.
        max_bytes: bound of the cached state memory (between calls).
        device: where the states live (the model's device).
    """

    def __init__(
        self, model: SequentialRecommender, max_bytes: int = DEFAULT_CACHE_BYTES, device="cpu"
    ) -> None:
        if not model.incremental:
            raise ValueError(f"{type(model).__name__} has no incremental step to cache")
        if max_bytes <= 0:
            raise ValueError(f"cache max_bytes must be positive, got {max_bytes}")
        self.model = model
        self.max_bytes = int(max_bytes)
        self.device = device
        self.positions = model.config.max_len + 1
        self._shapes = model.state_shapes()
        self._row_bytes = 4 * self.positions * sum(int(np.prod(s)) for s in self._shapes.values())
        self._entries: dict[bytes, tuple[int, int, int]] = {}
        self._blocks: dict[int, _Block] = {}
        self._next_block = 0
        self._clock = 0
        self._hits = self._extended = self._computed = 0
        self._superseded: list[bytes] = []

    @property
    def stats(self) -> CacheStats:
        return CacheStats(
            self._hits,
            self._extended,
            self._computed,
            len(self._blocks),
            sum(b.nbytes for b in self._blocks.values()),
        )

    @property
    def row_bytes(self) -> int:
        """Bytes of one history's cached states (all ``max_len + 1`` positions)."""
        return self._row_bytes

    def rows_per_call(self) -> int:
        """Most rows one :meth:`last_states` call should get: their new states (at most
        one block row each) then take at most half of ``max_bytes``."""
        return max(1, self.max_bytes // (2 * self._row_bytes))

    def clear(self) -> None:
        self._entries.clear()
        self._blocks.clear()
        self._superseded.clear()

    def finish(self) -> None:
        """End of a batch served by one or more :meth:`last_states` calls: forget the
        prefixes it extended (each kept until then, as branches forked from one prefix
        may come in different calls) and evict down to ``max_bytes``."""
        for key in self._superseded:
            self._drop(key)
        self._superseded.clear()
        self._evict()

    @torch.inference_mode()
    def last_states(self, items, feedback, dwell, lengths) -> torch.Tensor:
        """(N, dim) user states after each row's history; call :meth:`finish` after the
        last call of a batch.

        ``items``, ``feedback`` (int64) and ``dwell`` (float64) are the model's right-padded
        numpy inputs (N, W) with ``lengths`` (N,) <= ``max_len``: the same arrays the
        model's ``forward`` would get.
        """
        self._clock += 1
        n = len(lengths)
        lengths = np.asarray(lengths, np.int64)
        if n and lengths.max() >= self.positions:
            raise ValueError(
                f"PrefixStateCache: a history of {int(lengths.max())} events exceeds max_len "
                f"{self.positions - 1}; cut it to its window first (recommenders.inference."
                "model_window)"
            )
        events = _event_words(items, feedback, dwell)
        cut = -events.itemsize * events.shape[2]  # one event's bytes off the end
        keys = [events[row, :length].tobytes() for row, length in enumerate(lengths.tolist())]
        hits, extend, compute = [], [], []
        for row, key in enumerate(keys):
            entry = self._entries.get(key)
            if entry is not None:
                hits.append((row, *entry))
                continue
            shorter = key[:cut]  # one object: its hash is computed once, here
            prefix = self._entries.get(shorter) if key else None
            if prefix is None:
                compute.append(row)
            else:
                extend.append((row, *prefix))
                self._superseded.append(shorter)
        out = torch.empty(n, self.model.config.dim, device=self.device)
        if hits:
            self._serve_hits(out, np.array(hits, np.int64))
        if extend:
            self._extend(out, np.array(extend, np.int64), keys, items, feedback, dwell, lengths)
        if compute:
            self._compute(out, np.array(compute), keys, items, feedback, dwell, lengths)
        self._evict()
        self._hits += len(hits)
        self._extended += len(extend)
        self._computed += len(compute)
        return out

    def _tensor(self, array, dtype=torch.long):
        return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype, device=self.device)

    def _new_block(self, rows: int) -> tuple[int, _Block]:
        # Zeros, not empty: attention reads positions past a shorter row's frontier under
        # a zero weight, and 0 * NaN from uninitialised memory would be NaN.
        states = {
            name: torch.zeros((rows, self.positions, *shape), device=self.device)
            for name, shape in self._shapes.items()
        }
        block = _Block(states, np.zeros(rows, np.int64), rows * self._row_bytes, self._clock)
        block_id = self._next_block
        self._next_block += 1
        self._blocks[block_id] = block
        return block_id, block

    def _register(self, keys: list[bytes], block_id: int, brows, lengths) -> None:
        for key in keys:
            self._drop(key)
        before = len(self._entries)
        entries = zip([block_id] * len(keys), brows.tolist(), lengths.tolist(), strict=True)
        self._entries.update(zip(keys, entries, strict=True))
        # Equal histories in one call share one entry.
        self._blocks[block_id].live += len(self._entries) - before

    def _drop(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None and entry[0] in self._blocks:
            self._blocks[entry[0]].live -= 1

    def _evict(self) -> None:
        """Free blocks no entry points to, then least recently used ones until the states
        fit in ``max_bytes``."""
        gone = {b for b, block in self._blocks.items() if block.live == 0}
        total = sum(b.nbytes for i, b in self._blocks.items() if i not in gone)
        for block_id in sorted(self._blocks, key=lambda b: self._blocks[b].last_used):
            if total <= self.max_bytes:
                break
            if block_id not in gone:
                gone.add(block_id)
                total -= self._blocks[block_id].nbytes
        if gone:
            for block_id in gone:
                del self._blocks[block_id]
            self._entries = {k: e for k, e in self._entries.items() if e[0] not in gone}

    def _serve_hits(self, out, hits: np.ndarray) -> None:
        """Rows whose whole history is cached (row, block, block row, length): the stored
        state, gathered per block."""
        for block_id in np.unique(hits[:, 1]).tolist():
            group = hits[hits[:, 1] == block_id]
            block = self._blocks[block_id]
            block.last_used = self._clock
            at = (self._tensor(group[:, 2]), self._tensor(group[:, 3]))
            out[self._tensor(group[:, 0])] = block.states["out"][at]

    def _compute(self, out, rows: np.ndarray, keys, items, feedback, dwell, lengths) -> None:
        """Rows without a cached prefix: every position from BOS, into one new block."""
        width = int(lengths[rows].max())
        block_id, block = self._new_block(len(rows))
        row_lengths = self._tensor(lengths[rows])
        self.model.prefill(
            block.states,
            self._tensor(items[rows, :width]),
            self._tensor(feedback[rows, :width]),
            self._tensor(dwell[rows, :width], torch.float32),
            row_lengths,
        )
        block.frontier[:] = lengths[rows] + 1
        brows = np.arange(len(rows))
        out[self._tensor(rows)] = block.states["out"][self._tensor(brows), row_lengths]
        self._register([keys[r] for r in rows.tolist()], block_id, brows, lengths[rows])

    def _extend(self, out, extend: np.ndarray, keys, items, feedback, dwell, lengths) -> None:
        """Rows one event past a cached prefix (row, block, block row, prefix length): one
        step each, in the prefix's block row when nothing was written past the prefix
        there (the first such row), else in a copy of it (a fork: branches extend one
        prefix by different events)."""
        in_place = np.zeros(len(extend), bool)
        for block_id in np.unique(extend[:, 1]).tolist():
            mine = np.flatnonzero(extend[:, 1] == block_id)
            block = self._blocks[block_id]
            block.last_used = self._clock
            brows = extend[mine, 2]
            first = np.zeros(len(mine), bool)
            first[np.unique(brows, return_index=True)[1]] = True
            in_place[mine] = first & (block.frontier[brows] == extend[mine, 3] + 1)
        groups = [
            (b, np.flatnonzero(in_place & (extend[:, 1] == b)))
            for b in np.unique(extend[in_place, 1]).tolist()
        ]
        copies = np.flatnonzero(~in_place)
        if len(copies):
            copy_id, copy = self._new_block(len(copies))
            for source_id in np.unique(extend[copies, 1]).tolist():
                picked = np.flatnonzero(extend[copies, 1] == source_id)
                source = self._blocks[source_id].states
                for name, tensor in copy.states.items():
                    tensor[self._tensor(picked)] = source[name][
                        self._tensor(extend[copies[picked], 2])
                    ]
            copy.frontier[:] = extend[copies, 3] + 1
            extend = extend.copy()
            extend[copies, 1], extend[copies, 2] = copy_id, np.arange(len(copies))
            groups.append((copy_id, copies))
        for block_id, members in groups:
            block = self._blocks[block_id]
            rows, brows = extend[members, 0], extend[members, 2]
            contiguous = bool(np.all(np.diff(brows) == 1))
            selected = (
                slice(int(brows[0]), int(brows[-1]) + 1) if contiguous else self._tensor(brows)
            )
            new = lengths[rows]
            last = new - 1
            out[self._tensor(rows)] = self.model.extend(
                block.states,
                selected,
                self._tensor(new),
                self._tensor(items[rows, last]),
                self._tensor(feedback[rows, last]),
                self._tensor(dwell[rows, last], torch.float32),
            )
            block.frontier[brows] = new + 1
            self._register([keys[r] for r in rows.tolist()], block_id, brows, new)


def _event_words(items, feedback, dwell) -> np.ndarray:
    """(N, W, 3) int64 words per event (item, feedback, dwell's bits): a row's first L
    events as bytes are the cache key of its first L events."""
    return np.stack(
        [
            np.asarray(items, np.int64),
            np.asarray(feedback, np.int64),
            np.asarray(dwell, np.float64).view(np.int64),
        ],
        axis=2,
    )
