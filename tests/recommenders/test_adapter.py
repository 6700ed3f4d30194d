import numpy as np
import pytest

from recommenders import HistoryBatch, InvalidScoresError, ScoringAdapter, validate_slates


class Fixed(ScoringAdapter):
    """Scores from a callable of the batch, to drive ScoringAdapter.recommend."""

    def __init__(self, n_items, make_scores, exclude_consumed=True):
        super().__init__(n_items, exclude_consumed)
        self.make_scores = make_scores

    def score(self, batch: HistoryBatch) -> np.ndarray:
        return self.make_scores(batch)


def descending(n_items):
    return lambda batch: np.tile(np.arange(n_items, 0, -1.0), (len(batch), 1))


def test_nan_names_row_and_item(make_history):
    def scores(batch):
        s = np.zeros((len(batch), 6))
        s[1, 4] = np.nan
        s[2, 0] = np.nan
        return s

    adapter = Fixed(6, scores)
    with pytest.raises(
        InvalidScoresError, match=r"^Fixed\.score returned NaN at row 1, item 4 \(2 NaN scores"
    ):
        adapter.recommend([make_history([0])] * 3, 2)


def test_wrong_score_shape(make_history):
    adapter = Fixed(6, lambda batch: np.zeros((len(batch), 5)))
    with pytest.raises(InvalidScoresError, match=r"returned shape \(2, 5\), expected \(2, 6\)"):
        adapter.recommend([make_history([0])] * 2, 2)


def test_consumed_items_are_excluded(make_history):
    adapter = Fixed(6, descending(6))
    slates = adapter.recommend([make_history([0, 2]), make_history([]), make_history([5])], 3)
    assert slates.tolist() == [[1, 3, 4], [0, 1, 2], [0, 1, 2]]
    validate_slates(slates, 3, 3, 6, adapter.name)


def test_consumed_kept_when_not_excluding(make_history):
    adapter = Fixed(6, descending(6), exclude_consumed=False)
    assert adapter.recommend([make_history([0, 2])], 3).tolist() == [[0, 1, 2]]


def test_integer_scores_are_accepted(make_history):
    adapter = Fixed(4, lambda batch: np.tile(np.array([1, 3, 2, 0]), (len(batch), 1)))
    assert adapter.recommend([make_history([1])], 2).tolist() == [[2, 0]]


def test_name_and_n_items():
    assert Fixed(3, descending(3)).name == "Fixed"
    with pytest.raises(ValueError, match="n_items must be positive"):
        Fixed(0, descending(0))
