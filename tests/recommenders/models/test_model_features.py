"""Feedback features reach the state when configured, and only then."""

import pytest
import torch

from recommenders import Feedback, History, HistoryBatch
from recommenders.models import EventEncoder, FeatureConfig
from recommenders.models.features import dwell_bucket

ITEMS = [3, 7, 1, 4]


def _last_state(model, to_tensors, last_feedback, last_dwell=0.9):
    history = History(ITEMS, [0, 1, 2, last_feedback], [0.5, 0.05, 1.0, last_dwell])
    with torch.no_grad():
        return model.last_state(*to_tensors(HistoryBatch.of([history])))


@pytest.mark.parametrize(
    "features",
    [FeatureConfig(dislike=True), FeatureConfig(feedback_type=True)],
    ids=["dislike", "type"],
)
def test_a_dislike_changes_the_state(kind, make_model, to_tensors, features):
    model = make_model(kind, features)
    liked = _last_state(model, to_tensors, Feedback.POSITIVE)
    disliked = _last_state(model, to_tensors, Feedback.DISLIKE)
    assert (liked - disliked).abs().max() > 1e-4


def test_a_short_dwell_changes_the_state_with_dwell_buckets(kind, make_model, to_tensors):
    model = make_model(kind, FeatureConfig(dwell_buckets=4))
    long_dwell = _last_state(model, to_tensors, Feedback.POSITIVE, last_dwell=0.9)
    skip = _last_state(model, to_tensors, Feedback.SKIP, last_dwell=0.05)
    assert (long_dwell - skip).abs().max() > 1e-4


def test_without_features_feedback_is_invisible(kind, make_model, to_tensors):
    model = make_model(kind, FeatureConfig())
    liked = _last_state(model, to_tensors, Feedback.POSITIVE, last_dwell=1.0)
    for code in Feedback:
        assert torch.equal(_last_state(model, to_tensors, code, last_dwell=0.01), liked)


def test_dislike_feature_sees_only_dislikes(kind, make_model, to_tensors):
    model = make_model(kind, FeatureConfig(dislike=True))
    liked = _last_state(model, to_tensors, Feedback.POSITIVE, last_dwell=1.0)
    for code in (Feedback.SKIP, Feedback.LIKE, Feedback.DISMISS):
        assert torch.equal(_last_state(model, to_tensors, code, last_dwell=0.01), liked)


def test_dwell_buckets_are_equal_width():
    dwell = torch.tensor([0.0, 0.19, 0.2, 0.5, 0.79, 0.8, 0.99, 1.0, -0.5, 1.5, float("nan")])
    expected = [0, 0, 1, 2, 3, 4, 4, 4, 0, 4, 0]
    assert dwell_bucket(dwell, 5).tolist() == expected
    assert dwell_bucket(dwell.double(), 5).tolist() == expected
    assert dwell_bucket(dwell, 1).tolist() == [0] * len(expected)


def test_encoder_zeroes_padding_and_never_indexes_minus_one():
    torch.manual_seed(0)
    features = FeatureConfig(dislike=True, dwell_buckets=3, feedback_type=True)
    encoder = EventEncoder(5, 4, features)
    items = torch.tensor([[2, -1, -1], [4, 3, -1]])
    feedback = torch.tensor([[2, -1, -1], [0, 1, -1]])
    dwell = torch.tensor([[0.5, float("nan"), float("nan")], [1.0, 0.1, float("nan")]])
    mask = torch.tensor([[True, True, False], [True, True, False]])  # (0, 1) is PAD in the mask
    out = encoder(items, feedback, dwell, mask)
    assert torch.isfinite(out).all()
    assert torch.count_nonzero(out[0, 1:]) == 0
    assert torch.count_nonzero(out[1, 2]) == 0
    expected = (
        encoder.item_embedding.weight[2]
        + encoder.dislike.weight[1]
        + encoder.dwell.weight[1]
        + encoder.feedback_type.weight[2]
    )
    torch.testing.assert_close(out[0, 0], expected)


def test_encoder_has_only_the_configured_tables():
    names = {n for n, _ in EventEncoder(5, 4, FeatureConfig(dwell_buckets=6)).named_parameters()}
    assert names == {"item_embedding.weight", "dwell.weight"}
