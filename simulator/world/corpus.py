"""The item corpus of a synthetic world.

Generative story (all from one seed):

1. Each content cluster ``c`` has a size weight ``~ LogNormal(0, cluster_size_sd)``
   and a unit centroid in R^dim.
2. Each creator ``r`` has a primary cluster drawn by those weights; a share
   ``two_cluster_share`` of creators also has a secondary cluster. Creators
   are thus concentrated in one or two clusters.
3. Items go to creators with probability proportional to a creator output
   weight ``~ LogNormal(0, creator_size_sd)`` (every creator gets at least one
   item); an item of a two-cluster creator lands in the secondary cluster
   with probability ``secondary_item_share``, else in the primary.
4. Item quality ``q ~ Normal(0, quality_sd)``; creator fame ``f ~ Normal(0, 1)``;
   popularity (share of exposure in logs) ``p_i ∝ exp(popularity_beta * (q_i + f_r))``.
5. Embedding = centroid(cluster) + 0.5 * creator offset + 0.25 * noise,
   normalised to unit length (a content feature for models; users do not see it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class CorpusConfig:
    """Size and shape of the corpus."""

    n_items: int = 5000
    n_clusters: int = 40
    n_creators: int = 500
    dim: int = 16
    cluster_size_sd: float = 0.5
    creator_size_sd: float = 1.0
    two_cluster_share: float = 0.3
    secondary_item_share: float = 0.3
    quality_sd: float = 0.5
    popularity_beta: float = 1.5

    def __post_init__(self) -> None:
        for name in ("n_items", "n_clusters", "n_creators", "dim"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"CorpusConfig.{name} must be positive, got {getattr(self, name)}")
        if self.n_creators > self.n_items:
            raise ValueError(
                f"CorpusConfig.n_creators ({self.n_creators}) exceeds n_items ({self.n_items})"
            )
        for name in ("two_cluster_share", "secondary_item_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(
                    f"CorpusConfig.{name} must be in [0, 1], got {getattr(self, name)}"
                )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Corpus:
    """Items and their attributes, indexed by item id ``0..n_items-1``.

    This is the object an adapter receives as ``Class(corpus)``: it exposes
    ``n_items`` and int arrays ``cluster`` and ``creator`` (plus ``quality``,
    ``popularity`` summing to 1, and unit ``embedding`` rows).
    """

    cluster: np.ndarray
    creator: np.ndarray
    quality: np.ndarray
    popularity: np.ndarray
    embedding: np.ndarray
    n_clusters: int
    n_creators: int

    def __post_init__(self) -> None:
        n = len(self.cluster)
        for name in ("creator", "quality", "popularity", "embedding"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Corpus.{name} has {len(getattr(self, name))} rows, expected {n}")
        if n and (self.cluster.min() < 0 or self.cluster.max() >= self.n_clusters):
            raise ValueError(f"Corpus.cluster ids must lie in [0, {self.n_clusters})")
        if n and (self.creator.min() < 0 or self.creator.max() >= self.n_creators):
            raise ValueError(f"Corpus.creator ids must lie in [0, {self.n_creators})")

    @property
    def n_items(self) -> int:
        return len(self.cluster)

    @classmethod
    def generate(cls, config: CorpusConfig, seed: int) -> Corpus:
        rng = np.random.default_rng([seed, 0xC0])
        c = config
        cluster_weight = rng.lognormal(0.0, c.cluster_size_sd, c.n_clusters)
        centroid = _unit(rng.normal(size=(c.n_clusters, c.dim)))
        primary = rng.choice(
            c.n_clusters, size=c.n_creators, p=cluster_weight / cluster_weight.sum()
        )
        # A secondary cluster differs from the primary by a non-zero shift.
        shift = rng.integers(1, max(c.n_clusters, 2), size=c.n_creators)
        secondary = np.where(
            (rng.random(c.n_creators) < c.two_cluster_share) & (c.n_clusters > 1),
            (primary + shift) % c.n_clusters,
            primary,
        )
        output = rng.lognormal(0.0, c.creator_size_sd, c.n_creators)
        extra = rng.choice(c.n_creators, size=c.n_items - c.n_creators, p=output / output.sum())
        creator = np.sort(np.concatenate([np.arange(c.n_creators), extra]))
        cluster = np.where(
            rng.random(c.n_items) < c.secondary_item_share, secondary[creator], primary[creator]
        )
        quality = rng.normal(0.0, c.quality_sd, c.n_items)
        fame = rng.normal(0.0, 1.0, c.n_creators)
        logit = c.popularity_beta * (quality + fame[creator])
        popularity = np.exp(logit - logit.max())
        creator_offset = rng.normal(size=(c.n_creators, c.dim))
        embedding = _unit(
            centroid[cluster]
            + 0.5 * creator_offset[creator]
            + 0.25 * rng.normal(size=(c.n_items, c.dim))
        )
        return cls(
            cluster=cluster.astype(np.int64),
            creator=creator.astype(np.int64),
            quality=quality,
            popularity=popularity / popularity.sum(),
            embedding=embedding,
            n_clusters=c.n_clusters,
            n_creators=c.n_creators,
        )


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)
