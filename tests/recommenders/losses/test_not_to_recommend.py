"""Tests for recommenders.losses.not_to_recommend: -w log(1 - p), full and sampled."""

from __future__ import annotations

import math

import pytest
import torch

from recommenders.losses import EmbeddingLogits, NotToRecommend, SampledNotToRecommend
from tests.recommenders.losses.helpers import (
    F64,
    assert_deterministic_given_seed,
    assert_negative_matches_direct_formula,
    eye_source,
    gen,
    gradcheck_full_loss,
    gradcheck_sampled_loss,
    loss_and_grads,
    problem,
    row_with_p,
)


def test_negative_values_match_direct_formulas():
    assert_negative_matches_direct_formula("not_to_recommend")


def test_gradcheck_full_losses():
    gradcheck_full_loss("not_to_recommend")


def test_gradcheck_sampled_losses():
    gradcheck_sampled_loss(SampledNotToRecommend(n_neg=5, q=torch.arange(1.0, 10.0)))


P_RANGE = [1e-12, 1e-9, 1e-6, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-3, 1 - 1e-6, 1 - 1e-12]


@pytest.mark.parametrize("v", [2, 100])
@pytest.mark.parametrize("p", P_RANGE)
def test_n2r_finite_and_exact_derivatives_over_p_range(p, v):
    w = 0.7
    loss, dl_dp, dl_dz = loss_and_grads(NotToRecommend(), p, v=v, w=w)
    assert torch.isfinite(loss) and torch.isfinite(dl_dp) and torch.isfinite(dl_dz)
    assert loss.item() == pytest.approx(-w * math.log1p(-p), rel=1e-6)
    # dL/dp = w / (1 - p): bounded (<= 2w) for p <= 1/2, in particular as p -> 0.
    assert dl_dp.item() == pytest.approx(w / (1 - p), rel=1e-6)
    # dL/dz_y = w p: vanishes like w p as p -> 0, never exceeds w.
    assert dl_dz.item() / (w * p) == pytest.approx(1.0, rel=1e-6)
    assert 0 < dl_dz.item() <= w


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("v", [2, 10])
def test_n2r_no_nan_when_label_logit_is_50_above_the_rest(dtype, v):
    z = torch.zeros(1, v, dtype=dtype)
    z[0, 0] = 50.0
    z.requires_grad_(True)
    w = torch.tensor([0.7], dtype=dtype)
    out = NotToRecommend()(eye_source(v, dtype), z, torch.tensor([0]), w)
    out.backward()
    # p rounds to 1.0 here in float32 (and 1 - p underflows relative to 1); the masked
    # logsumexp still gives log(1 - p) = -(50 - log(v - 1)) up to exp(-50) terms.
    assert torch.isfinite(out) and torch.isfinite(z.grad).all()
    assert out.item() == pytest.approx(0.7 * (50 - math.log(v - 1)), rel=1e-6)
    assert z.grad[0, 0].item() == pytest.approx(0.7, rel=1e-6)  # dL/dz_y = w p, p ~ 1
    assert z.grad.sum().item() == pytest.approx(0.0, abs=1e-6)


def test_n2r_no_nan_at_p_one_minus_1e6_float32():
    rest = torch.zeros(9)
    z = row_with_p(torch.tensor(1 - 1e-6, dtype=F64), rest.double()).float().requires_grad_(True)
    out = NotToRecommend()(eye_source(10, torch.float32), z, torch.tensor([0]), torch.ones(1))
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(z.grad).all()
    assert out.item() == pytest.approx(-math.log(1e-6), rel=1e-3)


def test_sampled_losses_deterministic_given_seed():
    assert_deterministic_given_seed(SampledNotToRecommend)


def test_sampled_not_to_recommend_value_and_all_hits_row():
    e, s, labels, w = problem(n=4, v=10)
    loss = SampledNotToRecommend(n_neg=5, generator=gen(2))
    neg = loss.sample_negatives(labels, 10)
    neg[2, :] = labels[2]  # every draw is an accidental hit: no estimate, contributes 0
    cand = loss.candidate_logits(EmbeddingLogits(e), s, labels, neg)
    p_hat = torch.softmax(cand, dim=1)[:, 0]
    s_ = s.clone().requires_grad_(True)
    per = loss.per_example(EmbeddingLogits(e), s_, labels, negatives=neg)
    expected = -torch.log(1 - p_hat)
    expected[2] = 0.0
    torch.testing.assert_close(per.detach(), expected)
    (w * per).sum().backward()
    assert torch.isfinite(s_.grad).all() and s_.grad[2].abs().max() == 0
