"""How explicit ratings become :class:`~recommenders.history.Feedback` codes.

The models' :class:`~recommenders.variants.LabelRule` makes POSITIVE and LIKE
events with dwell >= 0.5 positive labels and (in the treatment variants)
DISLIKE events negative labels. A rating therefore maps to:

* ``rating <= dislike_max`` (default 2): DISLIKE, the negative label;
* ``rating >= positive_min`` (default 4): POSITIVE, a positive label;
* ``rating >= like_min`` when ``like_min`` is set: LIKE. LabelRule treats LIKE
  exactly like POSITIVE, so this only matters to a model with a LIKE input
  feature. Off by default: a 5 is not a separate action in MovieLens the way
  a like button is in the simulator;
* anything in between (default: 3): ``neutral``, default SKIP, "consumed
  without a positive signal", which is neither a positive label nor, outside
  the ``skip_label`` variant, a negative one.

Rated data sets have no dwell; their loaders set dwell = 1.0 (watched to the
end) on every row so that LabelRule's dwell threshold keeps the positives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommenders.history import Feedback


@dataclass(frozen=True)
class RatingRule:
    """Map integer ratings in ``[min_rating, max_rating]`` to Feedback codes.

    Requires ``min_rating <= dislike_max < positive_min <= max_rating`` (the
    neutral band ``dislike_max < r < positive_min`` may be empty) and, when set,
    ``positive_min <= like_min <= max_rating``.
    """

    dislike_max: int = 2
    positive_min: int = 4
    neutral: Feedback = Feedback.SKIP
    like_min: int | None = None
    min_rating: int = 1
    max_rating: int = 5

    def __post_init__(self) -> None:
        for name in ("dislike_max", "positive_min", "min_rating", "max_rating", "like_min"):
            value = getattr(self, name)
            if value is None and name == "like_min":
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"RatingRule.{name} must be an integer, got {value!r}")
        if not self.min_rating <= self.dislike_max < self.positive_min <= self.max_rating:
            raise ValueError(
                "RatingRule needs min_rating <= dislike_max < positive_min <= max_rating, got "
                f"{self.min_rating}, {self.dislike_max}, {self.positive_min}, {self.max_rating}"
            )
        if self.like_min is not None and not self.positive_min <= self.like_min <= self.max_rating:
            raise ValueError(
                f"RatingRule.like_min must be in [positive_min, max_rating] = "
                f"[{self.positive_min}, {self.max_rating}], got {self.like_min}"
            )
        try:
            neutral = Feedback(self.neutral)
        except ValueError:
            raise ValueError(
                f"RatingRule.neutral must be a Feedback code 0..{len(Feedback) - 1}, "
                f"got {self.neutral!r}"
            ) from None
        object.__setattr__(self, "neutral", neutral)

    def table(self) -> np.ndarray:
        """int64 lookup table: ``table()[r - min_rating]`` is the code of rating ``r``."""
        ratings = np.arange(self.min_rating, self.max_rating + 1)
        codes = np.full(len(ratings), int(self.neutral), np.int64)
        codes[ratings <= self.dislike_max] = Feedback.DISLIKE
        codes[ratings >= self.positive_min] = Feedback.POSITIVE
        if self.like_min is not None:
            codes[ratings >= self.like_min] = Feedback.LIKE
        return codes

    def feedback(self, ratings: np.ndarray) -> np.ndarray:
        """int64 Feedback codes of integer ``ratings``, which must lie in the rule's range."""
        ratings = np.asarray(ratings)
        bad = (ratings < self.min_rating) | (ratings > self.max_rating)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"rating {ratings[row]} at index {row} is outside the rule's range "
                f"[{self.min_rating}, {self.max_rating}]"
            )
        return self.table()[ratings - self.min_rating]

    def to_dict(self) -> dict:
        """JSON-ready form (the neutral code by name), e.g. for a run's record."""
        return {
            "dislike_max": int(self.dislike_max),
            "positive_min": int(self.positive_min),
            "neutral": Feedback(self.neutral).name,
            "like_min": None if self.like_min is None else int(self.like_min),
            "min_rating": int(self.min_rating),
            "max_rating": int(self.max_rating),
        }
