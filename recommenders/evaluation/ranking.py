"""Full ranking of held-out targets over the whole catalogue, and a training run's metrics.

For each held-out event with context c and target item y, the rank of y is
the number of items scored above it (ties: lower id first, as in
:func:`recommenders.adapter.top_k`), after excluding the items of c other
than y. Metrics of ranks are in :mod:`recommenders.evaluation.metrics`
(Recall@K = 1[r < K], NDCG@K = 1[r < K] / log2(r + 2)); for disliked targets,
``disliked_in_top10`` = 1[r < 10] says how often an item the user went on to
dislike was still recommended (lower is better).

:func:`rank_rows` is the one loop from inputs to ranks: :func:`evaluate`
(validation during training) and :func:`recommenders.evaluation.held_out.rank_held_out`
(the leave-one-out test) both call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from recommenders.evaluation.metrics import ndcg_at, ndcg_gains, recall_at
from recommenders.history import Feedback
from recommenders.inference import last_state_logits
from recommenders.models import SequentialRecommender
from recommenders.sequences import Slices
from recommenders.variants import LabelRule, Variant


@dataclass(frozen=True)
class RankingMetrics:
    """Means over held-out events; ``n_positive`` / ``n_disliked`` events behind them."""

    ndcg10: float
    recall10: float
    recall1: float
    n_positive: int
    disliked_in_top10: float
    n_disliked: int

    def to_dict(self) -> dict:
        return asdict(self)


class NonFiniteScores(ValueError):
    """A model's scores hold NaN: a diverged model, which no rank can describe."""


def check_scores(logits: torch.Tensor) -> None:
    """A one-line :class:`NonFiniteScores` when any score is NaN.

    NaN compares false with everything, so a NaN row would otherwise put its
    target at rank 0: a diverged model would score as perfect.
    """
    bad = torch.isnan(logits)
    if bool(bad.any()):
        rows = int(bad.any(dim=1).sum())
        raise NonFiniteScores(
            f"the model's scores hold NaN in {rows} of {logits.shape[0]} rows: "
            "training diverged (lower the learning rate or the loss weights)"
        )


def target_ranks(
    logits: torch.Tensor, targets: torch.Tensor, context: torch.Tensor
) -> torch.Tensor:
    """Rank of each target among all items, context items (other than the target) excluded.

    ``logits`` (N, V), ``targets`` (N,), ``context`` (N, L) item ids with PAD = -1.
    Raises :class:`NonFiniteScores` when a score is NaN.
    """
    check_scores(logits)
    scores = logits.clone()
    n, v = scores.shape
    rows = torch.arange(n, device=scores.device)[:, None].expand_as(context)
    seen = (context >= 0) & (context != targets[:, None])
    scores[rows[seen], context[seen]] = -torch.inf
    target_score = scores[torch.arange(n, device=scores.device), targets][:, None]
    ids = torch.arange(v, device=scores.device)[None, :]
    above = (scores > target_score) | ((scores == target_score) & (ids < targets[:, None]))
    return above.sum(dim=1)


def top_k_excluding(logits: torch.Tensor, context: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` best items of each row, best first, with every context item excluded.

    ``logits`` (N, V), ``context`` (N, L) item ids with PAD = -1. Ties go to the
    lower item id, as in :func:`target_ranks`, so an item at rank r by
    ``target_ranks`` (r < k) sits in column r here. Returns int64 (N, k); a row
    with fewer than ``k`` items outside its context is filled with excluded ids.
    """
    if not 1 <= k <= logits.shape[1]:
        raise ValueError(f"top_k_excluding: k must be in [1, {logits.shape[1]}], got {k}")
    check_scores(logits)
    scores = logits.clone()
    rows = torch.arange(scores.shape[0], device=scores.device)[:, None].expand_as(context)
    seen = context >= 0
    scores[rows[seen], context[seen]] = -torch.inf
    # A stable descending sort keeps equal scores in id order (lower id first).
    return torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]


Inputs = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
"""rows -> (items, feedback, dwell, lengths) of those rows, right-padded (PAD = -1)."""


def rank_rows(
    model: SequentialRecommender,
    variant: Variant,
    inputs: Inputs,
    target_item: np.ndarray,
    rows: np.ndarray,
    batch_size: int = 512,
    device: str = "cpu",
    on_batch: Callable[[np.ndarray, torch.Tensor, torch.Tensor, tuple], object] | None = None,
) -> np.ndarray:
    """Rank of every target of ``rows``, scored in batches of ``batch_size`` rows in that order.

    Returns int64 ranks aligned with ``rows``. Each batch's scores come from
    :func:`recommenders.inference.last_state_logits` of ``inputs(batch_rows)``; the
    context excluded from the ranking is the batch's input items. ``on_batch(batch_rows,
    logits, context, inputs)`` sees every batch (e.g. to take top-k lists from the same
    logits). The model is put in eval mode for the call and restored afterwards.
    """
    ranks = np.empty(len(rows), np.int64)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            batch_inputs = inputs(batch)
            items = batch_inputs[0]
            logits = last_state_logits(model, variant, *batch_inputs, device)
            targets = torch.as_tensor(target_item[batch], device=device)
            context = torch.as_tensor(items, device=device)
            ranks[start : start + len(batch)] = target_ranks(logits, targets, context).cpu().numpy()
            if on_batch is not None:
                on_batch(batch, logits, context, batch_inputs)
    finally:
        model.train(was_training)
    return ranks


def _context_ranks(
    model: SequentialRecommender,
    variant: Variant,
    contexts: Slices,
    rule: LabelRule | None,
    batch_size: int,
    device: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positive mask, disliked mask, ranks of the positive-or-disliked contexts in order)."""
    rule = rule or variant.labels
    positive = np.isin(contexts.target_feedback, rule.positive_feedback) & (
        contexts.target_dwell >= rule.min_positive_dwell
    )
    disliked = contexts.target_feedback == int(Feedback.DISLIKE)
    wanted = np.nonzero(positive | disliked)[0]

    def inputs(rows: np.ndarray):
        c = contexts
        return c.items[rows], c.feedback[rows], c.dwell[rows], c.lengths[rows]

    ranks = rank_rows(model, variant, inputs, contexts.target_item, wanted, batch_size, device)
    return positive, disliked, ranks


def evaluate(
    model: SequentialRecommender,
    variant: Variant,
    contexts: Slices,
    rule: LabelRule | None = None,
    batch_size: int = 512,
    device: str = "cpu",
) -> RankingMetrics:
    """Ranking metrics of ``model`` on held-out ``contexts`` (see the module docstring)."""
    positive, disliked, ranks = _context_ranks(model, variant, contexts, rule, batch_size, device)
    wanted = positive | disliked
    pos_ranks = ranks[positive[wanted]]
    neg_ranks = ranks[disliked[wanted]]
    return RankingMetrics(
        ndcg10=ndcg_at(pos_ranks, 10),
        recall10=recall_at(pos_ranks, 10),
        recall1=recall_at(pos_ranks, 1),
        n_positive=len(pos_ranks),
        disliked_in_top10=recall_at(neg_ranks, 10),
        n_disliked=len(neg_ranks),
    )


def positive_ndcg_gains(
    model: SequentialRecommender,
    variant: Variant,
    contexts: Slices,
    rule: LabelRule | None = None,
    k: int = 10,
    batch_size: int = 512,
    device: str = "cpu",
) -> np.ndarray:
    """Per context, the NDCG@k gain 1[r < k] / log2(r + 2) of its target where the target
    is positive under ``rule`` (default the variant's), NaN elsewhere; the mean of the
    finite values is :func:`evaluate`'s ``ndcg10`` for k = 10. Aligned with ``contexts``
    so that two models' gains on the same contexts can be paired."""
    positive, disliked, ranks = _context_ranks(model, variant, contexts, rule, batch_size, device)
    gains = np.full(len(positive), np.nan)
    gains[positive] = ndcg_gains(ranks[positive[positive | disliked]], k)
    return gains
