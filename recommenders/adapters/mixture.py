"""A mixture of adapters: each history is served by one component, chosen by a hash of it.

Used as an exploring logging policy (e.g. popularity with probability 0.5,
uniform random otherwise). Component c serves a history with probability
``weights[c] / sum(weights)``; the choice is a pure function of (seed, the
history's items and feedback), so the mixture stays a pure function of the
history as the adapter contract requires.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommenders.adapter import RecommenderAdapter
from recommenders.adapters.random import history_keys
from recommenders.history import History, HistoryBatch


class MixtureAdapter(RecommenderAdapter):
    """Routes each history to one of ``components`` with probabilities ``weights``."""

    def __init__(
        self, components: Sequence[RecommenderAdapter], weights: Sequence[float], seed: int = 0
    ) -> None:
        weights = np.asarray(weights, np.float64)
        if len(components) == 0 or len(components) != len(weights):
            raise ValueError("MixtureAdapter needs one weight per component, and at least one")
        if not (np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
            raise ValueError(
                f"MixtureAdapter weights must be finite, >= 0, not all 0; got {weights}"
            )
        self.components = list(components)
        self.cumulative = np.cumsum(weights / weights.sum())
        self.seed = int(seed)

    @property
    def name(self) -> str:
        parts = ", ".join(f"{c.name}" for c in self.components)
        return f"Mixture({parts})"

    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        batch = HistoryBatch.of(histories)
        u = (history_keys(batch, self.seed) >> np.uint64(11)).astype(np.float64) * 2.0**-53
        route = np.minimum(
            np.searchsorted(self.cumulative, u, side="right"), len(self.components) - 1
        )
        slates = np.empty((len(batch), slate_size), np.int64)
        for c, component in enumerate(self.components):
            rows = np.nonzero(route == c)[0]
            if rows.size:
                slates[rows] = component.recommend(batch.take(rows), slate_size)
        return slates
