import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from agents import KeyedRandom, Purpose


def test_uniform_is_a_pure_function_of_the_key():
    keys = KeyedRandom(7)
    users = np.array([5, 1, 9, 5])
    a = keys.uniform(users, 3, Purpose.DWELL, 4)
    # Same user in another batch position, another batch order: same numbers.
    b = keys.uniform(users[::-1], 3, Purpose.DWELL, 4)[::-1]
    assert np.array_equal(a, b)
    assert np.array_equal(a[0], a[3])
    assert np.array_equal(a[1], keys.uniform([1], 3, Purpose.DWELL, 4)[0])


@given(
    seed=st.integers(0, 2**62),
    user=st.integers(0, 10**9),
    step=st.integers(0, 10**6),
)
@settings(max_examples=50, deadline=None)
def test_every_key_component_changes_the_draw(seed, user, step):
    base = KeyedRandom(seed).uniform([user], step, Purpose.CHOICE)[0, 0]
    assert 0.0 < base < 1.0
    assert KeyedRandom(seed + 1).uniform([user], step, Purpose.CHOICE)[0, 0] != base
    assert KeyedRandom(seed).uniform([user + 1], step, Purpose.CHOICE)[0, 0] != base
    assert KeyedRandom(seed).uniform([user], step + 1, Purpose.CHOICE)[0, 0] != base
    assert KeyedRandom(seed).uniform([user], step, Purpose.DWELL)[0, 0] != base


def test_uniform_distribution_and_independence():
    keys = KeyedRandom(3)
    u = keys.uniform(np.arange(50_000), 11, Purpose.DISLIKE, 2)
    assert stats.kstest(u[:, 0], "uniform").pvalue > 1e-3
    # Neighbouring users and neighbouring draws must not correlate.
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 0.02
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.02
    steps = keys.uniform(np.zeros(50_000, np.int64), np.arange(50_000), Purpose.DISLIKE)[:, 0]
    assert stats.kstest(steps, "uniform").pvalue > 1e-3


def test_normal_and_gumbel_moments():
    keys = KeyedRandom(5)
    z = keys.normal(np.arange(40_000), 0, Purpose.DWELL)[:, 0]
    assert stats.kstest(z, "norm").pvalue > 1e-3
    g = keys.gumbel(np.arange(40_000), 0, Purpose.CHOICE)[:, 0]
    assert stats.kstest(g, "gumbel_r").pvalue > 1e-3


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        KeyedRandom(-1)
