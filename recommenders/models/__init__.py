"""Trained sequential recommenders (PyTorch): GRU and SASRec with feedback features.

``build_model(ModelConfig(...), n_items)`` gives a :class:`SequentialRecommender`
whose ``forward`` maps right-padded histories (as in ``HistoryBatch``) to
user states and whose ``logits`` scores every item against them.
"""

from recommenders.models.base import SequentialRecommender
from recommenders.models.config import FeatureConfig, ModelConfig
from recommenders.models.features import EventEncoder
from recommenders.models.gru import GRURecommender
from recommenders.models.sasrec import SASRecRecommender

_MODELS: dict[str, type[SequentialRecommender]] = {
    "gru": GRURecommender,
    "sasrec": SASRecRecommender,
}


def build_model(config: ModelConfig, n_items: int) -> SequentialRecommender:
    """The model ``config.kind`` names, freshly initialised (deterministic under a seed)."""
    return _MODELS[config.kind](config, n_items)


__all__ = [
    "EventEncoder",
    "FeatureConfig",
    "GRURecommender",
    "ModelConfig",
    "SASRecRecommender",
    "SequentialRecommender",
    "build_model",
]
