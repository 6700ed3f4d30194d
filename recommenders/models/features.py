"""Embedding of one input event: its item plus the configured feedback features."""

from __future__ import annotations

import torch
from torch import nn

from recommenders.history import N_FEEDBACK, PAD, Feedback
from recommenders.models.config import FEEDBACK_ENTRIES, FeatureConfig

EMBEDDING_STD = 0.02
"""Standard deviation of every embedding table's N(0, std) initialisation."""


class EventEncoder(nn.Module):
    """An event's input vector from its item and its configured feedback features.

    With ``entry="add"`` (the default), ``e = v_item + f`` where
    ``f = [E_dislike[is_dislike]] + [E_dwell[bucket]] + [E_type[feedback]]``.

    The additive form moves every event's vector by the same ``f`` whatever the
    item: a disliked item's own embedding still reaches the sequence network with
    weight one, and what the network does with "this item, disliked" must come from
    its nonlinearities. The two other entries change that:

    * ``"concat"``: ``e = W [v_item; f_dislike; f_dwell; f_type]``, one learned map
      (dim x dim * (1 + features)) initialised to ``[I, I, ...]`` so that training
      starts from the additive form;
    * ``"latent_cross"``: ``e = v_item * (1 + c) + f`` with a second set of feature
      tables ``c`` (initialised to zero, so again starting from "add"): the feedback
      rescales the item's own coordinates, e.g. ``c = -2`` turns a disliked item into
      ``-v_item`` (Beutel et al., "Latent Cross", WSDM 2018; Wang et al.'s [2]).

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
        entry: ``"add"``, ``"concat"`` or ``"latent_cross"`` (above); without any
            feature every entry is the item embedding alone.
    """

    def __init__(self, n_items: int, dim: int, features: FeatureConfig, entry: str = "add") -> None:
        super().__init__()
        if entry not in FEEDBACK_ENTRIES:
            raise ValueError(
                f"EventEncoder: unknown entry {entry!r}; use one of {FEEDBACK_ENTRIES}"
            )
        self.features = features
        self.entry = entry
        self.item_embedding = nn.Embedding(n_items, dim)
        self.dislike = nn.Embedding(2, dim) if features.dislike else None
        self.dwell = nn.Embedding(features.dwell_buckets, dim) if features.dwell_buckets else None
        self.feedback_type = nn.Embedding(N_FEEDBACK, dim) if features.feedback_type else None
        for table in (self.item_embedding, self.dislike, self.dwell, self.feedback_type):
            if table is not None:
                nn.init.normal_(table.weight, std=EMBEDDING_STD)
        tables = [t for t in (self.dislike, self.dwell, self.feedback_type) if t is not None]
        self.project = self.cross_dislike = self.cross_dwell = self.cross_type = None
        if entry == "concat" and tables:
            self.project = nn.Linear(dim * (1 + len(tables)), dim, bias=False)
            with torch.no_grad():
                self.project.weight.copy_(torch.eye(dim).repeat(1, 1 + len(tables)))
        elif entry == "latent_cross" and tables:
            self.cross_dislike = _zeros_like(self.dislike)
            self.cross_dwell = _zeros_like(self.dwell)
            self.cross_type = _zeros_like(self.feedback_type)

    def forward(
        self, items: torch.Tensor, feedback: torch.Tensor, dwell: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """(B, L) items, feedback codes, dwell and bool mask -> (B, L, dim) event vectors."""
        mask = mask & (items != PAD)
        item = self.item_embedding(torch.where(mask, items, 0))
        tables = [t for t in (self.dislike, self.dwell, self.feedback_type) if t is not None]
        crosses = [
            c for c in (self.cross_dislike, self.cross_dwell, self.cross_type) if c is not None
        ] or [None] * len(tables)
        indices = feature_indices(self.features, feedback, dwell)
        # (additive table, multiplicative table, index) per feature
        codes = list(zip(tables, crosses, indices, strict=True))
        if self.project is not None:
            out = self.project(torch.cat([item, *(table(i) for table, _, i in codes)], dim=-1))
        else:
            out = item
            if self.entry == "latent_cross" and codes:
                out = item * (1 + sum(cross(i) for _, cross, i in codes))
            for table, _, index in codes:
                out = out + table(index)
        return out * mask.unsqueeze(-1).to(out.dtype)


def feature_indices(
    features: FeatureConfig, feedback: torch.Tensor, dwell: torch.Tensor
) -> list[torch.Tensor]:
    """The configured features' table indices, in the order dislike, dwell, feedback type:
    ``feedback == DISLIKE`` (0/1), the dwell bucket and the feedback code (clamped into
    the table, so padding codes read as 0)."""
    indices = []
    if features.dislike:
        indices.append((feedback == Feedback.DISLIKE).long())
    if features.dwell_buckets:
        indices.append(dwell_bucket(dwell, features.dwell_buckets))
    if features.feedback_type:
        indices.append(feedback.clamp(0, N_FEEDBACK - 1))
    return indices


LAST_EVENT_CROSSES = ("diagonal", "matrix")
"""How :class:`LastEventCross` maps the last item: element-wise ``c(f) * v`` or ``M(f) v``."""


class LastEventCross(nn.Module):
    """A feedback-aware pathway from the last event to the user state (latent cross).

    ``s' = s + c(f_t) * v_{x_t}``: the state after event t gains the last item's own
    (tied) embedding, scaled element-wise by ``c(f_t) = sum_features C_f[index_f(t)]``,
    one table per configured feedback feature (:func:`feature_indices`), initialised to
    zero so that training starts from the plain network. The score of item j moves by
    ``sum_d c_d(f_t) v_{x_t,d} v_{j,d}``, a feedback-dependent similarity to the last
    item: ``c = -a`` (a > 0) for a dislike lowers exactly the items whose embeddings
    resemble the disliked one. It is Beutel et al.'s latent cross (WSDM 2018, the
    paper's reference [2]: context embeddings multiplied into a hidden vector) with the
    last event's feedback as the context and its item as the vector, a path from the
    last event to the state that bypasses attention and the layers' normalisation.

    With ``kind="matrix"`` each feature value holds a dim x dim matrix instead,
    ``s' = s + sum_features M_f[index_f(t)] v_{x_t}``: the disliked item can be sent in
    any direction (for instance away from the items that resemble it), not only have its
    own coordinates rescaled.
    """

    def __init__(self, dim: int, features: FeatureConfig, kind: str = "diagonal") -> None:
        super().__init__()
        if not features.uses_feedback:
            raise ValueError("LastEventCross needs at least one feedback feature")
        if kind not in LAST_EVENT_CROSSES:
            raise ValueError(
                f"LastEventCross: unknown kind {kind!r}; use one of {LAST_EVENT_CROSSES}"
            )
        self.features = features
        self.kind = kind
        sizes = (2 if features.dislike else 0, features.dwell_buckets)
        sizes += (N_FEEDBACK if features.feedback_type else 0,)
        width = dim if kind == "diagonal" else dim * dim
        self.tables = nn.ModuleList(nn.Embedding(n, width) for n in sizes if n)
        for table in self.tables:
            nn.init.zeros_(table.weight)

    def forward(
        self, item_vectors: torch.Tensor, feedback: torch.Tensor, dwell: torch.Tensor
    ) -> torch.Tensor:
        """``c(f) * v`` (or ``M(f) v``): (..., dim) item vectors and (...) feedback codes
        and dwell."""
        indices = feature_indices(self.features, feedback, dwell)
        if self.kind == "diagonal":
            scale = sum(table(i) for table, i in zip(self.tables, indices, strict=True))
            return scale * item_vectors
        dim = item_vectors.shape[-1]
        out = torch.zeros_like(item_vectors)
        for table, index in zip(self.tables, indices, strict=True):
            # Every value's map applied to v (a handful of values), then each event's own.
            maps = table.weight.view(-1, dim, dim)
            mapped = torch.einsum("...d,ked->...ke", item_vectors, maps)
            out = (
                out
                + mapped.gather(-2, index[..., None, None].expand(*index.shape, 1, dim))[..., 0, :]
            )
        return out


def _zeros_like(table: nn.Embedding | None) -> nn.Embedding | None:
    """A table of ``table``'s shape initialised to zero (None for None)."""
    if table is None:
        return None
    zeros = nn.Embedding(table.num_embeddings, table.embedding_dim)
    nn.init.zeros_(zeros.weight)
    return zeros


def dwell_bucket(dwell: torch.Tensor, n_buckets: int) -> torch.Tensor:
    """Equal-width bucket of a dwell fraction: [0, 1/n) -> 0, ..., [(n-1)/n, 1] -> n-1.

    Values outside [0, 1] are clipped; NaN (padding) reads as 0.
    """
    clean = torch.nan_to_num(dwell, nan=0.0).clamp(0.0, 1.0)
    return (clean * n_buckets).long().clamp(max=n_buckets - 1)
