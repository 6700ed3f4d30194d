import numpy as np
import pytest

from agents import Population, PopulationConfig, ResponseConfig, UserModel


@pytest.fixture
def user_model():
    rng = np.random.default_rng(0)
    n_items, n_clusters, n_creators = 400, 8, 40
    creator = rng.integers(0, n_creators, n_items)
    cluster = creator % n_clusters
    quality = rng.normal(0, 0.5, n_items)
    population = Population.generate(PopulationConfig(n_users=500), n_clusters, seed=1)
    return UserModel(population, cluster, creator, quality, ResponseConfig(), seed=2)
