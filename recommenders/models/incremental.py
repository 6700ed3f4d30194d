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
unless two scores tie to within that rounding (see ``experiments/bench.py
--cache-check`` for real runs compared slate for slate).

Memory is bounded by ``max_bytes``: states live in blocks (one per call's
new rows, each row holding its positions 0..max_len), least recently used
blocks are evicted after a call that leaves the cache above its bound, and an
evicted prefix is recomputed when it is asked for again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from recommenders.devices import DEFAULT_CACHE_BYTES
from recommenders.models.base import SequentialRecommender


@dataclass
class _Block:
    """States of ``rows`` histories: ``states[name]`` is (rows, max_len + 1, *shape).

    ``frontier[r]`` positions of row r are valid; positions below it are never
    written again, so every cached prefix of the row stays valid."""

    states: dict[str, torch.Tensor]
    frontier: np.ndarray
    nbytes: int
    last_used: int
    keys: set = field(default_factory=set)


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

    def clear(self) -> None:
        self._entries.clear()
        self._blocks.clear()
        self._superseded.clear()

    @property
    def row_bytes(self) -> int:
        """Bytes of one history's cached states (all ``max_len + 1`` positions)."""
        return self._row_bytes

    def rows_per_call(self) -> int:
        """Most rows one :meth:`last_states` call should get: their new states (at most
        one block row each) then take at most half of ``max_bytes``."""
        return max(1, self.max_bytes // (2 * self._row_bytes))

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
        event_bytes = events.itemsize * events.shape[2]
        hits, extend, compute = [], [], []
        for row in range(n):
            length = int(lengths[row])
            key = events[row, :length].tobytes()
            entry = self._entries.get(key)
            if entry is not None:
                hits.append((row, entry))
                continue
            prefix = self._entries.get(key[:-event_bytes]) if length else None
            if prefix is not None:
                extend.append((row, prefix, key))
                self._superseded.append(key[:-event_bytes])
            else:
                compute.append((row, key))
        out = torch.empty(n, self.model.config.dim, device=self.device)
        self._serve_hits(out, hits)
        self._extend(out, extend, items, feedback, dwell, lengths)
        self._compute(out, compute, items, feedback, dwell, lengths)
        self._evict()
        self._hits += len(hits)
        self._extended += len(extend)
        self._computed += len(compute)
        return out

    def _tensor(self, array, dtype):
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

    def _register(self, key: bytes, block_id: int, brow: int, length: int) -> None:
        self._drop(key)
        self._entries[key] = (block_id, brow, length)
        self._blocks[block_id].keys.add(key)

    def _drop(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None and entry[0] in self._blocks:
            self._blocks[entry[0]].keys.discard(key)

    def _evict(self) -> None:
        """After a call: free blocks no entry points to, then least recently used ones
        until the states fit in ``max_bytes``."""
        for block_id in [b for b, block in self._blocks.items() if not block.keys]:
            del self._blocks[block_id]
        total = sum(b.nbytes for b in self._blocks.values())
        for block_id in sorted(self._blocks, key=lambda b: self._blocks[b].last_used):
            if total <= self.max_bytes:
                break
            block = self._blocks.pop(block_id)
            for key in block.keys:
                del self._entries[key]
            total -= block.nbytes

    def _serve_hits(self, out, hits) -> None:
        """Rows whose whole history is cached: the stored state, gathered per block."""
        by_block: dict[int, list] = {}
        for row, (block_id, brow, length) in hits:
            by_block.setdefault(block_id, []).append((row, brow, length))
        for block_id, group in by_block.items():
            block = self._blocks[block_id]
            block.last_used = self._clock
            rows, brows, at = (
                self._tensor(column, torch.long) for column in zip(*group, strict=True)
            )
            out[rows] = block.states["out"][brows, at]

    def _compute(self, out, compute, items, feedback, dwell, lengths) -> None:
        """Rows without a cached prefix: every position from BOS, into one new block."""
        if not compute:
            return
        rows = np.array([row for row, _ in compute])
        width = int(lengths[rows].max())
        block_id, block = self._new_block(len(rows))
        row_lengths = self._tensor(lengths[rows], torch.long)
        self.model.prefill(
            block.states,
            self._tensor(items[rows, :width], torch.long),
            self._tensor(feedback[rows, :width], torch.long),
            self._tensor(dwell[rows, :width], torch.float32),
            row_lengths,
        )
        block.frontier[:] = lengths[rows] + 1
        brows = torch.arange(len(rows), device=self.device)
        out[self._tensor(rows, torch.long)] = block.states["out"][brows, row_lengths]
        for brow, (_, key) in enumerate(compute):
            self._register(key, block_id, brow, int(lengths[rows[brow]]))

    def _extend(self, out, extend, items, feedback, dwell, lengths) -> None:
        """Rows one event past a cached prefix: one step each, in the prefix's block row
        when nothing was written past the prefix there, else in a copy of it."""
        if not extend:
            return
        claimed: set[tuple[int, int]] = set()
        in_place: dict[int, list] = {}
        copies = []
        for row, (block_id, brow, length), key in extend:
            block = self._blocks[block_id]
            block.last_used = self._clock
            if block.frontier[brow] == length + 1 and (block_id, brow) not in claimed:
                claimed.add((block_id, brow))
                in_place.setdefault(block_id, []).append((row, brow, key))
            else:
                copies.append((row, block_id, brow, length, key))
        if copies:
            # A fork: branches extend one prefix by different events.
            copy_id, copy = self._new_block(len(copies))
            for source_id in {c[1] for c in copies}:
                picked = [i for i, c in enumerate(copies) if c[1] == source_id]
                source = self._blocks[source_id]
                src_rows = torch.as_tensor([copies[i][2] for i in picked], device=self.device)
                dst_rows = torch.as_tensor(picked, device=self.device)
                for name, tensor in copy.states.items():
                    tensor[dst_rows] = source.states[name][src_rows]
            copy.frontier[:] = [c[3] + 1 for c in copies]
            in_place[copy_id] = [(c[0], i, c[4]) for i, c in enumerate(copies)]
        for block_id, group in in_place.items():
            block = self._blocks[block_id]
            rows = np.array([g[0] for g in group])
            brows = np.array([g[1] for g in group])
            contiguous = bool(np.all(np.diff(brows) == 1))
            selected = (
                slice(int(brows[0]), int(brows[-1]) + 1)
                if contiguous
                else self._tensor(brows, torch.long)
            )
            new = lengths[rows]
            last = new - 1
            states = self.model.extend(
                block.states,
                selected,
                self._tensor(new, torch.long),
                self._tensor(items[rows, last], torch.long),
                self._tensor(feedback[rows, last], torch.long),
                self._tensor(dwell[rows, last], torch.float32),
            )
            out[self._tensor(rows, torch.long)] = states
            block.frontier[brows] = new + 1
            for (_, brow, key), length in zip(group, new, strict=True):
                self._register(key, block_id, int(brow), int(length))


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
