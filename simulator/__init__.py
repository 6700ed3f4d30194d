"""The simulator: worlds, the simpy engine, counterfactual responsiveness, the live A/B test.

Sub-packages: ``world`` (catalogue, users, response model), ``engine`` (cohorts,
batching service), ``responsiveness`` (branch actions, the simulated and the
real-history protocol, output, figures), ``live_ab``; modules ``similarity``,
``bootstrap``, ``adapter_specs``, ``logs``, ``records``, ``throughput``
(docs/architecture.md). Dependency direction: ``simulator -> (agents, recommenders)``.
"""

from simulator.responsiveness.branches import DEFAULT_BRANCHES, BranchAction, parse_branches
from simulator.responsiveness.simulated import (
    ResponsivenessConfig,
    ResponsivenessRun,
    compare,
    interval_count,
    measure_responsiveness,
    summarize,
    total_user_steps,
)
from simulator.similarity import SIMILARITY_KINDS, ItemAttributes, SimilarityKind
from simulator.world import FittedWorld, load_world
from simulator.world.corpus import Corpus, CorpusConfig
from simulator.world.world import World, WorldConfig, WorldFileError

__all__ = [
    "DEFAULT_BRANCHES",
    "SIMILARITY_KINDS",
    "BranchAction",
    "Corpus",
    "CorpusConfig",
    "FittedWorld",
    "ItemAttributes",
    "ResponsivenessConfig",
    "ResponsivenessRun",
    "SimilarityKind",
    "World",
    "WorldConfig",
    "WorldFileError",
    "compare",
    "interval_count",
    "load_world",
    "measure_responsiveness",
    "parse_branches",
    "summarize",
    "total_user_steps",
]
