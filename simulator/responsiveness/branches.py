"""Counterfactual branch actions: what the user does with x_k in each branch.

A branch action fixes the feedback code and the dwell recorded for the
forked item x_k. Names compose with ``+``: ``long_dwell+dislike`` is a full
watch followed by a dislike. Base actions set the dwell; modifiers set the
explicit feedback code.
"""

from __future__ import annotations

from dataclasses import dataclass

from recommenders import Feedback

LONG_DWELL = 1.0
"""Dwell of ``long_dwell``: the item watched to the end (fraction of its length)."""
SHORT_DWELL = 0.05
"""Dwell of ``skip``: left almost at once."""

BASE_ACTIONS: dict[str, tuple[Feedback, float]] = {
    "long_dwell": (Feedback.POSITIVE, LONG_DWELL),
    "skip": (Feedback.SKIP, SHORT_DWELL),
}
"""Base actions by name: the feedback code and dwell they record for x_k. A new one is
one entry here and is then accepted by both protocols' ``--branches``."""
MODIFIERS: dict[str, Feedback] = {
    "dislike": Feedback.DISLIKE,
    "like": Feedback.LIKE,
    "dismiss": Feedback.DISMISS,
}
"""Modifiers by name (``base+modifier``): the explicit feedback code that replaces the base's."""


@dataclass(frozen=True)
class BranchAction:
    """The event appended to the history at the fork: (x_k, feedback, dwell)."""

    name: str
    feedback: Feedback
    dwell: float

    @classmethod
    def parse(cls, name: str) -> BranchAction:
        """``long_dwell``, ``skip``, optionally ``+dislike`` / ``+like`` / ``+dismiss``."""
        base, *modifiers = name.strip().split("+")
        if base not in BASE_ACTIONS:
            raise ValueError(
                f"unknown branch action {name!r}: it must start with one of {sorted(BASE_ACTIONS)}"
            )
        feedback, dwell = BASE_ACTIONS[base]
        if len(modifiers) > 1:
            raise ValueError(f"branch action {name!r} has more than one modifier")
        for modifier in modifiers:
            if modifier not in MODIFIERS:
                raise ValueError(
                    f"unknown modifier {modifier!r} in branch action {name!r}; "
                    f"choose from {sorted(MODIFIERS)}"
                )
            feedback = MODIFIERS[modifier]
        return cls(name.strip(), feedback, dwell)


DEFAULT_BRANCHES = ("long_dwell", "long_dwell+dislike")
"""The paper's pair: reference A = long dwell, treatment B = long dwell + dislike."""


def parse_branches(names) -> tuple[BranchAction, ...]:
    """Parse branch names; the first is the reference. At least two, no repeats."""
    actions = tuple(BranchAction.parse(n) for n in names)
    if len(actions) < 2:
        raise ValueError(f"need at least two branch actions to compare, got {list(names)}")
    seen = [a.name for a in actions]
    if len(set(seen)) != len(seen):
        raise ValueError(f"branch actions must be distinct, got {seen}")
    return actions
