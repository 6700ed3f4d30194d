r"""Similarity kinds: how much of a slate resembles the forked item x_k (Wang et al. 2023, 4).

A kind is a *relation* between a slate item j and the anchor x_k. For a slate
``s = (s_1, ..., s_S)`` its value is the unitless share

.. math::  S(s, x_k) = \frac{1}{S} \sum_{j=1}^{S} [\,s_j \sim x_k\,] \in [0, 1],

undefined (NaN) where the attribute the relation needs is unknown for x_k
(such users are left out of that kind and counted). The registry
:data:`SIMILARITY_KINDS` maps each kind's name to its :class:`SimilarityKind`,
in the order tables, plots and reports show them (iterating it gives the
names). Every protocol, table, summary and figure iterates over it, so a kind
added to it here appears in the per-user tables (one column each), in
``responsiveness.csv`` (rows) and in the figures (bars, panels).

Both protocols describe their catalogue with one :class:`ItemAttributes`:
the simulated one from the world's corpus (one content cluster per item),
the real-history one from an :class:`~recommenders.datasets.InteractionData`
according to its content rule (:data:`CONTENT_RULES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from recommenders.datasets import InteractionData

CONTENT_RULES = ("any", "primary")
"""Content relation on real data: ``any`` = shares at least one genre with x_k
(the multi-membership matrix), ``primary`` = same first-listed genre."""


@dataclass(frozen=True)
class ItemAttributes:
    """The catalogue as the similarity kinds see it, indexed by item id ``0..n_items-1``.

    Attributes:
        cluster: int64 (n_items,) content cluster (primary genre), -1 = unknown.
        creator: int64 (n_items,) creator (director), -1 = unknown.
        clusters: optional bool (n_items, n_clusters), True where the item is in
            the cluster. When given, the content relation is "shares at least
            one cluster" and reads only this matrix; else it is "same
            ``cluster``".
    """

    cluster: np.ndarray
    creator: np.ndarray
    clusters: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("cluster", "creator"):
            array = np.asarray(getattr(self, name))
            if array.ndim != 1 or array.dtype.kind not in "iu":
                raise ValueError(
                    f"ItemAttributes.{name} must be 1-D int, got {array.dtype} {array.shape}"
                )
            object.__setattr__(self, name, array)
        if len(self.creator) != len(self.cluster):
            raise ValueError(
                f"ItemAttributes: {len(self.cluster)} clusters but {len(self.creator)} creators"
            )
        if self.clusters is not None:
            matrix = np.asarray(self.clusters)
            if matrix.ndim != 2 or matrix.dtype != bool or len(matrix) != len(self.cluster):
                raise ValueError(
                    "ItemAttributes.clusters must be bool (n_items, n_clusters) with "
                    f"n_items = {len(self.cluster)}, got {matrix.dtype} {matrix.shape}"
                )
            object.__setattr__(self, "clusters", matrix)

    @property
    def n_items(self) -> int:
        return len(self.cluster)

    @classmethod
    def from_corpus(cls, corpus) -> ItemAttributes:
        """A synthetic world's corpus (:class:`simulator.world.corpus.Corpus`): one cluster each."""
        return cls(cluster=corpus.cluster, creator=corpus.creator)

    @classmethod
    def from_interactions(cls, data: InteractionData, content_rule: str = "any") -> ItemAttributes:
        """A real data set: genres as clusters, directors as creators (-1 unknown).

        ``content_rule`` ``"any"`` keeps the genre matrix (an item is similar when
        it shares a genre with x_k; undefined when x_k has none); ``"primary"``
        compares first-listed genres (undefined when x_k has none).
        """
        if content_rule not in CONTENT_RULES:
            raise ValueError(f"content_rule must be one of {CONTENT_RULES}, got {content_rule!r}")
        clusters = data.cluster_matrix if content_rule == "any" else None
        return cls(cluster=data.cluster, creator=data.creator, clusters=clusters)


Relation = Callable[[np.ndarray, np.ndarray, ItemAttributes], tuple[np.ndarray, np.ndarray]]
"""``(slates (n, S), x_k (n,), items) -> (similar bool (n, S), known bool (n,))``:
whether each slate item relates to its row's x_k (False wherever x_k's
attribute is unknown), and whether x_k's attribute is known."""

Share = Callable[[np.ndarray, np.ndarray, ItemAttributes], np.ndarray]
"""``(slates (n, S) int, x_k (n,) int, items) -> float64 (n,)`` in [0, 1], NaN where undefined."""


def _same(attribute: np.ndarray, slates: np.ndarray, x_k: np.ndarray):
    anchor = attribute[x_k]
    known = anchor >= 0
    # An unknown item (-1) never matches a known anchor; a row with an unknown
    # anchor matches nothing, so relations can be combined with | and &.
    return (attribute[slates] == anchor[:, None]) & known[:, None], known


def same_content(slates: np.ndarray, x_k: np.ndarray, items: ItemAttributes):
    """Slate item j is similar when it shares a cluster with x_k.

    With ``items.clusters``: ``any_c clusters[j, c] & clusters[x_k, c]``, known
    when x_k is in at least one cluster. Without: ``cluster[j] == cluster[x_k]``,
    known when ``cluster[x_k] >= 0``.
    """
    if items.clusters is None:
        return _same(items.cluster, slates, x_k)
    anchor = items.clusters[x_k]  # (n, n_clusters)
    return (items.clusters[slates] & anchor[:, None, :]).any(axis=2), anchor.any(axis=1)


def same_creator(slates: np.ndarray, x_k: np.ndarray, items: ItemAttributes):
    """Slate item j is similar when ``creator[j] == creator[x_k]``; known when x_k's is >= 0."""
    return _same(items.creator, slates, x_k)


def share_of(*relations: Relation) -> Share:
    """The share of a slate similar to x_k by *any* of ``relations``.

    Defined where at least one relation's attribute of x_k is known; a
    relation whose attribute is unknown contributes no similar item there.
    """
    if not relations:
        raise ValueError("share_of needs at least one relation")

    def share(slates: np.ndarray, x_k: np.ndarray, items: ItemAttributes) -> np.ndarray:
        similar, known = relations[0](slates, x_k, items)
        for relation in relations[1:]:
            more, more_known = relation(slates, x_k, items)
            similar, known = similar | more, known | more_known
        return np.where(known, similar.mean(axis=1), np.nan)

    return share


@dataclass(frozen=True)
class SimilarityKind:
    """One registered kind: its slate share and how figures and reports show it.

    Attributes:
        name: the column of per-user tables and the ``kind`` of summaries.
        share: :data:`Share` of each slate against its row's x_k.
        color: matplotlib colour of its bars in the figures.
        description: one line on what the share counts, for run records and readers.
    """

    name: str
    share: Share
    color: str
    description: str


_REGISTRY: dict[str, SimilarityKind] = {
    kind.name: kind
    for kind in (
        SimilarityKind(
            "content",
            share_of(same_content),
            "#4C72B0",
            "share of the slate in a content cluster (genre) of x_k",
        ),
        SimilarityKind(
            "creator",
            share_of(same_creator),
            "#DD8452",
            "share of the slate by x_k's creator (director)",
        ),
    )
}

SIMILARITY_KINDS: Mapping[str, SimilarityKind] = MappingProxyType(_REGISTRY)
"""The registry, in display order: name -> :class:`SimilarityKind` (read-only)."""


def similarities(
    slates: np.ndarray, x_k: np.ndarray, items: ItemAttributes
) -> dict[str, np.ndarray]:
    """Every registered kind's share of each slate against its x_k: name -> float64 (n,)."""
    slates = np.asarray(slates)
    x_k = np.asarray(x_k)
    if slates.ndim != 2 or x_k.shape != (len(slates),):
        raise ValueError(f"slates must be (n, S) and x_k (n,), got {slates.shape} and {x_k.shape}")
    return {name: kind.share(slates, x_k, items) for name, kind in SIMILARITY_KINDS.items()}


__all__ = [
    "CONTENT_RULES",
    "SIMILARITY_KINDS",
    "ItemAttributes",
    "Relation",
    "Share",
    "SimilarityKind",
    "same_content",
    "same_creator",
    "share_of",
    "similarities",
]
