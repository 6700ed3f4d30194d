"""Cross-entropy with a negative label weight and two attempted cures, FOR COMPARISON with
not-to-recommend: :class:`NegativeWeightCE`, :class:`EpsSmoothedCE`,
:class:`FocalNegative`.

Each takes the weight magnitude ``w >= 0`` and applies the minus sign itself: a caller
passes ``w = 0.5`` and the loss is the negative-weight formulation (docs/losses.md) with
the weight ``-0.5``. Notation: the :mod:`recommenders.losses` package docstring.
"""

from __future__ import annotations

import torch
from torch import Tensor

from recommenders.losses.base import LogitSource, LossEntry, WeightedLoss, full_log_probs


class NegativeWeightCE(WeightedLoss):
    """Cross-entropy with a negative label weight; FOR COMPARISON ONLY (unstable).

    The negative-weight formulation ``L_i = w'_i (-log p)`` (docs/losses.md) with
    ``w'_i = -w_i < 0``. The caller passes the magnitude ``w_i >= 0``; this class negates
    it: ``L_i = w_i log p(y_i|s_i)``.

    * ``dL/dp = w / p``: blows up like ``1/p`` as p -> 0 (the paper's "gradient blow-up"
      is this derivative).
    * ``dL/dz_y = w (1 - p)``: tends to ``w`` as p -> 0 and does NOT vanish. The loss is
      unbounded below (``w log p -> -inf`` as ``z_y -> -inf``), so gradient descent keeps
      pushing the item's logit down forever and parameter norms grow; as p -> 1 the push
      ``w (1 - p)`` fades exactly where the unwanted item dominates.
    """

    def per_example(self, source: LogitSource, states: Tensor, labels: Tensor) -> Tensor:
        return full_log_probs(source, states, labels)[0]


class EpsSmoothedCE(WeightedLoss):
    """Smoothed negative-weight cross-entropy: ``L_i = w_i log(p + eps)`` (``w_i >= 0``;
    the negative-weight formulation ``w' (-log(p + eps))`` with ``w' = -w``), ``eps``
    default ``1e-3``.

    * Bounded: ``w log eps <= L <= w log(1 + eps)``.
    * ``dL/dp = w / (p + eps)``, bounded by ``w / eps``.
    * ``dL/dz_y = w p (1 - p) / (p + eps)``: about ``w p / eps`` -> 0 as p -> 0; about
      ``w (1 - p)`` for ``eps << p``, so it also fades as p -> 1.
    """

    def __init__(self, eps: float = 1e-3) -> None:
        if eps <= 0:
            raise ValueError("eps must be > 0")
        self.eps = float(eps)

    def per_example(self, source: LogitSource, states: Tensor, labels: Tensor) -> Tensor:
        log_p = full_log_probs(source, states, labels)[0]
        return torch.log(torch.exp(log_p) + self.eps)


class FocalNegative(WeightedLoss):
    """The focal form (docs/losses.md) with a negative weight: ``L = -w' (1 - p)^gamma log p``
    with ``w' = -w < 0``, i.e. (caller passes ``w >= 0``) ``L_i = w_i (1 - p)^gamma log p``.

    ``(1 - p)^gamma`` is computed as ``exp(gamma log(1 - p))`` with the stable helper.
    What the math says (``gamma >= 0``, default 2):

    * p -> 0: ``(1 - p)^gamma -> 1``, so the loss behaves like negative-weight CE:
      unbounded below (``~ w log p``); ``dL/dp = w [(1-p)^gamma / p - gamma (1-p)^(gamma-1)
      log p]``, so ``p dL/dp -> w`` and ``dL/dp`` blows up like ``1/p``. The focal factor
      does NOT cure the blow-up.
    * ``dL/dz_y = w [(1-p)^(gamma+1) - gamma p (1-p)^gamma log p] -> w`` as p -> 0: it
      never stops pushing, like negative-weight CE.
    * p -> 1: the factor ``(1-p)^gamma -> 0`` switches the loss off, so the item the model
      most wrongly recommends gets the weakest push: focal weighting down-weights
      *high*-probability examples, the opposite of what a negative label needs.
    """

    def __init__(self, gamma: float = 2.0) -> None:
        if gamma < 0:
            raise ValueError("gamma must be >= 0")
        self.gamma = float(gamma)

    def per_example(self, source: LogitSource, states: Tensor, labels: Tensor) -> Tensor:
        log_p, log1m_p = full_log_probs(source, states, labels)
        return torch.exp(self.gamma * log1m_p) * log_p


ENTRIES = (
    LossEntry("negative_weight_ce", NegativeWeightCE, role="negative"),
    LossEntry("eps_smoothed_ce", EpsSmoothedCE, role="negative"),
    LossEntry("focal_negative", FocalNegative, role="negative"),
)
"""This family's registry entries (collected by :mod:`recommenders.losses.registry`)."""
