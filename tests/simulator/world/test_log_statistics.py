import math

import numpy as np
import pandas as pd
import pytest

from recommenders.history import Feedback
from simulator.world.log_statistics import (
    consumed_popularity,
    creator_disliked_before,
    creator_repeat,
    genre_continuation,
    log_statistics,
    per_user_dislike_rates,
)

P, S, D = int(Feedback.POSITIVE), int(Feedback.SKIP), int(Feedback.DISLIKE)
L, X = int(Feedback.LIKE), int(Feedback.DISMISS)

# Eight items; items 6 and 7 are in the catalogue but never consumed.
CREATOR = np.array([0, 0, 1, 1, -1, 2, 2, 0])
CLUSTERS = np.zeros((8, 3), bool)
for item, clusters in {0: [0], 1: [0, 1], 2: [1], 3: [2], 5: [2], 6: [0], 7: [1]}.items():
    CLUSTERS[item, clusters] = True  # item 4 has no cluster

# user 0 dislikes creator 0 (row 0) and dislikes it again (row 1, a repeat event); likes
# creator 1's item 2, so creator 1's item 3 is no repeat event; item 4's creator is unknown.
# user 1 dislikes creator 2 (row 5) and meets it again (row 6, a repeat event, a skip); it
# never disliked creator 0, so row 7 is no repeat event. user 2 has one event, a DISMISS,
# which is not a dislike (the response model's D counts DISLIKE only).
LOG = pd.DataFrame(
    {
        "user": [0, 0, 0, 0, 0, 1, 1, 1, 2],
        "position": [0, 1, 2, 3, 4, 0, 1, 2, 0],
        "item": [0, 1, 2, 3, 4, 5, 5, 0, 2],
        "feedback": [D, D, P, D, D, D, S, L, X],
    }
)


def arrays(log=LOG):
    return log["user"].to_numpy(), log["item"].to_numpy(), log["feedback"].to_numpy() == D


def test_creator_repeat_by_hand():
    users, items, disliked = arrays()
    repeat = creator_disliked_before(users, items, disliked, CREATOR)
    assert np.flatnonzero(repeat).tolist() == [1, 6]
    stats = creator_repeat(users, items, disliked, CREATOR)
    assert stats["base_dislike_rate"] == pytest.approx(5 / 9)
    assert stats["n_repeat_events"] == 2
    assert stats["p_dislike_after_creator_dislike"] == pytest.approx(1 / 2)  # rows 1 (D), 6 (S)
    assert stats["p_dislike_otherwise"] == pytest.approx(4 / 7)  # rows 0, 3, 4, 5 of 7
    # Users 0 and 1 have repeat events: 4 + 1 dislikes over 5 + 3 events.
    assert stats["own_rate"] == pytest.approx(5 / 8)
    assert stats["lift"] == pytest.approx((1 / 2) / (5 / 8))
    # Weighted as the repeat events are: row 1 is user 0's (4/5), row 6 user 1's (1/3).
    assert stats["own_rate_per_repeat"] == pytest.approx((4 / 5 + 1 / 3) / 2)
    assert stats["lift_per_repeat"] == pytest.approx((1 / 2) / ((4 / 5 + 1 / 3) / 2))


def test_creator_repeat_is_nan_where_undefined():
    users, items, disliked = arrays()
    unknown = np.full(8, -1)
    stats = creator_repeat(users, items, disliked, unknown)
    assert stats["n_repeat_events"] == 0
    for key in ("p_dislike_after_creator_dislike", "own_rate", "lift", "lift_per_repeat"):
        assert math.isnan(stats[key]), key
    assert stats["p_dislike_otherwise"] == pytest.approx(5 / 9)
    empty = creator_repeat(np.zeros(0, int), np.zeros(0, int), np.zeros(0, bool), CREATOR)
    assert empty["n_repeat_events"] == 0
    assert all(math.isnan(v) for k, v in empty.items() if k != "n_repeat_events")


def test_per_user_rates_genre_continuation_and_popularity_by_hand():
    users, items, disliked = arrays()
    np.testing.assert_allclose(per_user_dislike_rates(users, disliked), [4 / 5, 1 / 3, 0.0])
    # Pairs (0,1) share cluster 0, (1,2) cluster 1, (5,5) cluster 2; (2,3), (3,4), (5,0) none.
    assert genre_continuation(users, items, CLUSTERS) == pytest.approx(3 / 6)
    # Counts per item: 2 1 2 1 1 2 0 0; the top ceil(0.8) = 1 item has 2 of 9 events.
    # Ascending counts 0 0 1 1 1 2 2 2 with weights 2j - 9 = -7 .. 7 sum to 27: G = 27 / (8 * 9).
    assert consumed_popularity(items, 8) == pytest.approx(
        {"top10_share": 2 / 9, "gini": 27 / 72, "coverage": 6 / 8}
    )


def test_gini_extremes():
    assert consumed_popularity(np.arange(10), 10)["gini"] == pytest.approx(0.0)
    one = consumed_popularity(np.zeros(50, int), 10)
    assert one["gini"] == pytest.approx(1 - 1 / 10)
    assert one["top10_share"] == 1.0 and one["coverage"] == pytest.approx(0.1)


def test_log_statistics_is_flat_and_by_hand():
    stats = log_statistics(LOG, CREATOR, CLUSTERS, n_items=8)
    assert all(isinstance(v, (int, float)) for v in stats.values())
    assert stats["n_events"] == 9 and stats["n_users"] == 3
    assert stats["positive_rate"] == pytest.approx(2 / 9)  # POSITIVE and LIKE
    assert stats["lift"] == pytest.approx(0.8)
    # np.quantile's linear interpolation on the sorted rates 0, 1/3, 4/5.
    expected = {10: 1 / 15, 25: 1 / 6, 50: 1 / 3, 75: 17 / 30, 90: 53 / 75}
    for q, value in expected.items():
        assert stats[f"user_dislike_rate_q{q}"] == pytest.approx(value), q
    assert stats["genre_continuation"] == pytest.approx(0.5)
    assert stats["gini"] == pytest.approx(27 / 72)


def test_log_statistics_of_single_events_and_of_an_empty_log():
    singles = pd.DataFrame({"user": [0, 1], "position": [0, 0], "item": [0, 1], "feedback": [D, P]})
    stats = log_statistics(singles, CREATOR, CLUSTERS, n_items=8)
    assert math.isnan(stats["genre_continuation"]) and math.isnan(stats["lift"])
    assert stats["user_dislike_rate_q50"] == pytest.approx(0.5)
    empty = log_statistics(LOG.iloc[:0], CREATOR, CLUSTERS, n_items=8)
    assert empty["n_events"] == 0 and empty["n_users"] == 0 and empty["n_repeat_events"] == 0
    counts = ("n_events", "n_users", "n_repeat_events")
    assert all(math.isnan(v) for k, v in empty.items() if k not in counts)
