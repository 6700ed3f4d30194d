"""recommenders.evaluation.leave_one_out: targets, inputs and user samples of the split."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.movielens import (
    BenchmarkConfig,
    benchmark_models,
)
from recommenders import PAD, Feedback
from recommenders.evaluation import (
    HeldOut,
    leave_one_out,
    sample_users,
)
from recommenders.sequences import training_windows
from tests.recommenders.conftest import make_sequences

D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


def test_leave_one_out_targets_and_inputs(tiny):
    split = leave_one_out(tiny)
    assert split.validation.target_item.tolist() == [13, 21]
    assert split.test.target_item.tolist() == [14, 22]
    assert split.test.target_feedback.tolist() == [D, P]
    items, feedback, dwell, lengths = split.validation.inputs(np.array([0, 1]))
    assert lengths.tolist() == [3, 1]
    assert items.tolist() == [[10, 11, 12], [20, PAD, PAD]]
    assert feedback.tolist() == [[P, D, P], [P, PAD, PAD]]
    assert np.isnan(dwell[1, 1:]).all()
    items, _, _, lengths = split.test.inputs(np.array([1, 0]))
    assert lengths.tolist() == [2, 4]
    assert items.tolist() == [[20, 21, PAD, PAD], [10, 11, 12, 13]]


def test_training_never_sees_validation_or_test_events(tiny):
    split = leave_one_out(tiny)
    train = split.train
    assert train.lengths.tolist() == [3, 1]
    held = {13, 14, 21, 22}
    windows = training_windows(train, 2)
    seen = set(windows.items[windows.items != PAD].tolist())
    assert seen == {10, 11, 12, 20} and not seen & held
    # train_model trains on sequences.split_last(n_holdout): the same events.
    config = BenchmarkConfig().train_config(benchmark_models()["sasrec-ce"])
    same = split.sequences.split_last(config.n_holdout)[0]
    assert np.array_equal(same.items, train.items) and np.array_equal(same.lengths, train.lengths)


def test_held_out_inputs_hide_the_target_and_later_events():
    seqs = make_sequences({0: [(1, P), (2, P), (3, P), (4, P), (5, P)]})
    held = HeldOut(seqs, np.array([2]))
    items, _, _, lengths = held.inputs(np.array([0]))
    assert items.tolist() == [[1, 2]] and lengths.tolist() == [2]
    assert held.target_item.tolist() == [3]
    with pytest.raises(ValueError, match="within its user's events"):
        HeldOut(seqs, np.array([5]))


def test_leave_one_out_needs_three_events():
    seqs = make_sequences({0: [(1, P), (2, P), (3, P)], 7: [(1, P), (2, P)]})
    with pytest.raises(ValueError, match="user 7 has 2"):
        leave_one_out(seqs)


def test_sample_users_is_a_seeded_subset(tiny):
    seqs = make_sequences({u: [(u, P), (u + 1, P), (u + 2, P)] for u in range(10)})
    a, b = sample_users(seqs, 4, seed=1), sample_users(seqs, 4, seed=1)
    assert len(a) == 4 and a.users.tolist() == b.users.tolist()
    assert a.users.tolist() == sorted(a.users.tolist())
    row = int(np.searchsorted(seqs.users, a.users[0]))
    assert a.items[0].tolist() == seqs.items[row, : a.items.shape[1]].tolist()
    assert sample_users(seqs, 50) is seqs
    with pytest.raises(ValueError):
        sample_users(seqs, 0)


# ------------------------------------------------------------------------- ranking, metrics
