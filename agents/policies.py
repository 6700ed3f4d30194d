"""Trajectory policies: which item of a slate a user consumes.

* :class:`RandomTrajectory` is the paper's "random behaviour trajectory"
  (section 4): a uniform choice from the slate, independent of the user's
  tastes, so the history before the fork is not shaped by the recommender's
  quality.
* :class:`LogitChoice` is a multinomial logit with a no-choice option for
  closed-loop runs: P(i) = exp(mu_i / T) / (exp(mu_0 / T) + sum_j exp(mu_j / T)),
  sampled exactly with the Gumbel-max trick on keyed Gumbel draws.

Both return, per user, the *position* in the slate (``-1`` = no choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.keyed_random import KeyedRandom, Purpose
from agents.response import Recent, UserModel

NO_CHOICE = -1


@dataclass(frozen=True)
class RandomTrajectory:
    """Uniform choice of one slate position per user."""

    def choose(
        self,
        keys: KeyedRandom,
        users: np.ndarray,
        step,
        slates: np.ndarray,
        model=None,
        recent=None,
    ) -> np.ndarray:
        u = keys.uniform(users, step, Purpose.CHOICE)[:, 0]
        return np.minimum((u * slates.shape[1]).astype(np.int64), slates.shape[1] - 1)


@dataclass(frozen=True)
class LogitChoice:
    """Multinomial logit over the slate plus a no-choice option of utility ``no_choice_utility``."""

    temperature: float = 1.0
    no_choice_utility: float = 0.0

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"LogitChoice.temperature must be > 0, got {self.temperature}")

    def choose(
        self,
        keys: KeyedRandom,
        users: np.ndarray,
        step,
        slates: np.ndarray,
        model: UserModel,
        recent: Recent | None = None,
    ) -> np.ndarray:
        users = np.asarray(users, np.int64)
        mu = model.utility(users[:, None], slates, recent) / self.temperature
        scores = np.concatenate(
            [mu, np.full((len(users), 1), self.no_choice_utility / self.temperature)], axis=1
        )
        scores += keys.gumbel(users, step, Purpose.CHOICE, scores.shape[1])
        pick = np.argmax(scores, axis=1)
        return np.where(pick == slates.shape[1], NO_CHOICE, pick)
