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

Ratings are numbers on a scale ``min_rating, min_rating + step, ...,
max_rating``: whole stars (the default, 1..5 in steps of 1, MovieLens 100K and
1M) or half stars (``step=0.5``, ``min_rating=0.5``: MovieLens 10M and every
later release). The thresholds compare numbers, so with half stars and the
default thresholds 2.5 and 3.5 are neutral. A rating off the scale (2.5 under
a whole-star rule, 0.5 below ``min_rating``) is an error, never rounded.

Rated data sets have no dwell; their loaders set dwell = 1.0 (watched to the
end) on every row so that LabelRule's dwell threshold keeps the positives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recommenders.history import Feedback


@dataclass(frozen=True)
class RatingRule:
    """Map ratings on the scale ``min_rating, min_rating + step, ..., max_rating`` to feedback.

    ``rating <= dislike_max``: DISLIKE; ``rating >= positive_min``: POSITIVE
    (``>= like_min``: LIKE when set); in between: ``neutral``. Requires
    ``min_rating <= dislike_max < positive_min <= max_rating`` (the neutral
    band may be empty), ``step > 0`` dividing ``max_rating - min_rating``, and,
    when set, ``positive_min <= like_min <= max_rating``. Every bound is a
    number (int or float), so half-star scales (``step=0.5``) are rules too.
    """

    dislike_max: float = 2
    positive_min: float = 4
    neutral: Feedback = Feedback.SKIP
    like_min: float | None = None
    min_rating: float = 1
    max_rating: float = 5
    step: float = 1

    def __post_init__(self) -> None:
        for name in ("dislike_max", "positive_min", "min_rating", "max_rating", "like_min", "step"):
            value = getattr(self, name)
            if value is None and name == "like_min":
                continue
            number = isinstance(value, int | float | np.integer | np.floating)
            if isinstance(value, bool) or not number:
                raise ValueError(f"RatingRule.{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"RatingRule.{name} must be finite, got {value!r}")
            # Whole numbers stay ints: 5, not 5.0, in records and branch names.
            plain = int(value) if float(value).is_integer() else float(value)
            object.__setattr__(self, name, plain)
        if not self.step > 0:
            raise ValueError(f"RatingRule.step must be > 0, got {self.step}")
        if not self.min_rating <= self.dislike_max < self.positive_min <= self.max_rating:
            raise ValueError(
                "RatingRule needs min_rating <= dislike_max < positive_min <= max_rating, got "
                f"{self.min_rating}, {self.dislike_max}, {self.positive_min}, {self.max_rating}"
            )
        span = (self.max_rating - self.min_rating) / self.step
        if abs(span - round(span)) > 1e-9:
            raise ValueError(
                f"RatingRule.step {self.step} does not divide the scale "
                f"[{self.min_rating}, {self.max_rating}]"
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

    @property
    def n_levels(self) -> int:
        """How many ratings the scale has (5 for 1..5 stars, 10 for 0.5..5 in half stars)."""
        return round((self.max_rating - self.min_rating) / self.step) + 1

    def values(self) -> np.ndarray:
        """The scale's ratings, ascending: int64 for a whole-number scale, else float64."""
        values = self.min_rating + self.step * np.arange(self.n_levels)
        if all(isinstance(v, int) for v in (self.min_rating, self.step)):
            return values.astype(np.int64)
        return values

    def levels(self, ratings: np.ndarray) -> np.ndarray:
        """int64 index of each rating on the scale (0 for ``min_rating``).

        Raises a one-line ValueError naming the first rating outside
        ``[min_rating, max_rating]`` or off the scale's steps.
        """
        ratings = np.asarray(ratings, dtype=np.float64)
        where = (ratings - self.min_rating) / self.step
        level = np.rint(where)
        bad = ~np.isfinite(ratings) | (ratings < self.min_rating) | (ratings > self.max_rating)
        off = ~bad & (np.abs(where - level) > 1e-9)
        if bad.any() or off.any():
            row = int(np.argmax(bad | off))
            value = ratings[row]
            shown = int(value) if float(value).is_integer() else float(value)
            if bad[row]:
                raise ValueError(
                    f"rating {shown} at index {row} is outside the rule's range "
                    f"[{self.min_rating}, {self.max_rating}]"
                )
            raise ValueError(
                f"rating {shown} at index {row} is not on the rule's scale "
                f"{self.min_rating}..{self.max_rating} in steps of {self.step}"
            )
        return level.astype(np.int64)

    def table(self) -> np.ndarray:
        """int64 lookup table: ``table()[i]`` is the code of the i-th rating of :meth:`values`."""
        ratings = self.values()
        codes = np.full(len(ratings), int(self.neutral), np.int64)
        codes[ratings <= self.dislike_max] = Feedback.DISLIKE
        codes[ratings >= self.positive_min] = Feedback.POSITIVE
        if self.like_min is not None:
            codes[ratings >= self.like_min] = Feedback.LIKE
        return codes

    def feedback(self, ratings: np.ndarray) -> np.ndarray:
        """int64 Feedback codes of ``ratings``, which must lie on the scale (:meth:`levels`)."""
        return self.table()[self.levels(ratings)]

    def to_dict(self) -> dict:
        """JSON-ready form (the neutral code by name), e.g. for a run's record."""
        return {
            "dislike_max": self.dislike_max,
            "positive_min": self.positive_min,
            "neutral": Feedback(self.neutral).name,
            "like_min": self.like_min,
            "min_rating": self.min_rating,
            "max_rating": self.max_rating,
            "step": self.step,
        }
