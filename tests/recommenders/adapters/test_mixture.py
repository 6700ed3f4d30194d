import numpy as np
import pytest

from recommenders import HistoryBatch, MixtureAdapter, PopularityAdapter, RandomAdapter


def _batch(n, width=6, n_items=50, seed=0):
    rng = np.random.default_rng(seed)
    items = np.stack([rng.choice(n_items, width, replace=False) for _ in range(n)])
    return HistoryBatch(
        items, rng.integers(0, 3, (n, width)), rng.random((n, width)), np.full(n, width)
    )


def test_routes_each_history_to_one_component(corpus):
    popularity, random = PopularityAdapter(corpus), RandomAdapter(corpus, seed=2)
    mixture = MixtureAdapter([popularity, random], [0.5, 0.5], seed=1)
    batch = _batch(400, n_items=corpus.n_items)
    slates = mixture.recommend(batch, 5)
    from_popularity = (slates == popularity.recommend(batch, 5)).all(axis=1)
    from_random = (slates == random.recommend(batch, 5)).all(axis=1)
    assert (from_popularity | from_random).all()
    assert 0.4 < from_popularity.mean() < 0.6
    # A pure function of the history: any sub-batch gets the same rows.
    assert np.array_equal(mixture.recommend(batch.take(np.arange(10, 20)), 5), slates[10:20])


def test_degenerate_weights_pick_one_component(corpus):
    popularity = PopularityAdapter(corpus)
    mixture = MixtureAdapter([popularity, RandomAdapter(corpus)], [1.0, 0.0])
    batch = _batch(30, n_items=corpus.n_items)
    assert np.array_equal(mixture.recommend(batch, 4), popularity.recommend(batch, 4))


@pytest.mark.parametrize("weights", [[], [1.0], [-1.0, 2.0], [0.0, 0.0], [np.nan, 1.0]])
def test_bad_weights(corpus, weights):
    with pytest.raises(ValueError, match="MixtureAdapter"):
        MixtureAdapter([PopularityAdapter(corpus), RandomAdapter(corpus)], weights)
