"""Interaction logs from a world: users served by a logging recommender.

Each user consumes ``n_steps`` items, one per step, choosing from the
logging adapter's slate with the utility-driven :class:`agents.LogitChoice`
(always consuming one item), with dwell and feedback from the response model.
The result is a :class:`recommenders.HistoryBatch`, from which co-occurrence
statistics (item-kNN) or training sequences are built.
"""

from __future__ import annotations

import numpy as np
import simpy

from agents import LogitChoice
from recommenders import HistoryBatch, RecommenderAdapter
from simulator.cohort import Cohort
from simulator.service import RecommenderService
from simulator.world import World


def simulate_histories(
    world: World,
    logging_adapter: RecommenderAdapter,
    n_users: int,
    n_steps: int,
    seed: int,
    slate_size: int = 10,
    temperature: float = 1.0,
) -> HistoryBatch:
    """Histories of users ``0..n_users-1`` after ``n_steps`` logged steps."""
    if not 1 <= n_users <= world.n_users:
        raise ValueError(f"n_users must be in [1, {world.n_users}], got {n_users}")
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    env = simpy.Environment()
    service = RecommenderService(env, logging_adapter, world.corpus.n_items, slate_size)
    model = world.user_model(seed)
    policy = LogitChoice(temperature=temperature, no_choice_utility=-np.inf)
    cohort = Cohort(np.arange(n_users), capacity=n_steps)

    def user_cohort():
        rows = np.arange(n_users)
        for step in range(n_steps):
            slates = yield service.request(cohort.histories())
            items = slates[rows, policy.choose(model.keys, cohort.users, step, slates, model)]
            response = model.respond(cohort.users, items, step)
            cohort.append(items, response.feedback, response.dwell)
            yield env.timeout(1.0)

    env.process(user_cohort())
    env.run()
    return cohort.histories()
