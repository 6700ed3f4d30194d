"""SASRec / gSASRec: a causal pre-norm transformer over the event sequence."""

from __future__ import annotations

import torch
from torch import nn

from recommenders.models.base import SequentialRecommender
from recommenders.models.config import ModelConfig
from recommenders.models.features import EMBEDDING_STD


class SASRecRecommender(SequentialRecommender):
    """``states = LayerNorm(Transformer_causal(dropout([bos, e_1, ..., e_L] + p)))``.

    Learned positions ``p`` (``max_len + 1`` of them, BOS at 0, counted from
    the oldest event, so right padding never shifts them). Layers are torch's
    ``nn.TransformerEncoderLayer`` (pre-norm, GELU, feed-forward width
    ``dim`` as in SASRec) under a causal mask plus a key-padding mask; the
    BOS key is always visible, so no attention row is fully masked. Nested
    tensors are off (deterministic, no fast-path zeros). Every layer is
    re-initialised independently (xavier-uniform matrices, zero biases),
    since ``nn.TransformerEncoder`` deep-copies one layer.
    """

    def __init__(self, config: ModelConfig, n_items: int) -> None:
        super().__init__(config, n_items, kind="sasrec")
        self.positions = nn.Embedding(config.max_len + 1, config.dim)
        nn.init.normal_(self.positions.weight, std=EMBEDDING_STD)
        self.dropout = nn.Dropout(config.dropout)
        layer = nn.TransformerEncoderLayer(
            config.dim,
            config.n_heads,
            dim_feedforward=config.dim,
            dropout=config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.transformer = nn.TransformerEncoder(
            layer, config.n_layers, norm=nn.LayerNorm(config.dim), enable_nested_tensor=False
        )
        for name, param in self.transformer.named_parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
            elif name.endswith("bias"):
                nn.init.zeros_(param)

    def _contextualise(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        positions = torch.arange(n, device=x.device)
        x = self.dropout(x + self.positions(positions))
        causal = torch.ones(n, n, dtype=torch.bool, device=x.device).triu(1)
        padding = positions.unsqueeze(0) > lengths.unsqueeze(1)
        return self.transformer(x, mask=causal, src_key_padding_mask=padding, is_causal=True)
