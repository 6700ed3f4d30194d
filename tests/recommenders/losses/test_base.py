"""Tests for recommenders.losses.base: logit sources, the log(1 - p) helper, input checks."""

from __future__ import annotations

import pytest
import torch

from recommenders.losses import EmbeddingLogits, LogitSource, NotToRecommend, log_p_and_log1m_p
from tests.recommenders.losses.helpers import F64, gen, problem, row_with_p


def test_embedding_logits_full_and_gather():
    e, s, _, _ = problem()
    src = EmbeddingLogits(e)
    assert isinstance(src, LogitSource)
    assert src.n_items == 30
    torch.testing.assert_close(src.full(s), s @ e.T)
    items = torch.randint(0, 30, (12, 7), generator=gen(3))
    torch.testing.assert_close(src.gather(s, items), (s @ e.T).gather(1, items))


def test_log1m_helper_both_branches_accurate():
    # p spans both branches of the log1mexp switch at p = 1/2.
    ps = torch.tensor([1e-15, 1e-8, 0.3, 0.5, 0.7, 1 - 1e-9], dtype=F64)
    rows = torch.cat([row_with_p(p, torch.zeros(3, dtype=F64)) for p in ps])
    log_p, log1m = log_p_and_log1m_p(rows, torch.zeros(len(ps), dtype=torch.long))
    torch.testing.assert_close(log_p, torch.log(ps), rtol=1e-9, atol=1e-15)
    torch.testing.assert_close(log1m, torch.log1p(-ps), rtol=1e-6, atol=0)


def test_input_checks():
    e, s, labels, w = problem(n=20, v=25)
    src = EmbeddingLogits(e)
    with pytest.raises(ValueError):
        NotToRecommend()(src, s, labels.float(), w)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        NotToRecommend()(src, s, labels + 100, w)
