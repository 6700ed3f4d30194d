"""Full ranking of every held-out target: ranks, top-k lists and the benchmark metrics.

Scores come from :func:`recommenders.inference.last_state_logits` (the variant's
input transform, the most recent ``max_len`` events, the state after the last
one, logits over all items); ranks from
:func:`recommenders.evaluation.ranking.target_ranks`, which excludes every input item
other than the target; top-k lists from
:func:`recommenders.evaluation.ranking.top_k_excluding` (the same exclusion and
tie-breaking). Metric definitions are in :mod:`recommenders.evaluation.metrics`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from recommenders.evaluation.leave_one_out import HeldOut
from recommenders.evaluation.metrics import (
    disliked_creator_share,
    disliked_target_in_top,
    mean_defined,
    ndcg_at,
    recall_at,
)
from recommenders.evaluation.ranking import rank_rows, top_k_excluding
from recommenders.history import Feedback
from recommenders.models import SequentialRecommender
from recommenders.variants import Variant

TOP_K = 10


def rank_held_out(
    model: SequentialRecommender,
    variant: Variant,
    held: HeldOut,
    creator: np.ndarray | None = None,
    batch_size: int = 512,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """(ranks (n,), disliked-director shares (n,)) of every user.

    Shares (see :func:`~recommenders.evaluation.metrics.disliked_creator_share`) are
    computed from each user's top-10 only when ``creator`` is given, else all NaN.
    The model is put in eval mode for the call and restored afterwards.
    """
    n = len(held)
    ranks = np.empty(n, np.int64)
    shares = np.full(n, np.nan)

    def top_k_shares(rows, logits, context, inputs) -> None:
        items, feedback = inputs[0], inputs[1]
        top = top_k_excluding(logits, context, TOP_K).cpu().numpy()
        disliked = feedback == int(Feedback.DISLIKE)
        shares[rows] = disliked_creator_share(top, items, disliked, creator)

    # Batches of users with inputs of similar length: a batch's arrays are as wide as its
    # longest input, and one long user in every batch would make them all ~20x wider.
    order = np.argsort(held.ends, kind="stable")
    ranks[order] = rank_rows(
        model,
        variant,
        held.inputs,
        held.target_item,
        order,
        batch_size,
        device,
        on_batch=None if creator is None else top_k_shares,
    )
    return ranks, shares


@dataclass(frozen=True)
class BenchmarkMetrics:
    """Metrics of one held-out event per user (see :mod:`recommenders.evaluation.metrics`).

    ``recall10``, ``ndcg10``, ``recall1`` average over all ``n_users``;
    ``disliked_in_top10`` over the ``n_disliked`` users whose target was disliked and
    ``recall10_not_disliked`` over the others; ``disliked_director_share`` over the
    ``n_director_users`` users with a disliked input item of known creator (NaN
    when top-k lists were not computed).
    """

    recall10: float
    ndcg10: float
    recall1: float
    n_users: int
    disliked_in_top10: float
    n_disliked: int
    recall10_not_disliked: float
    disliked_director_share: float
    n_director_users: int

    def to_dict(self) -> dict:
        return asdict(self)


def held_out_metrics(held: HeldOut, ranks: np.ndarray, shares: np.ndarray) -> BenchmarkMetrics:
    """The benchmark metrics of per-user ``ranks`` and disliked-director ``shares``."""
    disliked = held.target_feedback == int(Feedback.DISLIKE)
    share, n_share = mean_defined(shares)
    return BenchmarkMetrics(
        recall10=recall_at(ranks, 10),
        ndcg10=ndcg_at(ranks, 10),
        recall1=recall_at(ranks, 1),
        n_users=len(ranks),
        disliked_in_top10=disliked_target_in_top(ranks, disliked, 10),
        n_disliked=int(disliked.sum()),
        recall10_not_disliked=recall_at(ranks[~disliked], 10),
        disliked_director_share=share,
        n_director_users=n_share,
    )


def evaluate_held_out(
    model: SequentialRecommender,
    variant: Variant,
    held: HeldOut,
    creator: np.ndarray | None = None,
    batch_size: int = 512,
    device: str = "cpu",
) -> BenchmarkMetrics:
    """Rank every held-out target and compute :class:`BenchmarkMetrics`.

    The top-10 lists behind the disliked-director share are computed only with
    ``creator`` (the share is NaN without it).
    """
    ranks, shares = rank_held_out(model, variant, held, creator, batch_size, device)
    return held_out_metrics(held, ranks, shares)
