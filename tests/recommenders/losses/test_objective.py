"""Tests for recommenders.losses.objective: Objective (eq. 1) and paper_objective."""

from __future__ import annotations

import pytest
import torch

from recommenders.losses import (
    NEGATIVE_LOSSES,
    EmbeddingLogits,
    EpsSmoothedCE,
    Objective,
    SoftmaxCE,
    paper_objective,
)
from tests.recommenders.losses.helpers import FULL_NEGATIVE, gen, problem


def _split_problem():
    e, s, labels, w = problem(n=20, v=25)
    is_neg = torch.zeros(20, dtype=torch.bool)
    is_neg[::3] = True
    return EmbeddingLogits(e), s, labels, w, is_neg


@pytest.mark.parametrize("negative", [*FULL_NEGATIVE, None])
def test_objective_is_sum_of_parts(negative):
    src, s, labels, w, is_neg = _split_problem()
    total, parts = Objective("softmax_ce", negative)(src, s, labels, w, is_neg)
    pos = SoftmaxCE()(src, s[~is_neg], labels[~is_neg], w[~is_neg])
    neg = 0.0
    if negative is not None:
        neg = NEGATIVE_LOSSES[negative]()(src, s[is_neg], labels[is_neg], w[is_neg])
    torch.testing.assert_close(total, pos + neg)
    assert parts["positive"] == pytest.approx(pos.item())
    assert parts["negative"] == pytest.approx(float(neg))
    assert total.item() == pytest.approx(parts["positive"] + parts["negative"])
    assert (parts["n_positive"], parts["n_negative"]) == (13, 7)


def test_paper_objective_is_eq_1():
    src, s, labels, w, is_neg = _split_problem()
    p = torch.softmax(src.full(s), 1)[torch.arange(20), labels]
    eq1 = -(w[~is_neg] * torch.log(p[~is_neg])).sum() - (w[is_neg] * torch.log(1 - p[is_neg])).sum()
    total, _ = paper_objective()(src, s, labels, w, is_neg)
    torch.testing.assert_close(total, eq1)


def test_objective_weights_scale_linearly_and_reductions():
    src, s, labels, w, is_neg = _split_problem()
    obj = Objective("softmax_ce", "not_to_recommend")
    base, _ = obj(src, s, labels, w, is_neg)
    torch.testing.assert_close(obj(src, s, labels, 2.5 * w, is_neg)[0], 2.5 * base)
    # scaling only the negative weights scales only the negative part
    w_neg = torch.where(is_neg, 3 * w, w)
    _, parts = obj(src, s, labels, w, is_neg)
    _, parts3 = obj(src, s, labels, w_neg, is_neg)
    assert parts3["negative"] == pytest.approx(3 * parts["negative"])
    assert parts3["positive"] == pytest.approx(parts["positive"])
    # mean: one shared normaliser = examples with non-zero weight
    w0 = w.clone()
    w0[[1, 3]] = 0.0
    total_sum, _ = obj(src, s, labels, w0, is_neg)
    total_mean, parts_m = Objective("softmax_ce", "not_to_recommend", reduction="mean")(
        src, s, labels, w0, is_neg
    )
    assert parts_m["normaliser"] == 18
    torch.testing.assert_close(total_mean, total_sum / 18)
    total_fixed, _ = Objective(reduction=20.0)(src, s, labels, w0, is_neg)
    torch.testing.assert_close(total_fixed, total_sum / 20)
    # positives-only baseline: the mean counts only the rows that are scored
    _, parts_none = Objective("softmax_ce", None, reduction="mean")(src, s, labels, w0, is_neg)
    assert parts_none["normaliser"] == int((w0[~is_neg] != 0).sum())
    empty, _ = Objective(reduction="mean")(src, s, labels, torch.zeros_like(w), is_neg)
    assert empty.item() == 0.0


def test_objective_with_sampled_losses_and_backward():
    src, s, labels, w, is_neg = _split_problem()
    obj = Objective(
        "sampled_softmax",
        "sampled_not_to_recommend",
        positive_kwargs={"n_neg": 8, "generator": gen(1)},
        negative_kwargs={"n_neg": 8, "generator": gen(2)},
        reduction="mean",
    )
    s_ = s.clone().requires_grad_(True)
    total, parts = obj(src, s_, labels, w, is_neg)
    total.backward()
    assert torch.isfinite(s_.grad).all() and parts["positive"] > 0 and parts["negative"] > 0


def test_objective_names_and_errors():
    obj = Objective(negative="eps_smoothed_ce", negative_kwargs={"eps": 0.01})
    assert isinstance(obj.negative, EpsSmoothedCE) and obj.negative.eps == 0.01
    with pytest.raises(KeyError):
        Objective(negative="nope")
    src, s, labels, w, is_neg = _split_problem()
    with pytest.raises(ValueError):
        Objective()(src, s, labels, w, is_neg.long())
