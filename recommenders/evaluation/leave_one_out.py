"""The leave-one-out protocol of the sequential ML-1M benchmark, for any interaction data.

Each user's events are ordered by position. With T events (0-based positions):

* **test**: target = event T-1, input = events 0..T-2 (all but the last);
* **validation**: target = event T-2, input = events 0..T-3 (all but the last two);
* **training**: events 0..T-3 (all but the last two), so no training window ever
  holds a validation or test target.

This is the protocol of SASRec, BERT4Rec and gSASRec on ML-1M (there the
validation set is a sample of users; here it is every user). A model reads the
most recent ``max_len`` events of an input; the items excluded from ranking are
those of the whole input, however long.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from recommenders.history import PAD
from recommenders.sequences import Sequences

N_HOLDOUT = 2
"""Events held out at the end of each user: the validation and the test target."""


@dataclass(frozen=True)
class HeldOut:
    """One held-out event per user: the target at position ``ends[u]``, input = ``[0, ends[u])``.

    Attributes:
        sequences: the users' complete sequences (right-padded).
        ends: int64 (n_users,): position of each user's target, which is also the
            number of input events before it.
    """

    sequences: Sequences
    ends: np.ndarray

    def __post_init__(self) -> None:
        if self.ends.shape != self.sequences.lengths.shape:
            raise ValueError(f"HeldOut: ends must have shape ({len(self.sequences)},)")
        if ((self.ends < 0) | (self.ends >= self.sequences.lengths)).any():
            raise ValueError("HeldOut: every target position must lie within its user's events")

    def __len__(self) -> int:
        return len(self.ends)

    @cached_property
    def target_item(self) -> np.ndarray:
        """int64 (n_users,): the item of each user's target event."""
        return self.sequences.items[np.arange(len(self)), self.ends]

    @cached_property
    def target_feedback(self) -> np.ndarray:
        """int64 (n_users,): the feedback code of each user's target event."""
        return self.sequences.feedback[np.arange(len(self)), self.ends]

    def inputs(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(items, feedback, dwell, lengths) of the inputs of users ``rows``, right-padded.

        Each row holds the user's events before the target and PAD / NaN from the
        target on, so neither the target nor anything after it can leak in. The
        width is the longest input among ``rows`` (a model cuts it to its ``max_len``).
        """
        rows = np.asarray(rows, np.int64)
        lengths = self.ends[rows]
        width = int(lengths.max()) if len(rows) else 0
        valid = np.arange(width) < lengths[:, None]
        seqs = self.sequences
        return (
            np.where(valid, seqs.items[rows, :width], PAD),
            np.where(valid, seqs.feedback[rows, :width], PAD),
            np.where(valid, seqs.dwell[rows, :width], np.nan),
            lengths,
        )


@dataclass(frozen=True)
class LeaveOneOut:
    """The benchmark split of ``sequences`` (see the module docstring)."""

    sequences: Sequences
    validation: HeldOut
    test: HeldOut

    @cached_property
    def train(self) -> Sequences:
        """Each user's events but the last ``N_HOLDOUT``: what training may read.

        :func:`recommenders.training.loop.train_model` given ``sequences`` and
        ``TrainConfig(n_holdout=N_HOLDOUT)`` trains on exactly these events.
        """
        return self.sequences.split_last(N_HOLDOUT)[0]

    @property
    def n_users(self) -> int:
        return len(self.sequences)


def leave_one_out(sequences: Sequences) -> LeaveOneOut:
    """Split ``sequences`` by position; every user needs at least 3 events (one to train on)."""
    short = np.nonzero(sequences.lengths < N_HOLDOUT + 1)[0]
    if short.size:
        user = sequences.users[short[0]]
        raise ValueError(
            f"leave-one-out needs >= {N_HOLDOUT + 1} events per user; user {user} has "
            f"{sequences.lengths[short[0]]} ({short.size} such users)"
        )
    return LeaveOneOut(
        sequences,
        validation=HeldOut(sequences, sequences.lengths - 2),
        test=HeldOut(sequences, sequences.lengths - 1),
    )


def sample_users(sequences: Sequences, n_users: int, seed: int = 0) -> Sequences:
    """``n_users`` users drawn without replacement (order kept); all of them if fewer."""
    if n_users < 1:
        raise ValueError(f"n_users must be >= 1, got {n_users}")
    if n_users >= len(sequences):
        return sequences
    rows = np.sort(np.random.default_rng(seed).choice(len(sequences), n_users, replace=False))
    width = int(sequences.lengths[rows].max())
    return Sequences(
        sequences.users[rows],
        sequences.items[rows, :width],
        sequences.feedback[rows, :width],
        sequences.dwell[rows, :width],
        sequences.lengths[rows],
    )
