"""Every slate is validated inside the simulator; bad adapters fail with a one-line error."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from recommenders import (
    Feedback,
    InvalidScoresError,
    InvalidSlateError,
    RecommenderAdapter,
    ScoringAdapter,
)
from recommenders.validation import AdapterFailure, Terminated
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


class _Counting(RecommenderAdapter):
    """Popularity order; counts the DISLIKE codes in each call's input, then (``mutate``)
    erases them from that input: through ``flags.writeable`` and through torch."""

    def __init__(self, n_items: int, mutate: bool) -> None:
        self.n_items, self.mutate, self.dislikes = n_items, mutate, []

    def recommend(self, histories, slate_size):
        import torch

        dislike = int(Feedback.DISLIKE)
        self.dislikes.append(int((histories.feedback == dislike).sum()))
        if self.mutate:
            histories.feedback.flags.writeable = True
            histories.feedback[histories.feedback == dislike] = int(Feedback.POSITIVE)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch warns, then shares the memory
                torch.from_numpy(histories.dwell).fill_(0.0)
        order = np.arange(slate_size + histories.width)
        return np.stack([order[~np.isin(order, row)][:slate_size] for row in histories.items])


def test_an_adapter_cannot_rewrite_the_stored_histories(small_world):
    """An adapter that writes into its input used to erase the recorded dislikes for every
    later call (7,942 visible to an honest adapter, 0 to the mutating one); each call
    now gets memory of its own, so both see the same histories."""
    config = ResponsivenessConfig(n_users=60, k=30, n_resamples=200)
    honest, mutating = (_Counting(small_world.corpus.n_items, m) for m in (False, True))
    runs = [measure_responsiveness(small_world, a, config) for a in (honest, mutating)]
    assert sum(honest.dislikes) > 0
    assert mutating.dislikes == honest.dislikes
    pd.testing.assert_frame_equal(runs[0].per_user, runs[1].per_user)


class _Exits(RecommenderAdapter):
    def __init__(self, how) -> None:
        self.how = how

    def recommend(self, histories, slate_size):
        raise self.how


@pytest.mark.parametrize(
    "how, shown",
    [
        (SystemExit(0), "SystemExit: 0"),
        (KeyError("x"), "KeyError: 'x'"),
        (ZeroDivisionError(), "ZeroDivisionError"),
    ],
)
def test_an_adapter_that_raises_is_a_one_line_failure(small_world, how, shown):
    """An adapter raising SystemExit(0) used to end the command with exit 0 and nothing
    written; any exception from recommend is now an AdapterFailure naming the adapter."""
    config = ResponsivenessConfig(n_users=10, k=3, n_resamples=200)
    with pytest.raises(
        AdapterFailure, match=f"adapter _Exits: recommend raised {re.escape(shown)}"
    ):
        measure_responsiveness(small_world, _Exits(how), config)


@pytest.mark.parametrize("how", [Terminated(143), KeyboardInterrupt()])
def test_a_stop_from_outside_during_recommend_stops_the_run(small_world, how):
    """SIGTERM (turned into Terminated by the CLIs) or Ctrl-C arriving while an adapter
    runs is not the adapter's failure: it leaves the run as it is, code unchanged."""
    config = ResponsivenessConfig(n_users=10, k=3, n_resamples=200)
    with pytest.raises(type(how)) as stopped:
        measure_responsiveness(small_world, _Exits(how), config)
    assert type(stopped.value) is type(how)
    assert getattr(stopped.value, "code", None) == getattr(how, "code", None)
