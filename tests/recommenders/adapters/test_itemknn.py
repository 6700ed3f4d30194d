import math
from collections import Counter
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import recommenders.adapters.itemknn as itemknn
from recommenders import HistoryBatch, ItemKNNAdapter, SlateSizeError, validate_slates
from tests.recommenders.conftest import histories_strategy, padded

R = 1 / math.sqrt(2)


def test_fit_hand_made(make_corpus, make_history):
    rows = [make_history([0, 1, 2]), make_history([0, 1]), make_history([3, 4])]
    knn = ItemKNNAdapter.fit(make_corpus(6), rows, window=1)
    # c01 = 2, c12 = c34 = 1; n = (2, 2, 1, 1, 1, 0); sim = c / sqrt(n_i n_j).
    assert knn.neighbors.tolist() == [[1, -1], [0, 2], [1, -1], [4, -1], [3, -1], [-1, -1]]
    np.testing.assert_allclose(
        knn.weights, [[1, 0], [1, R], [R, 0], [1, 0], [1, 0], [0, 0]], rtol=1e-12
    )


def test_fit_window_and_ties(make_corpus, make_history):
    rows = [make_history([0, 1, 2]), make_history([0, 1]), make_history([3, 4])]
    knn = ItemKNNAdapter.fit(make_corpus(6), rows, window=2)
    # The window now pairs 0 with 2; item 2's two neighbours tie at 1/sqrt(2): lower id first.
    assert knn.neighbors[0].tolist() == [1, 2]
    assert knn.neighbors[2].tolist() == [0, 1]
    np.testing.assert_allclose(knn.weights[2], [R, R])
    top1 = ItemKNNAdapter.fit(make_corpus(6), rows, n_neighbors=1, window=2)
    assert top1.neighbors[:, 0].tolist() == [1, 0, 0, 4, 3, -1]


def test_fit_ignores_self_pairs_and_counts_every_feedback(make_corpus, make_history):
    rows = [make_history([0, 0, 1], [2, 1, 4])]  # dislike, skip, dismiss all count
    knn = ItemKNNAdapter.fit(make_corpus(3), rows, window=2)
    # Pairs (0, 1) at distances 1 and 2; (0, 0) is not a pair. n0 = 2, n1 = 1.
    assert knn.neighbors.tolist() == [[1], [0], [-1]]
    np.testing.assert_allclose(knn.weights[:, 0], [2 / math.sqrt(2)] * 2 + [0])


def test_fit_rejects_bad_input(make_corpus, make_history):
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        ItemKNNAdapter.fit(make_corpus(3), [make_history([0, 3])])
    with pytest.raises(ValueError, match="window"):
        ItemKNNAdapter.fit(make_corpus(3), [make_history([0, 1])], window=0)


def reference_fit(n_items, histories, n_neighbors, window):
    pairs, events = Counter(), Counter()
    for h in histories:
        items = h.items.tolist()
        events.update(items)
        for s, a in enumerate(items):
            for t in range(s + 1, min(s + window + 1, len(items))):
                if a != items[t]:
                    pairs[a, items[t]] += 1
                    pairs[items[t], a] += 1
    table = []
    for i in range(n_items):
        sims = [(c / math.sqrt(events[i] * events[j]), j) for (a, j), c in pairs.items() if a == i]
        table.append(sorted(sims, key=lambda sj: (-sj[0], sj[1]))[:n_neighbors])
    return table


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_neighbors=st.integers(1, 4), window=st.integers(1, 4))
def test_fit_matches_reference(data, n_neighbors, window, make_corpus, histories):
    rows = data.draw(histories(8, max_rows=5, max_len=8))
    knn = ItemKNNAdapter.fit(make_corpus(8), rows, n_neighbors=n_neighbors, window=window)
    for i, expected in enumerate(reference_fit(8, rows, n_neighbors, window)):
        got = [(w, j) for w, j in zip(knn.weights[i], knn.neighbors[i], strict=True) if j >= 0]
        assert [j for _, j in got] == [j for _, j in expected]
        np.testing.assert_allclose([w for w, _ in got], [s for s, _ in expected], rtol=1e-12)


def hand_made(corpus, n_recent=5, **kwargs):
    neighbors = np.full((corpus.n_items, 2), -1)
    weights = np.zeros((corpus.n_items, 2))
    neighbors[0, 0], weights[0, 0] = 5, 1.0
    neighbors[1], weights[1] = [4, 5], [1.0, 0.25]
    return ItemKNNAdapter(corpus, neighbors, weights, n_recent=n_recent, **kwargs)


def test_scores_are_recency_weighted(make_corpus, make_history):
    corpus = make_corpus(8)
    h = make_history([0, 1])
    # Item 4: 1 (age 0); item 5: 0.25 (age 0) + 1/2 (age 1); the rest 0.
    np.testing.assert_allclose(
        hand_made(corpus).score(HistoryBatch.of([h]))[0], [0, 0, 0, 0, 1, 0.75, 0, 0]
    )
    assert hand_made(corpus).recommend([h], 4).tolist() == [[4, 5, 2, 3]]
    np.testing.assert_allclose(
        hand_made(corpus, n_recent=1).score(HistoryBatch.of([h]))[0], [0, 0, 0, 0, 1, 0.25, 0, 0]
    )
    # Reversed order: item 0 is now the latest event, so item 5 wins.
    assert hand_made(corpus).recommend([make_history([1, 0])], 2).tolist() == [[5, 4]]


def test_feedback_blind(make_corpus, make_history):
    knn = hand_made(make_corpus(8))
    liked = knn.recommend([make_history([0, 1], [3, 3])], 3)
    disliked = knn.recommend([make_history([0, 1], [2, 2])], 3)
    assert liked.tolist() == disliked.tolist()


def test_slate_always_full_and_valid(corpus, make_batch):
    rng = np.random.default_rng(0)
    batch = make_batch(rng, 30, corpus.n_items, 10)
    knn = ItemKNNAdapter.fit(corpus, make_batch(rng, 20, corpus.n_items, 6), n_neighbors=3)
    slates = knn.recommend(batch, 15)  # more than any row has scored items
    validate_slates(slates, len(batch), 15, corpus.n_items, knn.name)
    for h, slate in zip(batch, slates, strict=True):
        assert not set(slate.tolist()) & set(h.items.tolist())
    # Without neighbours every score is 0: the lowest unconsumed ids.
    bare = ItemKNNAdapter(corpus)
    assert bare.recommend([batch[0]], 3).tolist() == [
        [i for i in range(corpus.n_items) if i not in set(batch[0].items.tolist())][:3]
    ]


def reference_scores(knn, h):
    scores = np.zeros(knn.n_items)
    items = h.items.tolist()
    for age, item in enumerate(reversed(items[-knn.n_recent :])):
        for j, w in zip(knn.neighbors[item], knn.weights[item], strict=True):
            if j >= 0:
                scores[j] += w / (1 + age)
    return scores


def test_scores_match_reference_and_rows_are_independent(corpus, make_batch):
    rng = np.random.default_rng(4)
    knn = ItemKNNAdapter.fit(corpus, make_batch(rng, 40, corpus.n_items, 12), n_recent=3)
    batch = make_batch(rng, 25, corpus.n_items, 9)
    scores = knn.score(batch)
    for row, h in enumerate(batch):
        np.testing.assert_allclose(scores[row], reference_scores(knn, h), rtol=1e-12, atol=0)
    slates = knn.recommend(batch, 5)
    for row, h in enumerate(batch):
        assert knn.recommend([h], 5)[0].tolist() == slates[row].tolist()


def test_constructor_validation(corpus):
    n = corpus.n_items
    with pytest.raises(ValueError, match="both"):
        ItemKNNAdapter(corpus, neighbors=np.zeros((n, 1), int))
    with pytest.raises(ValueError, match="shape"):
        ItemKNNAdapter(corpus, np.zeros((n - 1, 1), int), np.zeros((n - 1, 1)))
    with pytest.raises(ValueError, match="weights shape"):
        ItemKNNAdapter(corpus, np.zeros((n, 2), int), np.zeros((n, 1)))
    with pytest.raises(ValueError, match="neighbor ids"):
        ItemKNNAdapter(corpus, np.full((n, 1), n), np.zeros((n, 1)))
    with pytest.raises(ValueError, match="integers"):
        ItemKNNAdapter(corpus, np.zeros((n, 1)), np.zeros((n, 1)))
    with pytest.raises(ValueError, match="finite"):
        ItemKNNAdapter(corpus, np.zeros((n, 1), int), np.full((n, 1), np.nan))
    with pytest.raises(ValueError, match="n_recent"):
        ItemKNNAdapter(corpus, n_recent=0)


def test_save_load_round_trip(corpus, make_batch, tmp_path):
    rng = np.random.default_rng(5)
    knn = ItemKNNAdapter.fit(corpus, make_batch(rng, 30, corpus.n_items, 10), n_recent=3)
    path = tmp_path / "knn.npz"
    knn.save(path)
    knn.save(path)  # overwriting is fine
    assert [p.name for p in tmp_path.iterdir()] == ["knn.npz"]
    loaded = ItemKNNAdapter.load(path, corpus)
    assert loaded.n_recent == 3
    np.testing.assert_array_equal(loaded.neighbors, knn.neighbors)
    np.testing.assert_array_equal(loaded.weights, knn.weights)
    batch = make_batch(rng, 10, corpus.n_items, 8)
    assert loaded.recommend(batch, 6).tolist() == knn.recommend(batch, 6).tolist()
    assert ItemKNNAdapter.load(str(path), corpus, n_recent=1).n_recent == 1


def test_load_checks_corpus(corpus, make_corpus, tmp_path):
    path = tmp_path / "knn.npz"
    ItemKNNAdapter(corpus).save(path)
    with pytest.raises(ValueError, match="fit on 60 items, the corpus has 7"):
        ItemKNNAdapter.load(path, make_corpus(7))


def test_failed_save_leaves_old_file_and_no_temp(corpus, tmp_path, monkeypatch):
    path = tmp_path / "knn.npz"
    ItemKNNAdapter(corpus).save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(itemknn.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        hand_made(corpus).save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["knn.npz"]
    assert path.read_bytes() == before


# The fast recommend() against the dense reference (score every item, take the top).

WEIGHTS = st.sampled_from([0.0, -0.0, 1.0, 0.5, 0.25, 1 / 3, 2.0, -0.5, -1.0, 1e-300])
HUGE = st.sampled_from([1e308, -1e308, 1.0, -1.0])


def outcome(recommend, histories, slate_size):
    """The slates, or the type and message of the error raised instead."""
    try:
        return recommend(histories, slate_size).tolist()
    except (ValueError, IndexError) as error:
        return type(error), str(error)


def knn_tables(n_items: int, huge: bool = False):
    """Neighbour tables with padding, repeated neighbours, ties, zero and negative weights."""
    return st.integers(0, 4).flatmap(
        lambda k: st.tuples(
            hnp.arrays(np.int64, (n_items, k), elements=st.integers(-1, n_items - 1)),
            hnp.arrays(np.float64, (n_items, k), elements=HUGE if huge else WEIGHTS),
        )
    )


@st.composite
def knn_cases(draw, huge: bool = False):
    n_items = draw(st.integers(1, 12))
    neighbors, weights = draw(knn_tables(n_items, huge))
    # Histories up to a little longer than the corpus, so some consume (almost) every item.
    rows = draw(histories_strategy(n_items, max_rows=8, max_len=n_items + 3))
    knn = ItemKNNAdapter(
        type("C", (), {"n_items": n_items})(),
        neighbors,
        weights,
        n_recent=draw(st.integers(1, 6)),
        exclude_consumed=draw(st.booleans()),
    )
    return knn, rows, draw(st.integers(1, n_items + 1))


@settings(max_examples=300, deadline=None)
@given(
    case=knn_cases(),
    extra=st.integers(0, 3),
    block=st.sampled_from([1, 7, 1 << 16]),
    int32_keys=st.sampled_from([0, 2**31 - 1]),
)
def test_fast_matches_dense(case, extra, block, int32_keys):
    knn, rows, slate_size = case
    batch = padded(rows, extra)
    # Rows per block: 1, a few, all; sort keys int64 or int32.
    with mock.patch.multiple(itemknn, _BLOCK_CELLS=block, _INT32_KEYS=int32_keys):
        fast = outcome(knn.recommend, batch, slate_size)
    assert fast == outcome(knn._recommend_dense, batch, slate_size)


@settings(max_examples=100, deadline=None)
@given(case=knn_cases(huge=True))
def test_fast_matches_dense_with_infinite_scores(case):
    # Sums of +-1e308 overflow to +-inf; -inf is an excluded item on the dense path.
    knn, rows, slate_size = case
    assert outcome(knn.recommend, rows, slate_size) == outcome(
        knn._recommend_dense, rows, slate_size
    )


def test_fast_matches_dense_on_fitted_tables(corpus, make_batch):
    rng = np.random.default_rng(11)
    logs = make_batch(rng, 200, corpus.n_items, 30)
    for n_recent in (1, 3, 5):
        knn = ItemKNNAdapter.fit(corpus, logs, n_neighbors=8, n_recent=n_recent)
        batch = make_batch(rng, 300, corpus.n_items, 40)
        for slate_size in (1, 5, 17):
            with mock.patch.object(itemknn, "_BLOCK_CELLS", 500):
                fast = knn.recommend(batch, slate_size)
            assert fast.tolist() == knn._recommend_dense(batch, slate_size).tolist()
            assert fast.dtype == np.int64


def test_fast_path_edge_cases(make_corpus, make_history):
    corpus = make_corpus(8)
    knn = hand_made(corpus)
    everything = make_history(list(range(8)))
    # Too few recommendable items, a bad slate size: the dense path's errors.
    for slate_size in (0, 9):
        with pytest.raises(SlateSizeError, match="slate_size"):
            knn.recommend([make_history([0])], slate_size)
    with pytest.raises(SlateSizeError, match="row 1 has only 0 recommendable"):
        knn.recommend([make_history([0]), everything], 1)
    assert knn.recommend([], 3).shape == (0, 3)
    # Items 4 and 5 tie exactly: the lower id first, then the lowest unconsumed zero.
    tie = ItemKNNAdapter(corpus, np.array([[5, 4]] * 8), np.array([[0.5, 0.5]] * 8))
    h = make_history([0])
    assert tie.recommend([h], 3).tolist() == tie._recommend_dense([h], 3).tolist() == [[4, 5, 1]]
    # Only negative candidates left beyond the consumed ones: they come last, best first.
    negative = ItemKNNAdapter(corpus, np.array([[6, 7]] * 8), np.array([[-1.0, -0.5]] * 8))
    h = make_history([0, 1, 2, 3, 4, 5])
    assert negative.recommend([h], 2).tolist() == [[7, 6]]
    assert negative.recommend([make_history([0])], 7).tolist() == [[1, 2, 3, 4, 5, 7, 6]]
