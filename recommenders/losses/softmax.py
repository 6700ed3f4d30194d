"""Softmax cross-entropy for positive labels: full (:class:`SoftmaxCE`) and sampled with
logQ correction (:class:`SampledSoftmax`, on the shared :class:`SampledSoftmaxBase`).

Notation: the :mod:`recommenders.losses` package docstring.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from recommenders.losses.base import (
    LogitSource,
    LossEntry,
    TrainingOptions,
    TrainingWindows,
    WeightedLoss,
)


class SoftmaxCE(WeightedLoss):
    """Full-softmax cross-entropy for positive labels: ``L_i = -r_i log p(y_i|s_i)``.

    Computed as ``logsumexp_j z_j - z_y`` (never forms ``p``). Derivatives:
    ``dL/dp = -r/p``; ``dL/dz_y = -r (1 - p)``; ``dL/dz_j = r p_j`` for ``j != y``.
    Cost: ``O(N V d)`` (all logits).
    """

    def per_example(self, source: LogitSource, states: Tensor, labels: Tensor) -> Tensor:
        logits = source.full(states)
        return torch.logsumexp(logits, dim=-1) - logits.gather(1, labels[:, None]).squeeze(1)


class SampledSoftmaxBase(WeightedLoss):
    """Candidate logits ``[label, n_neg sampled items]`` with the logQ correction.

    Subclasses turn the ``(N, 1 + n_neg)`` candidate logits into a per-example loss in
    ``_from_candidates`` (:class:`SampledSoftmax`,
    :class:`~recommenders.losses.not_to_recommend.SampledNotToRecommend`).
    """

    def __init__(
        self,
        n_neg: int = 100,
        q: Tensor | None = None,
        generator: torch.Generator | None = None,
        logq_correction: bool = True,
        shared: bool = False,
    ) -> None:
        if n_neg < 1:
            raise ValueError("n_neg must be >= 1")
        if q is not None:
            if q.dim() != 1 or bool((q < 0).any()) or not bool(q.sum() > 0):
                raise ValueError("q must be a 1-d non-negative tensor with positive sum")
        self.n_neg = int(n_neg)
        self.generator = torch.Generator().manual_seed(0) if generator is None else generator
        self.q = None if q is None else (q / q.sum()).to(self.generator.device, torch.float64)
        self.logq_correction = bool(logq_correction)
        self.shared = bool(shared)

    def sample_negatives(self, labels: Tensor, n_items: int) -> Tensor:
        """``(N, n_neg)`` item ids drawn i.i.d. from ``q`` (with replacement) using the
        generator, returned on ``labels``' device. Uniform over ``[0, V)`` if ``q`` is None.
        Accidental hits (a draw equal to the label) are *not* removed here; the loss
        masks them. With ``shared=True`` one draw of ``n_neg`` items serves every row
        (an expanded view), which turns the candidate logits into one matmul: the
        estimator stays unbiased for each row, only the rows' draws are dependent."""
        n = labels.shape[0]
        if self.shared and n > 1:
            one = self.sample_negatives(labels[:1], n_items)
            return one.expand(n, self.n_neg)
        if self.q is None:
            neg = torch.randint(
                0, n_items, (n, self.n_neg), generator=self.generator, device=self.generator.device
            )
        else:
            if self.q.shape[0] != n_items:
                raise ValueError(f"q has length {self.q.shape[0]}, corpus has {n_items} items")
            neg = torch.multinomial(
                self.q, n * self.n_neg, replacement=True, generator=self.generator
            ).view(n, self.n_neg)
        return neg.to(labels.device)

    def _log_q(self, items: Tensor, n_items: int, dtype: torch.dtype) -> Tensor:
        if self.q is None:
            return torch.full(items.shape, -math.log(n_items), dtype=dtype, device=items.device)
        if self.q.shape[0] != n_items:
            raise ValueError(f"q has length {self.q.shape[0]}, corpus has {n_items} items")
        return torch.log(self.q.to(items.device, dtype)[items])

    def candidate_logits(
        self, source: LogitSource, states: Tensor, labels: Tensor, negatives: Tensor
    ) -> Tensor:
        """``(N, 1 + n_neg)`` logits; column 0 is the label.

        Column 0 is ``z_y`` (uncorrected). Column ``k >= 1`` is ``z_{n_k} - log(K q_{n_k})``
        with ``K = n_neg`` if ``logq_correction`` else plain ``z_{n_k}``; accidental hits
        (``n_k == y``) are ``-inf``.
        """
        label_logit = source.gather(states, labels[:, None])
        # Gathered apart from the label so a shared draw stays an expanded view (one matmul).
        neg = source.gather(states, negatives)
        if self.logq_correction:
            log_kq = self._log_q(negatives, source.n_items, neg.dtype) + math.log(self.n_neg)
            neg = neg - log_kq
        neg = neg.masked_fill(negatives == labels[:, None], float("-inf"))
        return torch.cat([label_logit, neg], dim=1)

    def per_example(  # type: ignore[override]
        self, source: LogitSource, states: Tensor, labels: Tensor, negatives: Tensor | None = None
    ) -> Tensor:
        if negatives is None:
            negatives = self.sample_negatives(labels, source.n_items)
        return self._from_candidates(self.candidate_logits(source, states, labels, negatives))

    def _from_candidates(self, cand: Tensor) -> Tensor:
        raise NotImplementedError


class SampledSoftmax(SampledSoftmaxBase):
    """Sampled-softmax cross-entropy with logQ correction, for positive labels.

    Estimator (importance sampling, Bengio & Senecal 2008; Jean et al. 2015): draw
    ``K = n_neg`` items ``n_1..n_K`` i.i.d. from ``q`` (a length-``V`` tensor, normalised
    here; default uniform) with the given ``torch.Generator`` (deterministic per seed) and
    put::

        p_hat(y|s) = exp(z_y) / (exp(z_y) + sum_k [n_k != y] exp(z_{n_k} - log(K q_{n_k})))
        L_i        = -r_i log p_hat(y_i|s_i)

    The denominator is an unbiased estimate of ``Z = sum_j exp(z_j)``: the indicator
    ``[n_k != y]`` (accidental hits masked with ``-inf``) removes the label from the
    sampled sum and ``1/(K q)`` reweights each draw. ``log p_hat`` is therefore a
    consistent but, for finite ``K``, biased estimate of ``log p`` (``E log Z_hat <=
    log Z``, Jensen), and the expected gradient is a ratio estimate of the full-softmax
    gradient ``-(1 - p) v_y + sum_{j != y} p_j v_j``: the bias shrinks like ``1/K``.
    Without the correction (``logq_correction=False``) negatives are plain ``z_{n_k}`` and
    under a non-uniform ``q`` popular items are over-penalised; the tests measure both.

    Convention note: TensorFlow's ``sampled_softmax_loss(subtract_log_q=True)`` and the
    in-batch correction of Yi et al. (2019) subtract ``log q`` from the label's logit too;
    that shifts only column 0 (by ``log(K q_y)``) and changes ``p_hat``'s scale, not which
    negatives are pushed. Derivative: ``dL/dz_y = -r (1 - p_hat)``.
    """

    def _from_candidates(self, cand: Tensor) -> Tensor:
        return torch.logsumexp(cand, dim=-1) - cand[:, 0]


def _sampled_softmax_for_training(
    config: TrainingOptions, windows: TrainingWindows, n_items: int
) -> SampledSoftmax:
    """``config.n_negatives`` negatives per batch, shared by its rows, drawn by frequency.

    One shared draw per batch makes the candidate logits a ``(N, d) x (d, K)`` matmul
    instead of ``N x V`` logits. Negatives follow the items' frequency in the training
    windows (+1 smoothing), the usual choice: popular items, which dominate the softmax's
    normaliser, are drawn often, and the logQ correction removes the sampling bias. The
    generator is a CPU one seeded with ``config.seed``.
    """
    valid = windows.items[windows.items >= 0]
    q = torch.as_tensor(np.bincount(valid, minlength=n_items) + 1.0, dtype=torch.float64)
    generator = torch.Generator().manual_seed(config.seed)
    return SampledSoftmax(n_neg=config.n_negatives, shared=True, generator=generator, q=q)


ENTRIES = (
    LossEntry("softmax_ce", SoftmaxCE, role="positive"),
    LossEntry(
        "sampled_softmax",
        SampledSoftmax,
        role="positive",
        from_train_config=_sampled_softmax_for_training,
    ),
)
"""This family's registry entries (collected by :mod:`recommenders.losses.registry`)."""
