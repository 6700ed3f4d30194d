"""Synthetic users: latent interests over content clusters and creators.

A user ``u`` has

* a cluster affinity ``a[u, c] ~ Normal(0, cluster_sd)`` per content cluster,
  stored (n_users x n_clusters);
* a creator affinity ``b(u, r) ~ Normal(0, creator_sd)`` per creator, drawn
  on demand from the keyed stream (never stored: n_users x n_creators can be
  large);
* a persistent aversion ``averse(u, r)`` to each creator with probability
  ``creator_aversion_rate``, and to each cluster with probability
  ``cluster_aversion_rate``, also keyed. An aversion never changes: a
  creator a user dislikes today stays disliked, which is what makes a
  dislike informative about the future.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from agents.keyed_random import KeyedRandom, Purpose


@dataclass(frozen=True)
class PopulationConfig:
    """Parameters of the user population (affinities in utility units)."""

    n_users: int = 2000
    cluster_sd: float = 1.0
    creator_sd: float = 0.5
    creator_aversion_rate: float = 0.10
    cluster_aversion_rate: float = 0.05

    def __post_init__(self) -> None:
        if self.n_users <= 0:
            raise ValueError(f"PopulationConfig.n_users must be positive, got {self.n_users}")
        for name in ("cluster_sd", "creator_sd"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"PopulationConfig.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("creator_aversion_rate", "cluster_aversion_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(
                    f"PopulationConfig.{name} must be in [0, 1], got {getattr(self, name)}"
                )

    def to_dict(self) -> dict:
        return asdict(self)


class Population:
    """The users of a world. Arrays are indexed by user id ``0..n_users-1``."""

    def __init__(self, config: PopulationConfig, cluster_affinity: np.ndarray, seed: int) -> None:
        if cluster_affinity.ndim != 2 or cluster_affinity.shape[0] != config.n_users:
            raise ValueError(
                f"cluster_affinity must have shape ({config.n_users}, n_clusters), "
                f"got {cluster_affinity.shape}"
            )
        self.config = config
        self.cluster_affinity = cluster_affinity
        self.seed = int(seed)
        self._keys = KeyedRandom(seed)

    @classmethod
    def generate(cls, config: PopulationConfig, n_clusters: int, seed: int) -> Population:
        rng = np.random.default_rng([seed, 0x505])
        affinity = rng.normal(0.0, config.cluster_sd, size=(config.n_users, n_clusters))
        return cls(config, affinity, seed)

    @property
    def n_users(self) -> int:
        return self.config.n_users

    def creator_affinity(self, users: np.ndarray, creators: np.ndarray) -> np.ndarray:
        """b(u, r) for paired arrays of users and creators (same shape)."""
        return self.config.creator_sd * self._pair_draw(
            users, creators, Purpose.CREATOR_AFFINITY, True
        )

    def creator_averse(self, users: np.ndarray, creators: np.ndarray) -> np.ndarray:
        """Boolean: does user u persistently dislike creator r."""
        u = self._pair_draw(users, creators, Purpose.CREATOR_AVERSION, False)
        return u < self.config.creator_aversion_rate

    def cluster_averse(self, users: np.ndarray, clusters: np.ndarray) -> np.ndarray:
        """Boolean: does user u persistently dislike content cluster c."""
        u = self._pair_draw(users, clusters, Purpose.CLUSTER_AVERSION, False)
        return u < self.config.cluster_aversion_rate

    def _pair_draw(self, users, others, purpose: Purpose, normal: bool) -> np.ndarray:
        users = np.asarray(users)
        others = np.asarray(others)
        users, others = np.broadcast_arrays(users, others)
        # The "step" slot of the key carries the creator / cluster id.
        draw = self._keys.normal if normal else self._keys.uniform
        return draw(users.ravel(), others.ravel(), purpose)[:, 0].reshape(users.shape)
