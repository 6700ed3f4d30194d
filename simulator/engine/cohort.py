"""A cohort: users who act at the same simulated instants, with their histories.

Histories live in preallocated (n_users, capacity) arrays, so appending a
step is one column write and handing the histories to the recommender is a
zero-copy read-only view. Forking a cohort copies the arrays once.
"""

from __future__ import annotations

import numpy as np

from agents import Recent
from recommenders import PAD, HistoryBatch


class Cohort:
    """Histories of ``users`` with room for ``capacity`` events each, all of one length."""

    def __init__(self, users: np.ndarray, capacity: int) -> None:
        n = len(users)
        self.users = np.asarray(users, np.int64)
        self.items = np.full((n, capacity), PAD, np.int64)
        self.feedback = np.full((n, capacity), PAD, np.int64)
        self.dwell = np.full((n, capacity), np.nan)
        self.length = 0
        self._lengths = np.zeros(n, np.int64)

    def __len__(self) -> int:
        return len(self.users)

    def append(self, items: np.ndarray, feedback, dwell) -> None:
        """Add one event per user (``feedback`` and ``dwell`` may be scalars)."""
        if self.length == self.items.shape[1]:
            raise RuntimeError(f"cohort history is full ({self.length} events)")
        t = self.length
        self.items[:, t] = items
        self.feedback[:, t] = feedback
        self.dwell[:, t] = dwell
        self.length = t + 1
        self._lengths = np.full(len(self), self.length, np.int64)

    def histories(self) -> HistoryBatch:
        """Read-only view of every user's history so far."""
        t = self.length
        return HistoryBatch(
            self.items[:, :t], self.feedback[:, :t], self.dwell[:, :t], self._lengths
        )

    def recent(self, window: int) -> Recent:
        """The last ``window`` events of every user, most recent first; at most ``length``
        columns (a window longer than the history has nothing more to show)."""
        t = self.length
        window = min(window, t)
        cols = t - 1 - np.arange(window)
        valid = cols >= 0
        cols = np.where(valid, cols, 0)
        return Recent(
            items=np.where(valid, self.items[:, cols], PAD),
            feedback=np.where(valid, self.feedback[:, cols], PAD),
        )

    def fork(self) -> Cohort:
        """An independent copy: same users, same history."""
        twin = Cohort.__new__(Cohort)
        twin.users = self.users
        twin.items = self.items.copy()
        twin.feedback = self.feedback.copy()
        twin.dwell = self.dwell.copy()
        twin.length = self.length
        twin._lengths = self._lengths
        return twin
