import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recommenders import SlateSizeError, top_k


def test_best_first():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2]]


def test_ties_go_to_lower_id():
    assert top_k(np.zeros((1, 5)), 3).tolist() == [[0, 1, 2]]
    assert top_k(np.array([[0.0, 2.0, 2.0, 1.0, 2.0]]), 2).tolist() == [[1, 2]]
    # A tie straddling the cut keeps the lower ids and the order stays by score then id.
    assert top_k(np.array([[1.0, 3.0, 1.0, 1.0]]), 3).tolist() == [[1, 0, 2]]


def test_minus_inf_is_excluded():
    scores = np.array([[-np.inf, 0.0, -np.inf, -5.0], [3.0, -np.inf, 1.0, 2.0]])
    assert top_k(scores, 2).tolist() == [[1, 3], [0, 3]]


def test_plus_inf_is_recommendable():
    assert top_k(np.full((1, 3), np.inf), 2).tolist() == [[0, 1]]
    assert top_k(np.array([[1.0, np.inf, -np.inf]]), 2).tolist() == [[1, 0]]


def test_too_few_recommendable_items():
    scores = np.array([[0.0, 1.0, 2.0], [0.0, -np.inf, -np.inf]])
    with pytest.raises(SlateSizeError, match=r"mine: row 1 has only 1 recommendable"):
        top_k(scores, 2, owner="mine")


@pytest.mark.parametrize("k", [0, -1, 4])
def test_slate_size_out_of_range(k):
    with pytest.raises(SlateSizeError, match="slate_size"):
        top_k(np.zeros((2, 3)), k)


@settings(max_examples=200, deadline=None)
@given(
    scores=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
        # Few distinct values: ties are the common case.
        elements=st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 2.0, np.inf]),
    ),
    data=st.data(),
)
def test_matches_stable_argsort(scores, data):
    k = data.draw(st.integers(1, scores.shape[1]))
    if ((scores > -np.inf).sum(axis=1) < k).any():
        with pytest.raises(SlateSizeError):
            top_k(scores, k)
        return
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    assert top_k(scores, k).tolist() == expected.tolist()
