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

import simpy

from recommenders import HistoryBatch, RecommenderAdapter, validate_slates
from recommenders.validation import call_recommend
from simulator.engine.handout import HandoutMemory


@dataclass
class ServiceStats:
    """Counters of one service: calls, histories served, wall seconds inside ``recommend``."""

    calls: int = 0
    histories: int = 0
    recommend_seconds: float = 0.0


class RecommenderService:
    """Serves slates to simpy processes; ``request`` returns an event carrying the slates."""

    protect_histories = True
    """Hand adapters copies of the histories (:mod:`simulator.engine.handout`). Only
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
        self._memory = HandoutMemory()

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
        handout = None
        if len(pending) == 1 and self.protect_histories:
            # Concatenating several batches copies them; a single one is the caller's
            # storage, which the adapter must not be able to reach.
            batch = handout = self._memory.hand_out(batch)
        start = time.perf_counter()
        try:
            slates = call_recommend(self.adapter, batch, self.slate_size)
        finally:
            if handout is not None:
                handout.close()
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
