import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recommenders.adapters.popularity as popularity
from recommenders import HistoryBatch, PopularityAdapter, SlateSizeError, validate_slates


def brute_force(counts, histories, k):
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))
    slates = []
    for h in histories:
        seen = set(h.items.tolist())
        slates.append([i for i in order if i not in seen][:k])
    return np.array(slates)


def test_order_best_first_ties_to_lower_id(make_corpus, make_history):
    counts = np.array([1, 5, 5, 0, 9, 1])
    adapter = PopularityAdapter(make_corpus(6), counts=counts)
    assert adapter.recommend([make_history([])], 6).tolist() == [[4, 1, 2, 0, 5, 3]]
    assert adapter.recommend([make_history([4, 2])], 3).tolist() == [[1, 0, 5]]


def test_uses_corpus_popularity_by_default(corpus, make_batch):
    batch = make_batch(np.random.default_rng(1), 30, corpus.n_items, 15)
    slates = PopularityAdapter(corpus).recommend(batch, 7)
    assert slates.tolist() == brute_force(corpus.popularity, batch, 7).tolist()
    validate_slates(slates, len(batch), 7, corpus.n_items, "PopularityAdapter")


def test_missing_popularity_asks_for_counts():
    corpus = type("C", (), {"n_items": 4, "cluster": np.zeros(4), "creator": np.zeros(4)})()
    with pytest.raises(ValueError, match="pass counts="):
        PopularityAdapter(corpus)


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        (np.ones(5), r"shape \(6,\)"),
        (np.ones((6, 1)), r"shape \(6,\)"),
        (np.array([1, 2, -1, 0, 0, 0.0]), "non-negative, got -1.0 for item 2"),
        (np.array([1, 2, 0, np.nan, 0, 0]), "got nan for item 3"),
        (np.array([1, 2, 0, np.inf, 0, 0]), "finite"),
        (np.array(list("abcdef")), "numeric"),
    ],
)
def test_bad_counts(make_corpus, counts, match):
    with pytest.raises(ValueError, match=match) as info:
        PopularityAdapter(make_corpus(6), counts=counts)
    assert "\n" not in str(info.value)


def test_not_excluding_gives_everyone_the_top(make_corpus, make_history):
    adapter = PopularityAdapter(make_corpus(6), counts=[1, 5, 5, 0, 9, 1], exclude_consumed=False)
    slates = adapter.recommend([make_history([4, 1]), make_history([])], 2)
    assert slates.tolist() == [[4, 1], [4, 1]]
    slates[0, 0] = 0  # the result is the caller's to modify
    assert adapter.recommend([make_history([])], 2).tolist() == [[4, 1]]


def test_padding_is_not_consumed(make_corpus):
    adapter = PopularityAdapter(make_corpus(5), counts=[5, 4, 3, 2, 1])
    # Past each row's length the arrays hold junk ids, not PAD: lengths decide.
    items = np.array([[0, 1, 2], [3, 0, 1]])
    batch = HistoryBatch(items, np.zeros((2, 3), np.int64), np.ones((2, 3)), np.array([1, 0]))
    assert adapter.recommend(batch, 2).tolist() == [[1, 2], [0, 1]]


def test_corpus_too_small(make_corpus, make_history):
    adapter = PopularityAdapter(make_corpus(5), counts=[5, 4, 3, 2, 1])
    rows = [make_history([0]), make_history([0, 1, 2, 2])]
    with pytest.raises(SlateSizeError, match="row 1 has only 2 unconsumed items for a slate of 3"):
        adapter.recommend(rows, 3)
    with pytest.raises(SlateSizeError, match="slate_size 6"):
        adapter.recommend(rows, 6)
    assert adapter.recommend(rows, 2).tolist() == [[1, 2], [3, 4]]


def test_many_blocks_match_brute_force(corpus, make_batch, make_history, monkeypatch):
    # Tiny blocks: many row blocks, so block offsets and row numbering are exercised.
    monkeypatch.setattr(popularity, "_BLOCK_CELLS", 64)
    batch = make_batch(np.random.default_rng(2), 50, corpus.n_items, 12)
    adapter = PopularityAdapter(corpus)
    assert adapter.recommend(batch, 4).tolist() == brute_force(corpus.popularity, batch, 4).tolist()
    small = PopularityAdapter(corpus, counts=np.ones(corpus.n_items))
    rows = [make_history([])] * 37 + [make_history(np.arange(corpus.n_items - 2))]
    with pytest.raises(SlateSizeError, match="row 37 has only 2 unconsumed"):
        small.recommend(rows, 3)


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    counts=st.lists(st.integers(0, 4), min_size=12, max_size=12),
    k=st.integers(1, 5),
)
def test_matches_brute_force(data, counts, k, make_corpus, histories):
    rows = data.draw(histories(12, max_rows=8, max_len=7))
    adapter = PopularityAdapter(make_corpus(12), counts=np.array(counts))
    slates = adapter.recommend(rows, k)
    assert slates.tolist() == brute_force(counts, rows, k).tolist()
    # A row's slate is the same alone as in the batch.
    assert adapter.recommend(rows[-1:], k).tolist() == slates[-1:].tolist()
