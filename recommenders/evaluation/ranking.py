"""Next-item ranking metrics on held-out events, full ranking over the corpus.

For each held-out event with context c and target item y, the rank of y is
the number of items scored above it (ties: lower id first, as in
:func:`recommenders.adapter.top_k`), after excluding the items of c other
than y. With rank r (0 = best):

* Recall@K = 1[r < K];  NDCG@K = 1[r < K] / log2(r + 2)  (one relevant item);
* for disliked targets, ``disliked_in_top10`` = 1[r < 10]: how often an item
  the user went on to dislike was still recommended (lower is better).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

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


def target_ranks(
    logits: torch.Tensor, targets: torch.Tensor, context: torch.Tensor
) -> torch.Tensor:
    """Rank of each target among all items, context items (other than the target) excluded.

    ``logits`` (N, V), ``targets`` (N,), ``context`` (N, L) item ids with PAD = -1.
    """
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
    scores = logits.clone()
    rows = torch.arange(scores.shape[0], device=scores.device)[:, None].expand_as(context)
    seen = context >= 0
    scores[rows[seen], context[seen]] = -torch.inf
    # A stable descending sort keeps equal scores in id order (lower id first).
    return torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]


def evaluate(
    model: SequentialRecommender,
    variant: Variant,
    contexts: Slices,
    rule: LabelRule | None = None,
    batch_size: int = 512,
    device: str = "cpu",
) -> RankingMetrics:
    """Ranking metrics of ``model`` on held-out ``contexts`` (see the module docstring)."""
    rule = rule or variant.labels
    positive = np.isin(contexts.target_feedback, rule.positive_feedback) & (
        contexts.target_dwell >= rule.min_positive_dwell
    )
    disliked = contexts.target_feedback == int(Feedback.DISLIKE)
    wanted = np.nonzero(positive | disliked)[0]
    ranks = np.empty(len(wanted), np.int64)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(wanted), batch_size):
            idx = wanted[start : start + batch_size]
            logits = last_state_logits(
                model,
                variant,
                contexts.items[idx],
                contexts.feedback[idx],
                contexts.dwell[idx],
                contexts.lengths[idx],
                device,
            )
            targets = torch.as_tensor(contexts.target_item[idx], device=device)
            context = torch.as_tensor(contexts.items[idx], device=device)
            ranks[start : start + len(idx)] = target_ranks(logits, targets, context).cpu().numpy()
    finally:
        model.train(was_training)
    pos_ranks = ranks[positive[wanted]]
    neg_ranks = ranks[disliked[wanted]]
    gain = np.where(pos_ranks < 10, 1.0 / np.log2(pos_ranks + 2.0), 0.0)
    return RankingMetrics(
        ndcg10=float(gain.mean()) if len(pos_ranks) else float("nan"),
        recall10=float((pos_ranks < 10).mean()) if len(pos_ranks) else float("nan"),
        recall1=float((pos_ranks < 1).mean()) if len(pos_ranks) else float("nan"),
        n_positive=len(pos_ranks),
        disliked_in_top10=float((neg_ranks < 10).mean()) if len(neg_ranks) else float("nan"),
        n_disliked=len(neg_ranks),
    )
