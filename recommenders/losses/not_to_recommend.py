"""Wang et al.'s (RecSys 2023) not-to-recommend loss for negative labels,
``-w log(1 - p)``: over the full softmax (:class:`NotToRecommend`) and over the
sampled-softmax estimate (:class:`SampledNotToRecommend`).

Notation: the :mod:`recommenders.losses` package docstring.
"""

from __future__ import annotations

import torch
from torch import Tensor

from recommenders.losses.base import (
    LogitSource,
    LossEntry,
    WeightedLoss,
    full_log_probs,
    log_p_and_log1m_p,
)
from recommenders.losses.softmax import SampledSoftmaxBase


class NotToRecommend(WeightedLoss):
    """The paper's "not-to-recommend" loss: ``L_i = -w_i log(1 - p(y_i|s_i))``.

    ``log(1 - p)`` comes from :func:`~recommenders.losses.base.log_p_and_log1m_p` (masked
    logsumexp for p >= 1/2, ``log1p(-exp(log p))`` below), never from ``1 - softmax``.
    Derivatives:

    * ``dL/dp = w / (1 - p)``: equals ``w`` at p = 0 and stays bounded as p -> 0 (the
      paper's "gradient is guaranteed to be finite when p -> 0" is this derivative);
      it grows as p -> 1.
    * ``dL/dz_y = w p``: vanishes like ``w p`` as p -> 0 (nothing left to push once the
      item is not recommended), bounded by ``w`` for every p; for ``j != y``
      ``dL/dz_j = -w p_j p / (1 - p)`` and these sum to ``-w p``. So the logit gradient has
      L1 norm ``2 w p <= 2 w`` even when ``p`` rounds to 1 in float.
    * Loss: 0 at p = 0; as p -> 1 it grows like ``w (z_y - logsumexp_{j != y} z_j)``
      (linear in the logit margin, finite for finite logits).
    """

    def per_example(self, source: LogitSource, states: Tensor, labels: Tensor) -> Tensor:
        return -full_log_probs(source, states, labels)[1]


class SampledNotToRecommend(SampledSoftmaxBase):
    """Not-to-recommend with the sampled-softmax estimate: ``L_i = -w_i log(1 - p_hat)``.

    ``p_hat`` is :class:`~recommenders.losses.softmax.SampledSoftmax`'s estimate (same
    sampling, same logQ correction, same accidental-hit masking), and ``log(1 - p_hat)``
    uses the same stable helper. A row whose every draw is an accidental hit has no
    estimate of ``1 - p`` and contributes 0 (probability ``q_y^K``).
    """

    def _from_candidates(self, cand: Tensor) -> Tensor:
        valid = torch.isfinite(cand[:, 1:]).any(dim=1)
        # Rows with no usable negative: replace by a dummy finite row so no NaN/inf reaches
        # backward, then zero their loss.
        safe = torch.where(valid[:, None], cand, torch.zeros_like(cand))
        label_col = torch.zeros(cand.shape[0], dtype=torch.long, device=cand.device)
        log1m = log_p_and_log1m_p(safe, label_col)[1]
        return torch.where(valid, -log1m, torch.zeros_like(log1m))


ENTRIES = (
    LossEntry("not_to_recommend", NotToRecommend, role="negative"),
    LossEntry("sampled_not_to_recommend", SampledNotToRecommend, role="negative"),
)
"""This family's registry entries (collected by :mod:`recommenders.losses.registry`)."""
