"""recommenders.evaluation.ranking: target ranks and top-k lists, input items excluded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recommenders import PAD, Feedback
from recommenders.evaluation import (
    leave_one_out,
)
from recommenders.evaluation.held_out import rank_held_out
from recommenders.evaluation.ranking import NonFiniteScores, target_ranks, top_k_excluding
from recommenders.models import ModelConfig
from recommenders.models.base import SequentialRecommender
from recommenders.variants import Variant
from tests.recommenders.conftest import make_sequences

D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


class FixedScores(SequentialRecommender):
    """Every state is [1]; item j's one-dimensional embedding is ``scores[j]``, so the logits
    of every user are exactly ``scores``."""

    def __init__(self, scores):
        super().__init__(ModelConfig(kind="gru", dim=1, max_len=3), len(scores), kind="gru")
        with torch.no_grad():
            self.item_embedding.weight[:, 0] = torch.as_tensor(scores, dtype=torch.float32)

    def _contextualise(self, x, lengths):
        return torch.ones_like(x)


def test_ranking_excludes_input_items_even_beyond_max_len():
    # Item j scores -j: item 0 is the best. User 0's input holds items 0, 1, 5, 2 (4 events,
    # more than the model's max_len of 3): all four are excluded, so target 3 ranks first.
    events = {0: [(0, P), (1, P), (5, P), (2, P), (3, D)], 1: [(0, P), (9, P), (4, P)]}
    seqs = make_sequences(events)
    model = FixedScores(-np.arange(12.0))
    ranks, shares = rank_held_out(model, Variant("x"), leave_one_out(seqs).test)
    assert ranks.tolist() == [0, 3]  # user 1: items 1, 2, 3 above 4 (0 is in its input)
    assert np.isnan(shares).all()  # no creators given
    logits = torch.as_tensor(-np.arange(12.0))[None].repeat(2, 1)
    context = torch.tensor([[0, 1, 5, 2], [0, 9, PAD, PAD]])
    top = top_k_excluding(logits, context, 3)
    assert top.tolist() == [[3, 4, 6], [1, 2, 3]]
    # Without exclusion the target would rank 3rd: target_ranks does the exclusion.
    none = torch.full((2, 1), PAD)
    assert target_ranks(logits, torch.tensor([3, 4]), none).tolist() == [3, 4]
    assert target_ranks(logits, torch.tensor([3, 4]), context).tolist() == [0, 3]


def test_top_k_breaks_ties_by_lower_id_like_target_ranks():
    logits = torch.tensor([[1.0, 2.0, 2.0, 0.0, 2.0]])
    top = top_k_excluding(logits, torch.tensor([[2]]), 3)
    assert top.tolist() == [[1, 4, 0]]
    ranks = target_ranks(logits, torch.tensor([4]), torch.tensor([[2]]))
    assert ranks.tolist() == [1]
    with pytest.raises(ValueError):
        top_k_excluding(logits, torch.tensor([[2]]), 6)


def test_nan_scores_are_refused_not_ranked_first():
    """NaN compares false with everything, so a NaN row used to put its target at rank 0."""
    logits = torch.tensor([[1.0, 2.0, 3.0], [float("nan"), 0.0, 1.0]])
    none = torch.full((2, 1), PAD)
    with pytest.raises(NonFiniteScores, match="NaN in 1 of 2 rows: training diverged"):
        target_ranks(logits, torch.tensor([0, 0]), none)
    with pytest.raises(NonFiniteScores):
        top_k_excluding(logits, none, 2)
    finite = torch.tensor([[1.0, -float("inf"), 3.0]])  # -inf is a legitimate exclusion
    assert target_ranks(finite, torch.tensor([0]), torch.full((1, 1), PAD)).tolist() == [1]


def test_positive_gains_pair_by_context_and_average_to_the_validation_ndcg():
    from recommenders.evaluation.ranking import evaluate, positive_ndcg_gains
    from recommenders.models import build_model
    from recommenders.sequences import holdout_contexts
    from recommenders.variants import get_variant

    rng = np.random.default_rng(3)
    events = {
        u: [
            (int(i), int(f))
            for i, f in zip(rng.integers(0, 40, 9), rng.choice([D, S, P], 9), strict=True)
        ]
        for u in range(30)
    }
    seqs = make_sequences(events)
    torch.manual_seed(0)
    variant = get_variant("dislike_feature_label")
    model = build_model(
        ModelConfig(kind="sasrec", dim=8, max_len=5, features=variant.features), 100
    )
    contexts = holdout_contexts(seqs, 2, 5)
    gains = positive_ndcg_gains(model, variant, contexts)
    positive = np.isin(contexts.target_feedback, variant.labels.positive_feedback) & (
        contexts.target_dwell >= variant.labels.min_positive_dwell
    )
    assert gains.shape == (len(contexts.target_item),) and 0 < positive.sum() < len(positive)
    assert np.array_equal(np.isfinite(gains), positive)
    assert np.nanmean(gains) == pytest.approx(evaluate(model, variant, contexts).ndcg10, abs=1e-12)
    assert np.all((gains[positive] >= 0) & (gains[positive] <= 1))
