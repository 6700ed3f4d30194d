"""A trained sequential model behind the adapter contract."""

from __future__ import annotations

import numpy as np
import torch

from recommenders.adapters.torch_scoring import TorchScoringAdapter
from recommenders.devices import DEFAULT_CACHE_BYTES
from recommenders.history import HistoryBatch
from recommenders.inference import as_tensors, model_window
from recommenders.models import SequentialRecommender
from recommenders.models.incremental import PrefixStateCache
from recommenders.variants import Variant


class SequentialModelAdapter(TorchScoringAdapter):
    """Serves slates from a :class:`SequentialRecommender`.

    Scores are the logits s . v_j of the state after each history's last
    event (after the variant's input transform and the model's ``max_len``
    window), float32 on ``device``, under ``torch.inference_mode()``. The
    slate is the top items with consumed items excluded (``exclude_consumed``)
    and ties broken by lower item id, made on the same device
    (:class:`~recommenders.adapters.torch_scoring.TorchScoringAdapter`), so
    serving is deterministic.

    States: with ``cache_bytes`` (the default) and a model that supports it
    (``model.incremental``), a :class:`~recommenders.models.incremental.PrefixStateCache`
    of at most ``cache_bytes`` computes each history from its longest cached
    prefix, one event per history and call in the counterfactual protocol;
    histories longer than ``max_len`` (a sliding window) are recomputed.
    ``cache_bytes=None`` (``--no-cache``) recomputes every history, in chunks of
    ``batch_size`` rows.
    """

    def __init__(
        self,
        model: SequentialRecommender,
        variant: Variant,
        name: str | None = None,
        exclude_consumed: bool = True,
        device: str = "cpu",
        batch_size: int = 2048,
        cache_bytes: int | None = DEFAULT_CACHE_BYTES,
    ) -> None:
        super().__init__(model.n_items, exclude_consumed=exclude_consumed)
        self.model = model.to(device).eval()
        self.variant = variant
        self.device = device
        self.batch_size = batch_size
        self._name = name or f"{model.config.kind}/{variant.name}"
        self.cache = (
            PrefixStateCache(self.model, cache_bytes, device)
            if cache_bytes is not None and model.incremental
            else None
        )

    @property
    def name(self) -> str:
        return self._name

    def score_tensor(self, batch: HistoryBatch) -> torch.Tensor:
        with torch.inference_mode():
            return self.model.logits(self._prepare(batch))

    def _chunk_scores(self, prepared, rows: slice, chunk: HistoryBatch) -> torch.Tensor:
        return self.model.logits(prepared[rows])

    def _prepare(self, batch: HistoryBatch) -> torch.Tensor:
        """(N, dim) user states of the whole batch: one cache pass (so branches forked from
        one prefix all find it), or full recomputation chunk by chunk."""
        max_len = self.model.config.max_len
        states = torch.empty(len(batch), self.model.config.dim, device=self.device)
        if self.cache is None:
            for start in range(0, len(batch), self.batch_size):
                rows = slice(start, start + self.batch_size)
                states[rows] = self._recompute(batch, rows, max_len)
            return states
        (items, feedback, dwell, lengths), windowed = model_window(
            self.variant, batch.items, batch.feedback, batch.dwell, batch.lengths, max_len
        )
        cached = np.flatnonzero(~windowed)
        piece = self.cache.rows_per_call()
        for start in range(0, len(cached), piece):
            rows = cached[start : start + piece]
            states[torch.as_tensor(rows, device=self.device)] = self.cache.last_states(
                items[rows], feedback[rows], dwell[rows], lengths[rows]
            )
        self.cache.finish()
        slid = np.flatnonzero(windowed)
        for start in range(0, len(slid), self.batch_size):
            rows = slid[start : start + self.batch_size]
            inputs = as_tensors(
                items[rows], feedback[rows], dwell[rows], lengths[rows], self.device
            )
            states[torch.as_tensor(rows, device=self.device)] = self.model.last_state(*inputs)
        return states

    def _recompute(self, batch: HistoryBatch, rows, max_len: int) -> torch.Tensor:
        (items, feedback, dwell, lengths), _ = model_window(
            self.variant,
            batch.items[rows],
            batch.feedback[rows],
            batch.dwell[rows],
            batch.lengths[rows],
            max_len,
        )
        return self.model.last_state(*as_tensors(items, feedback, dwell, lengths, self.device))
