"""Tests for recommenders.losses.gbce: gbce_beta, GBCE (and "bce") and GBCENegative."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recommenders.losses import GBCE, NEGATIVE_LOSSES, EmbeddingLogits, gbce_beta
from tests.recommenders.losses.helpers import (
    assert_deterministic_given_seed,
    eye_source,
    gen,
    gradcheck_sampled_loss,
    problem,
)


def test_gbce_beta_formula():
    v, k = 1001, 100
    alpha = k / (v - 1)
    assert gbce_beta(k, v, 0.0) == pytest.approx(1.0)  # plain BCE
    assert gbce_beta(k, v, 1.0) == pytest.approx(alpha)  # fully calibrated
    assert gbce_beta(k, v, 0.75) == pytest.approx(alpha * (0.75 * (1 - 1 / alpha) + 1 / alpha))
    assert gbce_beta(k, v, 0.75) == pytest.approx(1 + 0.75 * (alpha - 1))
    assert gbce_beta(v - 1, v, 0.5) == pytest.approx(1.0)  # alpha = 1: every other item
    with pytest.raises(ValueError):
        gbce_beta(k, v, 1.5)
    with pytest.raises(ValueError):
        gbce_beta(v, v, 0.5)


@pytest.mark.parametrize("t", [0.0, 0.75, 1.0])
def test_gbce_value_matches_formula(t):
    e, s, labels, w = problem(n=8, v=20)
    loss = GBCE(n_neg=6, t=t, generator=gen(9))
    neg = loss.sample_negatives(labels, 20)
    z = s @ e.T
    beta = gbce_beta(6, 20, t)
    sig = torch.sigmoid
    pos_term = beta * torch.log(sig(z[torch.arange(8), labels]))
    per = -(pos_term + torch.log(1 - sig(z.gather(1, neg))).sum(1))
    got = loss(EmbeddingLogits(e), s, labels, w, negatives=neg)
    torch.testing.assert_close(got, (w * per).sum(), rtol=1e-10, atol=0)
    normed = GBCE(n_neg=6, t=t, normalise_by_candidates=True)
    got_n = normed(EmbeddingLogits(e), s, labels, w, negatives=neg)
    torch.testing.assert_close(got_n, (w * per).sum() / 7)
    if t == 0.0:  # plain BCE on the positive and the negatives
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        cand = torch.cat([z[torch.arange(8), labels][:, None], z.gather(1, neg)], 1)
        target = torch.zeros_like(cand)
        target[:, 0] = 1
        torch.testing.assert_close(got, (w * bce(cand, target, reduction="none").sum(1)).sum())


def test_gbce_negatives_uniform_over_other_items_without_hits():
    v = 12
    labels = torch.full((4000,), 5)
    neg = GBCE(n_neg=3, generator=gen(0)).sample_negatives(labels, v)
    assert neg.shape == (4000, 3) and (neg != 5).all() and neg.min() >= 0 and neg.max() < v
    counts = np.bincount(neg.flatten().numpy(), minlength=v)
    assert counts[5] == 0
    others = np.delete(counts, 5)  # expected 12000 / 11 ~ 1091 each; sd ~ 31
    assert np.abs(others - 12000 / 11).max() < 150


def test_gbce_stable_for_extreme_logits():
    z = torch.tensor([[-200.0, 200.0, 0.0, 1.0]], requires_grad=True)
    out = GBCE(n_neg=2, t=0.75)(
        eye_source(4, torch.float32),
        z,
        torch.tensor([0]),
        torch.ones(1),
        negatives=torch.tensor([[1, 2]]),
    )
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(z.grad).all()


def test_gradcheck_sampled_losses():
    gradcheck_sampled_loss(GBCE(n_neg=5, t=0.75))


def test_sampled_losses_deterministic_given_seed():
    assert_deterministic_given_seed(GBCE)


def test_gbce_negative_is_softplus_of_the_label_logit_and_fades():
    """-w log(1 - sigmoid(z)): value softplus(z), dL/dz = w sigmoid(z) -> 0 as z falls,
    unlike negative-weight CE whose dL/dz tends to w."""
    e, s, labels, w = problem()
    loss = NEGATIVE_LOSSES["gbce_negative"]()
    z = (e[labels] * s).sum(dim=1)
    got = loss(EmbeddingLogits(e), s, labels, w)
    torch.testing.assert_close(got, (w * torch.nn.functional.softplus(z)).sum())
    source = EmbeddingLogits(torch.eye(3, dtype=torch.float64))
    for logit, expected in ((0.0, 0.5), (-30.0, 1 / (1 + math.exp(30.0)))):
        states = torch.tensor([[logit, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
        value = loss(source, states, torch.tensor([0]), torch.ones(1, dtype=torch.float64))
        (grad,) = torch.autograd.grad(value, states)
        assert math.isclose(float(grad[0, 0]), expected, rel_tol=1e-9)
        assert float(grad[0, 1:].abs().sum()) == 0.0
