"""Wang et al.'s eq. 1 as data: :class:`Objective` (a positive-label loss plus a
negative-label loss over one batch) and :func:`paper_objective`.

Notation: the :mod:`recommenders.losses` package docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from recommenders.losses.base import LogitSource, Loss, Reduction, check_inputs, normaliser
from recommenders.losses.registry import NEGATIVE_LOSSES, POSITIVE_LOSSES, LossRegistry


def _build(
    spec: str | Loss | None, registry: LossRegistry, kwargs: Mapping[str, Any] | None
) -> Loss | None:
    if spec is None:
        if kwargs:
            raise ValueError("kwargs given for a loss that is None")
        return None
    if isinstance(spec, str):
        return registry[spec](**dict(kwargs or {}))
    if kwargs:
        raise ValueError("kwargs are only for a loss given by name")
    return spec


class Objective:
    """Eq. 1 of Wang et al. as data: a positive-label loss plus a negative-label loss.

    ``L = [ sum_{i in pos} r_i l_pos(i) + sum_{i in neg} w_i l_neg(i) ] / normaliser``

    With ``positive="softmax_ce", negative="not_to_recommend"`` this is exactly
    ``-sum_pos r_i log p(y_i|s_i) - sum_neg w_i log(1 - p(y_i|s_i))``.

    Args:
        positive: a name in :data:`~recommenders.losses.registry.POSITIVE_LOSSES` or a
            loss object.
        negative: a name in :data:`~recommenders.losses.registry.NEGATIVE_LOSSES`, a loss
            object, or ``None`` (negative labels ignored: the positives-only baseline).
        positive_kwargs / negative_kwargs: constructor arguments for a named loss
            (e.g. ``{"n_neg": 100, "generator": g}``, ``{"eps": 1e-3}``).
        reduction: ``"sum"`` (default), ``"mean"`` or a positive number. One normaliser
            is shared by both parts, so ``total == components["positive"] +
            components["negative"]`` and the relative weighting of positive and negative
            labels is set by the weights alone; for ``"mean"`` it is the number of
            examples with non-zero weight among those some loss scores (at least 1).

    Raises:
        KeyError: an unknown loss name.
    """

    def __init__(
        self,
        positive: str | Loss = "softmax_ce",
        negative: str | Loss | None = "not_to_recommend",
        *,
        positive_kwargs: Mapping[str, Any] | None = None,
        negative_kwargs: Mapping[str, Any] | None = None,
        reduction: Reduction = "sum",
    ) -> None:
        self.positive = _build(positive, POSITIVE_LOSSES, positive_kwargs)
        self.negative = _build(negative, NEGATIVE_LOSSES, negative_kwargs)
        normaliser(torch.zeros(1), reduction)  # validate early
        self.reduction = reduction

    def __call__(
        self,
        source: LogitSource,
        states: Tensor,
        labels: Tensor,
        weights: Tensor,
        is_negative: Tensor,
    ) -> tuple[Tensor, dict[str, float]]:
        """Return ``(total, components)``.

        ``is_negative``: ``(N,)`` bool, True for negative labels (e.g. dislikes, skips).
        ``components`` (python numbers, for logging): ``positive`` and ``negative``
        (each part already divided by the shared normaliser), ``n_positive`` and
        ``n_negative`` (rows with non-zero weight), ``normaliser``.
        """
        check_inputs(source, states, labels, weights)
        if is_negative.shape != labels.shape or is_negative.dtype != torch.bool:
            raise ValueError("is_negative must be a bool tensor shaped like labels")
        pos, neg = ~is_negative, is_negative
        n_pos = int(torch.count_nonzero(weights[pos]))
        n_neg = int(torch.count_nonzero(weights[neg]))
        scored = n_pos + (n_neg if self.negative is not None else 0)
        if self.reduction == "sum":
            norm = 1.0
        elif self.reduction == "mean":
            norm = float(max(scored, 1))
        else:
            norm = float(self.reduction)
        zero = states.new_zeros(())
        parts = []
        for loss, mask in ((self.positive, pos), (self.negative, neg)):
            if loss is None or not bool(mask.any()):
                parts.append(zero)
            else:
                parts.append(
                    loss(source, states[mask], labels[mask], weights[mask], reduction=norm)
                )
        total = parts[0] + parts[1]
        components = {
            "positive": float(parts[0].detach()),
            "negative": float(parts[1].detach()),
            "n_positive": n_pos,
            "n_negative": n_neg,
            "normaliser": norm,
        }
        return total, components

    def __repr__(self) -> str:
        return (
            f"Objective(positive={self.positive!r}, negative={self.negative!r}, "
            f"reduction={self.reduction!r})"
        )


def paper_objective(
    negative: str | Loss | None = "not_to_recommend",
    *,
    positive: str | Loss = "softmax_ce",
    positive_kwargs: Mapping[str, Any] | None = None,
    negative_kwargs: Mapping[str, Any] | None = None,
    reduction: Reduction = "sum",
) -> Objective:
    """Wang et al. (2023) eq. 1, ``-sum_pos r log p - sum_neg w log(1 - p)``, as an
    :class:`Objective`; pass another ``negative`` (e.g. ``"negative_weight_ce"``) or
    ``positive`` (e.g. ``"sampled_softmax"``) name for a variant."""
    return Objective(
        positive,
        negative,
        positive_kwargs=positive_kwargs,
        negative_kwargs=negative_kwargs,
        reduction=reduction,
    )
