import numpy as np
import pytest

from recommenders import PAD, Feedback, History, HistoryBatch


def test_history_casts_dtypes():
    h = History([3, 1], [Feedback.LIKE, Feedback.SKIP], [1, 0])
    assert h.items.dtype == np.int64 and h.feedback.dtype == np.int64
    assert h.dwell.dtype == np.float64
    assert len(h) == 2
    assert h.feedback.tolist() == [3, 1]


def test_history_empty():
    h = History.empty()
    assert len(h) == 0 and h.items.dtype == np.int64
    # An empty float list is a valid empty history (np.asarray([]) is float).
    assert len(History([], [], [])) == 0


@pytest.mark.parametrize(
    ("items", "feedback", "dwell", "match"),
    [
        ([1, 2], [0], [1.0, 1.0], "equal length"),
        ([[1, 2]], [[0, 0]], [[1.0, 1.0]], "1-D"),
        ([1.5, 2.0], [0, 0], [1.0, 1.0], "integers"),
        ([1, 2], [0.5, 0.0], [1.0, 1.0], "integers"),
        ([1, 2], [0, 0], [[1.0, 1.0]], "1-D"),
    ],
)
def test_history_validation(items, feedback, dwell, match):
    with pytest.raises(ValueError, match=match):
        History(items, feedback, dwell)


def test_of_pads_right(make_history):
    rows = [make_history([4, 5, 6], [0, 2, 1]), History.empty(), make_history([7])]
    batch = HistoryBatch.of(rows)
    assert batch.width == 3 and len(batch) == 3
    assert batch.lengths.tolist() == [3, 0, 1]
    assert batch.items.tolist() == [[4, 5, 6], [PAD] * 3, [7, PAD, PAD]]
    assert batch.feedback.tolist() == [[0, 2, 1], [PAD] * 3, [0, PAD, PAD]]
    assert np.isnan(batch.dwell[1]).all() and np.isnan(batch.dwell[2, 1:]).all()
    assert batch.mask.tolist() == [[True] * 3, [False] * 3, [True, False, False]]


def test_of_batch_is_identity(make_history):
    batch = HistoryBatch.of([make_history([1, 2])])
    assert HistoryBatch.of(batch) is batch


def test_of_empty_sequence():
    batch = HistoryBatch.of([])
    assert len(batch) == 0 and batch.width == 0 and batch.mask.shape == (0, 0)


def test_indexing_and_iteration(make_history):
    rows = [make_history([1, 2, 3], [0, 1, 2]), make_history([9]), History.empty()]
    batch = HistoryBatch.of(rows)
    for got, want in zip(batch, rows, strict=True):
        assert got.items.tolist() == want.items.tolist()
        assert got.feedback.tolist() == want.feedback.tolist()
        assert got.dwell.tolist() == want.dwell.tolist()
    assert batch[-1].items.tolist() == []
    assert batch[-3].items.tolist() == [1, 2, 3]
    sliced = batch[1:]
    assert isinstance(sliced, list) and [h.items.tolist() for h in sliced] == [[9], []]
    assert len(list(iter(batch))) == 3


def test_concat_pads_to_widest(make_history):
    a = HistoryBatch.of([make_history([1])])
    b = HistoryBatch.of([make_history([2, 3, 4]), make_history([5, 6])])
    both = HistoryBatch.concat([a, b])
    assert both.width == 3 and len(both) == 3
    assert both.items.tolist() == [[1, PAD, PAD], [2, 3, 4], [5, 6, PAD]]
    assert both.lengths.tolist() == [1, 3, 2]
    assert np.isnan(both.dwell[0, 1:]).all()
    assert HistoryBatch.concat([a]) is a


def test_arrays_are_read_only(make_history):
    batch = HistoryBatch.of([make_history([1, 2])])
    for name in ("items", "feedback", "dwell", "lengths"):
        array = getattr(batch, name)
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def test_constructor_does_not_freeze_the_callers_array():
    items = np.array([[1, 2]])
    HistoryBatch(items, np.zeros((1, 2), np.int64), np.ones((1, 2)), np.array([2]))
    items[0, 0] = 7  # the caller's own array stays writable
    assert items[0, 0] == 7


def test_constructor_validates_shapes():
    items = np.zeros((2, 3), np.int64)
    with pytest.raises(ValueError, match="one shape"):
        HistoryBatch(items, np.zeros((2, 2), np.int64), np.zeros((2, 3)), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="2-D"):
        HistoryBatch(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="lengths"):
        HistoryBatch(items, items, np.zeros((2, 3)), np.zeros(3, np.int64))
