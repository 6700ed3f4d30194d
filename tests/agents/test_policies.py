import numpy as np
from scipy import stats

from agents import NO_CHOICE, KeyedRandom, LogitChoice, RandomTrajectory


def test_random_trajectory_is_uniform_over_positions():
    keys = KeyedRandom(0)
    slates = np.tile(np.arange(10), (20_000, 1))
    pos = RandomTrajectory().choose(keys, np.arange(20_000), 3, slates)
    counts = np.bincount(pos, minlength=10)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert pos.min() >= 0 and pos.max() <= 9


def test_logit_choice_matches_softmax(user_model):
    keys = KeyedRandom(1)
    n = 30_000
    users = np.zeros(n, np.int64)  # one user, many independent steps
    slate = np.array([0, 1, 2, 3, 4])
    slates = np.tile(slate, (n, 1))
    policy = LogitChoice(temperature=1.0, no_choice_utility=0.0)
    picks = np.array(
        [policy.choose(keys, users[:1], s, slates[:1], user_model)[0] for s in range(3000)]
    )
    mu = np.append(user_model.utility(np.zeros(5, np.int64), slate), 0.0)
    expected = np.exp(mu - mu.max())
    expected /= expected.sum()
    observed = np.bincount(np.where(picks == NO_CHOICE, 5, picks), minlength=6)
    assert stats.chisquare(observed, 3000 * expected).pvalue > 1e-3


def test_logit_without_no_choice_always_picks(user_model):
    keys = KeyedRandom(2)
    slates = np.tile(np.arange(10), (500, 1))
    picks = LogitChoice(no_choice_utility=-np.inf).choose(
        keys, np.arange(500), 0, slates, user_model
    )
    assert (picks >= 0).all()
