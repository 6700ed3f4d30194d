"""Interaction logs and the padded per-user sequences models train on.

A log is a table with one row per consumed item: ``user``, ``position``
(order within the user, 0 = oldest), ``item`` (id in ``[0, n_items)``),
``feedback`` (:class:`~recommenders.history.Feedback` code) and ``dwell``
(fraction of the item watched). It is validated, never repaired: a bad row
raises :class:`LogError` naming the column and the first offending row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recommenders.history import PAD, Feedback, HistoryBatch
from recommenders.tables import read_frame

LOG_COLUMNS = ("user", "position", "item", "feedback", "dwell")


class LogError(ValueError):
    """An interaction log is malformed."""


def validate_log(frame: pd.DataFrame, n_items: int, source: str = "log") -> pd.DataFrame:
    """Check columns, types and ranges; return the rows sorted by (user, position)."""
    missing = [c for c in LOG_COLUMNS if c not in frame.columns]
    if missing:
        raise LogError(f"{source}: missing columns {missing} (need {list(LOG_COLUMNS)})")
    for column in ("user", "position", "item", "feedback"):
        if not pd.api.types.is_integer_dtype(frame[column]):
            raise LogError(
                f"{source}: column {column!r} must be integer, got {frame[column].dtype}"
            )
    if not pd.api.types.is_float_dtype(frame["dwell"]):
        raise LogError(f"{source}: column 'dwell' must be float, got {frame['dwell'].dtype}")
    _check_range(frame, "item", 0, n_items - 1, source)
    _check_range(frame, "feedback", 0, len(Feedback) - 1, source)
    _check_range(frame, "position", 0, None, source)
    dwell = frame["dwell"].to_numpy()
    bad = np.nonzero(~((dwell >= 0) & (dwell <= 1)))[0]
    if bad.size:
        raise LogError(f"{source}: dwell {dwell[bad[0]]} in row {bad[0]} is outside [0, 1]")
    duplicated = frame.duplicated(["user", "position"]).to_numpy()
    if duplicated.any():
        row = int(np.argmax(duplicated))
        raise LogError(
            f"{source}: duplicate (user, position) = "
            f"({frame['user'].iloc[row]}, {frame['position'].iloc[row]}) in row {row}"
        )
    return frame.sort_values(["user", "position"], kind="stable").reset_index(drop=True)


def _check_range(frame: pd.DataFrame, column: str, low: int, high: int | None, source: str) -> None:
    values = frame[column].to_numpy()
    bad = values < low if high is None else (values < low) | (values > high)
    if bad.any():
        row = int(np.argmax(bad))
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise LogError(f"{source}: {column} {values[row]} in row {row} is not {bounds}")


def read_log(path: str | Path, n_items: int) -> pd.DataFrame:
    """Read and validate a log from .csv, .csv.gz or .parquet."""
    path = Path(path)
    if not path.is_file():
        raise LogError(f"log file {path} does not exist")
    return validate_log(read_frame(path, LogError), n_items, source=str(path))


def log_from_histories(histories: HistoryBatch, users: np.ndarray | None = None) -> pd.DataFrame:
    """The log of a batch of histories (row r is user ``users[r]``, default r)."""
    mask = histories.mask
    rows, positions = np.nonzero(mask)
    users = np.arange(len(histories)) if users is None else np.asarray(users)
    return pd.DataFrame(
        {
            "user": users[rows].astype(np.int64),
            "position": positions.astype(np.int64),
            "item": histories.items[rows, positions],
            "feedback": histories.feedback[rows, positions],
            "dwell": histories.dwell[rows, positions],
        }
    )


@dataclass(frozen=True)
class Sequences:
    """Per-user sequences as right-padded arrays (PAD / NaN beyond ``lengths``)."""

    users: np.ndarray
    items: np.ndarray
    feedback: np.ndarray
    dwell: np.ndarray
    lengths: np.ndarray

    @classmethod
    def from_log(cls, log: pd.DataFrame) -> Sequences:
        """``log`` validated and sorted by (user, position), as :func:`validate_log` returns it."""
        users, starts, lengths = np.unique(
            log["user"].to_numpy(), return_index=True, return_counts=True
        )
        width = int(lengths.max()) if len(lengths) else 0
        rows = np.repeat(np.arange(len(users)), lengths)
        cols = np.arange(len(log)) - np.repeat(starts, lengths)
        items = np.full((len(users), width), PAD, np.int64)
        feedback = np.full((len(users), width), PAD, np.int64)
        dwell = np.full((len(users), width), np.nan)
        items[rows, cols] = log["item"].to_numpy()
        feedback[rows, cols] = log["feedback"].to_numpy()
        dwell[rows, cols] = log["dwell"].to_numpy()
        return cls(users, items, feedback, dwell, lengths.astype(np.int64))

    def __len__(self) -> int:
        return len(self.users)

    def without_feedback(self, code: int) -> Sequences:
        """The same users with every event of feedback ``code`` removed (order kept)."""
        items, feedback, dwell, lengths = drop_events(
            self.items, self.feedback, self.dwell, self.lengths, code
        )
        return Sequences(self.users, items, feedback, dwell, lengths)

    def split_last(self, n_holdout: int) -> tuple[Sequences, Sequences]:
        """(train, full): train keeps all but the last ``n_holdout`` events of each user.

        Users with no more than ``n_holdout`` events keep nothing for training.
        """
        if n_holdout < 0:
            raise ValueError(f"n_holdout must be >= 0, got {n_holdout}")
        lengths = np.maximum(self.lengths - n_holdout, 0)
        valid = np.arange(self.items.shape[1]) < lengths[:, None]
        train = Sequences(
            self.users,
            np.where(valid, self.items, PAD),
            np.where(valid, self.feedback, PAD),
            np.where(valid, self.dwell, np.nan),
            lengths,
        )
        return train, self


def drop_events(items, feedback, dwell, lengths, code: int):
    """Right-padded arrays with every event of feedback ``code`` removed, order kept."""
    keep = (feedback != code) & (np.arange(items.shape[1]) < lengths[:, None])
    new_lengths = keep.sum(axis=1).astype(np.int64)
    # A stable sort on the "dropped" flag moves kept events to the front, in order.
    order = np.argsort(~keep, axis=1, kind="stable")
    width = int(new_lengths.max()) if len(new_lengths) else 0
    pick = order[:, :width]
    valid = np.arange(width) < new_lengths[:, None]
    return (
        np.where(valid, np.take_along_axis(items, pick, 1), PAD),
        np.where(valid, np.take_along_axis(feedback, pick, 1), PAD),
        np.where(valid, np.take_along_axis(dwell, pick, 1), np.nan),
        new_lengths,
    )


@dataclass(frozen=True)
class Slices:
    """Event windows ``[start, end)`` of sequences, right-padded to ``width``.

    ``target_*`` describe the event at ``end`` (the one to predict) when the
    slices are prediction contexts; they are PAD / NaN where ``end`` is past
    the user's last event.
    """

    items: np.ndarray
    feedback: np.ndarray
    dwell: np.ndarray
    lengths: np.ndarray
    target_item: np.ndarray
    target_feedback: np.ndarray
    target_dwell: np.ndarray


def gather_slices(
    seqs: Sequences, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int
) -> Slices:
    """Windows ``seqs[rows][starts:ends]`` (each at most ``width`` long), vectorised."""
    lengths = (ends - starts).astype(np.int64)
    if (lengths > width).any() or (lengths < 0).any():
        raise ValueError("gather_slices: every window must have 0 <= end - start <= width")
    offsets = np.arange(width)
    valid = offsets < lengths[:, None]
    cols = np.where(valid, starts[:, None] + offsets, 0)
    rr = rows[:, None]
    has_target = ends < seqs.lengths[rows]
    tcol = np.where(has_target, ends, 0)
    return Slices(
        items=np.where(valid, seqs.items[rr, cols], PAD),
        feedback=np.where(valid, seqs.feedback[rr, cols], PAD),
        dwell=np.where(valid, seqs.dwell[rr, cols], np.nan),
        lengths=lengths,
        target_item=np.where(has_target, seqs.items[rows, tcol], PAD),
        target_feedback=np.where(has_target, seqs.feedback[rows, tcol], PAD),
        target_dwell=np.where(has_target, seqs.dwell[rows, tcol], np.nan),
    )


def training_windows(seqs: Sequences, max_len: int) -> Slices:
    """Non-overlapping windows of at most ``max_len`` events, cut from each user's end.

    A user with T events gives ceil(T / max_len) windows; the oldest may be shorter.
    """
    counts = -(-seqs.lengths // max_len)
    rows = np.repeat(np.arange(len(seqs)), counts)
    j = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    ends = seqs.lengths[rows] - j * max_len
    starts = np.maximum(ends - max_len, 0)
    return gather_slices(seqs, rows, starts, ends, max_len)


def holdout_positions(seqs: Sequences, n_holdout: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, positions) of the last ``n_holdout`` events of each user, user by user in
    position order (users with fewer events give fewer)."""
    rows = np.repeat(np.arange(len(seqs)), n_holdout)
    ends = seqs.lengths[rows] - np.tile(np.arange(n_holdout, 0, -1), len(seqs))
    keep = ends >= 0
    return rows[keep], ends[keep]


def holdout_contexts(seqs: Sequences, n_holdout: int, max_len: int) -> Slices:
    """For each of the last ``n_holdout`` events of each user: the preceding ``max_len`` events
    (in the order of :func:`holdout_positions`)."""
    rows, ends = holdout_positions(seqs, n_holdout)
    starts = np.maximum(ends - max_len, 0)
    return gather_slices(seqs, rows, starts, ends, max_len)
