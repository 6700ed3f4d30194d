"""User histories: what a recommender sees of a user.

A :class:`History` is one user's interaction sequence, oldest first. A
:class:`HistoryBatch` holds many histories as right-padded 2-D arrays; it *is*
a ``Sequence[History]`` (so any adapter can iterate it), and vectorised
adapters read its arrays directly through :meth:`HistoryBatch.of`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

PAD = -1
"""Value of ``items`` and ``feedback`` in the padding of a :class:`HistoryBatch`."""


class Feedback(enum.IntEnum):
    """Feedback code of one consumed item.

    One code per event: an explicit action (DISLIKE, LIKE, DISMISS) takes
    precedence; otherwise the event is SKIP when the dwell was short and
    POSITIVE when it was not. The dwell itself is kept beside the code, so a
    "long dwell + dislike" event is ``(DISLIKE, dwell=1.0)`` and a disliked
    skip is ``(DISLIKE, dwell=0.05)``.
    """

    POSITIVE = 0
    SKIP = 1
    DISLIKE = 2
    LIKE = 3
    DISMISS = 4


N_FEEDBACK = len(Feedback)


def _as_1d(name: str, values, dtype) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"History.{name} must be 1-D, got shape {array.shape}")
    if dtype is np.int64 and array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"History.{name} must hold integers, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


@dataclass(frozen=True)
class History:
    """One user's history, oldest event first.

    Attributes:
        items: int64 item ids, shape (T,).
        feedback: int64 :class:`Feedback` codes, shape (T,).
        dwell: float64 dwell per event as a fraction of the item's length
            (0 = left at once, 1 = watched to the end), shape (T,).
    """

    items: np.ndarray
    feedback: np.ndarray
    dwell: np.ndarray

    def __post_init__(self) -> None:
        items = _as_1d("items", self.items, np.int64)
        feedback = _as_1d("feedback", self.feedback, np.int64)
        dwell = _as_1d("dwell", self.dwell, np.float64)
        if not (len(items) == len(feedback) == len(dwell)):
            raise ValueError(
                "History arrays must have equal length, got "
                f"items={len(items)}, feedback={len(feedback)}, dwell={len(dwell)}"
            )
        codes = (feedback < 0) | (feedback >= len(Feedback))
        if codes.any():
            at = int(np.argmax(codes))
            raise ValueError(
                f"History.feedback[{at}] = {feedback[at]} is not a Feedback code "
                f"(0..{len(Feedback) - 1})"
            )
        bad = ~((dwell >= 0) & (dwell <= 1))  # NaN fails both comparisons
        if bad.any():
            at = int(np.argmax(bad))
            raise ValueError(f"History.dwell[{at}] = {dwell[at]} is not in [0, 1]")
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "feedback", feedback)
        object.__setattr__(self, "dwell", dwell)

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def empty(cls) -> History:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))


class HistoryBatch(Sequence[History]):
    """Many histories as right-padded arrays, read-only.

    ``items[u, :lengths[u]]`` is user ``u``'s history; positions past the
    length hold :data:`PAD` (items, feedback) and ``nan`` (dwell). Indexing
    gives a :class:`History` view, so the batch is a ``Sequence[History]``.
    """

    __slots__ = ("dwell", "feedback", "items", "lengths")

    def __init__(
        self, items: np.ndarray, feedback: np.ndarray, dwell: np.ndarray, lengths: np.ndarray
    ) -> None:
        if items.ndim != 2 or items.shape != feedback.shape or items.shape != dwell.shape:
            raise ValueError(
                "HistoryBatch arrays must be 2-D of one shape, got "
                f"items{items.shape}, feedback{feedback.shape}, dwell{dwell.shape}"
            )
        if lengths.shape != (items.shape[0],):
            raise ValueError(f"HistoryBatch.lengths must have shape ({items.shape[0]},)")
        self.items = _read_only(items)
        self.feedback = _read_only(feedback)
        self.dwell = _read_only(dwell)
        self.lengths = _read_only(lengths)

    @classmethod
    def of(cls, histories: Sequence[History]) -> HistoryBatch:
        """The batch itself when ``histories`` already is one (no copy), else a padded copy."""
        if isinstance(histories, HistoryBatch):
            return histories
        n = len(histories)
        lengths = np.fromiter((len(h) for h in histories), np.int64, count=n)
        width = int(lengths.max()) if n else 0
        items = np.full((n, width), PAD, np.int64)
        feedback = np.full((n, width), PAD, np.int64)
        dwell = np.full((n, width), np.nan)
        for row, history in enumerate(histories):
            t = len(history)
            items[row, :t] = history.items
            feedback[row, :t] = history.feedback
            dwell[row, :t] = history.dwell
        return cls(items, feedback, dwell, lengths)

    @classmethod
    def concat(cls, batches: Sequence[HistoryBatch]) -> HistoryBatch:
        """Stack batches row-wise, padding to the widest."""
        if len(batches) == 1:
            return batches[0]
        width = max(b.width for b in batches)

        def padded(name: str, fill) -> np.ndarray:
            parts = []
            for b in batches:
                a = getattr(b, name)
                if a.shape[1] < width:
                    a = np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill)
                parts.append(a)
            return np.concatenate(parts, axis=0)

        return cls(
            padded("items", PAD),
            padded("feedback", PAD),
            padded("dwell", np.nan),
            np.concatenate([b.lengths for b in batches]),
        )

    @property
    def width(self) -> int:
        return self.items.shape[1]

    @property
    def mask(self) -> np.ndarray:
        """Boolean (n, width): True where a real event is stored."""
        return np.arange(self.width)[None, :] < self.lengths[:, None]

    def take(self, rows: np.ndarray) -> HistoryBatch:
        """The sub-batch of the given rows (a copy)."""
        return HistoryBatch(
            self.items[rows], self.feedback[rows], self.dwell[rows], self.lengths[rows]
        )

    def __len__(self) -> int:
        return self.items.shape[0]

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        t = int(self.lengths[row])
        return History(self.items[row, :t], self.feedback[row, :t], self.dwell[row, :t])

    def __iter__(self) -> Iterator[History]:
        for row in range(len(self)):
            yield self[row]


def _read_only(array: np.ndarray) -> np.ndarray:
    # Adapters get views of simulator state; a write would corrupt a branch.
    view = array.view()
    view.flags.writeable = False
    return view
