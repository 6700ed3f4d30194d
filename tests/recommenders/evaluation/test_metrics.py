"""recommenders.evaluation.metrics and the held-out metrics, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommenders import PAD, Feedback
from recommenders.evaluation import (
    disliked_creator_share,
    disliked_target_in_top,
    leave_one_out,
    mean_defined,
    ndcg_at,
    recall_at,
)
from recommenders.evaluation.held_out import held_out_metrics

D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


def test_recall_and_ndcg_by_hand():
    ranks = np.array([0, 1, 9, 10, 50])
    assert recall_at(ranks, 10) == pytest.approx(3 / 5)
    assert recall_at(ranks, 1) == pytest.approx(1 / 5)
    expected = (1 + 1 / math.log2(3) + 1 / math.log2(11)) / 5
    assert ndcg_at(ranks, 10) == pytest.approx(expected)
    assert math.isnan(recall_at(np.array([]), 10)) and math.isnan(ndcg_at(np.array([]), 10))


def test_disliked_target_in_top_by_hand():
    ranks = np.array([0, 20, 5, 30, 9])
    disliked = np.array([True, True, False, True, False])
    assert disliked_target_in_top(ranks, disliked, 10) == pytest.approx(1 / 3)
    assert math.isnan(disliked_target_in_top(ranks, np.zeros(5, bool), 10))


def test_disliked_creator_share_by_hand():
    creator = np.array([0, 0, 1, 1, 2, -1, 3, 3])  # item -> creator, item 5 unknown
    input_items = np.array(
        [
            [0, 2, 4, PAD],  # disliked item 2 (creator 1)
            [5, 6, PAD, PAD],  # disliked item 5 has no creator: the user does not count
            [1, 4, 6, 7],  # disliked 1 (creator 0) and 7 (creator 3); 6 liked
            [0, 1, PAD, PAD],  # no dislikes: does not count
        ]
    )
    disliked = np.array(
        [
            [False, True, False, False],
            [True, False, False, False],
            [True, False, False, True],
            [False, False, False, False],
        ]
    )
    top = np.array([[3, 4, 5, 1], [0, 1, 2, 3], [6, 0, 5, 2], [0, 1, 2, 3]])
    shares = disliked_creator_share(top, input_items, disliked, creator)
    # user 0: item 3 is by creator 1 -> 1/4; user 2: items 6 (creator 3) and 0 (creator 0) -> 2/4.
    np.testing.assert_allclose(shares, [0.25, np.nan, 0.5, np.nan])
    assert mean_defined(shares) == (pytest.approx(0.375), 2)
    assert math.isnan(mean_defined(np.full(3, np.nan))[0])


def test_held_out_metrics_by_hand(tiny):
    split = leave_one_out(tiny)  # test targets: user 0's is disliked, user 1's is not
    metrics = held_out_metrics(split.test, np.array([3, 12]), np.array([0.5, np.nan]))
    assert metrics.recall10 == 0.5 and metrics.recall1 == 0.0 and metrics.n_users == 2
    assert metrics.ndcg10 == pytest.approx(0.5 / math.log2(5))
    assert metrics.disliked_in_top10 == 1.0 and metrics.n_disliked == 1
    assert metrics.recall10_not_disliked == 0.0
    assert metrics.disliked_director_share == 0.5 and metrics.n_director_users == 1


# ---------------------------------------------------------------------------- labels, specs
