import numpy as np
import pytest
import torch

from recommenders import History, HistoryBatch
from recommenders.models import FeatureConfig, build_model


def test_shapes_and_finite(kind, features, make_model, make_batch, to_tensors):
    model = make_model(kind, features)
    batch = make_batch(np.random.default_rng(0), 7, model.n_items, model.config.max_len)
    items, feedback, dwell, lengths = to_tensors(batch)
    with torch.no_grad():
        states = model(items, feedback, dwell, lengths)
        last = model.last_state(items, feedback, dwell, lengths)
        logits = model.logits(states)
    width = batch.width
    assert states.shape == (7, width + 1, 8)
    assert last.shape == (7, 8)
    assert logits.shape == (7, width + 1, model.n_items)
    mask = torch.arange(width + 1) <= lengths[:, None]
    assert torch.isfinite(states[mask]).all()
    torch.testing.assert_close(last, states[torch.arange(7), lengths])


def test_empty_histories_get_the_bos_state(kind, features, make_model, to_tensors):
    model = make_model(kind, features)
    rows = [History.empty(), History([3, 4], [0, 2], [0.5, 0.1]), History.empty()]
    with torch.no_grad():
        states = model(*to_tensors(HistoryBatch.of(rows)))
        last = model.last_state(*to_tensors(HistoryBatch.of(rows)))
        only_empty = model.last_state(*to_tensors(HistoryBatch.of([History.empty()])))
    assert only_empty.shape == (1, 8)
    assert torch.isfinite(only_empty).all()
    for row in range(3):  # states[:, 0] never depends on the history
        torch.testing.assert_close(states[row, 0], only_empty[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(last[[0, 2]], only_empty.expand(2, -1), atol=1e-6, rtol=0)


def test_output_embeddings_are_tied(kind, make_model):
    model = make_model(kind)
    assert model.item_embedding is model.events.item_embedding
    assert model.item_embedding.weight.shape == (model.n_items, 8)
    states = torch.randn(2, 3, 8)
    torch.testing.assert_close(model.logits(states), states @ model.item_embedding.weight.T)
    n_tables = sum(p is model.item_embedding.weight for p in model.parameters())
    assert n_tables == 1


def test_item_embedding_init_is_small_normal(kind, make_config):
    torch.manual_seed(0)
    weight = build_model(make_config(kind, dim=64), 2000).item_embedding.weight
    assert abs(weight.std().item() - 0.02) < 0.001


def test_initialisation_is_deterministic(kind, make_config):
    features = FeatureConfig(dislike=True, dwell_buckets=3, feedback_type=True)
    states = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        states.append(
            build_model(make_config(kind, features=features, n_layers=2), 11).state_dict()
        )
    for name, value in states[0].items():
        assert torch.equal(value, states[1][name]), name
    assert not torch.equal(
        states[0]["events.item_embedding.weight"], states[2]["events.item_embedding.weight"]
    )


def test_sasrec_layers_are_initialised_independently(make_config):
    torch.manual_seed(0)
    model = build_model(make_config("sasrec", n_layers=2), 11)
    first, second = model.transformer.layers
    assert not torch.equal(first.linear1.weight, second.linear1.weight)


def test_deeper_models_and_training_mode(kind, make_config, make_batch, to_tensors):
    torch.manual_seed(0)
    model = build_model(make_config(kind, n_layers=2, n_heads=4, dropout=0.3), 11).train()
    batch = make_batch(np.random.default_rng(3), 5, 11, 12)
    states = model(*to_tensors(batch))
    states.sum().backward()
    assert states.shape == (5, batch.width + 1, 8)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_other_dtypes_accepted(kind, make_model, make_batch, to_tensors):
    model = make_model(kind, FeatureConfig(dwell_buckets=4))
    items, feedback, dwell, lengths = to_tensors(make_batch(np.random.default_rng(4), 5, 11, 9))
    with torch.no_grad():
        expected = model.last_state(items, feedback, dwell, lengths)
        got = model.last_state(items.int(), feedback.int(), dwell.double(), lengths.int())
    torch.testing.assert_close(got, expected)


def _bad(items, lengths):
    items = torch.tensor(items)
    shape = items.shape
    return items, torch.zeros(shape, dtype=torch.long), torch.ones(shape), torch.tensor(lengths)


@pytest.mark.parametrize(
    ("inputs", "match"),
    [
        (_bad([[1] * 13], [13]), "width 13 > max_len 12; use truncate"),
        (_bad([[1, 23]], [2]), r"items within length in \[0, 23\)"),
        (_bad([[1, -1]], [2]), r"items within length in \[0, 23\)"),
        (_bad([[1, -1]], [3]), r"lengths must be in \[0, 2\]"),
        (_bad([[1, -1]], [-1]), r"lengths must be in \[0, 2\]"),
        (_bad([[1, 2]], [2, 2]), r"lengths must have shape \(1,\)"),
        (_bad([1, 2], [2]), "must be \\(B, L\\) of one shape"),
    ],
)
def test_input_validation(kind, make_model, inputs, match):
    with pytest.raises(ValueError, match=match):
        make_model(kind)(*inputs)


def test_items_past_the_length_may_be_anything(kind, make_model):
    items, feedback, dwell, lengths = _bad([[1, 99]], [1])
    model = make_model(kind)
    with torch.no_grad():
        torch.testing.assert_close(
            model.last_state(items, feedback, dwell, lengths),
            model.last_state(items[:, :1], feedback[:, :1], dwell[:, :1], lengths),
        )


def test_inference_fast_path_matches_autograd_path(
    kind, features, make_model, make_batch, to_tensors
):
    # Under no_grad torch may take its fused transformer path; real positions must agree.
    model = make_model(kind, features)
    inputs = to_tensors(make_batch(np.random.default_rng(5), 6, model.n_items, 12))
    with torch.no_grad():
        fast = model(*inputs)
    slow = model(*inputs).detach()
    real = torch.arange(fast.shape[1]) <= inputs[3][:, None]
    torch.testing.assert_close(fast[real], slow[real], atol=1e-5, rtol=1e-5)
