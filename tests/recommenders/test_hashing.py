"""recommenders.hashing: SplitMix64 against its reference outputs, and its invariants."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from recommenders.hashing import GOLDEN, mix64, splitmix64

# The first three outputs of the reference SplitMix64 generator seeded with 0
# (Steele, Lea & Flood 2014; Vigna's splitmix64.c): state += GOLDEN, then mix.
REFERENCE = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_reference_outputs():
    states = np.arange(1, 4, dtype=np.uint64) * GOLDEN
    assert mix64(states).tolist() == REFERENCE
    assert splitmix64(np.arange(3, dtype=np.uint64) * GOLDEN).tolist() == REFERENCE


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=50, unique=True))
def test_mix64_is_a_bijection_on_the_words_given(words):
    out = mix64(np.array(words, dtype=np.uint64))
    assert out.dtype == np.uint64 and len(set(out.tolist())) == len(words)


@given(st.integers(0, 2**64 - 1), st.integers(0, 63))
def test_one_flipped_bit_changes_about_half_the_output(word, bit):
    a = int(mix64(np.array([word], np.uint64))[0])
    b = int(mix64(np.array([word ^ (1 << bit)], np.uint64))[0])
    assert 8 <= bin(a ^ b).count("1") <= 56
