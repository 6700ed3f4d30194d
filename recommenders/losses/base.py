"""What every loss shares: logit sources, input checks, weighted reduction, the stable
``(log p, log(1 - p))`` helper, the :class:`Loss` protocol, the base class
:class:`WeightedLoss` and the registry record :class:`LossEntry`.

Notation and calling convention: the :mod:`recommenders.losses` package docstring.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from torch import Tensor

Reduction = Literal["sum", "mean"] | float

_LOG_HALF = -math.log(2.0)


# ---------------------------------------------------------------------------------------
# Logit sources
# ---------------------------------------------------------------------------------------


@runtime_checkable
class LogitSource(Protocol):
    """What the trainer hands to a loss: a way to get logits, not the logits themselves.

    ``full(states)`` returns ``(N, V)`` logits ``z_ij = s_i . v_j`` over the whole corpus;
    ``gather(states, items)`` returns ``(N, M)`` logits for the item ids ``items``
    (``(N, M)`` int64), i.e. ``z[i, m] = s_i . v_{items[i, m]}``. ``n_items`` is ``V``.
    """

    n_items: int

    def full(self, states: Tensor) -> Tensor: ...

    def gather(self, states: Tensor, items: Tensor) -> Tensor: ...


class EmbeddingLogits:
    """Dot-product logits against an item-embedding table: ``z_ij = s_i . E_j``.

    Args:
        item_embeddings: ``(V, d)`` tensor ``E`` (may require grad; gradients flow to it
            through both :meth:`full` and :meth:`gather`).
    """

    def __init__(self, item_embeddings: Tensor) -> None:
        if item_embeddings.dim() != 2:
            raise ValueError(f"item_embeddings must be (V, d), got {tuple(item_embeddings.shape)}")
        self.item_embeddings = item_embeddings
        self.n_items: int = int(item_embeddings.shape[0])

    def full(self, states: Tensor) -> Tensor:
        """``(N, d) -> (N, V)``: ``states @ E.T``."""
        return states @ self.item_embeddings.T

    def gather(self, states: Tensor, items: Tensor) -> Tensor:
        """``(N, d), (N, M) -> (N, M)``: ``z[i, m] = states[i] . E[items[i, m]]``."""
        if items.dim() == 2 and items.shape[0] > 1 and items.stride(0) == 0:
            # One candidate set shared by every row (an expanded view): a plain matmul,
            # without materialising the (N, M, d) gathered embeddings.
            return states @ self.item_embeddings[items[0]].T
        if items.dim() == 2 and items.shape[1] * self.item_embeddings.shape[1] > self.n_items:
            # Many candidates per row (gBCE's 256 negatives per position): the (N, M, d)
            # gathered embeddings would outgrow the (N, V) logits, so score every item with
            # one matmul and pick the columns. Same values; the memory is N V instead of
            # N M d, and the backward pass is a matmul instead of a scatter of N M rows.
            return self.full(states).gather(1, items)
        return torch.einsum("nd,nmd->nm", states, self.item_embeddings[items])


# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------


def check_inputs(source: LogitSource, states: Tensor, labels: Tensor, weights: Tensor) -> None:
    """Raise ValueError unless ``states`` is ``(N, d)``, ``labels`` int64 ``(N,)`` in
    ``[0, V)`` and ``weights`` float ``(N,)`` with every weight ``>= 0``."""
    if states.dim() != 2:
        raise ValueError(f"states must be (N, d), got {tuple(states.shape)}")
    n = states.shape[0]
    if labels.shape != (n,) or labels.dtype != torch.long:
        raise ValueError(
            f"labels must be int64 of shape ({n},), got {labels.dtype} {tuple(labels.shape)}"
        )
    if weights.shape != (n,) or not weights.is_floating_point():
        raise ValueError(
            f"weights must be float of shape ({n},), got {weights.dtype} {tuple(weights.shape)}"
        )
    if n and (bool((labels < 0).any()) or bool((labels >= source.n_items).any())):
        raise ValueError(f"labels must lie in [0, {source.n_items})")
    if n and bool((weights < 0).any()):
        raise ValueError(
            "weights must be >= 0 (magnitudes); losses that need a negative weight "
            "(negative_weight_ce, eps_smoothed_ce, focal_negative) apply the sign themselves"
        )


def normaliser(weights: Tensor, reduction: Reduction) -> Tensor | float:
    """The divisor ``reduction`` stands for (package docstring); ValueError if invalid."""
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        # Number of examples with non-zero weight; at least 1 so an empty batch gives 0.
        return torch.count_nonzero(weights).clamp(min=1).to(weights.dtype)
    if isinstance(reduction, int | float) and not isinstance(reduction, bool) and reduction > 0:
        return float(reduction)
    raise ValueError(f"reduction must be 'sum', 'mean' or a positive number, got {reduction!r}")


def reduce_weighted(per_example: Tensor, weights: Tensor, reduction: Reduction = "sum") -> Tensor:
    """``sum_i weights_i * per_example_i / normaliser`` (see the package docstring).

    Examples with weight exactly 0 contribute exactly 0 even if their loss is infinite
    (``0 * inf`` would be NaN).
    """
    terms = torch.where(weights != 0, weights * per_example, torch.zeros_like(per_example))
    return terms.sum() / normaliser(weights, reduction)


def log_p_and_log1m_p(logits: Tensor, label_col: Tensor) -> tuple[Tensor, Tensor]:
    """Stable ``(log p, log(1 - p))`` of the softmax over each row of ``logits``.

    ``p`` is the softmax probability of column ``label_col[i]`` of row ``i``
    (``logits`` is ``(N, M)``, ``label_col`` ``(N,)`` int64; ``-inf`` entries are items
    that do not take part).

    * ``log p = z_y - logsumexp_j z_j``.
    * ``log(1 - p)``: the log1mexp trick (Maechler 2012) with both branches exact:
      for ``log p < -log 2`` (p < 1/2) it is ``log1p(-exp(log p))``, accurate when p is
      tiny (p = 1e-12 gives -1e-12, not a difference of two O(1) numbers); for
      ``p >= 1/2`` it is ``logsumexp_{j != y} z_j - logsumexp_j z_j``, the label's logit
      masked with ``-inf`` in the first logsumexp. The second form never forms ``1 - p``,
      so it stays exact when ``p`` rounds to 1.0 in floating point: with the label's
      logit 50 above 9 others it returns ``-(50 - log 9 + ...)``, about ``-47.8``, not
      ``-inf``. No clamp or floor is applied: for finite logits ``log(1 - p)`` is finite
      and equals ``-(z_y - logsumexp_{j != y} z_j) + O(exp(-margin))``, and its gradient
      w.r.t. every logit is bounded (see
      :class:`~recommenders.losses.not_to_recommend.NotToRecommend`). A floor would zero
      the gradient exactly where the unwanted item is most over-recommended.
      The branch not taken is evaluated at a clamped, safe argument so that it
      contributes neither NaN nor inf to the backward pass.

    ``log(1 - p)`` is ``-inf`` only if the row has no other finite logit.
    """
    lse_all = torch.logsumexp(logits, dim=-1)
    z_y = logits.gather(1, label_col[:, None]).squeeze(1)
    log_p = z_y - lse_all
    is_label = torch.zeros_like(logits, dtype=torch.bool)
    is_label.scatter_(1, label_col[:, None], True)
    lse_others = torch.logsumexp(logits.masked_fill(is_label, float("-inf")), dim=-1)
    complement = lse_others - lse_all
    small = log_p < _LOG_HALF
    via_log1mexp = torch.log1p(-torch.exp(torch.clamp(log_p, max=_LOG_HALF)))
    return log_p, torch.where(small, via_log1mexp, complement)


def full_log_probs(source: LogitSource, states: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`log_p_and_log1m_p` over the full softmax of ``source``."""
    return log_p_and_log1m_p(source.full(states), labels)


# ---------------------------------------------------------------------------------------
# The loss contract and the shared base class
# ---------------------------------------------------------------------------------------


class Loss(Protocol):
    """The one signature every loss in the registries has."""

    def __call__(
        self,
        source: LogitSource,
        states: Tensor,
        labels: Tensor,
        weights: Tensor,
        *,
        reduction: Reduction = "sum",
    ) -> Tensor: ...


class WeightedLoss:
    """``__call__`` = check inputs, ``per_example``, weight, reduce.

    A subclass implements ``per_example(source, states, labels) -> (N,)``, the unweighted
    ``loss_i``; a sampled one also accepts ``negatives=`` there.
    """

    def per_example(self, source: LogitSource, states: Tensor, labels: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(
        self,
        source: LogitSource,
        states: Tensor,
        labels: Tensor,
        weights: Tensor,
        *,
        reduction: Reduction = "sum",
        negatives: Tensor | None = None,
    ) -> Tensor:
        """As every loss. Sampled losses also take ``negatives`` (``(N, n_neg)`` ids),
        which overrides their sampling (tests, sharing one draw between two losses)."""
        check_inputs(source, states, labels, weights)
        if negatives is None:
            per = self.per_example(source, states, labels)
        else:
            per = self.per_example(source, states, labels, negatives=negatives)  # type: ignore[call-arg]
        return reduce_weighted(per, weights, reduction)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "generator")
        return f"{type(self).__name__}({fields})"


# ---------------------------------------------------------------------------------------
# The registry record
# ---------------------------------------------------------------------------------------


class TrainingOptions(Protocol):
    """The training settings a loss's builder may read
    (:class:`recommenders.training.TrainConfig` has them all)."""

    seed: int
    device: str
    n_negatives: int
    gbce_t: float


class TrainingWindows(Protocol):
    """The labelled training windows a builder may read
    (:class:`recommenders.sequences.Slices`): ``items`` (n, L) ids, negative for padding."""

    items: Any


TrainingBuilder = Callable[[TrainingOptions, TrainingWindows, int], WeightedLoss]
"""``(config, windows, n_items) -> loss``: how the training loop builds a registered loss
from its settings, the labelled training windows and the corpus size."""


@dataclass(frozen=True)
class LossEntry:
    """One registered loss (see :mod:`recommenders.losses.registry`).

    Attributes:
        name: the registry key (``TrainConfig.positive_loss``, ``Variant.negative_loss``,
            ``Objective``'s names).
        cls: the loss class.
        role: ``"positive"`` or ``"negative"``: the registry the entry belongs to.
        fixed: constructor arguments the name implies (``"bce"`` is
            ``GBCE(n_neg=1, t=0.0)``); they cannot be overridden.
        from_train_config: how training builds the loss; ``None`` means
            ``cls(**fixed)`` with the class's defaults.
    """

    name: str
    cls: type[WeightedLoss]
    role: Literal["positive", "negative"]
    fixed: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    from_train_config: TrainingBuilder | None = None

    def __post_init__(self) -> None:
        if self.role not in ("positive", "negative"):
            raise ValueError(f"LossEntry {self.name!r}: role must be 'positive' or 'negative'")

    def __call__(self, **kwargs: Any) -> WeightedLoss:
        """``cls(**fixed, **kwargs)``: the loss ``Objective`` builds for this name."""
        return self.cls(**self.fixed, **kwargs)

    def for_training(
        self, config: TrainingOptions, windows: TrainingWindows, n_items: int
    ) -> WeightedLoss:
        """The loss the training loop uses (``from_train_config``, else the defaults)."""
        if self.from_train_config is None:
            return self()
        return self.from_train_config(config, windows, n_items)
