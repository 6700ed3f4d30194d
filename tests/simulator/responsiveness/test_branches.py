import pytest

from recommenders import Feedback
from simulator import BranchAction, parse_branches
from simulator.responsiveness.branches import LONG_DWELL, SHORT_DWELL


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
