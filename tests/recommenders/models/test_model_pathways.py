"""The last-event cross (LastEventCross), SASRec without position embeddings and with a
relative position bias."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import Feedback, HistoryBatch
from recommenders.models import FeatureConfig, ModelConfig, build_model
from recommenders.models.features import LAST_EVENT_CROSSES, LastEventCross

from .conftest import (
    ALL_FEATURES,
    N_ITEMS,
    crossed_model,
    random_batch,
    tiny_config,
    with_random_bias,
)

FEEDBACK_FEATURES = [f for f in ALL_FEATURES if f.uses_feedback]


def _tensors(batch: HistoryBatch):
    return (
        torch.tensor(np.array(batch.items)),
        torch.tensor(np.array(batch.feedback)),
        torch.tensor(np.array(batch.dwell), dtype=torch.float32),
        torch.tensor(np.array(batch.lengths)),
    )


def test_the_cross_starts_as_the_plain_model(kind, features):
    if not features.uses_feedback:
        pytest.skip("the cross needs a feedback feature")
    torch.manual_seed(3)
    plain = build_model(tiny_config(kind, features), N_ITEMS).eval()
    torch.manual_seed(3)
    crossed = build_model(tiny_config(kind, features, last_event_cross=True), N_ITEMS).eval()
    missing, unexpected = crossed.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == [] and all(name.startswith("last_event.") for name in missing)
    inputs = _tensors(random_batch(1, 5))
    with torch.no_grad():
        assert torch.equal(crossed(*inputs), plain(*inputs))


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["gru", "sasrec"]),
    features=st.sampled_from(FEEDBACK_FEATURES),
    cross=st.sampled_from(LAST_EVENT_CROSSES),
    seed=st.integers(0, 2**16),
)
def test_the_state_is_the_network_plus_c_of_f_times_the_last_item(kind, features, cross, seed):
    model = crossed_model(kind, features, cross=cross)
    items, feedback, dwell, lengths = _tensors(random_batch(seed, 5))
    with torch.no_grad():
        trace = model.trace(items, feedback, dwell, lengths)
        states = model(items, feedback, dwell, lengths)
    assert trace.names[-2:] == ("network", "state")
    network = trace.levels[-2]
    valid = torch.arange(states.shape[1])[None, :] <= lengths[:, None]  # past it: unspecified
    torch.testing.assert_close(trace.levels[-1][valid], states[valid], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(states[:, 0], network[:, 0])  # BOS: no event, no cross
    for row in range(items.shape[0]):
        for t in range(int(lengths[row])):
            v = model.item_embedding.weight[items[row, t]]
            expected = network[row, t + 1] + _cross(model, v, feedback[row, t], dwell[row, t])
            torch.testing.assert_close(states[row, t + 1], expected, rtol=1e-5, atol=1e-5)


def _cross(model, v, feedback, dwell):
    """The cross of one event by hand: sum over features of table[index] applied to v."""
    from recommenders.models.features import feature_indices

    out = torch.zeros_like(v)
    indices = feature_indices(model.config.features, feedback, dwell)
    for table, index in zip(model.last_event.tables, indices, strict=True):
        row = table.weight[index]
        if model.config.last_event_map == "diagonal":
            out = out + row * v
        else:
            out = out + row.view(v.shape[-1], v.shape[-1]) @ v
    return out


def test_a_dislike_scale_of_minus_a_lowers_the_items_like_the_disliked_one(kind):
    """c(dislike) = -a: every item's score falls by a * v_x . v_j, the most for x itself."""
    model = crossed_model(kind, FeatureConfig(dislike=True))
    with torch.no_grad():
        model.last_event.tables[0].weight[1] = -3.0
    events = (torch.tensor([[4, 9]]), torch.tensor([[0, int(Feedback.DISLIKE)]]))
    dwell, lengths = torch.tensor([[0.9, 0.9]]), torch.tensor([2])
    with torch.no_grad():
        trace = model.trace(*events, dwell, lengths)
        before, after = (model.logits(level[0, 2]) for level in trace.levels[-2:])
        v = model.item_embedding.weight
        expected = -3.0 * v @ v[9]
        torch.testing.assert_close(after - before, expected, rtol=1e-5, atol=1e-5)
        assert int((after - before).argmin()) == 9


def test_the_cross_has_one_zeroed_table_per_feature():
    cross = LastEventCross(6, FeatureConfig(dislike=True, dwell_buckets=4, feedback_type=True))
    assert [t.num_embeddings for t in cross.tables] == [2, 4, len(Feedback)]
    assert all(torch.equal(t.weight, torch.zeros_like(t.weight)) for t in cross.tables)
    with pytest.raises(ValueError, match="needs at least one feedback feature"):
        LastEventCross(6, FeatureConfig())


def test_sasrec_without_positions_has_no_position_table_and_a_set_over_the_past():
    """One layer, no positions: the last state sees the earlier events as a set (causal
    attention over unordered keys), so swapping two of them changes nothing; with
    positions it does."""
    torch.manual_seed(0)
    config = tiny_config("sasrec", FeatureConfig(dislike=True), n_layers=1)
    unordered = build_model(
        tiny_config("sasrec", FeatureConfig(dislike=True), n_layers=1, position_embeddings=False),
        N_ITEMS,
    ).eval()
    ordered = build_model(config, N_ITEMS).eval()
    assert unordered.positions is None and ordered.positions is not None
    items = torch.tensor([[3, 7, 11, 5], [7, 3, 11, 5]])
    feedback = torch.tensor([[0, int(Feedback.DISLIKE), 0, 0], [int(Feedback.DISLIKE), 0, 0, 0]])
    dwell, lengths = torch.full((2, 4), 0.8), torch.tensor([4, 4])
    with torch.no_grad():
        last = unordered.last_state(items, feedback, dwell, lengths)
        torch.testing.assert_close(last[0], last[1], rtol=1e-5, atol=1e-6)
        moved = ordered.last_state(items, feedback, dwell, lengths)
        assert not torch.allclose(moved[0], moved[1], atol=1e-4)


def _last_states(model, items, feedback):
    dwell = torch.full(items.shape, 0.8)
    lengths = torch.full((items.shape[0],), items.shape[1])
    with torch.no_grad():
        return model.last_state(items, feedback, dwell, lengths)


def test_the_position_bias_starts_as_the_model_without_positions():
    """Zero at the start and drawing no random numbers: the same seed gives the same
    network, whose states are those of the model without positions until it learns."""
    states = []
    for bias in (False, True):
        torch.manual_seed(4)
        config = tiny_config("sasrec", FeatureConfig(dislike=True), position_embeddings=False)
        model = build_model(
            ModelConfig.from_dict({**config.to_dict(), "position_bias": bias}), N_ITEMS
        )
        assert (model.distance_bias is not None) == bias and model.positions is None
        items = torch.tensor([[3, 7, 11, 5], [9, 2, 4, 1]])
        states.append(_last_states(model.eval(), items, torch.zeros_like(items)))
    # Equal up to float rounding: with the bias, inference runs layer by layer.
    torch.testing.assert_close(states[0], states[1], rtol=1e-5, atol=1e-6)


def test_the_position_bias_brings_order_back_without_position_embeddings():
    """Swapping two earlier events leaves the unordered model's last state as it was
    (see above); a learned distance bias makes it depend on their order again."""
    torch.manual_seed(0)
    config = tiny_config(
        "sasrec",
        FeatureConfig(dislike=True),
        n_layers=1,
        position_embeddings=False,
        position_bias=True,
    )
    model = with_random_bias(build_model(config, N_ITEMS)).eval()
    assert model.positions is None
    items = torch.tensor([[3, 7, 11, 5], [7, 3, 11, 5]])
    feedback = torch.tensor([[0, int(Feedback.DISLIKE), 0, 0], [int(Feedback.DISLIKE), 0, 0, 0]])
    moved = _last_states(model, items, feedback)
    assert not torch.allclose(moved[0], moved[1], atol=1e-4)


@pytest.mark.parametrize("heads", [1, 2])
@pytest.mark.parametrize("positions", [False, True])
def test_training_and_inference_apply_the_same_position_bias(heads, positions):
    """Training goes through torch's encoder with one additive mask per row and head,
    inference layer by layer; at dropout 0 every unpadded state agrees, and the bias
    gets a gradient from a loss on the states."""
    torch.manual_seed(1)
    config = tiny_config(
        "sasrec",
        FeatureConfig(dislike=True),
        dropout=0.0,
        n_heads=heads,
        position_embeddings=positions,
        position_bias=True,
    )
    model = with_random_bias(build_model(config, N_ITEMS))
    items, feedback, dwell, lengths = _tensors(random_batch(2, 5))
    x = model.embed(items, feedback, dwell, lengths)
    trained = model.train()._contextualise(x, lengths)
    with torch.no_grad():
        served = model.eval()._contextualise(x, lengths)
    unpadded = torch.arange(trained.shape[1])[None] <= lengths[:, None]
    torch.testing.assert_close(trained[unpadded], served[unpadded], rtol=1e-5, atol=1e-5)
    (trained[unpadded] ** 2).sum().backward()
    assert model.distance_bias.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "gru", "position_embeddings": False}, "applies to sasrec only, not 'gru'"),
        ({"kind": "gru", "position_bias": True}, "position_bias=True applies to sasrec only"),
        ({"kind": "sasrec", "position_bias": 1}, "position_bias must be bool"),
        ({"kind": "sasrec", "position_embeddings": 0}, "position_embeddings must be bool"),
        ({"kind": "sasrec", "last_event_cross": True}, "last_event_cross needs a feedback feature"),
        ({"last_event_cross": "yes"}, "last_event_cross must be bool"),
        ({"last_event_map": "full"}, "last_event_map must be one of"),
    ],
)
def test_bad_options_are_one_line_errors(kwargs, match):
    with pytest.raises(ValueError, match=match) as error:
        ModelConfig(**kwargs)
    assert "\n" not in str(error.value)


def test_the_options_round_trip_and_old_configs_read_as_before():
    config = ModelConfig(
        kind="sasrec",
        features=FeatureConfig(dislike=True),
        position_embeddings=False,
        last_event_cross=True,
    )
    assert ModelConfig.from_dict(config.to_dict()) == config
    old = {
        k: v
        for k, v in config.to_dict().items()
        if k not in ("position_embeddings", "last_event_cross")
    }
    restored = ModelConfig.from_dict(old)
    assert restored.position_embeddings and not restored.last_event_cross
    assert not restored.position_bias  # configs saved before the option read as without it
