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

NEGATIVE_WEIGHT = 100.0
"""Default w of a disliked event's not-to-recommend label; see :func:`not_to_recommend_rule`."""


def not_to_recommend_rule(weight: float = NEGATIVE_WEIGHT) -> LabelRule:
    """Disliked events are negative labels of weight ``weight``, every other event positive.

    Why w = 100 on ML-1M. In a context where the next item is k with frequency
    f_k and k is then disliked with probability q_k, the expected gradient of
    ``-(1 - q) log p - q w log(1 - p)`` on the logits vanishes (for small p) at

        p_k = f_k (1 - q_k) / (C + w f_k q_k),

    with C = A - B common to all items (A ~ 0.84, the share of events that are not
    dislikes; B = w sum_j f_j q_j p_j / (1 - p_j)). The factor (1 - q_k) is what
    merely dropping dislikes from the positives does (w = 0); w adds a penalty
    whose size relative to C is w f_k q_k. Only items near the top matter, and
    there f_k is about the model's p of its 10th item: 0.006 (median over test
    users) for full-CE SASRec after 2 CPU epochs, larger once converged. So
    w = 100 makes the penalty about q_k, of the order of C: with f = 0.006 to 0.01
    a top item disliked half the time gets 2.5 to 2.9 times less probability than
    one disliked 5% of the time (1.9 times from dropping it as a positive alone,
    w = 0); w = 10 (penalty ~0.1 q_k) would
    behave like w = 0, and w = 1000 would let the penalty dominate every item
    (the base dislike rate of 16% alone gives w f q ~ 1). The cost: a disliked
    movie was still chosen by the user, and the benchmark counts a disliked test
    target as a hit, so Recall@10 on those users is expected to fall.
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
