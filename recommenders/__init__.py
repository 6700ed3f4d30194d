"""Recommenders: the adapter contract, reference adapters and (later) trained models.

This package imports neither ``simulator`` nor ``agents``: a model author
needs only this package.
"""

from recommenders.adapter import CorpusLike, RecommenderAdapter, ScoringAdapter, top_k
from recommenders.feedback_filter import FeedbackFilter
from recommenders.history import PAD, Feedback, History, HistoryBatch
from recommenders.itemknn import ItemKNNAdapter
from recommenders.popularity import PopularityAdapter
from recommenders.random_adapter import RandomAdapter
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
    "Feedback",
    "FeedbackFilter",
    "History",
    "HistoryBatch",
    "InvalidScoresError",
    "InvalidSlateError",
    "ItemKNNAdapter",
    "PopularityAdapter",
    "RandomAdapter",
    "RecommenderAdapter",
    "ScoringAdapter",
    "SlateSizeError",
    "top_k",
    "validate_slates",
]
