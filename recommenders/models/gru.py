"""Wang et al.'s RNN retrieval model: event embeddings -> GRU -> projection."""

from __future__ import annotations

import torch
from torch import nn

from recommenders.models.base import SequentialRecommender
from recommenders.models.config import ModelConfig


class GRURecommender(SequentialRecommender):
    """``states = W · GRU(dropout([bos, e_1, ..., e_L])) + b``.

    The BOS is a learned initial *input* (the base class's ``bos`` vector,
    fed as step 0 from a zero hidden state), not a learned initial hidden
    state: both kinds then share one layout, and every row has at least one
    step. The GRU runs left to right over right-padded inputs, so an output
    at ``t <= lengths[b]`` never sees padding (no packing needed); outputs
    past the length are unspecified. GRU and projection weights keep torch's
    default initialisation (uniform, ±1/sqrt(dim)).
    """

    def __init__(self, config: ModelConfig, n_items: int) -> None:
        super().__init__(config, n_items, kind="gru")
        self.dropout = nn.Dropout(config.dropout)
        self.gru = nn.GRU(
            config.dim,
            config.dim,
            num_layers=config.n_layers,
            batch_first=True,
            dropout=config.dropout if config.n_layers > 1 else 0.0,
        )
        self.projection = nn.Linear(config.dim, config.dim)

    def _contextualise(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.dropout(x))
        return self.projection(out)
