"""The bce / gbce positive losses in training: hand formulas, options, a validate hook."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recommenders import Feedback
from recommenders.losses import GBCE, EmbeddingLogits, gbce_beta
from recommenders.models import ModelConfig, build_model
from recommenders.sequences import training_windows
from recommenders.training.loop import TrainConfig, build_objective, train_model
from recommenders.variants import ALL_POSITIVE, Variant
from tests.recommenders.conftest import cyclic_sequences, make_sequences

D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


def test_bce_and_gbce_objectives_match_hand_formulas():
    v = 6
    windows = training_windows(make_sequences({0: [(1, P), (2, P), (3, P)]}), 3)
    blind = Variant("blind", labels=ALL_POSITIVE)
    bce = build_objective(TrainConfig(positive_loss="bce"), blind, windows, v)
    assert isinstance(bce.positive, GBCE) and (bce.positive.n_neg, bce.positive.t) == (1, 0.0)
    gbce = build_objective(TrainConfig(positive_loss="gbce", n_negatives=3), blind, windows, v)
    assert (gbce.positive.n_neg, gbce.positive.t) == (3, 0.75)

    # With identity embeddings the states are the logits z.
    z = torch.tensor([[0.3, -1.0, 2.0, 0.5, 0.0, 1.5]], dtype=torch.float64, requires_grad=True)
    source = EmbeddingLogits(torch.eye(v, dtype=torch.float64))
    label, weight = torch.tensor([2]), torch.ones(1, dtype=torch.float64)
    sig = torch.sigmoid
    # BCE, one negative (item 4): L = -log s(z_2) - log(1 - s(z_4)).
    loss = bce.positive(source, z, label, weight, negatives=torch.tensor([[4]]))
    zz = z.detach()[0]
    hand = -torch.log(sig(zz[2])) - torch.log(1 - sig(zz[4]))
    assert loss.item() == pytest.approx(hand.item())
    loss.backward()
    grad = torch.zeros(v, dtype=torch.float64)
    grad[2], grad[4] = -(1 - sig(zz[2])), sig(zz[4])
    torch.testing.assert_close(z.grad[0], grad)
    # gBCE, negatives 0, 4, 4: L = -beta log s(z_2) - sum_k log(1 - s(z_k)).
    z.grad = None
    beta = gbce_beta(3, v, 0.75)
    loss = gbce.positive(source, z, label, weight, negatives=torch.tensor([[0, 4, 4]]))
    hand = -beta * torch.log(sig(zz[2])) - torch.log(1 - sig(zz[[0, 4, 4]])).sum()
    assert loss.item() == pytest.approx(hand.item())
    loss.backward()
    grad = torch.zeros(v, dtype=torch.float64)
    grad[2], grad[0], grad[4] = -beta * (1 - sig(zz[2])), sig(zz[0]), 2 * sig(zz[4])
    torch.testing.assert_close(z.grad[0], grad)


def test_dense_gather_equals_the_gathered_embeddings():
    g = torch.Generator().manual_seed(0)
    e, s = torch.randn(7, 4, generator=g), torch.randn(5, 4, generator=g)
    items = torch.randint(0, 7, (5, 3), generator=g)  # 3 x 4 > 7: the dense route
    expected = torch.einsum("nd,nmd->nm", s, e[items])
    torch.testing.assert_close(EmbeddingLogits(e).gather(s, items), expected)


def test_bad_loss_options():
    with pytest.raises(ValueError, match="positive_loss must be one of"):
        TrainConfig(positive_loss="hinge")
    with pytest.raises(ValueError, match="gbce_t must be in"):
        TrainConfig(positive_loss="gbce", gbce_t=1.5)
    with pytest.raises(ValueError, match="max_seconds must be finite and > 0"):
        TrainConfig(max_seconds=0)
    windows = training_windows(make_sequences({0: [(1, P), (2, P), (3, P)]}), 3)
    with pytest.raises(ValueError, match="n_negatives 9 must be <= n_items - 1"):
        build_objective(TrainConfig(positive_loss="gbce", n_negatives=9), Variant("x"), windows, 6)


# ---------------------------------------------------------------------- training, end to end


@pytest.mark.parametrize("loss", ["bce", "gbce"])
def test_train_model_with_bce_losses_and_a_validate_hook(loss):
    seqs = cyclic_sequences()
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="sasrec", dim=8, max_len=6, n_layers=1), 20)
    scripted = iter([0.1, 0.3, 0.2])
    calls = []

    def validate(m):
        calls.append(m.training)
        return {"ndcg10": next(scripted), "recall10": 0.0, "disliked_in_top10": 0.0}

    train = TrainConfig(epochs=3, batch_size=8, positive_loss=loss, n_negatives=5, patience=5)
    blind = Variant("blind", labels=ALL_POSITIVE)
    result = train_model(model, blind, seqs, train, validate=validate)
    assert calls == [False, False, False]  # called in eval mode after each epoch
    assert result.best_epoch == 2 and list(result.history["val_ndcg10"]) == [0.1, 0.3, 0.2]
    assert np.isfinite(result.history["train_loss"]).all()
    assert result.sequences_per_second > 0


def test_max_seconds_stops_after_the_first_epoch():
    model = build_model(ModelConfig(kind="gru", dim=8, max_len=6), 20)
    train = TrainConfig(epochs=5, batch_size=8, positive_loss="softmax_ce", max_seconds=1e-6)
    result = train_model(model, Variant("blind", labels=ALL_POSITIVE), cyclic_sequences(), train)
    assert len(result.history) == 1
