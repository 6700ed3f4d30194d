import numpy as np
import pytest

from recommenders import History, HistoryBatch, validate_slates
from recommenders.adapters.similar import SimilarItemsAdapter


class Corpus:
    n_items = 6
    # Items 0-2 point one way, 3-5 the other.
    embedding = np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0, 1], [0.1, 0.9], [0.2, 0.8]])
    popularity = np.array([1.0, 2, 3, 4, 5, 6])


def test_recommends_items_like_the_last_ones():
    adapter = SimilarItemsAdapter(Corpus(), n_recent=1)
    batch = HistoryBatch.of([History([0], [0], [1.0]), History([3], [2], [1.0])])
    slates = adapter.recommend(batch, 2)
    assert slates.tolist() == [[1, 2], [4, 5]]
    validate_slates(slates, 2, 2, 6, "SimilarItemsAdapter")


def test_empty_histories_get_popular_items():
    adapter = SimilarItemsAdapter(Corpus())
    batch = HistoryBatch.of([History.empty(), History([0], [0], [1.0])])
    assert adapter.recommend(batch, 2)[0].tolist() == [5, 4]
    only_empty = HistoryBatch.of([History.empty()])
    assert adapter.recommend(only_empty, 3).tolist() == [[5, 4, 3]]


def test_needs_embeddings():
    class Bare:
        n_items = 3

    with pytest.raises(ValueError, match=r"needs corpus\.embedding"):
        SimilarItemsAdapter(Bare())
