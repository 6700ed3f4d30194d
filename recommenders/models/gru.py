"""Wang et al.'s RNN retrieval model: event embeddings -> GRU -> projection."""

from __future__ import annotations

import torch
from torch import nn

from recommenders.models.base import SequentialRecommender, put_positions, take_positions
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

    Served incrementally, the per-position state is every layer's hidden
    vector (n_layers, dim): one more event is one GRU step from it.
    """

    incremental = True

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

    def _trace(self, items, feedback, dwell, lengths):
        """As :meth:`forward` in eval mode, one GRU layer at a time (the layers
        :meth:`prefill` uses), so every layer's hidden vectors are seen."""
        x = self.embed(items, feedback, dwell, lengths)
        levels = [x]
        for layer in self._layers():
            x, _ = layer(x)
            levels.append(x)
        levels.append(self.projection(x))
        return levels, None

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"hidden": (self.config.n_layers, self.config.dim), "out": (self.config.dim,)}

    def _layers(self) -> list[nn.GRU]:
        """One single-layer GRU per layer, sharing this model's weights: a multi-layer GRU
        returns only the top layer's hidden vectors at each position."""
        if getattr(self, "_serving_layers", None) is None:
            layers = []
            for level in range(self.config.n_layers):
                layer = nn.GRU(self.config.dim, self.config.dim, batch_first=True)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    setattr(layer, f"{name}_l0", getattr(self.gru, f"{name}_l{level}"))
                layers.append(layer.eval())
            # Not a submodule: the weights are this model's own, saved once.
            object.__setattr__(self, "_serving_layers", layers)
        return self._serving_layers

    def train(self, mode: bool = True):
        # Weights change in training: the serving layers are rebuilt from them.
        object.__setattr__(self, "_serving_layers", None)
        return super().train(mode)

    def _prefill(self, states, items, feedback, dwell, lengths) -> torch.Tensor:
        x = self.embed(items, feedback, dwell, lengths)
        width = x.shape[1]
        for level, layer in enumerate(self._layers()):
            x, _ = layer(x)
            states["hidden"][:, :width, level] = x
        return self.projection(x)

    def _extend(self, states, rows, at, items, feedback, dwell) -> torch.Tensor:
        valid = torch.ones(items.shape[0], 1, dtype=torch.bool, device=items.device)
        x = self.events(items[:, None], feedback[:, None], dwell[:, None], valid)
        before = take_positions(states["hidden"], rows, at - 1)
        hidden = torch.empty_like(before)
        for level, layer in enumerate(self._layers()):
            x, h = layer(x, before[:, level][None].contiguous())
            hidden[:, level] = h[0]
        put_positions(states["hidden"], rows, at, hidden)
        return self.projection(x[:, 0])
