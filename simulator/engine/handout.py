"""The histories an adapter is handed: copies it cannot reach back through.

Read-only views do not protect the simulator's stored histories: numpy lets a
view be made writeable again, and ``torch.from_numpy`` shares the memory of a
read-only array with a mere warning. So the adapter gets copies, made in the
memory of a :class:`HandoutMemory` that the service owns and reuses from call
to call, and each array (``items``, ``feedback``, ``dwell``) is copied only when
the adapter first reads it: a popularity adapter that reads ``items`` alone pays
for one copy in three. ``lengths`` (one number per row) is copied at once.

An array an adapter has not read by the end of its call can no longer be
read (:meth:`HandoutBatch.close`): by then the stored histories have moved
on, and a late copy would silently show a later state.
"""

from __future__ import annotations

import numpy as np

from recommenders import HistoryBatch

_FIELDS = ("items", "feedback", "dwell")
_DTYPES = (np.int64, np.int64, np.float64)


class HandoutMemory:
    """Flat buffers, one per array of a batch, grown geometrically and reused.

    A fresh allocation per call costs about 8x the copy itself in page faults,
    so the buffers persist; every cell handed out is rewritten before the
    adapter can read it, so nothing an adapter writes reaches a later call.
    """

    def __init__(self) -> None:
        self._cells = [np.empty(0, dtype) for dtype in _DTYPES]
        self._rows = np.empty(0, np.int64)

    def hand_out(self, batch: HistoryBatch) -> HandoutBatch:
        """A :class:`HandoutBatch` of ``batch`` whose arrays live in this memory."""
        n, width = batch.items.shape
        size = n * width
        if size > len(self._cells[0]):
            cells = max(size, 2 * len(self._cells[0]))
            self._cells = [np.empty(cells, dtype) for dtype in _DTYPES]
        if n > len(self._rows):
            self._rows = np.empty(max(n, 2 * len(self._rows)), np.int64)
        # Contiguous (n, width) views of the flat buffers: adapters read them faster
        # than the strided views of the caller's (n, capacity) storage.
        targets = [buffer[:size].reshape(n, width) for buffer in self._cells]
        lengths = self._rows[:n]
        np.copyto(lengths, batch.lengths)
        return HandoutBatch(batch, targets, lengths)


class HandoutBatch(HistoryBatch):
    """A :class:`HistoryBatch` whose ``items``, ``feedback`` and ``dwell`` are copied
    from the source batch into the service's memory on first read, then read-only.

    Valid for the duration of one ``recommend`` call: copy what you keep.
    """

    __slots__ = ("_copies", "_sources", "_targets")

    def __init__(
        self, source: HistoryBatch, targets: list[np.ndarray], lengths: np.ndarray
    ) -> None:
        self._sources = [source.items, source.feedback, source.dwell]
        self._targets = targets
        self._copies: list[np.ndarray | None] = [None, None, None]
        lengths = lengths.view()
        lengths.flags.writeable = False
        self.lengths = lengths

    def _copy(self, field: int) -> np.ndarray:
        copy = self._copies[field]
        if copy is None:
            if self._sources is None:
                raise RuntimeError(
                    f"HistoryBatch.{_FIELDS[field]} read after the recommend call that was "
                    "handed the batch returned; copy during the call what you keep"
                )
            target = self._targets[field]
            np.copyto(target, self._sources[field])
            copy = target.view()
            copy.flags.writeable = False
            self._copies[field] = copy
        return copy

    @property
    def items(self) -> np.ndarray:  # type: ignore[override]
        return self._copy(0)

    @property
    def feedback(self) -> np.ndarray:  # type: ignore[override]
        return self._copy(1)

    @property
    def dwell(self) -> np.ndarray:  # type: ignore[override]
        return self._copy(2)

    @property
    def width(self) -> int:
        return self._targets[0].shape[1]

    def __len__(self) -> int:
        return self._targets[0].shape[0]

    def __reduce__(self):
        # Pickled or copied, it is a plain batch of its current contents (process pools).
        return HistoryBatch, (
            np.array(self.items),
            np.array(self.feedback),
            np.array(self.dwell),
            np.array(self.lengths),
        )

    def close(self) -> None:
        """End of the call: drop the references to the stored histories."""
        self._sources = None
