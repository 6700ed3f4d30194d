import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import History, HistoryBatch, RandomAdapter, SlateSizeError, validate_slates
from recommenders.random_adapter import history_keys


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
    assert history_keys(HistoryBatch.of([History.empty(), make_history([0])]), 5).tolist()[0] != (
        history_keys(HistoryBatch.of([make_history([0])]), 5)[0]
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
