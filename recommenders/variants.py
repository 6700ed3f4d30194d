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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

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
        if self.positive_weight <= 0 or self.negative_weight < 0:
            raise ValueError("LabelRule weights: positive must be > 0, negative >= 0")
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
NEGATIVE_WEIGHT = 100.0
"""Default w of a negative label. The not-to-recommend gradient on the label's logit is
w * p, and p starts near 1 / n_items (2e-4 for 5,000 items), so with w = 1 a negative
label pushes about 1e-4 as hard as a positive one (whose push is r (1 - p) ~ r).
w = 100 was chosen on the held-out "disliked in top 10" rate, an offline metric, in
the sweep of docs/world.md (w = 1, 10, 100), at a cost of about 5% NDCG@10."""
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
            labels=LabelRule(negative_feedback=_DISLIKE, negative_weight=NEGATIVE_WEIGHT),
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
                negative_feedback=(int(Feedback.SKIP),), negative_weight=NEGATIVE_WEIGHT
            ),
            description="dwell/skip feature; skips as not-to-recommend labels",
        ),
    )
}


def get_variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
    return VARIANTS[name]
