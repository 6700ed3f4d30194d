"""Tests for recommenders.losses.negative_weight: negative-weight CE, eps-smoothed, focal."""

from __future__ import annotations

import math

import pytest
import torch

from recommenders.losses import EpsSmoothedCE, FocalNegative, NegativeWeightCE, NotToRecommend
from tests.recommenders.losses.helpers import (
    F64,
    assert_negative_matches_direct_formula,
    eye_source,
    gradcheck_full_loss,
    loss_and_grads,
)

NAMES = ["negative_weight_ce", "eps_smoothed_ce", "focal_negative"]


@pytest.mark.parametrize("name", NAMES)
def test_negative_values_match_direct_formulas(name):
    assert_negative_matches_direct_formula(name)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_full_losses(name):
    gradcheck_full_loss(name)


SMALL_P = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10]


@pytest.mark.parametrize("p", SMALL_P)
def test_negative_weight_ce_dl_dp_grows_like_one_over_p(p):
    w = 0.7
    loss, dl_dp, dl_dz = loss_and_grads(NegativeWeightCE(), p, v=50, w=w)
    assert loss.item() == pytest.approx(w * math.log(p), rel=1e-9)
    assert (dl_dp * p).item() == pytest.approx(w, rel=1e-6)  # |dL/dp| = |w| / p
    assert dl_dz.item() == pytest.approx(w * (1 - p), rel=1e-6)  # -> |w|, does not vanish


def test_negative_weight_ce_unbounded_below_and_never_stops_pushing():
    w = torch.tensor([1.0], dtype=F64)
    values, pushes = [], []
    for z0 in [0.0, -10.0, -100.0, -1000.0]:
        z = torch.tensor([[z0, 0.0, 0.0]], dtype=F64, requires_grad=True)
        out = NegativeWeightCE()(eye_source(3), z, torch.tensor([0]), w)
        out.backward()
        values.append(out.item())
        pushes.append(z.grad[0, 0].item())
    assert values == sorted(values, reverse=True)
    assert values[-1] < -999  # ~ z0 - log 2: goes to -inf linearly in the logit
    assert pushes[-1] == pytest.approx(1.0)  # dL/dz_y -> |w|


@pytest.mark.parametrize("p", SMALL_P)
def test_eps_smoothed_bounded(p):
    w, eps = 0.7, 1e-3
    loss, dl_dp, dl_dz = loss_and_grads(EpsSmoothedCE(eps), p, v=50, w=w)
    assert loss.item() == pytest.approx(w * math.log(p + eps), rel=1e-9)
    assert w * math.log(eps) <= loss.item() <= w * math.log1p(eps)
    assert dl_dp.item() == pytest.approx(w / (p + eps), rel=1e-6)
    assert dl_dp.item() <= w / eps
    assert dl_dz.item() == pytest.approx(w * p * (1 - p) / (p + eps), rel=1e-6)


def test_eps_smoothed_loss_floor_at_extreme_logit():
    z = torch.tensor([[-1e4, 0.0, 0.0]], dtype=F64, requires_grad=True)
    out = EpsSmoothedCE(1e-3)(eye_source(3), z, torch.tensor([0]), torch.ones(1, dtype=F64))
    out.backward()
    assert out.item() == pytest.approx(math.log(1e-3))
    assert z.grad.abs().max().item() == 0.0  # p = 0 exactly: nothing pushes any more


@pytest.mark.parametrize("p", SMALL_P)
def test_focal_does_not_cure_the_blow_up(p):
    w, gamma = 0.7, 2.0
    loss, dl_dp, dl_dz = loss_and_grads(FocalNegative(gamma), p, v=50, w=w)
    assert loss.item() == pytest.approx(w * (1 - p) ** gamma * math.log(p), rel=1e-9)
    exact = w * ((1 - p) ** gamma / p - gamma * (1 - p) ** (gamma - 1) * math.log(p))
    assert dl_dp.item() == pytest.approx(exact, rel=1e-6)
    # p dL/dp = w (1-p)^gamma - w gamma p (1-p)^(gamma-1) log p -> w: same 1/p blow-up.
    # (At p = 1e-2 the second term still adds ~7%; from p = 1e-4 on it is < 0.2%.)
    assert (p * dl_dp).item() == pytest.approx(w, rel=0.1 if p > 1e-3 else 0.01)
    exact_z = w * ((1 - p) ** (gamma + 1) - gamma * p * (1 - p) ** gamma * math.log(p))
    assert dl_dz.item() == pytest.approx(exact_z, rel=1e-6)
    assert dl_dz.item() == pytest.approx(w, rel=0.1 if p > 1e-3 else 0.01)  # never stops pushing


def test_focal_switches_off_as_p_goes_to_one():
    w = 0.7
    loss, _, dl_dz = loss_and_grads(FocalNegative(2.0), 1 - 1e-6, v=50, w=w)
    assert abs(loss.item()) < 1e-11 and 0 < dl_dz.item() < 1e-11
    _, _, dl_dz_n2r = loss_and_grads(NotToRecommend(), 1 - 1e-6, v=50, w=w)
    assert dl_dz_n2r.item() == pytest.approx(w, rel=1e-5)  # n2r pushes hardest here
