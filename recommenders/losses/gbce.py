"""gSASRec's binary cross-entropy family (Petrov & Macdonald, RecSys 2023): the calibration
exponent :func:`gbce_beta`, the positive-label loss :class:`GBCE` (registered as ``"gbce"``
and, with one negative and ``t = 0``, as ``"bce"``, the original SASRec loss) and its
negative term applied to a disliked label, :class:`GBCENegative`.

Notation: the :mod:`recommenders.losses` package docstring.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
from torch import Tensor

from recommenders.losses.base import (
    LogitSource,
    LossEntry,
    TrainingOptions,
    TrainingWindows,
    WeightedLoss,
)


def gbce_beta(n_neg: int, n_items: int, t: float) -> float:
    """gSASRec's positive-term exponent ``beta = alpha (t (1 - 1/alpha) + 1/alpha)``.

    ``alpha = n_neg / (V - 1)`` is the negative-sampling rate, ``t in [0, 1]`` the
    calibration parameter. Algebraically ``beta = 1 + t (alpha - 1)``: ``t = 0`` gives
    ``beta = 1`` (plain BCE) and ``t = 1`` gives ``beta = alpha`` (the fully calibrated
    setting of Petrov & Macdonald 2023; their code and README use exactly this formula).
    """
    if not 0.0 <= t <= 1.0:
        raise ValueError("t must lie in [0, 1]")
    if n_items < 2 or not 1 <= n_neg <= n_items - 1:
        raise ValueError("need V >= 2 and 1 <= n_neg <= V - 1 (alpha must lie in (0, 1])")
    alpha = n_neg / (n_items - 1)
    return alpha * (t * (1.0 - 1.0 / alpha) + 1.0 / alpha)


class GBCE(WeightedLoss):
    """gSASRec's generalised binary cross-entropy (Petrov & Macdonald, RecSys 2023).

    For positive labels with ``K = n_neg`` sampled negatives (per example)::

        L_i = -r_i [ beta log sigma(z_y) + sum_k log(1 - sigma(z_{n_k})) ]
            = -r_i [ beta logsigmoid(z_y) + sum_k logsigmoid(-z_{n_k}) ]

    with ``beta = gbce_beta(K, V, t)`` (``t = 0.75`` in the paper's recommended setting,
    ``t = 0`` is plain BCE). Negatives are drawn uniformly from the ``V - 1`` items other
    than the label, *exactly* and without rejection: ``r ~ U{0..V-2}``, ``n = r + [r >= y]``;
    so there are no accidental hits to mask (duplicates among the K draws are possible,
    as in the reference sampler). ``normalise_by_candidates=True`` divides by ``K + 1`` as
    in the gSASRec README's formula (a constant rescale). Derivatives:
    ``dL/dz_y = -r beta (1 - sigma(z_y))``, ``dL/dz_{n_k} = r sigma(z_{n_k})``.
    """

    def __init__(
        self,
        n_neg: int = 256,
        t: float = 0.75,
        generator: torch.Generator | None = None,
        normalise_by_candidates: bool = False,
    ) -> None:
        if not 0.0 <= t <= 1.0:
            raise ValueError("t must lie in [0, 1]")
        self.n_neg = int(n_neg)
        self.t = float(t)
        self.generator = torch.Generator().manual_seed(0) if generator is None else generator
        self.normalise_by_candidates = bool(normalise_by_candidates)

    def beta(self, n_items: int) -> float:
        return gbce_beta(self.n_neg, n_items, self.t)

    def sample_negatives(self, labels: Tensor, n_items: int) -> Tensor:
        """``(N, n_neg)`` ids uniform over the ``V - 1`` items other than each label."""
        r = torch.randint(
            0,
            n_items - 1,
            (labels.shape[0], self.n_neg),
            generator=self.generator,
            device=self.generator.device,
        ).to(labels.device)
        return r + (r >= labels[:, None]).long()

    def per_example(  # type: ignore[override]
        self, source: LogitSource, states: Tensor, labels: Tensor, negatives: Tensor | None = None
    ) -> Tensor:
        beta = self.beta(source.n_items)
        if negatives is None:
            negatives = self.sample_negatives(labels, source.n_items)
        logits = source.gather(states, torch.cat([labels[:, None], negatives], dim=1))
        f = torch.nn.functional.logsigmoid
        loss = -(beta * f(logits[:, 0]) + f(-logits[:, 1:]).sum(dim=1))
        if self.normalise_by_candidates:
            loss = loss / (self.n_neg + 1)
        return loss


class GBCENegative(WeightedLoss):
    """gSASRec's negative term applied to a disliked label: ``L_i = -w_i log(1 - sigma(z_y))``.

    gBCE scores each item on its own (a sigmoid, not a softmax over the catalogue), and
    its sampled negatives enter as ``-log(1 - sigma(z_n))``; using that term on an
    explicitly disliked item is the binary-cross-entropy analogue of not-to-recommend.
    ``L = w softplus(z_y)``; ``dL/dz_y = w sigma(z_y) -> 0`` as the item's score falls, so
    like not-to-recommend the push fades once the item is no longer recommended, and
    the loss is bounded below by 0. It ignores the other items' logits.
    """

    def per_example(self, source: LogitSource, states: Tensor, labels: Tensor) -> Tensor:
        z = source.gather(states, labels[:, None])[:, 0]
        return torch.nn.functional.softplus(z)


def _per_position(config: TrainingOptions, n_items: int, n_neg: int, t: float) -> GBCE:
    """GBCE with ``n_neg`` negatives per labelled position, drawn on the training device by
    a generator seeded with ``config.seed``."""
    if n_neg > n_items - 1:
        raise ValueError(f"gbce: n_negatives {n_neg} must be <= n_items - 1 = {n_items - 1}")
    generator = torch.Generator(device=config.device).manual_seed(config.seed)
    return GBCE(n_neg=n_neg, t=t, generator=generator)


def _gbce_for_training(config: TrainingOptions, windows: TrainingWindows, n_items: int) -> GBCE:
    """``config.n_negatives`` negatives per position, calibration ``t = config.gbce_t``."""
    return _per_position(config, n_items, config.n_negatives, config.gbce_t)


_BCE = MappingProxyType({"n_neg": 1, "t": 0.0})
"""SASRec's original loss as gBCE: one negative, beta = 1 (Kang & McAuley 2018)."""


def _bce_for_training(config: TrainingOptions, windows: TrainingWindows, n_items: int) -> GBCE:
    """:data:`_BCE`: one negative per position, ``t = 0``."""
    return _per_position(config, n_items, **_BCE)


ENTRIES = (
    LossEntry("gbce", GBCE, role="positive", from_train_config=_gbce_for_training),
    LossEntry("bce", GBCE, role="positive", fixed=_BCE, from_train_config=_bce_for_training),
    LossEntry("gbce_negative", GBCENegative, role="negative"),
)
"""This family's registry entries (collected by :mod:`recommenders.losses.registry`)."""
