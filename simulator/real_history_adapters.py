"""Adapters by name for real data sets, where there is no simulated world.

Specs (as ``experiments/real_responsiveness.py --adapter`` takes them):

* ``popularity``: :class:`recommenders.PopularityAdapter` ranked by the share
  of log rows per item (the whole log: the ranking is one global order, so
  its responsiveness is exactly 0 whatever the counts);
* ``random``: :class:`recommenders.RandomAdapter`, a hash of the history, so
  each branch gets an independent uniform slate (a noise reference);
* ``filter:SPEC`` / ``filter-cluster:SPEC``: :class:`recommenders.FeedbackFilter`
  around SPEC, dropping the directors (primary genres) the user disliked;
* ``checkpoint:PATH``: a model trained on this data set
  (:func:`recommenders.load_adapter`, which checks the data fingerprint);
* ``package.module:Class``: a :class:`recommenders.RecommenderAdapter`
  subclass built as ``Class(corpus)`` with the :class:`DataCorpus`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from recommenders import FeedbackFilter, PopularityAdapter, RandomAdapter, RecommenderAdapter
from recommenders.datasets import InteractionData
from simulator.adapter_specs import AdapterSpecError

REAL_BUILTIN = ("popularity", "random")
_WRAPPERS = {"filter": "creator", "filter-cluster": "cluster"}


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
        items = np.arange(data.n_items)
        cluster = np.where(data.cluster >= 0, data.cluster, data.n_clusters + items)
        creator = np.where(data.creator >= 0, data.creator, data.n_creators + items)
        for array in (cluster, creator):
            array.flags.writeable = False  # shared by every adapter built from it
        return cls(data.n_items, cluster, creator, data.popularity, data)


def build_real_adapter(
    spec: str, data: InteractionData, corpus: DataCorpus | None = None
) -> RecommenderAdapter:
    """The adapter ``spec`` names for ``data``; one-line :class:`AdapterSpecError` if none."""
    corpus = DataCorpus.of(data) if corpus is None else corpus
    spec = spec.strip()
    head, sep, rest = spec.partition(":")
    if sep and head in _WRAPPERS:
        return FeedbackFilter(build_real_adapter(rest, data, corpus), corpus, by=_WRAPPERS[head])
    if sep and head == "checkpoint":
        from recommenders.checkpoint import load_adapter  # torch loads only when asked for

        return load_adapter(rest, corpus=corpus, fingerprint=data.fingerprint)
    if spec == "popularity":
        return PopularityAdapter(corpus)
    if spec == "random":
        return RandomAdapter(corpus)
    if not sep or not head or not rest:
        raise AdapterSpecError(
            f"unknown adapter {spec!r}: use one of {list(REAL_BUILTIN)}, filter:SPEC, "
            "filter-cluster:SPEC, checkpoint:PATH, or package.module:Class"
        )
    try:
        module = importlib.import_module(head)
    except ImportError as error:
        raise AdapterSpecError(f"adapter {spec!r}: cannot import {head!r} ({error})") from None
    cls = getattr(module, rest, None)
    if not (isinstance(cls, type) and issubclass(cls, RecommenderAdapter)):
        raise AdapterSpecError(f"adapter {spec!r} is not a RecommenderAdapter subclass")
    try:
        return cls(corpus)
    except Exception as error:  # the user's constructor: report it, never a deep traceback
        raise AdapterSpecError(
            f"adapter {spec!r}: {rest}(corpus) failed: {type(error).__name__}: {error}"
        ) from None


__all__ = ["REAL_BUILTIN", "DataCorpus", "build_real_adapter"]
