"""SequentialRecommender.trace: forward's intermediates, level by level."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders.models.base import level_names

from .conftest import N_ITEMS, random_batch


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_the_last_level_is_forward(kind, features, make_model, to_tensors, seed):
    model = make_model(kind, features, n_layers=2)
    inputs = to_tensors(random_batch(seed, 6))
    with torch.no_grad():
        trace = model.trace(*inputs)
        states = model(*inputs)
    assert trace.names == level_names(2) == ("input", "layer 1", "layer 2", "state")
    assert len(trace.levels) == 4
    lengths = inputs[3]
    valid = torch.arange(states.shape[1])[None, :] <= lengths[:, None]
    torch.testing.assert_close(trace.levels[-1][valid], states[valid], rtol=1e-5, atol=1e-5)


def test_attention_is_causal_and_normalised(make_model, to_tensors):
    model = make_model("sasrec", n_layers=2)
    inputs = to_tensors(random_batch(1, 6))
    with torch.no_grad():
        trace = model.trace(*inputs)
    assert len(trace.attention) == 2
    for weights in trace.attention:
        width = weights.shape[-1]
        assert weights.shape == (6, 2, width, width)
        torch.testing.assert_close(weights.sum(-1), torch.ones(6, 2, width))
        assert (weights.triu(1) == 0).all()  # no position attends to a later one


def test_gru_has_no_attention_and_trace_needs_eval_mode(make_model, make_config, to_tensors):
    assert make_model("gru").trace(*to_tensors(random_batch(2, 6))).attention is None
    from recommenders.models import build_model

    training = build_model(make_config("sasrec"), N_ITEMS).train()
    with pytest.raises(RuntimeError, match="needs eval mode"):
        training.trace(*to_tensors(random_batch(2, 6)))
