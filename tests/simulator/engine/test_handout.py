"""The handout: copies on first read, nothing written reaches the stored histories."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import PAD, HistoryBatch
from simulator.engine.handout import HandoutBatch, HandoutMemory


def _stored(n: int, capacity: int, width: int, seed: int) -> HistoryBatch:
    """A batch shaped like the simulator's: (n, width) views of (n, capacity) storage."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, width + 1, n)
    mask = np.arange(capacity)[None, :] < lengths[:, None]
    items = np.where(mask, rng.integers(0, 1000, (n, capacity)), PAD)
    feedback = np.where(mask, rng.integers(0, 3, (n, capacity)), PAD)
    dwell = np.where(mask, rng.random((n, capacity)), np.nan)
    return HistoryBatch(items[:, :width], feedback[:, :width], dwell[:, :width], lengths)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 12),
    width=st.integers(0, 9),
    extra=st.integers(0, 4),
    seed=st.integers(0, 2**32 - 1),
    reads=st.lists(st.sampled_from(["items", "feedback", "dwell"]), max_size=6),
)
def test_a_handout_equals_its_source_and_writes_never_reach_it(n, width, extra, seed, reads):
    source = _stored(n, width + extra, width, seed)
    before = [np.array(getattr(source, f)) for f in ("items", "feedback", "dwell", "lengths")]
    memory = HandoutMemory()
    for _ in range(2):  # the second call reuses the memory the first one scribbled on
        handout = memory.hand_out(source)
        assert isinstance(handout, HistoryBatch)
        assert (len(handout), handout.width) == (n, width)
        for field in reads:
            array = getattr(handout, field)
            array.flags.writeable = True
            array[...] = 7
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns, then shares the memory
            torch.from_numpy(handout.lengths).fill_(0)
        handout.close()
    handout = memory.hand_out(source)
    for field, expected in zip(("items", "feedback", "dwell"), before[:3], strict=True):
        np.testing.assert_array_equal(getattr(handout, field), expected)
        np.testing.assert_array_equal(getattr(source, field), expected)
        assert not getattr(handout, field).flags.writeable
    np.testing.assert_array_equal(source.lengths, before[3])
    np.testing.assert_array_equal(handout.lengths, before[3])
    for row in range(n):
        np.testing.assert_array_equal(handout[row].items, source[row].items)


def test_an_array_first_read_after_the_call_is_refused():
    memory = HandoutMemory()
    handout = memory.hand_out(_stored(4, 6, 5, 0))
    items = handout.items
    handout.close()
    assert handout.items is items  # read during the call: still that copy
    with pytest.raises(RuntimeError, match=r"HistoryBatch\.feedback read after the recommend call"):
        _ = handout.feedback


def test_a_handout_pickles_and_copies_as_a_plain_batch():
    source = _stored(5, 7, 6, 1)
    handout = HandoutMemory().hand_out(source)
    for other in (pickle.loads(pickle.dumps(handout)), copy.deepcopy(handout)):
        assert type(other) is HistoryBatch
        for field in ("items", "feedback", "dwell", "lengths"):
            np.testing.assert_array_equal(getattr(other, field), getattr(source, field))
    assert not isinstance(source, HandoutBatch)
