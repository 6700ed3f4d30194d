import pytest

from recommenders import Feedback
from simulator import BranchAction, parse_branches
from simulator.responsiveness.branches import BASE_ACTIONS, LONG_DWELL, MODIFIERS, SHORT_DWELL


@pytest.mark.parametrize(
    "name, feedback, dwell",
    [
        ("long_dwell", Feedback.POSITIVE, LONG_DWELL),
        ("long_dwell+dislike", Feedback.DISLIKE, LONG_DWELL),
        ("skip", Feedback.SKIP, SHORT_DWELL),
        ("skip+dislike", Feedback.DISLIKE, SHORT_DWELL),
        ("long_dwell+like", Feedback.LIKE, LONG_DWELL),
        ("skip+dismiss", Feedback.DISMISS, SHORT_DWELL),
    ],
)
def test_parse(name, feedback, dwell):
    action = BranchAction.parse(name)
    assert (action.name, action.feedback, action.dwell) == (name, feedback, dwell)


@pytest.mark.parametrize(
    "names, match",
    [
        (["long_dwell"], "at least two"),
        (["long_dwell", "long_dwell"], "distinct"),
        (["long_dwell", "watch"], "unknown branch action"),
        (["long_dwell", "long_dwell+hate"], "unknown modifier"),
        (["long_dwell", "skip+like+dislike"], "more than one modifier"),
    ],
)
def test_bad_branches(names, match):
    with pytest.raises(ValueError, match=match):
        parse_branches(names)


COMBINATIONS = [(base, modifier) for base in BASE_ACTIONS for modifier in (None, *MODIFIERS)]


@pytest.mark.parametrize("base, modifier", COMBINATIONS)
def test_every_registered_action_and_modifier_composes(base, modifier):
    name = base if modifier is None else f"{base}+{modifier}"
    action = BranchAction.parse(name)
    base_feedback, dwell = BASE_ACTIONS[base]
    assert action.dwell == dwell and 0.0 <= dwell <= 1.0
    assert action.feedback == (base_feedback if modifier is None else MODIFIERS[modifier])
    assert isinstance(action.feedback, Feedback)
