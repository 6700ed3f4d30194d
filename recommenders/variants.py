"""The paper's model variants as data: which feedback is an input feature, which a label.

| variant               | dislike feature  | dwell/skip feature | negative labels           |
|-----------------------|------------------|--------------------|---------------------------|
| baseline              | no               | no                 | none                      |
| dislike_feature       | yes              | no                 | none                      |
| dislike_feature_label | yes              | no                 | DISLIKE, not-to-recommend |
| exclude_disliked      | (dropped input)  | no                 | none                      |
| skip_label            | yes              | yes                | SKIP, not-to-recommend    |

Positive labels follow :class:`LabelRule` (default: POSITIVE or LIKE events
whose dwell is at least 0.5 of the item), the same for every variant.

Rating data (MovieLens: a rating per event, no dwell) has its own three variants,
:func:`rating_variants`. The published ML-1M numbers treat every interaction as a
positive target, whatever its rating, so the feedback-blind models learn from every
event as a positive label (:data:`ALL_POSITIVE`). The feedback-aware ones see the rating
class of every input event (Feedback POSITIVE / SKIP / DISLIKE for ratings 4-5 / 3 /
1-2) as a feature, and optionally turn disliked events into not-to-recommend labels ``-w
log(1 - p(y|s))`` (Wang et al., RecSys 2023).

| variant            | input feature | positive labels      | negative labels          |
|--------------------|---------------|----------------------|--------------------------|
| all_positive       | none          | every event          | none                     |
| rating_feature     | rating class  | every event          | none                     |
| rating_feature_ntr | rating class  | all but DISLIKE      | DISLIKE, weight w        |
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

from recommenders.history import Feedback
from recommenders.models import FeatureConfig

DWELL_BUCKETS = 5


@dataclass(frozen=True)
class LabelRule:
    """Which events are positive and which are negative training labels.

    An event is a positive label when its feedback is in ``positive_feedback``
    and its dwell is at least ``min_positive_dwell`` (fraction of the item).
    It is a negative label when its feedback is in ``negative_feedback``.
    Every other event is input only (weight 0).
    """

    positive_feedback: tuple[int, ...] = (int(Feedback.POSITIVE), int(Feedback.LIKE))
    min_positive_dwell: float = 0.5
    negative_feedback: tuple[int, ...] = ()
    positive_weight: float = 1.0
    negative_weight: float = 1.0

    def __post_init__(self) -> None:
        overlap = set(self.positive_feedback) & set(self.negative_feedback)
        if overlap:
            raise ValueError(
                f"LabelRule: feedback codes {sorted(overlap)} are both positive and negative"
            )
        if not 0 <= self.min_positive_dwell <= 1:
            raise ValueError(
                f"LabelRule.min_positive_dwell must be in [0, 1], got {self.min_positive_dwell}"
            )
        # Written so that NaN fails too (every comparison with NaN is False).
        if not (math.isfinite(self.positive_weight) and self.positive_weight > 0):
            raise ValueError(
                f"LabelRule.positive_weight must be finite and > 0, got {self.positive_weight}"
            )
        if not (math.isfinite(self.negative_weight) and self.negative_weight >= 0):
            raise ValueError(
                f"LabelRule.negative_weight must be finite and >= 0, got {self.negative_weight}"
            )
        object.__setattr__(self, "positive_feedback", tuple(int(f) for f in self.positive_feedback))
        object.__setattr__(self, "negative_feedback", tuple(int(f) for f in self.negative_feedback))


@dataclass(frozen=True)
class Variant:
    """A named training configuration: input features, input filter, labels and loss."""

    name: str
    features: FeatureConfig = field(default_factory=FeatureConfig)
    labels: LabelRule = field(default_factory=LabelRule)
    exclude_disliked_input: bool = False
    negative_loss: str = "not_to_recommend"
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Variant:
        return cls(
            name=data["name"],
            features=FeatureConfig(**data["features"]),
            labels=LabelRule(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in data["labels"].items()}
            ),
            exclude_disliked_input=bool(data["exclude_disliked_input"]),
            negative_loss=data["negative_loss"],
            description=data.get("description", ""),
        )


_DISLIKE = (int(Feedback.DISLIKE),)
SIMULATED_NEGATIVE_WEIGHT = 100.0
"""Default w of a negative label on simulated logs. The not-to-recommend gradient on the
label's logit is w * p, and p starts near 1 / n_items (2e-4 for 5,000 items), so with w
= 1 a negative label pushes about 1e-4 as hard as a positive one (whose push is r (1 -
p) ~ r). w = 100 was chosen on the held-out "disliked in top 10" rate, an offline
metric, in the sweep of docs/world.md (w = 1, 10, 100), at a cost of about 5% NDCG@10."""
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("baseline", description="no dislike feature, positive labels only"),
        Variant(
            "dislike_feature",
            features=FeatureConfig(dislike=True),
            description="dislike as an input feature, positive labels only",
        ),
        Variant(
            "dislike_feature_label",
            features=FeatureConfig(dislike=True),
            labels=LabelRule(negative_feedback=_DISLIKE, negative_weight=SIMULATED_NEGATIVE_WEIGHT),
            description="dislike feature + not-to-recommend loss on disliked items (treatment)",
        ),
        Variant(
            "exclude_disliked",
            exclude_disliked_input=True,
            description="heuristic: disliked events removed from the input sequence",
        ),
        Variant(
            "skip_label",
            features=FeatureConfig(dislike=True, dwell_buckets=DWELL_BUCKETS),
            labels=LabelRule(
                negative_feedback=(int(Feedback.SKIP),), negative_weight=SIMULATED_NEGATIVE_WEIGHT
            ),
            description="dwell/skip feature; skips as not-to-recommend labels",
        ),
    )
}


def get_variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
    return VARIANTS[name]


ALL_FEEDBACK = tuple(int(f) for f in Feedback)
ALL_POSITIVE = LabelRule(positive_feedback=ALL_FEEDBACK, min_positive_dwell=0.0)
"""Every event is a positive label (weight 1), whatever its feedback or dwell."""

ACTION_EMBEDDING = FeatureConfig(feedback_type=True)
"""Nekrasov's "action embedding": one learned vector per feedback code (POSITIVE, LIKE,
SKIP, DISLIKE, ...) added to each input event, in place of the binary dislike flag."""


def with_action_embedding(variant: Variant) -> Variant:
    """``variant`` with its feedback features replaced by :data:`ACTION_EMBEDDING` (its
    labels unchanged); a variant without feedback features has none to replace."""
    if not variant.features.uses_feedback:
        raise ValueError(
            f"variant {variant.name!r} has no feedback feature to replace by the action embedding"
        )
    return replace(variant, features=ACTION_EMBEDDING)


RATING_FEATURE = ACTION_EMBEDDING
"""An embedding of each input event's feedback code, i.e. its rating class. It holds
strictly more than the binary dislike flag (it also tells 3 from 4-5), so the flag
would only be a second parametrisation of the same information."""

RATING_NEGATIVE_WEIGHT = 3.0
"""Default w of a disliked event's not-to-recommend label on ML-1M (chosen on validation
NDCG@10; see :func:`not_to_recommend_rule`)."""


def not_to_recommend_rule(weight: float = RATING_NEGATIVE_WEIGHT) -> LabelRule:
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


def rating_variants(negative_weight: float = RATING_NEGATIVE_WEIGHT) -> dict[str, Variant]:
    """The three variants for rating data (see the module docstring), by name."""
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
