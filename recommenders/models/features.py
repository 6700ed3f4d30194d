"""Embedding of one input event: its item plus the configured feedback features."""

from __future__ import annotations

import torch
from torch import nn

from recommenders.history import N_FEEDBACK, PAD, Feedback
from recommenders.models.config import FeatureConfig

EMBEDDING_STD = 0.02
"""Standard deviation of every embedding table's N(0, std) initialisation."""


class EventEncoder(nn.Module):
    """``e = v_item + [E_dislike[is_dislike]] + [E_dwell[bucket]] + [E_type[feedback]]``.

    The encoder owns the item table ``item_embedding`` (n_items, dim); the
    model reuses it as its output embeddings (tied, as in SASRec). Each
    feature adds one small table, present only when configured, so a model
    with every feature off sees nothing but item ids: its states are exactly
    blind to feedback.

    Padding (``mask`` false, or ``items == PAD``) is looked up at index 0
    (never -1) and its vector zeroed, so it contributes neither values nor
    gradients. NaN dwell (the padding value) is read as 0.

    Args:
        n_items: item vocabulary size.
        dim: embedding width.
        features: which feedback features to embed.
    """

    def __init__(self, n_items: int, dim: int, features: FeatureConfig) -> None:
        super().__init__()
        self.features = features
        self.item_embedding = nn.Embedding(n_items, dim)
        self.dislike = nn.Embedding(2, dim) if features.dislike else None
        self.dwell = nn.Embedding(features.dwell_buckets, dim) if features.dwell_buckets else None
        self.feedback_type = nn.Embedding(N_FEEDBACK, dim) if features.feedback_type else None
        for table in (self.item_embedding, self.dislike, self.dwell, self.feedback_type):
            if table is not None:
                nn.init.normal_(table.weight, std=EMBEDDING_STD)

    def forward(
        self, items: torch.Tensor, feedback: torch.Tensor, dwell: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """(B, L) items, feedback codes, dwell and bool mask -> (B, L, dim) event vectors."""
        mask = mask & (items != PAD)
        out = self.item_embedding(torch.where(mask, items, 0))
        if self.dislike is not None:
            out = out + self.dislike((feedback == Feedback.DISLIKE).long())
        if self.dwell is not None:
            out = out + self.dwell(dwell_bucket(dwell, self.dwell.num_embeddings))
        if self.feedback_type is not None:
            out = out + self.feedback_type(feedback.clamp(0, N_FEEDBACK - 1))
        return out * mask.unsqueeze(-1).to(out.dtype)


def dwell_bucket(dwell: torch.Tensor, n_buckets: int) -> torch.Tensor:
    """Equal-width bucket of a dwell fraction: [0, 1/n) -> 0, ..., [(n-1)/n, 1] -> n-1.

    Values outside [0, 1] are clipped; NaN (padding) reads as 0.
    """
    clean = torch.nan_to_num(dwell, nan=0.0).clamp(0.0, 1.0)
    return (clean * n_buckets).long().clamp(max=n_buckets - 1)
