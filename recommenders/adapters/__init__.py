"""Reference adapters: recommenders that implement :class:`recommenders.RecommenderAdapter`.

Numpy only, except :mod:`~recommenders.adapters.sequential` (a trained torch
model behind the contract) and :mod:`~recommenders.adapters.http` (a recommender
served over HTTP, on urllib), which are imported on first use, as is
:mod:`~recommenders.adapters.implicit_als` (``implicit``'s ALS, an optional extra).
"""

from recommenders.adapters.feedback_filter import FeedbackFilter
from recommenders.adapters.itemknn import ItemKNNAdapter
from recommenders.adapters.mixture import MixtureAdapter
from recommenders.adapters.popularity import PopularityAdapter
from recommenders.adapters.random import RandomAdapter
from recommenders.adapters.similar import SimilarItemsAdapter

__all__ = [
    "FeedbackFilter",
    "HttpAdapter",
    "ImplicitALSAdapter",
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
    if name == "HttpAdapter":
        from recommenders.adapters.http import HttpAdapter

        return HttpAdapter
    if name == "ImplicitALSAdapter":
        from recommenders.adapters.implicit_als import ImplicitALSAdapter

        return ImplicitALSAdapter
    raise AttributeError(f"module 'recommenders.adapters' has no attribute {name!r}")
