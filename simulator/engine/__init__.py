"""The simpy engine: cohorts of users in simulated time and the batching recommender service."""

from simulator.engine.cohort import Cohort
from simulator.engine.service import RecommenderService, ServiceStats

__all__ = ["Cohort", "RecommenderService", "ServiceStats"]
