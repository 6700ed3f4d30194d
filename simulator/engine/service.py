"""The batching recommender service: many users' requests, one adapter call.

Requests that arrive within ``window`` simulated time units of the first
pending one are gathered and answered by a single ``adapter.recommend``
call; with ``window = 0`` that is every request made at the same simulated
instant. The adapter gets the histories in memory of its own, so nothing it
does to them reaches the simulator's stored histories, and every slate is
validated before any user sees it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import simpy

from recommenders import HistoryBatch, RecommenderAdapter, validate_slates
from recommenders.validation import call_recommend


@dataclass
class ServiceStats:
    """Counters of one service: calls, histories served, wall seconds inside ``recommend``."""

    calls: int = 0
    histories: int = 0
    recommend_seconds: float = 0.0


class RecommenderService:
    """Serves slates to simpy processes; ``request`` returns an event carrying the slates."""

    protect_histories = True
    """Hand adapters a copy of the histories (:meth:`_handout`). Only
    ``experiments/bench.py --protection-cost`` turns it off, to time what it costs."""

    def __init__(
        self,
        env: simpy.Environment,
        adapter: RecommenderAdapter,
        n_items: int,
        slate_size: int,
        window: float = 0.0,
    ) -> None:
        if window < 0:
            raise ValueError(f"batching window must be >= 0, got {window}")
        self.env = env
        self.adapter = adapter
        self.n_items = n_items
        self.slate_size = slate_size
        self.window = window
        self.stats = ServiceStats()
        self._pending: list[tuple[HistoryBatch, simpy.Event]] = []
        self._buffers: tuple[np.ndarray, ...] | None = None

    def _handout(self, batch: HistoryBatch) -> HistoryBatch:
        """``batch`` copied into the service's own handout memory.

        Read-only views do not protect the caller's storage (numpy lets a view be
        made writeable again; ``torch.from_numpy`` writes with a mere warning), so
        the adapter gets a copy. The buffers are reused from call to call (grown
        geometrically): a fresh allocation per call costs 8x the copy itself in
        page faults. Every cell handed out is rewritten on each call, so what an
        adapter does to its input never reaches a later call either; the arrays
        are valid for the duration of the call (copy what you keep).
        """
        n, width = batch.items.shape
        size = n * width
        if self._buffers is None or size > len(self._buffers[0]) or n > len(self._buffers[3]):
            cells = max(size, 2 * (0 if self._buffers is None else len(self._buffers[0])))
            rows = max(n, 0 if self._buffers is None else len(self._buffers[3]))
            self._buffers = (
                np.empty(cells, np.int64),
                np.empty(cells, np.int64),
                np.empty(cells, np.float64),
                np.empty(rows, np.int64),
            )
        # Contiguous (n, width) views of flat buffers: adapters read them faster than
        # the strided views of the caller's (n, capacity) storage.
        items, feedback, dwell = (b[:size].reshape(n, width) for b in self._buffers[:3])
        lengths = self._buffers[3][:n]
        np.copyto(items, batch.items)
        np.copyto(feedback, batch.feedback)
        np.copyto(dwell, batch.dwell)
        np.copyto(lengths, batch.lengths)
        return HistoryBatch(items, feedback, dwell, lengths)

    def request(self, histories: HistoryBatch) -> simpy.Event:
        """Ask for one slate per history; the event's value is an int array (n, slate_size)."""
        event = self.env.event()
        if not self._pending:
            self.env.process(self._flush_after_window())
        self._pending.append((histories, event))
        return event

    def _flush_after_window(self):
        # A zero timeout still yields: requests made later at this instant join the batch.
        yield self.env.timeout(self.window)
        pending, self._pending = self._pending, []
        batch = HistoryBatch.concat([histories for histories, _ in pending])
        if len(pending) == 1 and self.protect_histories:
            # Concatenating several batches copies them; a single one is the caller's
            # storage, which the adapter must not be able to reach.
            batch = self._handout(batch)
        start = time.perf_counter()
        slates = call_recommend(self.adapter, batch, self.slate_size)
        self.stats.recommend_seconds += time.perf_counter() - start
        slates = validate_slates(
            slates, len(batch), self.slate_size, self.n_items, type(self.adapter).__name__
        )
        self.stats.calls += 1
        self.stats.histories += len(batch)
        offset = 0
        for histories, event in pending:
            event.succeed(slates[offset : offset + len(histories)])
            offset += len(histories)
