"""Keyed hashing on uint64 words: the SplitMix64 finaliser, numpy only.

Everything in the project that must be a pure function of a key, not of a
sequence of calls, is built on these two functions: the simulated users'
random numbers (:class:`agents.KeyedRandom`, keyed by seed, user, step and
purpose) and the history hashes of :class:`recommenders.RandomAdapter` and
:class:`recommenders.MixtureAdapter`. Arithmetic wraps mod 2**64.

SplitMix64 is Steele, Lea & Flood, "Fast splittable pseudorandom number
generators" (OOPSLA 2014); the finaliser's constants are Stafford's "Mix13".
"""

from __future__ import annotations

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
"""2**64 / phi, the SplitMix64 increment."""

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def mix64(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser: a bijection of uint64 words with full avalanche.

    ``z = (z ^ z>>30)·m1; z = (z ^ z>>27)·m2; return z ^ z>>31``: every output
    bit depends on every input bit.
    """
    # Wrapping is the point; numpy only warns about it for 0-d inputs.
    with np.errstate(over="ignore"):
        z = np.asarray(z, dtype=np.uint64)
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """One SplitMix64 output per word: ``mix64(x + GOLDEN)``, elementwise on uint64."""
    with np.errstate(over="ignore"):
        return mix64(np.asarray(x, dtype=np.uint64) + GOLDEN)
