"""The torch slate pipeline makes the slates of the numpy ScoringAdapter path, errors included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import HistoryBatch, InvalidScoresError, ScoringAdapter, SlateSizeError, top_k
from recommenders.adapters.torch_scoring import TorchScoringAdapter, top_k_tensor

# Few distinct values, so ties inside the slate and at its edge are the common case.
LEVELS = [-np.inf, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, np.inf]


@st.composite
def score_rows(draw):
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 12))
    cells = draw(st.lists(st.sampled_from(LEVELS), min_size=n * m, max_size=n * m))
    k = draw(st.integers(1, m))
    return np.array(cells, np.float32).reshape(n, m), k


@settings(max_examples=300, deadline=None)
@given(case=score_rows())
def test_top_k_tensor_is_top_k(case):
    scores, k = case
    try:
        expected = top_k(scores.astype(np.float64), k, owner="x")
    except SlateSizeError as error:
        with pytest.raises(SlateSizeError, match=f"^{error}$"):
            top_k_tensor(torch.from_numpy(scores), k, owner="x")
        return
    np.testing.assert_array_equal(top_k_tensor(torch.from_numpy(scores), k, "x").numpy(), expected)


class Both(TorchScoringAdapter):
    """Fixed float32 scores, served by the torch path (recommend) and by the numpy path."""

    def __init__(self, scores: np.ndarray, exclude_consumed: bool = True, batch_size: int = 2):
        super().__init__(scores.shape[1], exclude_consumed)
        self.scores, self.score_rows = scores, batch_size

    def score_tensor(self, batch: HistoryBatch) -> torch.Tensor:
        rows = batch.lengths  # each history's length says which row of scores it gets
        return torch.from_numpy(self.scores[rows].copy())

    def numpy_recommend(self, histories, k):
        return ScoringAdapter.recommend(self, histories, k)


@st.composite
def served(draw):
    m = draw(st.integers(2, 10))
    n = draw(st.integers(1, 5))
    cells = draw(
        st.lists(
            st.sampled_from([*LEVELS, np.nan, 3.0]), min_size=(n + 1) * m, max_size=(n + 1) * m
        )
    )
    scores = np.array(cells, np.float32).reshape(n + 1, m)
    lengths = draw(st.lists(st.integers(0, n), min_size=n, max_size=n))
    items = [draw(st.lists(st.integers(0, m - 1), min_size=t, max_size=t)) for t in lengths]
    k = draw(st.integers(1, m))
    return scores, items, k, draw(st.booleans()), draw(st.integers(1, 3))


@settings(max_examples=300, deadline=None)
@given(case=served())
def test_torch_and_numpy_paths_give_the_same_slates_and_errors(case, make_history):
    scores, items, k, exclude, batch_size = case
    adapter = Both(scores, exclude, batch_size)
    histories = [make_history(row) for row in items]
    try:
        expected = adapter.numpy_recommend(histories, k)
    except (InvalidScoresError, SlateSizeError) as error:
        with pytest.raises(type(error)) as raised:
            adapter.recommend(histories, k)
        assert str(raised.value) == str(error)
        return
    np.testing.assert_array_equal(adapter.recommend(histories, k), expected)


def test_a_nan_on_a_consumed_item_is_still_refused(make_history):
    scores = np.zeros((2, 5), np.float32)
    scores[1, 3] = np.nan  # the item the history consumed: excluded, but NaN all the same
    with pytest.raises(InvalidScoresError, match=r"returned NaN at row 0, item 3 \(1 NaN"):
        Both(scores).recommend([make_history([3])], 2)
