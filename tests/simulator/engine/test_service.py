"""Every slate is validated inside the simulator; bad adapters fail with a one-line error."""

import numpy as np
import pytest

from recommenders import InvalidScoresError, InvalidSlateError, RecommenderAdapter, ScoringAdapter
from simulator import ResponsivenessConfig, measure_responsiveness


class Broken(RecommenderAdapter):
    """Returns a valid slate except in one row, spoiled by ``spoil``."""

    def __init__(self, spoil):
        self.spoil = spoil

    def recommend(self, histories, slate_size):
        slates = np.tile(np.arange(slate_size), (len(histories), 1))
        return self.spoil(slates)


def out_of_range(s):
    s[1, 2] = 10_000
    return s


def negative(s):
    s[1, 0] = -3
    return s


def duplicate(s):
    s[1, 3] = s[1, 0]
    return s


def wrong_shape(s):
    return s[:, :-1]


def nan(s):
    s = s.astype(float)
    s[1, 1] = np.nan
    return s


def floats(s):
    return s.astype(float)


def as_list(s):
    return s.tolist()


@pytest.mark.parametrize(
    "spoil, match",
    [
        (out_of_range, r"Broken.recommend returned item id 10000 in row 1, outside \[0, 300\)"),
        (negative, r"item id -3 in row 1"),
        (duplicate, r"item id 0 twice in row 1"),
        (wrong_shape, r"returned shape \(4, 4\), expected \(4, 5\)"),
        (nan, r"NaN in row 1"),
        (floats, r"dtype float64, expected an integer dtype"),
        (as_list, r"returned list, expected a numpy ndarray"),
    ],
)
def test_bad_slates_raise_naming_adapter_and_row(small_world, spoil, match):
    config = ResponsivenessConfig(n_users=4, k=3, slate_size=5, n_resamples=100)
    with pytest.raises(InvalidSlateError, match=match) as error:
        measure_responsiveness(small_world, Broken(spoil), config)
    assert isinstance(error.value, ValueError)
    assert "\n" not in str(error.value)


class NaNScores(ScoringAdapter):
    def score(self, batch):
        scores = np.zeros((len(batch), self.n_items))
        scores[2, 7] = np.nan
        return scores


def test_nan_scores(small_world):
    config = ResponsivenessConfig(n_users=4, k=2, slate_size=5, n_resamples=100)
    with pytest.raises(InvalidScoresError, match=r"NaNScores\.score returned NaN at row 2, item 7"):
        measure_responsiveness(small_world, NaNScores(small_world.corpus.n_items), config)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_users": 0}, "n_users must be >= 1, got 0"),
        ({"n_users": -5}, "n_users must be >= 1"),
        ({"k": 0}, "k must be >= 1, got 0"),
        ({"slate_size": 0}, "slate_size must be >= 1"),
        ({"horizon": 0}, "horizon must be >= 1"),
        ({"branches": ("long_dwell",)}, "at least two"),
        ({"policy": "greedy"}, "policy must be random or logit"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResponsivenessConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"slate_size": 301}, "slate_size 301 exceeds the world's 300 items"),
        ({"n_users": 61}, "n_users 61 exceeds the world's 60 users"),
        ({"k": 295, "slate_size": 10}, "exceeds the world's 300 items"),
    ],
)
def test_config_the_world_cannot_host(small_world, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResponsivenessConfig(**{"n_users": 10, **kwargs}).check_world(small_world)
