"""recommenders.probe: the state gap between two branches of a fork, level by level."""

import numpy as np
import pytest
import torch

from recommenders import History, HistoryBatch
from recommenders.history import Feedback
from recommenders.models import FeatureConfig, ModelConfig, build_model
from recommenders.probe import branch_gap, check_branches
from recommenders.variants import get_variant

N_ITEMS = 30


def _fork(seed: int = 0, n_rows: int = 9) -> tuple[HistoryBatch, HistoryBatch]:
    """Histories ending in x_k with long dwell (A) or long dwell + dislike (B)."""
    rng = np.random.default_rng(seed)
    a, b = [], []
    for _ in range(n_rows):
        t = int(rng.integers(1, 15))
        items, feedback, dwell = rng.integers(0, N_ITEMS, t), rng.integers(0, 4, t), rng.random(t)
        feedback[-1], dwell[-1] = int(Feedback.POSITIVE), 1.0
        a.append(History(items, feedback.copy(), dwell))
        feedback[-1] = int(Feedback.DISLIKE)
        b.append(History(items, feedback, dwell))
    return HistoryBatch.of(a), HistoryBatch.of(b)


def _model(kind: str, features: FeatureConfig):
    torch.manual_seed(0)
    config = ModelConfig(kind=kind, dim=8, max_len=10, n_layers=2, n_heads=2, features=features)
    return build_model(config, N_ITEMS).eval()


@pytest.mark.parametrize("kind", ["gru", "sasrec"])
def test_a_feedback_blind_model_has_no_gap_anywhere(kind):
    probe = branch_gap(_model(kind, FeatureConfig()), get_variant("baseline"), *_fork())
    assert probe.names == ("input", "layer 1", "layer 2", "state")
    assert probe.gap.shape == (9, 4)
    assert (probe.gap == 0).all()
    assert (probe.aim == 0).all() and (probe.drop == 0).all()


@pytest.mark.parametrize("kind", ["gru", "sasrec"])
def test_the_dislike_feature_opens_a_gap_from_the_input_on(kind):
    variant = get_variant("dislike_feature")
    probe = branch_gap(_model(kind, variant.features), variant, *_fork())
    assert (probe.gap > 0).all()
    # Identical branches: no gap, whatever the model.
    a, _ = _fork()
    assert (branch_gap(_model(kind, variant.features), variant, a, a).gap == 0).all()


def test_attention_on_x_k_is_a_weight_per_branch_and_layer():
    variant = get_variant("dislike_feature")
    probe = branch_gap(_model("sasrec", variant.features), variant, *_fork())
    assert probe.last_attention.shape == (2, 9, 2)
    assert ((probe.last_attention > 0) & (probe.last_attention <= 1)).all()
    gru = branch_gap(_model("gru", variant.features), variant, *_fork())
    assert gru.last_attention is None


def test_rows_are_chunked_without_changing_the_result():
    variant = get_variant("dislike_feature")
    model = _model("sasrec", variant.features)
    whole = branch_gap(model, variant, *_fork(n_rows=20))
    chunked = branch_gap(model, variant, *_fork(n_rows=20), batch_size=3)
    np.testing.assert_allclose(whole.gap, chunked.gap, rtol=1e-5)
    np.testing.assert_allclose(whole.last_attention, chunked.last_attention, rtol=1e-5)


def test_branches_that_are_not_a_fork_are_refused():
    a, b = _fork()
    items = a.items.copy()
    items[0, 0] = (items[0, 0] + 1) % N_ITEMS
    with pytest.raises(ValueError, match="same items"):
        check_branches(HistoryBatch(items, a.feedback, a.dwell, a.lengths), b)
    feedback = b.feedback.copy()
    row = int(np.argmax(b.lengths > 1))
    feedback[row, 0] = (feedback[row, 0] + 1) % 4
    with pytest.raises(ValueError, match="differ in feedback before their last event"):
        check_branches(a, HistoryBatch(b.items, feedback, b.dwell, b.lengths))
    with pytest.raises(ValueError, match="same lengths"):
        check_branches(a, b.take(np.arange(3)))


def test_a_variant_that_drops_the_disliked_x_k_cannot_be_probed():
    variant = get_variant("exclude_disliked")
    with pytest.raises(ValueError, match="different inputs lengths"):
        branch_gap(_model("gru", variant.features), variant, *_fork())


@pytest.mark.parametrize("kind", ["gru", "sasrec"])
def test_a_cross_of_minus_a_aims_straight_away_from_x_k(kind):
    """With the network blind to the dislike (its feature table zeroed) and c(dislike) =
    -a, the state moves by exactly -a v_{x_k}: aim 1 and a score fall of a ||v||^2 / sd."""
    variant = get_variant("dislike_feature")
    torch.manual_seed(0)
    config = ModelConfig(
        kind=kind, dim=8, max_len=16, n_heads=2, features=variant.features, last_event_cross=True
    )
    model = build_model(config, N_ITEMS).eval()
    with torch.no_grad():
        model.events.dislike.weight.zero_()
        model.last_event.tables[0].weight[1] = -2.0
    a, b = _fork()
    probe = branch_gap(model, variant, a, b)
    np.testing.assert_allclose(probe.aim, 1.0, rtol=1e-5)
    with torch.no_grad():
        states = model.last_state(
            torch.tensor(a.items),
            torch.tensor(a.feedback),
            torch.tensor(a.dwell).float(),
            torch.tensor(a.lengths),
        )
        v = model.item_embedding.weight[torch.tensor(a.items[np.arange(9), a.lengths - 1])]
        expected = 2.0 * (v * v).sum(-1) / model.logits(states).std(-1)
    np.testing.assert_allclose(probe.drop, expected.double().numpy(), rtol=1e-4)
