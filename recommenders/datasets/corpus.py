"""A real data set's catalogue as adapters see it: :class:`recommenders.CorpusLike`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommenders.datasets.interactions import InteractionData


def own_groups(ids: np.ndarray, n_known: int) -> np.ndarray:
    """int64 group of each item: its id where known (>= 0), else a group of its own,
    ``n_known + item``, so that "unknown" is never one shared group."""
    ids = np.asarray(ids, np.int64)
    return np.where(ids >= 0, ids, n_known + np.arange(len(ids)))


@dataclass(frozen=True, eq=False)
class DataCorpus:
    """A real data set's items as an adapter sees them (:class:`recommenders.CorpusLike`).

    Attributes:
        n_items: number of items.
        cluster: int64 (n_items,): primary genre; an item with no genre is its
            own cluster ``n_clusters + item``.
        creator: int64 (n_items,): director; an item of unknown director is
            its own creator ``n_creators + item``. Groups must be non-negative
            for :class:`recommenders.FeedbackFilter`, and a private group per
            unknown item means disliking it blocks nothing else: "unknown" is
            not one director.
        popularity: float64 (n_items,): share of log rows per item.
        data: the :class:`InteractionData` itself (multi-genre matrix, names),
            for adapters that want more.
    """

    n_items: int
    cluster: np.ndarray
    creator: np.ndarray
    popularity: np.ndarray
    data: InteractionData

    @classmethod
    def of(cls, data: InteractionData) -> DataCorpus:
        """The corpus of ``data``; its arrays are read-only, shared by every adapter."""
        cluster = own_groups(data.cluster, data.n_clusters)
        creator = own_groups(data.creator, data.n_creators)
        for array in (cluster, creator):
            array.flags.writeable = False  # shared by every adapter built from it
        return cls(data.n_items, cluster, creator, data.popularity, data)
