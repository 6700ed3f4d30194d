"""A world: the item corpus (catalogue) plus a user population and response model, in one file."""

from simulator.world.corpus import Corpus, CorpusConfig
from simulator.world.world import WORLD_FORMAT, WORLD_VERSION, World, WorldConfig, WorldFileError

__all__ = [
    "WORLD_FORMAT",
    "WORLD_VERSION",
    "Corpus",
    "CorpusConfig",
    "World",
    "WorldConfig",
    "WorldFileError",
]
