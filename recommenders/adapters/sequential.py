"""A trained sequential model behind the adapter contract."""

from __future__ import annotations

import numpy as np
import torch

from recommenders.adapter import ScoringAdapter
from recommenders.history import HistoryBatch
from recommenders.inference import last_state_logits
from recommenders.models import SequentialRecommender
from recommenders.variants import Variant


class SequentialModelAdapter(ScoringAdapter):
    """Serves slates from a :class:`SequentialRecommender`.

    Scores are the logits s . v_j of the state after each history's last
    event (after the variant's input transform), computed in batches of
    ``batch_size`` under ``torch.inference_mode()``. The slate is the top
    items with consumed items excluded (``exclude_consumed``) and ties broken
    by lower item id, so serving is deterministic.
    """

    def __init__(
        self,
        model: SequentialRecommender,
        variant: Variant,
        name: str | None = None,
        exclude_consumed: bool = True,
        device: str = "cpu",
        batch_size: int = 2048,
    ) -> None:
        super().__init__(model.n_items, exclude_consumed=exclude_consumed)
        self.model = model.to(device).eval()
        self.variant = variant
        self.device = device
        self.batch_size = batch_size
        self._name = name or f"{model.config.kind}/{variant.name}"

    @property
    def name(self) -> str:
        return self._name

    def score(self, batch: HistoryBatch) -> np.ndarray:
        scores = np.empty((len(batch), self.n_items), np.float64)
        for first in range(0, len(batch), self.batch_size):
            rows = slice(first, first + self.batch_size)
            logits = last_state_logits(
                self.model,
                self.variant,
                batch.items[rows],
                batch.feedback[rows],
                batch.dwell[rows],
                batch.lengths[rows],
                self.device,
            )
            scores[rows] = logits.to(torch.float64).cpu().numpy()
        return scores
