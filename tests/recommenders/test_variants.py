"""recommenders.variants: the rating-data variants' labels."""

from __future__ import annotations

import pytest

from recommenders import PAD, Feedback
from recommenders.sequences import training_windows
from recommenders.training.loop import window_labels
from recommenders.variants import ALL_POSITIVE, LabelRule, Variant, not_to_recommend_rule

D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


def test_labels_of_the_benchmark(tiny):
    windows = training_windows(tiny, 5)
    weights, negative = window_labels(windows, Variant("blind", labels=ALL_POSITIVE))
    valid = windows.items != PAD
    assert (weights[valid] == 1).all() and not negative.any()  # dislikes and skips included
    rule = not_to_recommend_rule(7.0)
    weights, negative = window_labels(windows, Variant("ntr", labels=rule))
    disliked = windows.feedback == D
    assert (negative == disliked).all() and (weights[disliked] == 7.0).all()
    assert (weights[valid & ~disliked] == 1).all()


def test_non_finite_label_weights_are_refused():
    """--negative-weight nan used to behave as weight 0 and be stored as NaN."""
    for weight in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="negative_weight must be finite and >= 0"):
            LabelRule(negative_weight=weight)
    with pytest.raises(ValueError, match="positive_weight must be finite and > 0"):
        LabelRule(positive_weight=float("nan"))
