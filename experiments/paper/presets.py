"""The two sizes of the results report: the paper-scale run and the quick run CI checks.

``FULL`` is the paper's protocol (2000 simulated users, k = 50) on the
default world (5000 items, 5000 users, 100 logged steps each), three world
seeds, GRU models trained 30 epochs. ``QUICK`` runs the same code on a
smaller world (1000 items, 20 clusters, 100 creators; 2000 users, 60 logged
steps), one seed, 10 epochs of full-softmax training at a larger learning
rate (sampled softmax needs more epochs before the models start to use the
sequence), 1000 simulated users forked at k = 20: a few minutes on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from experiments.paper.sensitivity import DEFAULT_SWEEP
from experiments.paper.study import STUDY_BRANCHES, StudyConfig
from recommenders.models import ModelConfig
from recommenders.training.loop import TrainConfig
from simulator.logs import LogConfig
from simulator.responsiveness.simulated import ResponsivenessConfig


@dataclass(frozen=True)
class ReportPreset:
    """A study config, a sensitivity sweep and the live A/B size."""

    name: str
    study: StudyConfig
    sweep: dict[str, tuple[float, ...]] = field(default_factory=lambda: dict(DEFAULT_SWEEP))
    ab_users: int = 2000
    ab_days: int = 14
    gradient_steps: int = 200


QUICK_WORLD = (
    ("corpus.n_items", 1000),
    ("corpus.n_clusters", 20),
    ("corpus.n_creators", 100),
)

FULL = ReportPreset("full", StudyConfig())

QUICK = ReportPreset(
    "quick",
    StudyConfig(
        seeds=(0,),
        world_users=2000,
        world_overrides=QUICK_WORLD,
        logs=LogConfig(n_users=2000, n_steps=60),
        model=ModelConfig(dim=32),
        train=TrainConfig(epochs=10, patience=10, lr=3e-3, positive_loss="softmax_ce"),
        measure=ResponsivenessConfig(
            n_users=1000, k=20, horizon=3, branches=STUDY_BRANCHES, n_resamples=1000
        ),
    ),
    sweep={"response.dislike_averse": (0.2, 0.8)},
    ab_users=500,
    ab_days=3,
    gradient_steps=50,
)

PRESETS = {p.name: p for p in (FULL, QUICK)}
