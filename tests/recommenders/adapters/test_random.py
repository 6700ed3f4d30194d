from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recommenders.adapters.random as random_adapter
from recommenders import (
    History,
    HistoryBatch,
    RandomAdapter,
    SlateSizeError,
    validate_slates,
)
from recommenders.adapters.random import _DRAW_TAG, history_keys, splitmix64
from tests.recommenders.conftest import histories_strategy, padded


def test_slates_are_valid_and_exclude_consumed(corpus, make_batch):
    adapter = RandomAdapter(corpus, seed=3)
    batch = make_batch(np.random.default_rng(0), 40, corpus.n_items, 20)
    slates = adapter.recommend(batch, 8)
    validate_slates(slates, len(batch), 8, corpus.n_items, adapter.name)
    for history, slate in zip(batch, slates, strict=True):
        assert not set(slate.tolist()) & set(history.items.tolist())


def test_same_history_same_slate_in_any_batch(corpus, make_batch, make_history):
    adapter = RandomAdapter(corpus, seed=1)
    target = make_history([5, 9, 2], [0, 2, 1])
    alone = adapter.recommend([target], 6)
    # A different batch: other rows, other width (padding), target at another row.
    others = make_batch(np.random.default_rng(7), 5, corpus.n_items, 30)
    mixed = adapter.recommend([*others, target, *others], 6)
    assert (mixed[5] == alone[0]).all()
    assert (adapter.recommend([target], 6) == alone).all()
    assert (RandomAdapter(corpus, seed=1).recommend([target], 6) == alone).all()


def test_depends_on_seed_and_history(corpus, make_history):
    h = make_history([1, 2, 3])
    base = RandomAdapter(corpus, seed=0).recommend([h], 10)[0]
    assert (RandomAdapter(corpus, seed=1).recommend([h], 10)[0] != base).any()
    others = [make_history([1, 2, 4]), make_history([1, 2, 3], [0, 0, 2]), make_history([3, 2, 1])]
    for other in others:
        assert (RandomAdapter(corpus, seed=0).recommend([other], 10)[0] != base).any()


def test_keys_ignore_padding_width(make_history):
    h = make_history([4, 8], [1, 3])
    narrow = HistoryBatch.of([h])
    wide = HistoryBatch.of([h, make_history(list(range(20)))])
    assert history_keys(narrow, 5)[0] == history_keys(wide, 5)[0]
    # Empty histories still get a key, and a trailing 0 event is not padding.
    assert (
        history_keys(HistoryBatch.of([History.empty(), make_history([0])]), 5).tolist()[0]
        != (history_keys(HistoryBatch.of([make_history([0])]), 5)[0])
    )


def test_roughly_uniform(make_history):
    # 4000 distinct histories over 20 items, slate of 1: each item ~ 200 times.
    corpus_n = 20
    adapter = RandomAdapter(type("C", (), {"n_items": corpus_n})(), exclude_consumed=False)
    histories = [make_history([i % corpus_n, i // corpus_n]) for i in range(4000)]
    counts = np.bincount(adapter.recommend(histories, 1)[:, 0], minlength=corpus_n)
    chi2 = ((counts - 200.0) ** 2 / 200.0).sum()
    assert chi2 < 60  # 19 dof: P(chi2 > 60) ~ 3e-6
    # And the slate order is random too: position 0 is not always the smaller id.
    pairs = adapter.recommend(histories[:200], 2)
    assert 50 < (pairs[:, 0] < pairs[:, 1]).sum() < 150


def test_slate_size_error_when_everything_consumed(make_history):
    adapter = RandomAdapter(type("C", (), {"n_items": 4})())
    with pytest.raises(SlateSizeError, match="RandomAdapter: row 0 has only 1 recommendable"):
        adapter.recommend([make_history([0, 1, 2])], 2)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**70))
def test_rows_independent_of_batch(data, seed, corpus, histories):
    rows = data.draw(histories(corpus.n_items))
    adapter = RandomAdapter(corpus, seed=seed)
    together = adapter.recommend(rows, 5)
    for row, h in enumerate(rows):
        assert (adapter.recommend([h], 5)[0] == together[row]).all()
        assert not set(together[row].tolist()) & set(h.items.tolist())


# The fast recommend() against the dense reference, the documented scheme, uniformity.

MASK = 2**64 - 1


def splitmix(x: int) -> int:
    """splitmix64 on a Python int, for a reference independent of numpy."""
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def reference_slate(adapter: RandomAdapter, h: History, slate_size: int) -> list[int]:
    """The class docstring's scheme, one draw at a time."""
    n = adapter.n_items
    key = int(history_keys(HistoryBatch.of([h]), adapter.seed)[0])
    stream = splitmix(key ^ int(_DRAW_TAG))
    consumed = set(h.items.tolist()) if adapter.exclude_consumed else set()
    budget = adapter._DRAWS_BASE + adapter._DRAWS_PER_EVENT * len(h)
    ranked, slate = set(), []
    for j in range(budget):
        word = splitmix(stream ^ splitmix(j))
        if word >= 2**64 - 2**64 % n:
            continue
        item = word % n
        if item not in ranked and item not in consumed:
            slate.append(item)
            if len(slate) == slate_size:
                return slate
        ranked.add(item)
    rest = [i for i in range(n) if i not in ranked and i not in consumed]
    rest.sort(key=lambda i: (-(splitmix(key ^ splitmix(i)) >> 11), i))
    return slate + rest[: slate_size - len(slate)]


def outcome(recommend, histories, slate_size):
    """The slates, or the type and message of the error raised instead."""
    try:
        return recommend(histories, slate_size).tolist()
    except (ValueError, IndexError) as error:
        return type(error), str(error)


@st.composite
def random_cases(draw):
    n_items = draw(st.integers(1, 12) | st.sampled_from([60, 1000]))
    max_len = min(n_items + 3, 40)  # some histories consume (almost) every item
    rows = draw(histories_strategy(n_items, max_rows=8, max_len=max_len))
    adapter = RandomAdapter(
        type("C", (), {"n_items": n_items})(),
        seed=draw(st.integers(0, 2**70)),
        exclude_consumed=draw(st.booleans()),
    )
    return adapter, rows, draw(st.integers(1, min(n_items + 1, 30)))


def budget(base: int, per_event: int):
    """Patch the number of draws per row (small ones send rows to the dense path)."""
    return mock.patch.multiple(RandomAdapter, _DRAWS_BASE=base, _DRAWS_PER_EVENT=per_event)


@settings(max_examples=300, deadline=None)
@given(
    case=random_cases(),
    extra=st.integers(0, 3),
    base=st.sampled_from([0, 1, 3, 20, 1024]),
    per_event=st.sampled_from([0, 1, 4]),
    reject=st.booleans(),
    int32_keys=st.sampled_from([0, 2**31 - 1]),
)
def test_fast_matches_dense(case, extra, base, per_event, reject, int32_keys):
    adapter, rows, slate_size = case
    batch = padded(rows, extra)
    if reject:  # reject about half the draws, not a fraction n_items / 2**64 of them
        adapter._reject_from = np.uint64(2**63 + 12345)
    with budget(base, per_event), mock.patch.object(random_adapter, "_INT32_KEYS", int32_keys):
        fast = outcome(adapter.recommend, batch, slate_size)
        assert fast == outcome(adapter._recommend_dense, batch, slate_size)


@settings(max_examples=100, deadline=None)
@given(case=random_cases(), base=st.sampled_from([0, 2, 8, 1024]))
def test_follows_the_documented_scheme(case, base):
    adapter, rows, slate_size = case
    with budget(base, 1):
        got = outcome(adapter.recommend, rows, slate_size)
        if isinstance(got, tuple):  # an error: the dense path raises the same
            assert got == outcome(adapter._recommend_dense, rows, slate_size)
        else:
            assert got == [reference_slate(adapter, h, slate_size) for h in rows]


def test_splitmix_reference_agrees():
    xs = [0, 1, 2**63, MASK, 0x243F6A8885A308D3]
    assert splitmix64(np.array(xs, np.uint64)).tolist() == [splitmix(x) for x in xs]


def test_shorter_slate_is_a_prefix(corpus, make_batch):
    adapter = RandomAdapter(corpus, seed=9)
    batch = make_batch(np.random.default_rng(2), 50, corpus.n_items, 30)
    assert (adapter.recommend(batch, 12)[:, :4] == adapter.recommend(batch, 4)).all()


def test_fast_matches_dense_on_a_big_batch(corpus, make_batch):
    adapter = RandomAdapter(corpus, seed=4)
    batch = make_batch(np.random.default_rng(3), 500, corpus.n_items, 58)
    for slate_size in (1, 2, 10):
        fast = adapter.recommend(batch, slate_size)
        assert fast.dtype == np.int64
        assert fast.tolist() == adapter._recommend_dense(batch, slate_size).tolist()


def chi2(counts: np.ndarray) -> float:
    expected = counts.sum() / counts.size
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("draws", [1024, 2])  # 2: the slates come mostly from the dense scores
def test_uniform_over_ordered_slates_of_unconsumed_items(draws, make_history):
    n_items, n_rows = 12, 3000
    adapter = RandomAdapter(type("C", (), {"n_items": n_items})(), seed=5)
    # Distinct histories (the feedback codes spell i in base 5), all consuming {0, 1, 2}.
    histories = [
        make_history([0, 1, 2, 0, 1, 2, 0], [(i // 5**t) % 5 for t in range(7)])
        for i in range(n_rows)
    ]
    with budget(draws, 0):
        slates = adapter.recommend(histories, 4)
    assert slates.min() >= 3
    free = slates - 3  # 9 unconsumed items
    for position in range(4):
        # 8 dof: P(chi2 > 40) ~ 2e-6.
        assert chi2(np.bincount(free[:, position], minlength=9)) < 40
    # The ordered pair in front: 72 cells of ~42; 71 dof: P(chi2 > 130) ~ 1e-5.
    pairs = np.bincount(free[:, 0] * 9 + free[:, 1], minlength=81).reshape(9, 9)
    assert np.diag(pairs).sum() == 0
    assert chi2(pairs[~np.eye(9, dtype=bool)]) < 130
