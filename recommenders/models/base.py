"""The contract every trained sequential recommender implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from recommenders.history import PAD
from recommenders.models.config import ModelConfig
from recommenders.models.features import EMBEDDING_STD, EventEncoder, LastEventCross


class SequentialRecommender(nn.Module, abc.ABC):
    """A user-state network over right-padded histories, scored against tied item embeddings.

    ``forward`` encodes each event with :class:`EventEncoder`, puts a learned
    BOS vector in front (so an empty history has a state) and runs the
    subclass's sequence network over the ``L + 1`` positions. The result
    ``states[:, t]`` is the user state s after the first ``t`` events and
    depends on events ``< t`` only; ``states[:, 0]`` is the BOS state.
    Positions ``t > lengths[b]`` hold unspecified values: mask them.

    Scores are ``s . v_j`` with ``v_j = item_embedding.weight[j]``, the same
    table that embeds input items (tied, as in SASRec).

    With ``config.last_event_cross`` the network's state is read out through
    :class:`LastEventCross`, ``s_t = n_t + c(f_t) * v_{x_t}`` (n_t the network's
    output after event t; the BOS state has no event and is n_0); every path to a
    state (:meth:`forward`, :meth:`prefill`, :meth:`extend`, :meth:`trace`) applies it
    here, once.

    Subclasses implement :meth:`_contextualise`. A subclass that can also be
    served incrementally (``incremental = True``) implements :meth:`state_shapes`,
    :meth:`_prefill` and :meth:`_extend`: per-position states that let
    :class:`recommenders.models.incremental.PrefixStateCache` compute the state
    after one more event from the state before it, in O(1) events per history
    instead of O(L). A traceable one implements :meth:`_trace`.
    """

    incremental: ClassVar[bool] = False
    """Whether :meth:`prefill` and :meth:`extend` are implemented."""

    def __init__(self, config: ModelConfig, n_items: int, kind: str) -> None:
        super().__init__()
        if config.kind != kind:
            raise ValueError(f"{type(self).__name__} needs kind={kind!r}, got {config.kind!r}")
        if n_items <= 0:
            raise ValueError(f"n_items must be positive, got {n_items}")
        self.config = config
        self.n_items = n_items
        self.events = EventEncoder(n_items, config.dim, config.features, config.feedback_entry)
        self.bos = nn.Parameter(torch.empty(config.dim).normal_(std=EMBEDDING_STD))
        self.last_event = (
            LastEventCross(config.dim, config.features, config.last_event_map)
            if config.last_event_cross
            else None
        )

    @property
    def item_embedding(self) -> nn.Embedding:
        """Input and output item embeddings, (n_items, dim); owned by ``self.events``."""
        return self.events.item_embedding

    @abc.abstractmethod
    def _contextualise(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, L + 1, dim) BOS + event vectors -> (B, L + 1, dim) causal states."""

    def forward(
        self,
        items: torch.Tensor,
        feedback: torch.Tensor,
        dwell: torch.Tensor,
        lengths: torch.Tensor,
    ) -> torch.Tensor:
        """(B, L) right-padded events and (B,) lengths -> (B, L + 1, dim) states."""
        self._check(items, feedback, dwell, lengths)
        states = self._contextualise(self.embed(items, feedback, dwell, lengths), lengths)
        return self.read_out(states, items, feedback, dwell)

    def read_out(self, states, items, feedback, dwell) -> torch.Tensor:
        """The user states from the network's outputs (B, W + 1, dim) after right-padded
        events (B, W): with :class:`LastEventCross`, position t >= 1 gains the cross of
        event t - 1 (padding positions gain nothing); otherwise ``states`` as they are."""
        if self.last_event is None:
            return states
        valid = items != PAD
        vectors = self.item_embedding(torch.where(valid, items, 0))
        cross = self.last_event(vectors, feedback, dwell) * valid.unsqueeze(-1).to(states.dtype)
        return torch.cat([states[:, :1], states[:, 1:] + cross], dim=1)

    def read_out_step(self, out, items, feedback, dwell) -> torch.Tensor:
        """:meth:`read_out` for one event per row: (B, dim) outputs after events (B,)."""
        if self.last_event is None:
            return out
        return out + self.last_event(self.item_embedding(items), feedback, dwell)

    def embed(
        self,
        items: torch.Tensor,
        feedback: torch.Tensor,
        dwell: torch.Tensor,
        lengths: torch.Tensor,
    ) -> torch.Tensor:
        """(B, L) right-padded events -> (B, L + 1, dim): the BOS vector, then each event's."""
        batch, width = items.shape
        mask = torch.arange(width, device=items.device) < lengths.unsqueeze(1)
        x = self.events(items, feedback, dwell, mask)
        return torch.cat([self.bos.expand(batch, 1, -1).to(x.dtype), x], dim=1)

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of each per-position serving state (after the row and position axes).

        ``"out"`` (dim,) is always one of them: the user state s after position p.
        """
        raise NotImplementedError(f"{type(self).__name__} is not served incrementally")

    def prefill(
        self,
        states: dict[str, torch.Tensor],
        items: torch.Tensor,
        feedback: torch.Tensor,
        dwell: torch.Tensor,
        lengths: torch.Tensor,
    ) -> None:
        """Write positions ``0..lengths[b]`` of ``states[name][b]`` (B, positions, *shape)
        from right-padded events (B, L); position 0 is BOS, position p follows event p."""
        out = self._prefill(states, items, feedback, dwell, lengths)
        states["out"][:, : out.shape[1]] = self.read_out(out, items, feedback, dwell)

    def extend(
        self,
        states: dict[str, torch.Tensor],
        rows: slice | torch.Tensor,
        at: torch.Tensor,
        items: torch.Tensor,
        feedback: torch.Tensor,
        dwell: torch.Tensor,
    ) -> torch.Tensor:
        """Consume one event per row: position ``at[b]`` of row ``rows[b]`` from the
        positions before it; returns the new user states s (B, dim).

        ``items``, ``feedback``, ``dwell`` are (B,); ``rows`` is a slice (contiguous
        rows, read in place) or an index tensor; positions ``< at[b]`` of each row are
        valid and are not changed.
        """
        out = self._extend(states, rows, at, items, feedback, dwell)
        out = self.read_out_step(out, items, feedback, dwell)
        put_positions(states["out"], rows, at, out)
        return out

    def _prefill(self, states, items, feedback, dwell, lengths) -> torch.Tensor:
        """:meth:`prefill`'s network part: write every state but ``"out"`` and return the
        network's outputs (B, L + 1, dim)."""
        raise NotImplementedError(f"{type(self).__name__} is not served incrementally")

    def _extend(self, states, rows, at, items, feedback, dwell) -> torch.Tensor:
        """:meth:`extend`'s network part: write every state but ``"out"`` at ``at`` and
        return the network's outputs (B, dim)."""
        raise NotImplementedError(f"{type(self).__name__} is not served incrementally")

    def trace(
        self,
        items: torch.Tensor,
        feedback: torch.Tensor,
        dwell: torch.Tensor,
        lengths: torch.Tensor,
    ) -> ModelTrace:
        """Every intermediate of :meth:`forward` (dropout as the module's mode has it): the
        network's input, each layer's output and the final states, all (B, L + 1, dim)
        over the same positions as ``forward``'s, plus attention weights where the
        network has them. ``trace(...).levels[-1]`` equals ``forward(...)``; with the
        last-event cross, the level before it (``"network"``) is the state without it."""
        if self.training:
            raise RuntimeError(f"{type(self).__name__}.trace needs eval mode (call model.eval())")
        self._check(items, feedback, dwell, lengths)
        levels, attention = self._trace(items, feedback, dwell, lengths)
        if self.last_event is not None:
            levels.append(self.read_out(levels[-1], items, feedback, dwell))
        names = level_names(self.config.n_layers, self.last_event is not None)
        return ModelTrace(names, tuple(levels), attention)

    def _trace(self, items, feedback, dwell, lengths):
        """:meth:`trace`'s network part: the list of levels up to the network's output
        (input, each layer, the output), and per-layer attention weights or None."""
        raise NotImplementedError(f"{type(self).__name__} cannot be traced")

    def last_state(
        self,
        items: torch.Tensor,
        feedback: torch.Tensor,
        dwell: torch.Tensor,
        lengths: torch.Tensor,
    ) -> torch.Tensor:
        """(B, dim): the state after each row's whole history, ``states[b, lengths[b]]``."""
        states = self(items, feedback, dwell, lengths)
        return states[torch.arange(states.shape[0], device=states.device), lengths]

    def logits(self, states: torch.Tensor) -> torch.Tensor:
        """(..., dim) states -> (..., n_items) scores ``s . v_j`` over the whole catalogue."""
        return states @ self.item_embedding.weight.T

    @staticmethod
    def truncate(items, feedback, dwell, lengths, max_len: int):
        """Keep each row's most recent ``max_len`` events, right-padded again.

        Works on numpy arrays or torch tensors (returns the same kind).
        Returns ``(items, feedback, dwell, lengths)`` of width
        ``min(width, max_len)``, padded with PAD / PAD / NaN.
        """
        if max_len < 0:
            raise ValueError(f"truncate: max_len must be >= 0, got {max_len}")
        lib = torch if isinstance(items, torch.Tensor) else np
        rows, width = items.shape
        new_lengths = lengths.clip(max=max_len)
        cols = lib.arange(min(width, max_len))
        if lib is torch:
            cols = cols.to(items.device)
        source = (lengths - new_lengths)[:, None] + cols[None, :]
        source = source.clip(max=max(width - 1, 0))
        row_index = lib.arange(rows)[:, None]
        if lib is torch:
            row_index = row_index.to(items.device)
        keep = cols[None, :] < new_lengths[:, None]

        def take(a, fill):
            return lib.where(keep, a[row_index, source], fill)

        return take(items, PAD), take(feedback, PAD), take(dwell, float("nan")), new_lengths

    def _check(self, items, feedback, dwell, lengths) -> None:
        name = type(self).__name__
        if items.ndim != 2 or feedback.shape != items.shape or dwell.shape != items.shape:
            raise ValueError(
                f"{name}: items, feedback, dwell must be (B, L) of one shape, got "
                f"{tuple(items.shape)}, {tuple(feedback.shape)}, {tuple(dwell.shape)}"
            )
        if lengths.shape != items.shape[:1]:
            raise ValueError(f"{name}: lengths must have shape ({items.shape[0]},)")
        width = items.shape[1]
        if width > self.config.max_len:
            raise ValueError(
                f"{name}: width {width} > max_len {self.config.max_len}; use truncate() first"
            )
        mask = torch.arange(width, device=items.device) < lengths.unsqueeze(1)
        bad_items = ((items < 0) | (items >= self.n_items)) & mask
        bad_lengths = (lengths < 0) | (lengths > width)
        if bool(bad_items.any() | bad_lengths.any()):
            raise ValueError(
                f"{name}: lengths must be in [0, {width}] and items within length in "
                f"[0, {self.n_items})"
            )


@dataclass(frozen=True)
class ModelTrace:
    """What :meth:`SequentialRecommender.trace` returns.

    Attributes:
        names: a name per level: ``"input"`` (what the sequence network reads: event
            vectors, plus positions for a transformer), ``"layer 1"``.. and ``"state"``
            (the user states s that score items).
        levels: (B, L + 1, dim) per level, position t after the first t events.
        attention: per layer, (B, heads, L + 1, L + 1) softmax weights of each query
            position over key positions (rows sum to 1 over visible keys); None for a
            network without attention.
    """

    names: tuple[str, ...]
    levels: tuple[torch.Tensor, ...]
    attention: tuple[torch.Tensor, ...] | None = None


def level_names(n_layers: int, last_event_cross: bool = False) -> tuple[str, ...]:
    """``("input", "layer 1", ..., "layer n", "state")``: the levels of a :class:`ModelTrace`;
    with the last-event cross, ``"network"`` (the state before it) comes before ``"state"``."""
    network = ("network",) if last_event_cross else ()
    return ("input", *(f"layer {i + 1}" for i in range(n_layers)), *network, "state")


def take_positions(
    tensor: torch.Tensor, rows: slice | torch.Tensor, at: torch.Tensor
) -> torch.Tensor:
    """``tensor[rows[b], at[b]]`` for every b: one position per row of a (R, T, ...) state."""
    if isinstance(rows, slice):
        tensor = tensor[rows]
        rows = torch.arange(tensor.shape[0], device=tensor.device)
    return tensor[rows, at]


def put_positions(
    tensor: torch.Tensor, rows: slice | torch.Tensor, at: torch.Tensor, value: torch.Tensor
) -> None:
    """``tensor[rows[b], at[b]] = value[b]`` in place (``rows`` as in :func:`take_positions`)."""
    if isinstance(rows, slice):
        tensor = tensor[rows]
        rows = torch.arange(tensor.shape[0], device=tensor.device)
    tensor[rows, at] = value
