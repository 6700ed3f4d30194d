r"""Paired bootstrap CIs: the relative change between two branches, and a mean difference.

For users :math:`u = 1..n`, ``s_a[u]`` and ``s_b[u]`` are the similarity scores
:math:`S_A(u), S_B(u) \in [0, 1]` (unitless shares of a slate) that the *same*
user's reference branch A and treatment branch B received. The responsiveness
of B relative to A is

.. math::

    R = \frac{\bar S_B - \bar S_A}{\bar S_A},
    \qquad \bar S_X = \frac{1}{n} \sum_u S_X(u),

a unitless fraction (``-0.227`` means 22.7 % fewer similar recommendations in
B; multiply by 100 for percent). Its confidence interval comes from the
*paired* bootstrap: each resample draws ``n`` user indices with replacement and
takes **both** branches' scores of each drawn user, so the strong
within-user correlation between A and B (same history up to step k) is kept and
the interval reflects the between-user spread of the *difference*, not of two
independent samples. BCa (bias-corrected and accelerated, Efron & Tibshirani
1993, ch. 14) by default.

The interval is the one ``scipy.stats.bootstrap(paired=True, method=...)``
computes, from the same resamples (the same draws of the same generator), in
O(n) memory and time per resample: scipy's BCa acceleration comes from a
jackknife that evaluates the statistic on all n leave-one-out samples, O(n**2)
(8 s at 20,000 users, hours at 10**6), whereas for a ratio of means each
leave-one-out value has a closed form (:func:`jackknife_acceleration`).
"""

from __future__ import annotations

import inspect
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "RelativeChange",
    "bootstrap_distribution",
    "jackknife_acceleration",
    "mean_difference_ci",
    "relative_change_ci",
    "resample_indices",
    "scipy_interval",
]

_METHODS = ("BCa", "percentile", "basic")

MAX_RESAMPLES = 1_000_000
"""The most bootstrap resamples a protocol accepts: beyond, the Monte Carlo error of a
95% bound (about 0.0002 in coverage at 10**6) is far below any other error, and the
time grows without bound."""

# Resamples are drawn and evaluated in batches of (batch, n) indices; bounding
# batch * n keeps memory near 2**22 * 8 B = 32 MiB per array whatever the number
# of users. The batch shape is part of the random stream (each draw call starts a
# fresh 32-bit buffer), so it must stay what it was for results to stay the same.
_MAX_BATCH_ELEMENTS = 2**22

_PARALLEL_USERS = 50_000
"""From this many users on, resamples are evaluated in worker threads (below,
a resample is too small a task for a thread hand-off to pay)."""


@dataclass(frozen=True)
class RelativeChange:
    """Result of :func:`relative_change_ci`.

    Attributes:
        mean_a: :math:`\\bar S_A`, mean reference-branch score over users.
        mean_b: :math:`\\bar S_B`, mean treatment-branch score over users.
        relative_change: :math:`(\\bar S_B - \\bar S_A) / \\bar S_A`, a
            fraction (not percent); NaN when undefined.
        ci_low, ci_high: confidence interval ends for ``relative_change`` (same
            unit). Can be ``+inf`` / ``-inf`` when more than about
            ``(1 - confidence) / 2`` of the resamples had a zero reference mean
            (see :func:`relative_change_ci`); NaN only when the point estimate
            is undefined.
        n: number of users (pairs).
        method: the CI method actually used, or why the result is degenerate,
            plus a note when some resamples had a zero reference mean.
    """

    mean_a: float
    mean_b: float
    relative_change: float
    ci_low: float
    ci_high: float
    n: int
    method: str


def _relative_change(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    # Vectorised over resamples. A resample whose reference mean is exactly 0
    # gives x / 0: +-inf when the treatment mean differs (an unbounded relative
    # increase is an ordered, meaningful extreme) and 0 / 0 = NaN when both are 0
    # (truly undefined). The errstate only silences numpy's warnings for these;
    # the values are dealt with in relative_change_ci.
    mean_a = np.mean(a, axis=axis)
    mean_b = np.mean(b, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (mean_b - mean_a) / mean_a


def _as_scores(x: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        first = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(
            f"{name} has {bad} non-finite value(s) (first at index {first}: {arr[first]})"
        )
    return arr


def _percentile_interval(theta: np.ndarray, confidence: float) -> tuple[float, float]:
    # The plain percentile interval, robust to +-inf resamples. Linear
    # interpolation (numpy's and scipy's default) gives inf - inf = NaN next to
    # an infinite resample; there the neighbouring order statistic on the
    # outer side is taken instead, which can only widen the interval.
    alpha = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore"):
        low = float(np.quantile(theta, alpha))
        high = float(np.quantile(theta, 1.0 - alpha))
    if np.isnan(low):
        low = float(np.quantile(theta, alpha, method="lower"))
    if np.isnan(high):
        high = float(np.quantile(theta, 1.0 - alpha, method="higher"))
    return low, high


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resample_indices(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """``count`` bootstrap resamples of ``n`` users: ``rng.integers(0, n, (count, n))``,
    scipy's draw, as int64 or, for ``n <= 2**32``, as the same values in uint32.

    numpy draws a bounded integer below 2**32 from 32-bit words by Lemire's method
    whatever the output type, so uint32 output is the same stream (tested) at a
    sixth of the cost of int64 output.
    """
    dtype = np.uint32 if n <= 2**32 else np.int64
    return rng.integers(0, n, (count, n), dtype=dtype)


def bootstrap_distribution(
    a: np.ndarray,
    b: np.ndarray,
    n_resamples: int,
    seed: int,
    on_batch: Callable[[int], object] | None = None,
    threads: int | None = None,
) -> np.ndarray:
    r"""The ``n_resamples`` paired-bootstrap values of :math:`(\bar S_B - \bar S_A)/\bar S_A`.

    Resample ``r`` draws user indices ``i`` (:func:`resample_indices`, from
    ``np.random.default_rng(seed)``, in batches of at most 2**22 indices) and takes
    ``(mean(b[i]) - mean(a[i])) / mean(a[i])``: bit for bit what
    ``scipy.stats.bootstrap((a, b), ..., paired=True, vectorized=True, batch=...)``
    computes with the same generator and batch. ``on_batch(count)`` follows each batch.

    From :data:`_PARALLEL_USERS` users on, the draws stay in this thread (they are
    one random stream) while ``threads`` worker threads (default: the usable cores)
    gather and average the resamples, one per task; numpy releases the GIL in both,
    and each value is computed alone, so the result does not depend on ``threads``.
    """
    n = a.size
    rng = np.random.default_rng(seed)
    batch = max(1, min(n_resamples, _MAX_BATCH_ELEMENTS // n))
    theta = np.empty(n_resamples)
    workers = usable_cores() if threads is None else int(threads)
    if workers < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")

    def evaluate(start: int, index: np.ndarray) -> None:
        with np.errstate(all="ignore"):
            theta[start : start + len(index)] = _relative_change(a[index], b[index])

    if n < _PARALLEL_USERS or workers == 1:
        for start in range(0, n_resamples, batch):
            count = min(batch, n_resamples - start)
            evaluate(start, resample_indices(rng, n, count))
            if on_batch is not None:
                on_batch(count)
        return theta
    pending: deque = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="bootstrap") as pool:
        for start in range(0, n_resamples, batch):
            count = min(batch, n_resamples - start)
            index = resample_indices(rng, n, count)
            for row in range(count):
                pending.append(pool.submit(evaluate, start + row, index[row : row + 1]))
            # A few batches of indices in flight at most: memory stays bounded.
            while len(pending) > 2 * workers * max(count, 1):
                pending.popleft().result()
            if on_batch is not None:
                on_batch(count)
        for future in pending:
            future.result()
    return theta


def scipy_interval(a: np.ndarray, b: np.ndarray, n_resamples: int, seed: int, method: str = "BCa"):
    """``scipy.stats.bootstrap``'s result for the same statistic, resamples and batches
    as :func:`relative_change_ci`: the reference it is tested and timed against (its
    BCa jackknife is O(n**2))."""
    return _scipy_bootstrap(
        (a, b),
        _relative_change,
        n_resamples=n_resamples,
        batch=max(1, min(n_resamples, _MAX_BATCH_ELEMENTS // a.size)),
        vectorized=True,
        paired=True,
        method=method,
        seed=seed,
    )


def _scipy_bootstrap(data: tuple, statistic, seed: int, **options):
    """``scipy.stats.bootstrap(data, statistic, **options)`` on ``default_rng(seed)``."""
    # Imported here: scipy.stats takes longer to import than a small run takes to measure.
    from scipy import stats

    # scipy >= 1.15 renamed random_state to rng (SPEC 7); both give the same stream
    # for a Generator, so pick whichever this scipy has to avoid a deprecation
    # warning on newer versions without breaking scipy 1.11.
    rng = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    return stats.bootstrap(data, statistic, **options, **{rng: np.random.default_rng(seed)})


def jackknife_acceleration(a: np.ndarray, b: np.ndarray) -> float:
    r"""BCa's acceleration :math:`\hat a` for :math:`R = \bar S_B / \bar S_A - 1`, in O(n).

    With sums :math:`A = \sum_u S_A(u)`, :math:`B = \sum_u S_B(u)`, leaving user
    :math:`i` out changes the statistic by

    .. math::

        \delta_i = R_{(i)} - R = \frac{B - S_B(i)}{A - S_A(i)} - \frac{B}{A}
                 = \frac{B\,S_A(i) - A\,S_B(i)}{A\,(A - S_A(i))},

    computed without the cancellation of subtracting two nearly equal ratios. With
    :math:`U_i = (n - 1)(\bar\delta - \delta_i)`,
    :math:`\hat a = \frac{1}{6} \sum U_i^3 / n^3 \,/\, (\sum U_i^2 / n^2)^{3/2}`
    (Efron & Tibshirani 1993, eq. 14.15; the form of scipy's ``_bca_interval``). NaN
    when a leave-one-out reference sum is 0, as scipy's would be.
    """
    n = a.size
    total_a, total_b = float(np.sum(a)), float(np.sum(b))
    with np.errstate(all="ignore"):
        delta = (total_b * a - total_a * b) / (total_a * (total_a - a))
        u = (n - 1) * (np.mean(delta) - delta)
        return float(np.sum(u**3) / n**3 / 6.0 / (np.sum(u**2) / n**2) ** 1.5)


def _linear_quantiles(ordered: np.ndarray, levels) -> tuple[float, ...]:
    """Quantiles of sorted values by linear interpolation (Hyndman & Fan type 7), in
    scipy.stats.quantile's arithmetic: ``(1 - g) y[j] + g y[j + 1]``, so that an
    infinite neighbour gives an infinite end (or NaN at ``g = 0``) as scipy's does."""
    n = ordered.size
    ends = []
    with np.errstate(invalid="ignore"):
        for p in levels:
            p = np.float64(p)
            position = p * n + (1 - p)
            upper = position // 1
            g = 0.0 if upper - 1 < 0 else position % 1
            j = int(np.clip(upper - 1, 0, n - 1))
            k = int(np.clip(upper, 0, n - 1))
            ends.append(float((1 - g) * ordered[j] + g * ordered[k]))
    return tuple(ends)


def _interval(
    a: np.ndarray,
    b: np.ndarray,
    estimate: float,
    theta: np.ndarray,
    confidence: float,
    method: str,
) -> tuple[float, float]:
    """The ``method`` interval from the bootstrap values ``theta`` (NaN ends where
    scipy's would be NaN: a NaN resample, or a NaN BCa level)."""
    alpha = (1.0 - confidence) / 2.0
    if method == "BCa":
        # Bias correction: the share of resamples below the estimate, ties half.
        below = np.count_nonzero(theta < estimate) + np.count_nonzero(theta <= estimate)
        z0 = special.ndtri(below / (2 * theta.size))
        accel = jackknife_acceleration(a, b)
        with np.errstate(all="ignore"):
            levels = []
            for z in (special.ndtri(alpha), -special.ndtri(alpha)):
                levels.append(special.ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z))))
    else:
        levels = [alpha, 1.0 - alpha]
    if np.isnan(levels).any() or np.isnan(theta).any():
        return float("nan"), float("nan")
    low, high = _linear_quantiles(np.sort(theta), levels)
    if method == "basic":
        low, high = 2 * estimate - high, 2 * estimate - low
    return low, high


def relative_change_ci(
    s_a: object,
    s_b: object,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    method: str = "BCa",
    seed: int = 0,
    on_batch: Callable[[int], object] | None = None,
) -> RelativeChange:
    r"""Relative change of mean B over mean A, with a paired bootstrap CI.

    Computes :math:`R = (\bar S_B - \bar S_A) / \bar S_A` (a fraction; x100 for
    percent) and a ``confidence`` two-sided interval, the one
    ``scipy.stats.bootstrap(paired=True, vectorized=True)`` gives from the same
    resamples (:func:`bootstrap_distribution`), in O(n) per resample. "Paired" means a
    resample draws users with replacement and keeps each drawn user's A and B
    scores together, so the interval accounts for their correlation.
    Resampling uses ``np.random.default_rng(seed)``: the same inputs and seed
    give bit-identical results.

    Degenerate cases, checked in this order:

    * ``mean_a == 0`` (exactly; with scores >= 0 this means every
      ``s_a`` is 0): R is undefined, so ``relative_change``, ``ci_low`` and
      ``ci_high`` are NaN and ``method == "undefined: mean_a is 0"``. This
      also covers two all-zero branches.
    * ``s_a == s_b`` for every user: R is exactly 0 and so is every resample
      (its numerator is exactly 0), so the CI is ``[0, 0]`` and
      ``method == "degenerate: identical branches"``. scipy would warn and
      return NaN for BCa here, since the bootstrap distribution is constant.
    * The requested interval comes back NaN for another reason, e.g. a
      statistic constant across resamples (``s_b == 2 * s_a`` gives exactly
      R = 1 in every resample, so BCa's acceleration is 0/0): the percentile
      interval of the *same* resamples is used and ``method`` reads
      ``"percentile (fallback: BCa interval was NaN)"``.

    Resamples with a zero reference mean: with many users at ``S_A = 0`` (e.g.
    creator similarity) and few users, some resamples draw only such users.
    There the statistic is ``+inf`` (or ``-inf``) when the resampled B mean is
    non-zero, kept because it is a genuine, ordered extreme, and NaN when both
    resampled means are 0, which is undefined: those NaN resamples are
    dropped and the interval is conditional on the rest. No warning is raised
    for either. If the requested method's interval is still finite it is kept;
    otherwise the percentile interval is taken, whose end is ``+-inf`` when
    more than about ``(1 - confidence) / 2`` of resamples are infinite. Either
    way ``method`` ends with e.g. ``"; 7/2000 resamples had mean_a == 0
    (5 +-inf kept, 2 0/0 dropped)"``.

    Scores are meant to be >= 0; this is not checked, but with a negative
    ``mean_a`` the sign of R no longer says "more" or "fewer".

    Args:
        s_a: reference-branch scores, one per user, 1-D, finite.
        s_b: treatment-branch scores for the same users in the same order.
        confidence: two-sided confidence level in (0, 1).
        n_resamples: bootstrap resamples, >= 1. Cost is O(n_resamples * n): about
            14 ms per resample at n = 10**6 on one core.
        method: ``"BCa"``, ``"percentile"`` or ``"basic"`` (scipy's names).
        seed: seed for ``np.random.default_rng``.
        on_batch: called with the number of resamples after each batch of them
            (progress for large ``n``).

    Returns:
        A :class:`RelativeChange`; every float is a Python float.

    Raises:
        ValueError: (one line) an input is not 1-D numeric, lengths differ,
            fewer than 2 users, a non-finite score, or a bad parameter.
    """
    a = _as_scores(s_a, "s_a")
    b = _as_scores(s_b, "s_b")
    if a.shape != b.shape:
        raise ValueError(f"s_a and s_b must have equal length, got {a.size} and {b.size}")
    n = a.size
    if n < 2:
        raise ValueError(f"need at least 2 users (pairs) for a bootstrap, got {n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer):
        raise ValueError(f"n_resamples must be an int, got {n_resamples!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")

    mean_a = float(np.mean(a))
    mean_b = float(np.mean(b))
    if mean_a == 0.0:
        nan = float("nan")
        return RelativeChange(mean_a, mean_b, nan, nan, nan, n, "undefined: mean_a is 0")
    if np.array_equal(a, b):
        return RelativeChange(mean_a, mean_b, 0.0, 0.0, 0.0, n, "degenerate: identical branches")
    estimate = (mean_b - mean_a) / mean_a

    theta = bootstrap_distribution(a, b, int(n_resamples), seed, on_batch)
    low, high = _interval(a, b, estimate, theta, confidence, method)

    used = method
    if np.isnan(low) or np.isnan(high):
        finite_or_inf = theta[~np.isnan(theta)]
        if finite_or_inf.size == 0:
            # Every resample was 0/0; impossible unless n_resamples is tiny,
            # since mean_a != 0 means some user has s_a != 0.
            low = high = float("nan")
            used = f"undefined: all resamples 0/0 ({method})"
        else:
            low, high = _percentile_interval(finite_or_inf, confidence)
            used = (
                "percentile"
                if method == "percentile"
                else (f"percentile (fallback: {method} interval was NaN)")
            )

    n_inf = int(np.count_nonzero(np.isinf(theta)))
    n_nan = int(np.count_nonzero(np.isnan(theta)))
    if n_inf or n_nan:
        used += (
            f"; {n_inf + n_nan}/{theta.size} resamples had mean_a == 0"
            f" ({n_inf} +-inf kept, {n_nan} 0/0 dropped)"
        )
    return RelativeChange(mean_a, mean_b, float(estimate), low, high, n, used)


def mean_difference_ci(
    diff: np.ndarray, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    r"""(mean, low, high) of paired per-user differences ``diff``, BCa bootstrap interval.

    :math:`\Delta = \frac{1}{n} \sum_u d_u` with :math:`d_u = m^B_u - m^A_u` in the
    unit of the metric ``m``; resampling users resamples their differences, so the
    interval keeps each user's two values together (``scipy.stats.bootstrap``, BCa,
    ``np.random.default_rng(seed)``). No users give NaN for all three; all-equal
    differences (e.g. two identical models) give a zero-width interval at the mean
    rather than scipy's degenerate-sample warning.
    """
    diff = np.asarray(diff, np.float64)
    if diff.size == 0:
        return (float("nan"),) * 3
    mean = float(diff.mean())
    if np.all(diff == diff[0]):
        return mean, mean, mean
    result = _scipy_bootstrap(
        (diff,),
        np.mean,
        seed,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="BCa",
    )
    return mean, float(result.confidence_interval.low), float(result.confidence_interval.high)
