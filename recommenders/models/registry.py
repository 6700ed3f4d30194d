"""Model kinds: the one table ``kind -> class`` that ``ModelConfig.kind`` is validated
against and :func:`~recommenders.models.build_model` builds from.

To add a kind: write a :class:`~recommenders.models.base.SequentialRecommender` subclass
in its own module (``__init__(config, n_items)``, passing its kind to the base class,
and ``_contextualise``) and add one entry to :data:`MODELS`. The model tests run over
every kind in the table (tests/recommenders/models/conftest.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from recommenders.models.base import SequentialRecommender
from recommenders.models.gru import GRURecommender
from recommenders.models.sasrec import SASRecRecommender

MODELS: Mapping[str, type[SequentialRecommender]] = MappingProxyType(
    {
        "gru": GRURecommender,
        "sasrec": SASRecRecommender,
    }
)
"""Every model kind, by name (the values of ``ModelConfig.kind``)."""
