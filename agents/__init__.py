"""Synthetic users: latent interests, a response model, trajectory policies (numpy).

All randomness is keyed by (seed, user, step, purpose) through
:class:`KeyedRandom`, so counterfactual branches and reruns replay identical
draws. From ``recommenders`` they use only the contract's vocabulary: the
feedback codes and keyed hashing.
"""

from agents.fitted import FittedResponse, FittedUserModel
from agents.keyed_random import KeyedRandom, Purpose
from agents.policies import NO_CHOICE, LogitChoice, RandomTrajectory
from agents.population import Population, PopulationConfig
from agents.response import Recent, Response, ResponseConfig, UserModel

__all__ = [
    "NO_CHOICE",
    "FittedResponse",
    "FittedUserModel",
    "KeyedRandom",
    "LogitChoice",
    "Population",
    "PopulationConfig",
    "Purpose",
    "RandomTrajectory",
    "Recent",
    "Response",
    "ResponseConfig",
    "UserModel",
]
