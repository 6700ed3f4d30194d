"""Real interaction data sets in the form the models train on.

``load_interactions`` reads any interaction table (user, order, item, rating
or feedback, optional dwell) and item table (clusters, creator); ``load_ml1m``
and ``load_ml100k`` are presets for the MovieLens folders. All return an
:class:`InteractionData`: a validated log with dense ids, item metadata and a
fingerprint. Ratings become feedback by a :class:`RatingRule`. Every problem
in the data raises a one-line :class:`DataError`; nothing is dropped or
repaired. The loaders read from a path given by the caller and never download.

One concept per module: ``rules`` (ratings to feedback), ``columns`` (reading
and checking columns), ``items`` (item metadata), ``interactions`` (the
result), ``corpus`` (its catalogue as adapters see it), ``loader`` (the generic
loader), ``movielens`` (the MovieLens loaders), ``presets`` (one-word names for them),
``schema`` (a table's column names and rating rule as data, from JSON or YAML).
"""

from recommenders.datasets.corpus import DataCorpus
from recommenders.datasets.errors import DataError
from recommenders.datasets.interactions import InteractionData
from recommenders.datasets.loader import load_interactions
from recommenders.datasets.movielens import load_ml1m, load_ml100k
from recommenders.datasets.presets import PRESETS, Preset, data_root, load_preset
from recommenders.datasets.rules import RatingRule
from recommenders.datasets.schema import SchemaFile, TableSchema, read_schema

__all__ = [
    "PRESETS",
    "DataCorpus",
    "DataError",
    "InteractionData",
    "Preset",
    "RatingRule",
    "SchemaFile",
    "TableSchema",
    "data_root",
    "load_interactions",
    "load_ml1m",
    "load_ml100k",
    "load_preset",
    "read_schema",
]
