"""Training losses for sequential retrievers that learn from positive *and* negative labels.

The losses use torch and numpy only and import nothing else from the project at run
time; the training loop hands in what a loss's training builder reads (a
``TrainConfig``, the training windows, the corpus size).

One loss family per module, each registering its losses in its ``ENTRIES``
(how to add one: :mod:`recommenders.losses.registry`):

* :mod:`~recommenders.losses.base`: logit sources, input checks, weighted reduction,
  the stable ``(log p, log(1 - p))`` helper, the :class:`Loss` protocol, the base class
  ``WeightedLoss`` and the registry record :class:`LossEntry`;
* :mod:`~recommenders.losses.softmax`: full and sampled softmax cross-entropy;
* :mod:`~recommenders.losses.gbce`: gSASRec's gBCE (and SASRec's BCE) and its negative
  term;
* :mod:`~recommenders.losses.not_to_recommend`: the paper's ``-w log(1 - p)``, full and
  sampled;
* :mod:`~recommenders.losses.negative_weight`: negative-weight cross-entropy and its
  smoothed and focal forms, for comparison;
* :mod:`~recommenders.losses.registry`: :data:`POSITIVE_LOSSES`, :data:`NEGATIVE_LOSSES`;
* :mod:`~recommenders.losses.objective`: :class:`Objective` (eq. 1) and
  :func:`paper_objective`.

Notation (used in every docstring of the package)
-------------------------------------------------
* ``s``: a user state vector, one row of ``states`` (shape ``(N, d)``), in the same
  ``d``-dimensional space as the item embeddings ``v_j``.
* ``z_j = s . v_j``: the logit (unnormalised log-probability, in nats) of item ``j``;
  ``z`` without an index means the label's own logit ``z_y``.
* ``p = p(y|s) = exp(z_y) / sum_j exp(z_j)``: the full-softmax probability of the label
  ``y`` over the whole corpus of ``V`` items (Wang et al., RecSys 2023, section 2).
* ``r`` / ``w``: per-example label weights, **non-negative magnitudes** (dimensionless;
  e.g. feedback strength). Every loss here takes ``weights >= 0`` and raises otherwise.
  The "negative-weight" family (:class:`NegativeWeightCE`, :class:`EpsSmoothedCE`,
  :class:`FocalNegative`) applies the minus sign itself: a caller passes ``w = 0.5`` and
  the loss is the negative-weight formulation (docs/losses.md) with the weight ``-0.5``.
  So the same weight column drives every variant of an :class:`Objective`.

Two derivatives are discussed and they are *different claims*:

* ``dL/dp``: derivative w.r.t. the probability. This is the one the paper's "gradient
  blow-up when p -> 0" is about (``d(-w log p)/dp = -w/p``).
* ``dL/dz``: derivative w.r.t. the label's logit ``z_y`` (``dp/dz_y = p (1 - p)``); this
  is what actually reaches the network, multiplied by embeddings.

Calling convention (interchangeable, RePlay-style)
--------------------------------------------------
Every loss is an object called as ``loss(source, states, labels, weights, *,
reduction="sum")`` where ``source`` is a :class:`LogitSource` (so a full softmax and a
sampled softmax are swappable without the trainer building logits itself), ``labels``
is ``(N,)`` int64 item ids in ``[0, V)`` and ``weights`` is ``(N,)`` float. It returns a
0-dim tensor::

    sum_i weights_i * loss_i / normaliser

with ``reduction="sum"`` (default, normaliser 1), ``"mean"`` (normaliser = number of
examples with non-zero weight, at least 1 so an all-zero batch gives 0, not NaN), or a
positive number given by the caller (e.g. a fixed batch size). Every loss also has
``per_example(source, states, labels) -> (N,)`` giving the unweighted ``loss_i``.
"""

from recommenders.losses.base import (
    EmbeddingLogits,
    LogitSource,
    Loss,
    LossEntry,
    Reduction,
    log_p_and_log1m_p,
    reduce_weighted,
)
from recommenders.losses.gbce import GBCE, GBCENegative, gbce_beta
from recommenders.losses.negative_weight import EpsSmoothedCE, FocalNegative, NegativeWeightCE
from recommenders.losses.not_to_recommend import NotToRecommend, SampledNotToRecommend
from recommenders.losses.objective import Objective, paper_objective
from recommenders.losses.registry import NEGATIVE_LOSSES, POSITIVE_LOSSES
from recommenders.losses.softmax import SampledSoftmax, SoftmaxCE

__all__ = [
    "GBCE",
    "NEGATIVE_LOSSES",
    "POSITIVE_LOSSES",
    "EmbeddingLogits",
    "EpsSmoothedCE",
    "FocalNegative",
    "GBCENegative",
    "LogitSource",
    "Loss",
    "LossEntry",
    "NegativeWeightCE",
    "NotToRecommend",
    "Objective",
    "Reduction",
    "SampledNotToRecommend",
    "SampledSoftmax",
    "SoftmaxCE",
    "gbce_beta",
    "log_p_and_log1m_p",
    "paper_objective",
    "reduce_weighted",
]
