import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import History, HistoryBatch
from recommenders.models import SequentialRecommender

truncate = SequentialRecommender.truncate


def _batch(rng, lengths, n_items=20):
    rows = [
        History(rng.integers(0, n_items, t), rng.integers(0, 5, t), rng.random(t)) for t in lengths
    ]
    return HistoryBatch.of(rows)


def _check(batch, out, max_len, n_rows):
    items, feedback, dwell, lengths = (np.asarray(a) for a in out)
    assert items.shape == feedback.shape == dwell.shape == (n_rows, min(batch.width, max_len))
    for row in range(n_rows):
        h, t = batch[row], int(lengths[row])
        assert t == min(len(h), max_len)
        start = len(h) - t
        assert items[row, :t].tolist() == h.items[start:].tolist()
        assert feedback[row, :t].tolist() == h.feedback[start:].tolist()
        np.testing.assert_array_equal(dwell[row, :t], h.dwell[start:])
        assert (items[row, t:] == -1).all() and (feedback[row, t:] == -1).all()
        assert np.isnan(dwell[row, t:]).all()


@settings(max_examples=50, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 9), min_size=1, max_size=6),
    max_len=st.integers(0, 12),
    seed=st.integers(0, 1000),
)
def test_keeps_the_most_recent_events(lengths, max_len, seed):
    batch = _batch(np.random.default_rng(seed), lengths)
    arrays = (batch.items, batch.feedback, batch.dwell, batch.lengths)
    out = truncate(*arrays, max_len)
    assert all(isinstance(a, np.ndarray) for a in out)
    _check(batch, out, max_len, len(lengths))
    tensors = [torch.tensor(np.array(a)) for a in arrays]
    out_torch = truncate(*tensors, max_len)
    assert all(isinstance(a, torch.Tensor) for a in out_torch)
    assert out_torch[2].dtype == torch.float64 and out_torch[0].dtype == torch.long
    _check(batch, out_torch, max_len, len(lengths))


def test_example():
    items = np.array([[1, 2, 3, 4, 5], [6, 7, -1, -1, -1]])
    feedback = np.array([[0, 2, 0, 1, 0], [3, 4, -1, -1, -1]])
    dwell = np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7] + [np.nan] * 3])
    out_items, out_feedback, out_dwell, out_lengths = truncate(
        items, feedback, dwell, np.array([5, 2]), 3
    )
    assert out_items.tolist() == [[3, 4, 5], [6, 7, -1]]
    assert out_feedback.tolist() == [[0, 1, 0], [3, 4, -1]]
    np.testing.assert_array_equal(out_dwell, [[0.3, 0.4, 0.5], [0.6, 0.7, np.nan]])
    assert out_lengths.tolist() == [3, 2]


def test_empty_batch_and_zero_width():
    empty = HistoryBatch.of([History.empty()])
    out = truncate(empty.items, empty.feedback, empty.dwell, empty.lengths, 4)
    assert out[0].shape == (1, 0) and out[3].tolist() == [0]


def test_negative_max_len():
    with pytest.raises(ValueError, match="max_len must be >= 0"):
        truncate(np.zeros((1, 1), np.int64), np.zeros((1, 1)), np.zeros((1, 1)), np.ones(1), -1)


def test_truncated_batch_feeds_the_model(kind, make_model, to_tensors):
    model = make_model(kind)
    rng = np.random.default_rng(0)
    batch = _batch(rng, [30, 3, 0])
    items, feedback, dwell, lengths = truncate(*to_tensors(batch), model.config.max_len)
    with torch.no_grad():
        states = model(items, feedback, dwell, lengths)
    assert states.shape == (3, model.config.max_len + 1, 8)
