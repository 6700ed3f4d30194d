"""Reference adapters: recommenders that implement :class:`recommenders.RecommenderAdapter`.

Numpy only, except :mod:`~recommenders.adapters.sequential` (a trained torch
model behind the contract), which is imported on first use.
"""

from recommenders.adapters.feedback_filter import FeedbackFilter
from recommenders.adapters.itemknn import ItemKNNAdapter
from recommenders.adapters.mixture import MixtureAdapter
from recommenders.adapters.popularity import PopularityAdapter
from recommenders.adapters.random import RandomAdapter
from recommenders.adapters.similar import SimilarItemsAdapter

__all__ = [
    "FeedbackFilter",
    "ItemKNNAdapter",
    "MixtureAdapter",
    "PopularityAdapter",
    "RandomAdapter",
    "SequentialModelAdapter",
    "SimilarItemsAdapter",
]


def __getattr__(name: str):
    if name == "SequentialModelAdapter":
        from recommenders.adapters.sequential import SequentialModelAdapter

        return SequentialModelAdapter
    raise AttributeError(f"module 'recommenders.adapters' has no attribute {name!r}")
