"""The simulator: synthetic worlds, the simpy engine, counterfactual forking, responsiveness.

Dependency direction: ``simulator -> (agents, recommenders)``.
"""

from simulator.branches import DEFAULT_BRANCHES, BranchAction, parse_branches
from simulator.corpus import Corpus, CorpusConfig
from simulator.responsiveness import (
    SIMILARITY_KINDS,
    ResponsivenessConfig,
    ResponsivenessRun,
    compare,
    measure_responsiveness,
    summarize,
    total_user_steps,
)
from simulator.world import World, WorldConfig, WorldFileError

__all__ = [
    "DEFAULT_BRANCHES",
    "SIMILARITY_KINDS",
    "BranchAction",
    "Corpus",
    "CorpusConfig",
    "ResponsivenessConfig",
    "ResponsivenessRun",
    "World",
    "WorldConfig",
    "WorldFileError",
    "compare",
    "measure_responsiveness",
    "parse_branches",
    "summarize",
    "total_user_steps",
]
