"""Trained sequential recommenders (PyTorch): GRU and SASRec with feedback features.

``build_model(ModelConfig(...), n_items)`` gives the :class:`SequentialRecommender`
that :data:`MODELS` (the table of model kinds) names for ``ModelConfig.kind``; its
``forward`` maps right-padded histories (as in ``HistoryBatch``) to user states and its
``logits`` scores every item against them.
"""

from recommenders.memory import check_fits
from recommenders.models.base import SequentialRecommender
from recommenders.models.config import FEEDBACK_ENTRIES, FeatureConfig, ModelConfig
from recommenders.models.features import EventEncoder
from recommenders.models.gru import GRURecommender
from recommenders.models.registry import MODELS
from recommenders.models.sasrec import SASRecRecommender


def parameter_bytes(config: ModelConfig, n_items: int) -> int:
    """An upper estimate of a model's float32 parameters, in bytes: the item and position
    tables, and per layer the attention or recurrent weights and the feed-forward block
    (at most 16 dim x dim matrices), doubled for Adam's two moments and the gradient."""
    d = config.dim
    tables = (n_items + 1 + config.max_len) * d
    layers = config.n_layers * 16 * d * d
    return 4 * 4 * (tables + layers)


def build_model(config: ModelConfig, n_items: int) -> SequentialRecommender:
    """The model ``config.kind`` names in :data:`MODELS`, freshly initialised
    (deterministic under a seed).

    A one-line ValueError, before any allocation, when the parameters and their
    training state (:func:`parameter_bytes`) would not fit in this machine's memory.
    """
    check_fits(
        parameter_bytes(config, n_items),
        f"a {config.kind} model of dim {config.dim}, max_len {config.max_len} and "
        f"{config.n_layers} layer(s) over {n_items:,} items (parameters and training state)",
    )
    return MODELS[config.kind](config, n_items)


__all__ = [
    "FEEDBACK_ENTRIES",
    "MODELS",
    "EventEncoder",
    "FeatureConfig",
    "GRURecommender",
    "ModelConfig",
    "SASRecRecommender",
    "SequentialRecommender",
    "build_model",
]
