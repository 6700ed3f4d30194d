"""Feedback features reach the state when configured, and only then."""

import pytest
import torch

from recommenders import Feedback, History, HistoryBatch
from recommenders.models import FEEDBACK_ENTRIES, EventEncoder, FeatureConfig, ModelConfig
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


def _encoders(features: FeatureConfig) -> dict[str, EventEncoder]:
    """One encoder per feedback entry, all with the first one's item and feature tables."""
    torch.manual_seed(0)
    encoders = {entry: EventEncoder(11, 6, features, entry) for entry in FEEDBACK_ENTRIES}
    shared = encoders["add"].state_dict()
    for encoder in encoders.values():
        encoder.load_state_dict({**encoder.state_dict(), **shared})
    return encoders


EVENTS = (
    torch.tensor([[3, 7, 1, 0]]),
    torch.tensor([[0, 2, 3, 1]]),
    torch.tensor([[0.5, 0.05, 1.0, float("nan")]]),
    torch.tensor([[True, True, True, False]]),
)


@pytest.mark.parametrize(
    "features",
    [FeatureConfig(dislike=True), FeatureConfig(dislike=True, dwell_buckets=4, feedback_type=True)],
    ids=["dislike", "all"],
)
def test_every_entry_starts_as_the_additive_one(features):
    encoders = _encoders(features)
    added = encoders["add"](*EVENTS)
    for entry, encoder in encoders.items():
        torch.testing.assert_close(encoder(*EVENTS), added, rtol=0, atol=1e-7, msg=entry)


def test_latent_cross_rescales_the_disliked_items_own_vector():
    encoder = _encoders(FeatureConfig(dislike=True))["latent_cross"]
    with torch.no_grad():
        encoder.cross_dislike.weight[1] = -2.0  # a disliked item enters as -v_item
    items, feedback, dwell, mask = EVENTS
    out = encoder(items, feedback, dwell, mask)
    v = encoder.item_embedding(items[0])
    f = encoder.dislike((feedback[0] == Feedback.DISLIKE).long())
    disliked = feedback[0] == Feedback.DISLIKE
    assert disliked.tolist() == [False, True, False, False]
    torch.testing.assert_close(out[0, 1], -v[1] + f[1])
    torch.testing.assert_close(out[0, [0, 2]], v[[0, 2]] + f[[0, 2]])  # other events: unchanged
    assert torch.equal(out[0, 3], torch.zeros(6))  # padding stays zero


def test_without_features_every_entry_is_the_item_embedding():
    encoders = _encoders(FeatureConfig())
    for entry, encoder in encoders.items():
        assert [name for name, _ in encoder.named_parameters()] == ["item_embedding.weight"]
        assert torch.equal(encoder(*EVENTS), encoders["add"](*EVENTS)), entry


def test_an_unknown_entry_is_refused():
    with pytest.raises(ValueError, match="feedback_entry must be one of"):
        ModelConfig(feedback_entry="multiply")
    with pytest.raises(ValueError, match="unknown entry 'multiply'"):
        EventEncoder(5, 4, FeatureConfig(dislike=True), "multiply")


def test_the_entry_round_trips_and_old_configs_read_as_add():
    config = ModelConfig(
        kind="sasrec", features=FeatureConfig(dislike=True), feedback_entry="concat"
    )
    assert ModelConfig.from_dict(config.to_dict()) == config
    old = {k: v for k, v in config.to_dict().items() if k != "feedback_entry"}
    assert ModelConfig.from_dict(old).feedback_entry == "add"
