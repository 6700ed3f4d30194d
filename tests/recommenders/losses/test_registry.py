"""The registries' contract, over every registered loss: a new entry is tested here the day
it is added (shapes, finite value and gradient, zero weights, reductions, training builds).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recommenders.history import PAD
from recommenders.losses import (
    GBCE,
    NEGATIVE_LOSSES,
    POSITIVE_LOSSES,
    EmbeddingLogits,
    LossEntry,
    NotToRecommend,
    Objective,
    SampledSoftmax,
    SoftmaxCE,
)
from recommenders.losses.registry import LossRegistry
from recommenders.sequences import Slices
from recommenders.training.loop import TrainConfig, build_objective
from recommenders.variants import Variant
from tests.recommenders.losses.helpers import F64, problem

ENTRIES = [*POSITIVE_LOSSES.values(), *NEGATIVE_LOSSES.values()]
# V > 256: gBCE's default of 256 negatives needs V - 1 >= n_neg.
N, V, D = 10, 300, 6


def _id(entry: LossEntry) -> str:
    return f"{entry.role}-{entry.name}"


def test_registry_names():
    # The names the variants, presets and the gradient study use; a new entry adds to them.
    assert set(POSITIVE_LOSSES) >= {"softmax_ce", "sampled_softmax", "gbce", "bce"}
    assert set(NEGATIVE_LOSSES) >= {
        "not_to_recommend",
        "sampled_not_to_recommend",
        "negative_weight_ce",
        "eps_smoothed_ce",
        "focal_negative",
        "gbce_negative",
    }
    for role, registry in (("positive", POSITIVE_LOSSES), ("negative", NEGATIVE_LOSSES)):
        assert all(registry[name].name == name and registry[name].role == role for name in registry)


def test_unknown_and_duplicate_names():
    with pytest.raises(KeyError, match=r"unknown positive loss 'hinge'; known: .*'softmax_ce'"):
        POSITIVE_LOSSES["hinge"]
    twice = LossEntry("softmax_ce", SoftmaxCE, role="positive")
    with pytest.raises(ValueError, match="registered twice"):
        LossRegistry("positive", (twice, twice))
    with pytest.raises(ValueError, match="role must be"):
        LossEntry("x", SoftmaxCE, role="both")  # type: ignore[arg-type]


def test_bce_is_gbce_with_one_negative_and_t_0():
    bce = POSITIVE_LOSSES["bce"]()
    assert type(bce) is GBCE and (bce.n_neg, bce.t) == (1, 0.0)
    assert isinstance(Objective("bce").positive, GBCE)
    with pytest.raises(TypeError):
        POSITIVE_LOSSES["bce"](n_neg=5)  # the name fixes n_neg


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_contract_shapes_value_and_gradient(entry):
    e, s, labels, w = problem(n=N, v=V, d=D)
    e, s = e.requires_grad_(True), s.requires_grad_(True)
    source = EmbeddingLogits(e)
    loss = entry()
    assert isinstance(loss, entry.cls)
    per = loss.per_example(source, s, labels)
    assert per.shape == (N,) and per.dtype == F64 and bool(torch.isfinite(per).all())
    # A fresh loss draws what `loss` drew (each is seeded alike), so the call is the
    # weighted sum of per_example.
    value = entry()(source, s, labels, w)
    assert value.shape == () and bool(torch.isfinite(value))
    torch.testing.assert_close(value, (w * per).sum())
    grad_e, grad_s = torch.autograd.grad(value, (e, s))
    assert bool(torch.isfinite(grad_e).all()) and bool(torch.isfinite(grad_s).all())
    assert grad_s.abs().sum() > 0  # the loss depends on the states


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_contract_zero_weights_give_zero(entry):
    e, s, labels, w = problem(n=N, v=V, d=D)
    s = s.requires_grad_(True)
    for reduction in ("sum", "mean"):
        value = entry()(EmbeddingLogits(e), s, labels, torch.zeros_like(w), reduction=reduction)
        assert value.item() == 0.0
        (grad,) = torch.autograd.grad(value, s)
        assert grad.abs().max().item() == 0.0


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_contract_mean_and_fixed_reductions(entry):
    e, s, labels, w = problem(n=N, v=V, d=D)
    w[[1, 4]] = 0.0
    source = EmbeddingLogits(e)
    total = entry()(source, s, labels, w)
    torch.testing.assert_close(entry()(source, s, labels, w, reduction="mean"), total / (N - 2))
    torch.testing.assert_close(entry()(source, s, labels, w, reduction=4.0), total / 4)
    with pytest.raises(ValueError, match="reduction must be"):
        entry()(source, s, labels, w, reduction="max")
    with pytest.raises(ValueError, match="weights must be >= 0"):
        entry()(source, s, labels, -w)


def _windows(seed: int = 0) -> Slices:
    rng = np.random.default_rng(seed)
    items = rng.integers(0, V, (8, 5))
    items[:, 3:] = PAD
    zeros = np.zeros(items.shape)
    lengths = np.full(8, 3)
    return Slices(items, zeros, zeros, lengths, lengths * 0, lengths * 0, zeros[:, 0])


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_contract_training_builds_are_deterministic(entry):
    config = TrainConfig(n_negatives=8, seed=3)
    e, s, labels, w = problem(n=N, v=V, d=D)
    source = EmbeddingLogits(e)
    first = entry.for_training(config, _windows(), V)
    second = entry.for_training(config, _windows(), V)
    assert isinstance(first, entry.cls)
    assert first(source, s, labels, w).item() == second(source, s, labels, w).item()


@pytest.mark.parametrize("positive", list(POSITIVE_LOSSES))
@pytest.mark.parametrize("negative", list(NEGATIVE_LOSSES))
def test_build_objective_takes_every_registered_name(positive, negative):
    config = TrainConfig(positive_loss=positive, n_negatives=8)
    objective = build_objective(config, Variant("v", negative_loss=negative), _windows(), V)
    assert isinstance(objective.positive, POSITIVE_LOSSES[positive].cls)
    assert isinstance(objective.negative, NEGATIVE_LOSSES[negative].cls)


def test_training_builds_of_the_sampled_and_per_position_losses():
    config = TrainConfig(n_negatives=8, seed=3, gbce_t=0.5)
    windows = _windows()
    sampled = POSITIVE_LOSSES["sampled_softmax"].for_training(config, windows, V)
    assert type(sampled) is SampledSoftmax and sampled.shared and sampled.n_neg == 8
    # q: the items' frequency in the windows, +1 smoothing, normalised.
    counts = np.bincount(windows.items[windows.items >= 0], minlength=V) + 1.0
    torch.testing.assert_close(sampled.q, torch.as_tensor(counts / counts.sum()))
    expected = torch.Generator().manual_seed(3)
    assert torch.equal(sampled.generator.get_state(), expected.get_state())
    gbce = POSITIVE_LOSSES["gbce"].for_training(config, windows, V)
    bce = POSITIVE_LOSSES["bce"].for_training(config, windows, V)
    assert (gbce.n_neg, gbce.t, bce.n_neg, bce.t) == (8, 0.5, 1, 0.0)
    for loss in (gbce, bce):
        assert torch.equal(loss.generator.get_state(), expected.get_state())
    assert type(NEGATIVE_LOSSES["not_to_recommend"].for_training(config, windows, V)) is (
        NotToRecommend
    )


def test_train_config_accepts_exactly_the_positive_registry():
    for name in POSITIVE_LOSSES:
        assert TrainConfig(positive_loss=name).positive_loss == name
    with pytest.raises(ValueError, match="positive_loss must be one of softmax_ce, "):
        TrainConfig(positive_loss="not_to_recommend")
