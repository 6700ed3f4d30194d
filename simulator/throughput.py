"""Throughput of the responsiveness protocol: user-steps per second and overhead.

A *user-step* is one slate served to one user and acted upon: k per user
before and at the fork, plus one per branch and horizon step after it
(:func:`simulator.total_user_steps`). The share of wall time spent inside
``adapter.recommend`` separates the recommender's cost from the simulator's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from recommenders import RecommenderAdapter
from simulator.responsiveness.simulated import ResponsivenessConfig, measure_responsiveness
from simulator.world import AnyWorld


@dataclass(frozen=True)
class ProtocolThroughput:
    """Best of ``repeats`` runs of one adapter (fastest wall time)."""

    adapter: str
    n_users: int
    k: int
    user_steps: int
    wall_seconds: float
    user_steps_per_second: float
    recommend_seconds: float
    recommend_share: float
    simulator_seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def protocol_throughput(
    world: AnyWorld,
    name: str,
    adapter: RecommenderAdapter,
    config: ResponsivenessConfig,
    repeats: int = 3,
) -> ProtocolThroughput:
    """Time the whole protocol (simulation, fork, bootstrap excluded) ``repeats`` times."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    best = None
    for _ in range(repeats):
        run = measure_responsiveness(world, adapter, config, name=name, summary=False)
        if best is None or run.wall_seconds < best.wall_seconds:
            best = run
    wall = best.wall_seconds
    inside = best.service.recommend_seconds
    return ProtocolThroughput(
        adapter=name,
        n_users=config.n_users,
        k=config.k,
        user_steps=best.user_steps,
        wall_seconds=wall,
        user_steps_per_second=best.user_steps / wall,
        recommend_seconds=inside,
        recommend_share=inside / wall,
        simulator_seconds=wall - inside,
    )
