"""recommenders.variants: the rating-data variants' labels."""

from __future__ import annotations

from recommenders import PAD, Feedback
from recommenders.sequences import training_windows
from recommenders.training.loop import window_labels
from recommenders.variants import ALL_POSITIVE, Variant, not_to_recommend_rule

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
