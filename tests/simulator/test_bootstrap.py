"""Tests of simulator.bootstrap.relative_change_ci."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator.bootstrap import RelativeChange, relative_change_ci

SLATE = 10  # items per slate: similarity scores are multiples of 1/SLATE


def slate_pair(rng: np.random.Generator, n: int, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Paired similarity shares whose population relative change is exactly ``delta``.

    Each user has a propensity p_u ~ Beta(3, 7) (mean 0.3); branch A's slate has
    Binomial(SLATE, p_u) similar items and branch B's Binomial(SLATE, p_u (1 + delta)).
    Then E[S_A] = 0.3 and E[S_B] = 0.3 (1 + delta), so the truth is delta by
    construction, while the shared p_u makes the branches strongly correlated,
    as forked users are, and the shares are discrete with ties and zeros, as
    real slate shares are.
    """
    p = rng.beta(3.0, 7.0, size=n)
    s_a = rng.binomial(SLATE, p) / SLATE
    s_b = rng.binomial(SLATE, p * (1.0 + delta)) / SLATE
    return s_a, s_b


def test_bca_interval_covers_true_relative_change_about_95_percent():
    delta, reps, n = -0.25, 200, 300
    data_rng = np.random.default_rng(20230918)
    covered = 0
    for rep in range(reps):
        s_a, s_b = slate_pair(data_rng, n, delta)
        r = relative_change_ci(s_a, s_b, n_resamples=999, seed=rep)
        assert r.method == "BCa"
        covered += r.ci_low <= delta <= r.ci_high
    coverage = covered / reps
    # With true coverage 0.95, the count over 200 independent repetitions is
    # Binomial(200, 0.95): sd = sqrt(0.95 * 0.05 / 200) = 1.5 %. [0.90, 0.985]
    # is 3.2 sd below and 2.3 sd above, so a correct 95 % interval passes while a
    # 90 % interval (e.g. a wrong alpha) or an unpaired, far too wide one
    # (coverage ~1.0) fails. The test is deterministic: everything is seeded.
    assert 0.90 <= coverage <= 0.985, coverage


def test_paired_interval_is_narrower_than_an_unpaired_one():
    s_a, s_b = slate_pair(np.random.default_rng(1), 300, -0.25)
    paired = relative_change_ci(s_a, s_b, n_resamples=999, method="percentile")

    def ratio(a, b, axis=-1):
        return (np.mean(b, axis=axis) - np.mean(a, axis=axis)) / np.mean(a, axis=axis)

    unpaired = stats.bootstrap(
        (s_a, s_b),
        ratio,
        paired=False,
        vectorized=True,
        n_resamples=999,
        method="percentile",
        rng=np.random.default_rng(0),
    ).confidence_interval
    # Resampling users jointly cancels the shared per-user propensity.
    assert paired.ci_high - paired.ci_low < 0.8 * (unpaired.high - unpaired.low)


def test_point_estimate_and_fields():
    s_a = np.array([0.2, 0.4, 0.0, 0.6])
    s_b = np.array([0.1, 0.4, 0.1, 0.2])
    r = relative_change_ci(s_a, s_b, n_resamples=199)
    assert isinstance(r, RelativeChange)
    assert r.n == 4
    assert r.mean_a == pytest.approx(0.3)
    assert r.mean_b == pytest.approx(0.2)
    assert r.relative_change == pytest.approx(-1 / 3)
    assert all(isinstance(v, float) for v in (r.mean_a, r.mean_b, r.ci_low, r.ci_high))


def test_identical_branches_give_exact_zero_interval():
    s = np.random.default_rng(2).random(50)
    r = relative_change_ci(s, s.copy())
    assert (r.relative_change, r.ci_low, r.ci_high) == (0.0, 0.0, 0.0)
    assert r.method == "degenerate: identical branches"


@pytest.mark.parametrize("s_b", [[0.0, 0.5, 1.0], [0.0, 0.0, 0.0]])
def test_zero_reference_mean_is_undefined(s_b):
    r = relative_change_ci([0.0, 0.0, 0.0], s_b)
    assert math.isnan(r.relative_change) and math.isnan(r.ci_low) and math.isnan(r.ci_high)
    assert r.method == "undefined: mean_a is 0"
    assert r.mean_a == 0.0 and r.n == 3


def test_constant_statistic_falls_back_to_percentile():
    # b = 2a gives exactly R = 1 in every resample: BCa's acceleration is 0/0.
    s_a = np.random.default_rng(3).random(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = relative_change_ci(s_a, 2.0 * s_a)
    assert (r.relative_change, r.ci_low, r.ci_high) == (1.0, 1.0, 1.0)
    assert r.method == "percentile (fallback: BCa interval was NaN)"


@pytest.mark.parametrize("method", ["BCa", "percentile", "basic"])
def test_resamples_with_zero_reference_mean_do_not_crash_or_warn(method):
    # Mostly-zero references (as creator similarity often is) with few users:
    # about a third of resamples draw no non-zero s_a.
    s_a = np.array([0.0, 0.0, 0.0, 0.5])
    s_b = np.array([0.1, 0.2, 0.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = relative_change_ci(s_a, s_b, method=method, seed=4)
    assert r.relative_change == pytest.approx(0.6)
    assert r.ci_high == math.inf  # more than 2.5 % of resamples are +inf
    assert math.isfinite(r.ci_low)
    assert "resamples had mean_a == 0" in r.method
    assert r.method.startswith("percentile")


def test_undefined_resamples_are_dropped():
    # Resamples of only user 0 are 0/0; every other resample gives exactly -1.
    r = relative_change_ci([0.0, 0.5], [0.0, 0.0], seed=5)
    assert (r.relative_change, r.ci_low, r.ci_high) == (-1.0, -1.0, -1.0)
    assert "+-inf kept, " in r.method and "0/0 dropped" in r.method


def test_rare_zero_reference_resamples_keep_bca():
    # 5 of 60 users have s_a > 0, so (55/60)**60 ~ 0.5 % of resamples have
    # mean_a == 0: too few to reach the 2.5 % tail, so the BCa interval stays
    # finite and is kept, and the count is reported.
    rng = np.random.default_rng(6)
    s_a = np.zeros(60)
    s_a[:5] = 0.3
    s_b = np.clip(s_a + rng.choice([0.0, 0.1], size=60), 0, 1)
    r = relative_change_ci(s_a, s_b, n_resamples=4000, seed=0)
    assert r.method.startswith("BCa; ")
    assert math.isfinite(r.ci_low) and math.isfinite(r.ci_high)


def test_same_seed_reproduces_and_other_seeds_differ():
    s_a, s_b = slate_pair(np.random.default_rng(7), 100, -0.2)
    first = relative_change_ci(s_a, s_b, n_resamples=999, seed=11)
    assert relative_change_ci(s_a, s_b, n_resamples=999, seed=11) == first
    others = [relative_change_ci(s_a, s_b, n_resamples=999, seed=s) for s in (12, 13, 14)]
    assert all(o.relative_change == first.relative_change for o in others)
    assert all((o.ci_low, o.ci_high) != (first.ci_low, first.ci_high) for o in others)


def test_lists_are_accepted():
    r = relative_change_ci([0.1, 0.2, 0.3], [0.2, 0.2, 0.2], n_resamples=99)
    assert r.relative_change == pytest.approx(0.0, abs=1e-12)
    assert r.n == 3


@pytest.mark.parametrize(
    ("s_a", "s_b", "kwargs", "match"),
    [
        ([0.1, 0.2, 0.3], [0.1, 0.2], {}, "equal length"),
        ([0.1], [0.2], {}, "at least 2"),
        ([], [], {}, "at least 2"),
        ([0.1, np.nan, 0.3], [0.1, 0.2, 0.3], {}, "s_a has 1 non-finite"),
        ([0.1, 0.2, 0.3], [0.1, 0.2, np.inf], {}, "s_b has 1 non-finite"),
        ([[0.1, 0.2], [0.3, 0.4]], [[0.1, 0.2], [0.3, 0.4]], {}, "1-D"),
        (["a", "b"], [0.1, 0.2], {}, "numeric"),
        ([0.1, 0.2], [0.1, 0.3], {"confidence": 1.0}, "confidence"),
        ([0.1, 0.2], [0.1, 0.3], {"n_resamples": 0}, "n_resamples"),
        ([0.1, 0.2], [0.1, 0.3], {"n_resamples": 9.5}, "n_resamples"),
        ([0.1, 0.2], [0.1, 0.3], {"method": "bca"}, "method"),
    ],
)
def test_bad_inputs_raise_one_line_value_error(s_a, s_b, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        relative_change_ci(s_a, s_b, **kwargs)
    assert "\n" not in str(info.value)


shares = st.integers(0, SLATE).map(lambda k: k / SLATE)


@st.composite
def paired_shares(draw):
    n = draw(st.integers(2, 25))
    # Weight towards zeros so that zero reference means, 0/0 resamples and
    # identical branches all occur.
    zero_heavy = st.one_of(st.just(0.0), st.just(0.0), shares)
    s_a = draw(st.lists(zero_heavy, min_size=n, max_size=n))
    s_b = draw(st.lists(zero_heavy, min_size=n, max_size=n))
    return np.array(s_a), np.array(s_b)


@settings(max_examples=60, deadline=None)
@given(pair=paired_shares(), method=st.sampled_from(["BCa", "percentile", "basic"]))
def test_any_valid_slate_shares_give_a_consistent_result(pair, method):
    s_a, s_b = pair
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = relative_change_ci(s_a, s_b, n_resamples=199, method=method, seed=0)
    if s_a.mean() == 0:
        assert r.method == "undefined: mean_a is 0"
        assert math.isnan(r.relative_change)
        return
    assert r.relative_change == pytest.approx((s_b.mean() - s_a.mean()) / s_a.mean())
    assert not math.isnan(r.ci_low) and not math.isnan(r.ci_high)
    assert r.ci_low <= r.ci_high


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 5000), count=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_resample_indices_are_scipys_draws(n, count, seed):
    """uint32 draws are the int64 stream scipy draws, and leave the generator alike."""
    from simulator.bootstrap import resample_indices

    ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
    np.testing.assert_array_equal(
        resample_indices(ours, n, count), theirs.integers(0, n, (count, n))
    )
    assert ours.integers(0, 2**40) == theirs.integers(0, 2**40)


@pytest.mark.parametrize("method", ["BCa", "percentile", "basic"])
def test_interval_equals_scipys_from_the_same_resamples(method):
    """At 2,000 users, with the same generator and batches: the same bootstrap values
    bit for bit, and the same interval to 1e-12 (only the jackknife's sums differ)."""
    from simulator.bootstrap import bootstrap_distribution, scipy_interval

    s_a, s_b = slate_pair(np.random.default_rng(7), 2000, -0.2)
    ours = relative_change_ci(s_a, s_b, n_resamples=2000, method=method, seed=3)
    theirs = scipy_interval(s_a, s_b, 2000, seed=3, method=method)
    np.testing.assert_array_equal(
        bootstrap_distribution(s_a, s_b, 2000, seed=3), theirs.bootstrap_distribution
    )
    assert ours.method == method
    assert ours.ci_low == pytest.approx(theirs.confidence_interval.low, rel=1e-12, abs=1e-12)
    assert ours.ci_high == pytest.approx(theirs.confidence_interval.high, rel=1e-12, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(pair=paired_shares())
def test_closed_form_jackknife_equals_leaving_each_user_out(pair):
    from simulator.bootstrap import jackknife_acceleration

    s_a, s_b = pair
    n = s_a.size
    keep = ~np.eye(n, dtype=bool)
    with np.errstate(all="ignore"):
        loo = np.array([(s_b[k].mean() - s_a[k].mean()) / s_a[k].mean() for k in keep])
        u = (n - 1) * (loo.mean() - loo)
        brute = np.sum(u**3) / n**3 / 6 / (np.sum(u**2) / n**2) ** 1.5
    closed = jackknife_acceleration(s_a, s_b)
    if np.isnan(brute):
        assert np.isnan(closed)
    else:
        assert closed == pytest.approx(brute, rel=1e-9, abs=1e-12)


def test_worker_threads_do_not_change_the_resamples(monkeypatch):
    import simulator.bootstrap as bootstrap

    s_a, s_b = slate_pair(np.random.default_rng(2), 3000, -0.3)
    alone = bootstrap.bootstrap_distribution(s_a, s_b, 300, seed=5, threads=1)
    monkeypatch.setattr(bootstrap, "_PARALLEL_USERS", 1000)
    counted = []
    shared = bootstrap.bootstrap_distribution(
        s_a, s_b, 300, seed=5, threads=3, on_batch=counted.append
    )
    np.testing.assert_array_equal(alone, shared)
    assert sum(counted) == 300
