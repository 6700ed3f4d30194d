"""SASRec / gSASRec: a causal pre-norm transformer over the event sequence."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from recommenders.models.base import SequentialRecommender, put_positions
from recommenders.models.config import ModelConfig
from recommenders.models.features import EMBEDDING_STD


class SASRecRecommender(SequentialRecommender):
    """``states = LayerNorm(Transformer_causal(dropout([bos, e_1, ..., e_L] + p)))``.

    Learned positions ``p`` (``max_len + 1`` of them, BOS at 0, counted from
    the oldest event, so right padding never shifts them), or none with
    ``config.position_embeddings=False`` (order then reaches a state only through
    the causal mask: which events a position may attend to). With
    ``config.position_bias`` every attention logit from position i to j <= i gains a
    learned ``b_h[i - j]`` (one per head and distance, shared by the layers, zero at
    the start), so order reaches the attention weights without entering the event
    vectors (Shaw et al., 2018, "Self-attention with relative position
    representations"; T5's bias without buckets). Layers are torch's
    ``nn.TransformerEncoderLayer`` (pre-norm, GELU, feed-forward width
    ``dim`` as in SASRec) under a causal mask plus a key-padding mask; the
    BOS key is always visible, so no attention row is fully masked. Nested
    tensors are off (deterministic, no fast-path zeros). Every layer is
    re-initialised independently (xavier-uniform matrices, zero biases),
    since ``nn.TransformerEncoder`` deep-copies one layer.

    Served incrementally, the per-position state is every layer's key and
    value (n_layers, 2, dim): one more event is one query attending to the
    cached keys and values at positions 0..t (causal attention never lets an
    earlier position see a later one, so they do not change). Positions count
    from the oldest event, so a history longer than ``max_len`` (whose window
    slides, moving every position) cannot be extended and is recomputed.
    """

    incremental = True

    def __init__(self, config: ModelConfig, n_items: int) -> None:
        super().__init__(config, n_items, kind="sasrec")
        self.positions = None
        if config.position_embeddings:
            self.positions = nn.Embedding(config.max_len + 1, config.dim)
            nn.init.normal_(self.positions.weight, std=EMBEDDING_STD)
        self.distance_bias = None
        if config.position_bias:
            self.distance_bias = nn.Parameter(torch.zeros(config.n_heads, config.max_len + 1))
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
        x = self.dropout(self._add_positions(x, positions))
        padding = positions.unsqueeze(0) > lengths.unsqueeze(1)
        if self.distance_bias is not None:
            if not self.training:
                # torch's fused inference path (an even number of heads) misreads a 3-D
                # mask; the layer-by-layer pass is the same arithmetic, and causal
                # attention keeps the padding after lengths[b] out of every state we read.
                *_, last = self._causal_layers(x)
                return self.transformer.norm(last[-1])
            # One additive mask per row and head (batch-major, as nn.MultiheadAttention
            # reads a 3-D mask): the causal distance bias, padded keys at -inf.
            keys = torch.zeros(padding.shape, dtype=x.dtype, device=x.device)
            keys = keys.masked_fill(padding, float("-inf"))[:, None, None, :]
            mask = (self._distance_bias(positions, n)[None] + keys).flatten(0, 1)
            return self.transformer(x, mask=mask)
        causal = torch.ones(n, n, dtype=torch.bool, device=x.device).triu(1)
        return self.transformer(x, mask=causal, src_key_padding_mask=padding, is_causal=True)

    def _distance_bias(self, at: torch.Tensor, width: int) -> torch.Tensor:
        """(..., heads, Q, width) additive attention mask for queries at positions ``at``
        (..., Q) over keys 0..width-1: ``b_h[i - j]`` where j <= i, else -inf."""
        distance = at[..., None] - torch.arange(width, device=at.device)
        bias = self.distance_bias[:, distance.clamp(0, self.config.max_len)]
        return bias.masked_fill(distance < 0, float("-inf")).movedim(0, -3)

    def _causal_attend(self, width: int, device) -> dict:
        """The mask arguments of a causal pass over positions 0..width-1."""
        if self.distance_bias is None:
            return {"is_causal": True}
        return {"attn_mask": self._distance_bias(torch.arange(width, device=device), width)}

    def _add_positions(self, x: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
        """``x + p[at]`` (positions ``at`` broadcast against ``x``'s position axis), or
        ``x`` itself without position embeddings."""
        return x if self.positions is None else x + self.positions(at)

    def _trace(self, items, feedback, dwell, lengths):
        """As :meth:`forward` in eval mode, layer by layer (the same pre-norm arithmetic
        as :meth:`prefill`), with each layer's causal attention weights
        ``softmax(q k^T / sqrt(d_head) + b)`` per head (b the distance bias, if any)."""
        inputs = self._positioned(items, feedback, dwell, lengths)
        width = inputs.shape[1]
        future = torch.ones(width, width, dtype=torch.bool, device=inputs.device).triu(1)
        attend = self._causal_attend(width, inputs.device)
        bias = attend.get("attn_mask", 0.0)  # the distance bias, if any
        levels, attention = [inputs], []
        for level, query, keys, _, out in self._causal_layers(inputs, attend):
            heads = self._split_heads(level, query), self._split_heads(level, keys)
            logits = heads[0] @ heads[1].transpose(-1, -2) / heads[0].shape[-1] ** 0.5 + bias
            attention.append(logits.masked_fill(future, float("-inf")).softmax(-1))
            levels.append(out)
        levels.append(self.transformer.norm(out))
        return levels, tuple(attention)

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"kv": (self.config.n_layers, 2, self.config.dim), "out": (self.config.dim,)}

    def _qkv(self, level: int, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Query, key and value (B, Q, dim) of layer ``level`` for inputs ``x`` (B, Q, dim)."""
        layer = self.transformer.layers[level]
        attention = layer.self_attn
        qkv = F.linear(layer.norm1(x), attention.in_proj_weight, attention.in_proj_bias)
        return qkv.chunk(3, dim=-1)

    def _split_heads(self, level: int, t: torch.Tensor) -> torch.Tensor:
        """(B, Q, dim) -> (B, heads, Q, d_head) for layer ``level``'s attention."""
        heads = self.transformer.layers[level].self_attn.num_heads
        return t.unflatten(-1, (heads, t.shape[-1] // heads)).transpose(1, 2)

    def _attend(self, level, x, query, keys, values, attend) -> torch.Tensor:
        """The rest of pre-norm layer ``level`` (``norm_first=True``, dropout off in eval):
        ``x + out_proj(softmax(q k^T / sqrt(d_head)) v)``, then ``+ FF(LN2(.))``; keys and
        values (B, K, dim), ``attend`` the attention's mask arguments."""
        layer = self.transformer.layers[level]
        query, keys, values = (self._split_heads(level, t) for t in (query, keys, values))
        mixed = F.scaled_dot_product_attention(query, keys, values, **attend)
        x = x + layer.self_attn.out_proj(mixed.transpose(1, 2).flatten(-2))
        return x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))

    def _positioned(self, items, feedback, dwell, lengths) -> torch.Tensor:
        """(B, L + 1, dim): BOS and event vectors plus their positions (no dropout)."""
        x = self.embed(items, feedback, dwell, lengths)
        return self._add_positions(x, torch.arange(x.shape[1], device=x.device))

    def _causal_layers(self, x: torch.Tensor, attend: dict | None = None):
        """Each layer of the eval-mode causal pass over positioned inputs ``x``, in turn:
        ``(level, query, keys, values, output)``, the output being the next layer's input.
        Causal: a position <= lengths[b] never sees the padding after it. ``attend``:
        the pass's mask arguments (:meth:`_causal_attend`), when the caller has them."""
        if attend is None:
            attend = self._causal_attend(x.shape[1], x.device)
        for level in range(self.config.n_layers):
            query, keys, values = self._qkv(level, x)
            x = self._attend(level, x, query, keys, values, attend)
            yield level, query, keys, values, x

    def _prefill(self, states, items, feedback, dwell, lengths) -> torch.Tensor:
        inputs = self._positioned(items, feedback, dwell, lengths)
        width = inputs.shape[1]
        kv = states["kv"]
        for level, _, keys, values, out in self._causal_layers(inputs):  # noqa: B007 (the last output is the state)
            kv[:, :width, level, 0] = keys
            kv[:, :width, level, 1] = values
        return self.transformer.norm(out)

    def _extend(self, states, rows, at, items, feedback, dwell) -> torch.Tensor:
        valid = torch.ones(items.shape[0], 1, dtype=torch.bool, device=items.device)
        x = self.events(items[:, None], feedback[:, None], dwell[:, None], valid)
        x = self._add_positions(x, at[:, None])
        span = int(at.max()) + 1
        kv = states["kv"]
        if self.distance_bias is None:
            visible = torch.arange(span, device=at.device) <= at[:, None]
            attend = {"attn_mask": visible[:, None, None]}
        else:
            attend = {"attn_mask": self._distance_bias(at[:, None], span)}
        for level in range(self.config.n_layers):
            query, key, value = self._qkv(level, x)
            put_positions(kv[:, :, level], rows, at, torch.stack([key[:, 0], value[:, 0]], 1))
            cached = kv[rows, :span, level]  # a view for contiguous rows, else a copy
            x = self._attend(level, x, query, cached[:, :, 0], cached[:, :, 1], attend)
        return self.transformer.norm(x[:, 0])
