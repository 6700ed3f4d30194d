"""Trained sequential recommenders (PyTorch): GRU and SASRec with feedback features.

``build_model(ModelConfig(...), n_items)`` gives the :class:`SequentialRecommender`
that :data:`MODELS` (the table of model kinds) names for ``ModelConfig.kind``; its
``forward`` maps right-padded histories (as in ``HistoryBatch``) to user states and its
``logits`` scores every item against them.
"""

from recommenders.models.base import SequentialRecommender
from recommenders.models.config import FeatureConfig, ModelConfig
from recommenders.models.features import EventEncoder
from recommenders.models.gru import GRURecommender
from recommenders.models.registry import MODELS
from recommenders.models.sasrec import SASRecRecommender


def build_model(config: ModelConfig, n_items: int) -> SequentialRecommender:
    """The model ``config.kind`` names in :data:`MODELS`, freshly initialised
    (deterministic under a seed)."""
    return MODELS[config.kind](config, n_items)


__all__ = [
    "MODELS",
    "EventEncoder",
    "FeatureConfig",
    "GRURecommender",
    "ModelConfig",
    "SASRecRecommender",
    "SequentialRecommender",
    "build_model",
]
