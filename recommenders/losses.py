"""Training losses for sequential retrievers that learn from positive *and* negative labels.

Everything here is torch only and imports nothing else from the project.

Notation (used in every docstring below)
----------------------------------------
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

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from torch import Tensor

__all__ = [
    "GBCE",
    "NEGATIVE_LOSSES",
    "POSITIVE_LOSSES",
    "EmbeddingLogits",
    "EpsSmoothedCE",
    "FocalNegative",
    "LogitSource",
    "Loss",
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


def _check_inputs(source: LogitSource, states: Tensor, labels: Tensor, weights: Tensor) -> None:
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


def _normaliser(weights: Tensor, reduction: Reduction) -> Tensor | float:
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        # Number of examples with non-zero weight; at least 1 so an empty batch gives 0.
        return torch.count_nonzero(weights).clamp(min=1).to(weights.dtype)
    if isinstance(reduction, int | float) and not isinstance(reduction, bool) and reduction > 0:
        return float(reduction)
    raise ValueError(f"reduction must be 'sum', 'mean' or a positive number, got {reduction!r}")


def reduce_weighted(per_example: Tensor, weights: Tensor, reduction: Reduction = "sum") -> Tensor:
    """``sum_i weights_i * per_example_i / normaliser`` (see module docstring).

    Examples with weight exactly 0 contribute exactly 0 even if their loss is infinite
    (``0 * inf`` would be NaN).
    """
    terms = torch.where(weights != 0, weights * per_example, torch.zeros_like(per_example))
    return terms.sum() / _normaliser(weights, reduction)


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
      w.r.t. every logit is bounded (see :class:`NotToRecommend`). A floor would zero the
      gradient exactly where the unwanted item is most over-recommended.
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


def _full_log_probs(source: LogitSource, states: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    return log_p_and_log1m_p(source.full(states), labels)


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


class _Base:
    """``__call__`` = check inputs, ``per_example``, weight, reduce."""

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
        _check_inputs(source, states, labels, weights)
        if negatives is None:
            per = self.per_example(source, states, labels)
        else:
            per = self.per_example(source, states, labels, negatives=negatives)  # type: ignore[call-arg]
        return reduce_weighted(per, weights, reduction)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "generator")
        return f"{type(self).__name__}({fields})"


# ---------------------------------------------------------------------------------------
# Positive-label losses
# ---------------------------------------------------------------------------------------


class SoftmaxCE(_Base):
    """Full-softmax cross-entropy for positive labels: ``L_i = -r_i log p(y_i|s_i)``.

    Computed as ``logsumexp_j z_j - z_y`` (never forms ``p``). Derivatives:
    ``dL/dp = -r/p``; ``dL/dz_y = -r (1 - p)``; ``dL/dz_j = r p_j`` for ``j != y``.
    Cost: ``O(N V d)`` (all logits).
    """

    def per_example(self, source: LogitSource, states: Tensor, labels: Tensor) -> Tensor:
        logits = source.full(states)
        return torch.logsumexp(logits, dim=-1) - logits.gather(1, labels[:, None]).squeeze(1)


class _SampledBase(_Base):
    """Candidate logits ``[label, n_neg sampled items]`` with the logQ correction."""

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


class SampledSoftmax(_SampledBase):
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


class GBCE(_Base):
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


# ---------------------------------------------------------------------------------------
# Negative-label losses (weights are magnitudes w >= 0)
# ---------------------------------------------------------------------------------------


class NotToRecommend(_Base):
    """The paper's "not-to-recommend" loss: ``L_i = -w_i log(1 - p(y_i|s_i))``.

    ``log(1 - p)`` comes from :func:`log_p_and_log1m_p` (masked logsumexp for p >= 1/2,
    ``log1p(-exp(log p))`` below), never from ``1 - softmax``. Derivatives:

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
        return -_full_log_probs(source, states, labels)[1]


class SampledNotToRecommend(_SampledBase):
    """Not-to-recommend with the sampled-softmax estimate: ``L_i = -w_i log(1 - p_hat)``.

    ``p_hat`` is :class:`SampledSoftmax`'s estimate (same sampling, same logQ correction,
    same accidental-hit masking), and ``log(1 - p_hat)`` uses the same stable helper. A
    row whose every draw is an accidental hit has no estimate of ``1 - p`` and contributes
    0 (probability ``q_y^K``).
    """

    def _from_candidates(self, cand: Tensor) -> Tensor:
        valid = torch.isfinite(cand[:, 1:]).any(dim=1)
        # Rows with no usable negative: replace by a dummy finite row so no NaN/inf reaches
        # backward, then zero their loss.
        safe = torch.where(valid[:, None], cand, torch.zeros_like(cand))
        label_col = torch.zeros(cand.shape[0], dtype=torch.long, device=cand.device)
        log1m = log_p_and_log1m_p(safe, label_col)[1]
        return torch.where(valid, -log1m, torch.zeros_like(log1m))


class NegativeWeightCE(_Base):
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
        return _full_log_probs(source, states, labels)[0]


class EpsSmoothedCE(_Base):
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
        log_p = _full_log_probs(source, states, labels)[0]
        return torch.log(torch.exp(log_p) + self.eps)


class FocalNegative(_Base):
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
        log_p, log1m_p = _full_log_probs(source, states, labels)
        return torch.exp(self.gamma * log1m_p) * log_p


class GBCENegative(_Base):
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


# ---------------------------------------------------------------------------------------
# Registries and the combined objective
# ---------------------------------------------------------------------------------------

POSITIVE_LOSSES: dict[str, type] = {
    "softmax_ce": SoftmaxCE,
    "sampled_softmax": SampledSoftmax,
    "gbce": GBCE,
}
"""Losses for positive labels, by name; values are classes, built with keyword args."""

NEGATIVE_LOSSES: dict[str, type] = {
    "not_to_recommend": NotToRecommend,
    "sampled_not_to_recommend": SampledNotToRecommend,
    "negative_weight_ce": NegativeWeightCE,
    "eps_smoothed_ce": EpsSmoothedCE,
    "focal_negative": FocalNegative,
    "gbce_negative": GBCENegative,
}
"""Losses for negative labels, by name; weights are magnitudes ``w >= 0``."""


def _build(spec: str | Loss | None, registry: Mapping[str, type], kwargs: Mapping[str, Any] | None):
    if spec is None:
        if kwargs:
            raise ValueError("kwargs given for a loss that is None")
        return None
    if isinstance(spec, str):
        if spec not in registry:
            raise KeyError(f"unknown loss {spec!r}; known: {sorted(registry)}")
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
        positive: a name in :data:`POSITIVE_LOSSES` or a loss object.
        negative: a name in :data:`NEGATIVE_LOSSES`, a loss object, or ``None`` (negative
            labels ignored: the positives-only baseline).
        positive_kwargs / negative_kwargs: constructor arguments for a named loss
            (e.g. ``{"n_neg": 100, "generator": g}``, ``{"eps": 1e-3}``).
        reduction: ``"sum"`` (default), ``"mean"`` or a positive number. One normaliser
            is shared by both parts, so ``total == components["positive"] +
            components["negative"]`` and the relative weighting of positive and negative
            labels is set by the weights alone; for ``"mean"`` it is the number of
            examples with non-zero weight among those some loss scores (at least 1).
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
        _normaliser(torch.zeros(1), reduction)  # validate early
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
        _check_inputs(source, states, labels, weights)
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
