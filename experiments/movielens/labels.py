"""Labels and input features of the benchmark's models, as :class:`Variant` data.

The published ML-1M numbers treat every interaction as a positive target,
whatever its rating, so the feedback-blind models learn from every event as a
positive label (:data:`ALL_POSITIVE`). The feedback-aware ones see the rating
class of every input event (Feedback POSITIVE / SKIP / DISLIKE for ratings
4-5 / 3 / 1-2) as a feature, and optionally turn disliked events into
not-to-recommend labels ``-w log(1 - p(y|s))`` (Wang et al., RecSys 2023).

| variant            | input feature | positive labels      | negative labels          |
|--------------------|---------------|----------------------|--------------------------|
| all_positive       | none          | every event          | none                     |
| rating_feature     | rating class  | every event          | none                     |
| rating_feature_ntr | rating class  | all but DISLIKE      | DISLIKE, weight w        |
"""

from __future__ import annotations

from recommenders.history import Feedback
from recommenders.models import FeatureConfig
from recommenders.variants import LabelRule, Variant

ALL_FEEDBACK = tuple(int(f) for f in Feedback)
ALL_POSITIVE = LabelRule(positive_feedback=ALL_FEEDBACK, min_positive_dwell=0.0)
"""Every event is a positive label (weight 1), whatever its feedback or dwell."""

RATING_FEATURE = FeatureConfig(feedback_type=True)
"""An embedding of each input event's feedback code, i.e. its rating class. It holds
strictly more than the binary dislike flag (it also tells 3 from 4-5), so the flag
would only be a second parametrisation of the same information."""

NEGATIVE_WEIGHT = 3.0
"""Default w of a disliked event's not-to-recommend label on ML-1M (chosen on validation
NDCG@10; see :func:`not_to_recommend_rule`)."""


def not_to_recommend_rule(weight: float = NEGATIVE_WEIGHT) -> LabelRule:
    """Disliked events are negative labels of weight ``weight``, every other event positive.

    What w does. In a context where the next item is k with frequency f_k and k is
    then disliked with probability q_k, the expected gradient of
    ``-(1 - q) log p - q w log(1 - p)`` on the logits vanishes (for small p) at

        p_k = f_k (1 - q_k) / (C + w f_k q_k),

    with C = A - B common to all items (A ~ 0.84, the share of events that are not
    dislikes; B = w sum_j f_j q_j p_j / (1 - p_j)). The factor (1 - q_k) is what
    merely dropping dislikes from the positives does (w = 0); w adds a penalty whose
    size relative to C is w f_k q_k, so it grows with the model's confidence f_k in
    its top items.

    Why w = 3. It had the best validation NDCG@10 (second-to-last events, never the
    test events) of w in {0, 1, 3, 10, 30, 100}, full-CE SASRec with the rating
    feature trained to early stopping on one H100 (README, "MovieLens-1M": 0.1733,
    0.1782, 0.1798, 0.1747, 0.1685, 0.1561). An earlier default of 100 was derived
    from the 10th item's p of a model after 2 CPU epochs (about 0.006); converged
    models are more confident, the penalty grows with them, and w = 100 cost 0.033
    NDCG@10 against the blind twin. The cost of any w: a disliked movie was still
    chosen by the user, and the benchmark counts a disliked test target as a hit,
    so Recall@10 on those users falls by design (``experiments.movielens.paired``
    separates them).
    """
    return LabelRule(
        positive_feedback=tuple(f for f in ALL_FEEDBACK if f != int(Feedback.DISLIKE)),
        min_positive_dwell=0.0,
        negative_feedback=(int(Feedback.DISLIKE),),
        negative_weight=weight,
    )


def benchmark_variants(negative_weight: float = NEGATIVE_WEIGHT) -> dict[str, Variant]:
    """The three variants of the module docstring, by name."""
    variants = (
        Variant(
            "all_positive",
            labels=ALL_POSITIVE,
            description="feedback-blind: no feature, every event a positive label",
        ),
        Variant(
            "rating_feature",
            features=RATING_FEATURE,
            labels=ALL_POSITIVE,
            description="rating class as an input feature, every event a positive label",
        ),
        Variant(
            "rating_feature_ntr",
            features=RATING_FEATURE,
            labels=not_to_recommend_rule(negative_weight),
            negative_loss="not_to_recommend",
            description=f"rating feature + not-to-recommend (w = {negative_weight:g}) on dislikes",
        ),
    )
    return {v.name: v for v in variants}
