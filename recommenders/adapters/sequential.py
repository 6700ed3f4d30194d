"""A trained sequential model behind the adapter contract."""

from __future__ import annotations

import torch

from recommenders.adapters.torch_scoring import TorchScoringAdapter
from recommenders.history import HistoryBatch
from recommenders.inference import last_state_logits
from recommenders.models import SequentialRecommender
from recommenders.variants import Variant


class SequentialModelAdapter(TorchScoringAdapter):
    """Serves slates from a :class:`SequentialRecommender`.

    Scores are the logits s . v_j of the state after each history's last
    event (after the variant's input transform), float32 on ``device``,
    computed in batches of ``batch_size`` under ``torch.inference_mode()``. The
    slate is the top items with consumed items excluded (``exclude_consumed``)
    and ties broken by lower item id, made on the same device
    (:class:`~recommenders.adapters.torch_scoring.TorchScoringAdapter`), so
    serving is deterministic.
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

    def score_tensor(self, batch: HistoryBatch) -> torch.Tensor:
        return last_state_logits(
            self.model,
            self.variant,
            batch.items,
            batch.feedback,
            batch.dwell,
            batch.lengths,
            self.device,
        )
