import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import (
    Feedback,
    FeedbackFilter,
    InvalidSlateError,
    PopularityAdapter,
    RandomAdapter,
    RecommenderAdapter,
    SlateSizeError,
    validate_slates,
)

DISLIKE, SKIP = int(Feedback.DISLIKE), int(Feedback.SKIP)


class Spy(RecommenderAdapter):
    """Forwards to an inner adapter and records the slate sizes asked for."""

    def __init__(self, inner):
        self.inner = inner
        self.exclude_consumed = getattr(inner, "exclude_consumed", True)
        self.sizes = []

    def recommend(self, histories, slate_size):
        self.sizes.append((len(histories), slate_size))
        return self.inner.recommend(histories, slate_size)


def reference(inner, corpus, h, k, by="creator", codes=(DISLIKE,)):
    """The first k items of the inner's full ranking with an unblocked group; None if too few."""
    group = getattr(corpus, by)
    events = zip(h.items.tolist(), h.feedback.tolist(), strict=True)
    blocked = {group[i] for i, f in events if f in codes}
    capacity = corpus.n_items - len(set(h.items.tolist()))
    ranking = inner.recommend([h], capacity)[0].tolist()
    kept = [i for i in ranking if group[i] not in blocked]
    return kept[:k] if len(kept) >= k else None


def test_removes_disliked_creator_keeps_inner_order(make_corpus, make_history):
    corpus = make_corpus(10, n_creators=10)
    corpus.creator[:] = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    inner = PopularityAdapter(corpus, counts=np.arange(10, 0, -1))  # order 0, 1, 2, ...
    adapter = FeedbackFilter(inner, corpus)
    # Item 9 (creator 4) disliked long ago, item 2 (creator 1) skipped: only creator 4 blocked.
    h = make_history([9, 2, 5], [DISLIKE, SKIP, 0])
    assert adapter.recommend([h], 4).tolist() == [[0, 1, 3, 4]]
    skip_too = FeedbackFilter(inner, corpus, feedback=(Feedback.DISLIKE, Feedback.SKIP))
    assert skip_too.recommend([h], 4).tolist() == [[0, 1, 4, 6]]


def test_by_cluster(make_corpus, make_history):
    corpus = make_corpus(10)
    corpus.cluster[:] = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    inner = PopularityAdapter(corpus, counts=np.arange(10, 0, -1))
    adapter = FeedbackFilter(inner, corpus, by="cluster")
    assert adapter.name == "FeedbackFilter(PopularityAdapter, by=cluster)"
    assert adapter.recommend([make_history([3], [DISLIKE])], 3).tolist() == [[0, 2, 4]]


def test_name_and_arguments(corpus):
    inner = PopularityAdapter(corpus)
    assert FeedbackFilter(inner, corpus).name == "FeedbackFilter(PopularityAdapter)"
    with pytest.raises(ValueError, match="'creator' or 'cluster'"):
        FeedbackFilter(inner, corpus, by="genre")
    with pytest.raises(ValueError, match="extra"):
        FeedbackFilter(inner, corpus, extra=-1)


def test_refills_when_many_items_are_blocked(make_corpus, make_history):
    corpus = make_corpus(40, n_creators=40)
    corpus.creator[:] = np.arange(40) % 20
    spy = Spy(PopularityAdapter(corpus, counts=np.arange(40, 0, -1)))
    adapter = FeedbackFilter(spy, corpus)
    # Creators 0..11 disliked: items 0..11 and 20..31 blocked; survivors 12..19, 32..39.
    h = make_history(np.arange(12), np.full(12, DISLIKE))
    slates = adapter.recommend([h, make_history([])], 10)
    assert slates[0].tolist() == [*range(12, 20), 32, 33]
    assert slates[1].tolist() == list(range(10))
    # First both rows at 20; then only the short row, doubling, capped at capacity 28.
    assert spy.sizes == [(2, 20), (1, 28)]
    assert slates[0].tolist() == reference(spy.inner, corpus, h, 10)


def test_error_when_corpus_cannot_fill(make_corpus, make_history):
    corpus = make_corpus(30, n_creators=3)
    corpus.creator[:] = np.arange(30) % 3
    adapter = FeedbackFilter(PopularityAdapter(corpus), corpus)
    ok = make_history([0], [DISLIKE])
    just_enough = make_history([0, 1], [DISLIKE, DISLIKE])  # only creator 2 left: 10 items
    assert sorted(adapter.recommend([ok, just_enough], 10)[1]) == list(range(2, 30, 3))
    one_short = make_history([2, 0, 1], [0, DISLIKE, DISLIKE])  # and item 2 consumed
    expected = r"^FeedbackFilter\(PopularityAdapter\): row 1 has only 9 items not blocked"
    with pytest.raises(SlateSizeError, match=expected) as info:
        adapter.recommend([ok, one_short], 10)
    assert "\n" not in str(info.value)


def test_repeated_items_do_not_shrink_capacity(make_corpus, make_history):
    corpus = make_corpus(10, n_creators=3)
    corpus.creator[:] = [0, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    spy = Spy(PopularityAdapter(corpus, counts=np.arange(10, 0, -1)))
    # Six events but two distinct items: capacity is 8, not 10 - 6 = 4.
    h = make_history([0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, DISLIKE])
    assert FeedbackFilter(spy, corpus, extra=2).recommend([h], 2).tolist() == [[5, 6]]
    assert spy.sizes == [(1, 4), (1, 8)]


def test_error_names_lowest_row_whichever_round_finds_it(make_corpus, make_history):
    corpus = make_corpus(20, n_creators=10)
    corpus.creator[:] = np.arange(20) % 10
    adapter = FeedbackFilter(PopularityAdapter(corpus, counts=np.arange(20, 0, -1)), corpus)
    # Row 0: only item 19 survives, found short at its third request (capacity 10).
    late = make_history(np.arange(10), [DISLIKE] * 9 + [0])
    # Row 1: every creator blocked, found short at its first request (capacity 4).
    early = make_history(np.arange(16), [DISLIKE] * 10 + [0] * 6)
    with pytest.raises(SlateSizeError, match="row 0 has only 1 items"):
        adapter.recommend([late, early], 2)


def test_inner_not_excluding_consumed_may_use_whole_corpus(make_corpus, make_history):
    corpus = make_corpus(12, n_creators=12)
    corpus.creator[:] = np.arange(12)
    inner = PopularityAdapter(corpus, counts=np.arange(12, 0, -1), exclude_consumed=False)
    spy = Spy(inner)
    h = make_history(np.arange(8), np.full(8, DISLIKE))
    assert FeedbackFilter(spy, corpus).recommend([h], 4).tolist() == [[8, 9, 10, 11]]
    assert spy.sizes == [(1, 8), (1, 12)]


def test_invalid_inner_slates_are_reported(corpus, make_history):
    class Broken(RecommenderAdapter):
        def recommend(self, histories, slate_size):
            return np.zeros((len(histories), slate_size), np.int64)

    with pytest.raises(InvalidSlateError, match=r"^Broken\.recommend returned item id 0 twice"):
        FeedbackFilter(Broken(), corpus).recommend([make_history([1])], 3)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    by=st.sampled_from(["creator", "cluster"]),
    k=st.integers(1, 8),
    extra=st.sampled_from([None, 0, 3]),
    random_inner=st.booleans(),
)
def test_matches_reference(data, by, k, extra, random_inner, make_corpus, histories):
    corpus = make_corpus(24, n_clusters=4, n_creators=6, seed=3)
    inner = RandomAdapter(corpus, seed=2) if random_inner else PopularityAdapter(corpus)
    rows = data.draw(histories(24, max_rows=5, max_len=10))
    adapter = FeedbackFilter(inner, corpus, by=by, extra=extra)
    expected = [reference(inner, corpus, h, k, by) for h in rows]
    if any(e is None for e in expected):
        first = next(row for row, e in enumerate(expected) if e is None)
        with pytest.raises(SlateSizeError, match=f"row {first} "):
            adapter.recommend(rows, k)
        return
    slates = adapter.recommend(rows, k)
    validate_slates(slates, len(rows), k, corpus.n_items, adapter.name)
    assert slates.tolist() == expected
    group = getattr(corpus, by)
    for h, slate in zip(rows, slates, strict=True):
        blocked = set(group[h.items[h.feedback == DISLIKE]].tolist())
        assert not blocked & set(group[slate].tolist())
        assert not set(slate.tolist()) & set(h.items.tolist())
