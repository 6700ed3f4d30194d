"""Recommenders: the adapter contract, reference adapters, sequential models, losses,
training, evaluation and real data sets.

This package imports no other package of the project: a model author needs only
this one. The torch-based parts (``load_adapter``, ``SequentialModelAdapter``,
``TorchScoringAdapter``) are
imported on first use, so the contract alone loads without torch; so is ``HttpAdapter``
(urllib). Sub-packages:
``adapters``, ``models``, ``losses``, ``training``, ``evaluation``, ``datasets``
(docs/architecture.md).
"""

from recommenders.adapter import CorpusLike, RecommenderAdapter, ScoringAdapter, top_k
from recommenders.adapters.feedback_filter import FeedbackFilter
from recommenders.adapters.itemknn import ItemKNNAdapter
from recommenders.adapters.mixture import MixtureAdapter
from recommenders.adapters.popularity import PopularityAdapter
from recommenders.adapters.random import RandomAdapter
from recommenders.datasets import (
    DataError,
    InteractionData,
    RatingRule,
    load_interactions,
    load_ml1m,
    load_ml100k,
)
from recommenders.history import PAD, Feedback, History, HistoryBatch
from recommenders.validation import (
    AdapterError,
    InvalidScoresError,
    InvalidSlateError,
    SlateSizeError,
    validate_slates,
)

__all__ = [
    "PAD",
    "AdapterError",
    "CorpusLike",
    "DataError",
    "Feedback",
    "FeedbackFilter",
    "History",
    "HistoryBatch",
    "HttpAdapter",
    "InteractionData",
    "InvalidScoresError",
    "InvalidSlateError",
    "ItemKNNAdapter",
    "MixtureAdapter",
    "PopularityAdapter",
    "RandomAdapter",
    "RatingRule",
    "RecommenderAdapter",
    "ScoringAdapter",
    "SequentialModelAdapter",
    "SlateSizeError",
    "TorchScoringAdapter",
    "load_adapter",
    "load_interactions",
    "load_ml1m",
    "load_ml100k",
    "top_k",
    "validate_slates",
]


def __getattr__(name: str):
    if name == "load_adapter":
        from recommenders.checkpoint import load_adapter

        return load_adapter
    if name == "TorchScoringAdapter":
        from recommenders.adapters.torch_scoring import TorchScoringAdapter

        return TorchScoringAdapter
    if name == "SequentialModelAdapter":
        from recommenders.adapters.sequential import SequentialModelAdapter

        return SequentialModelAdapter
    if name == "HttpAdapter":
        from recommenders.adapters.http import HttpAdapter

        return HttpAdapter
    raise AttributeError(f"module 'recommenders' has no attribute {name!r}")
