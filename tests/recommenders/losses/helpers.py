"""Shared fixtures-as-functions for the loss tests.

Conventions: float64 unless a test is about float32. With ``EmbeddingLogits(eye(V))`` the
states *are* the logits, so a gradient w.r.t. the states is a gradient w.r.t. the logits.
"""

from __future__ import annotations

import torch

from recommenders.losses import GBCE, NEGATIVE_LOSSES, POSITIVE_LOSSES, EmbeddingLogits

F64 = torch.float64
FULL_NEGATIVE = ["not_to_recommend", "negative_weight_ce", "eps_smoothed_ce", "focal_negative"]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def problem(n=12, v=30, d=5, seed=0, dtype=F64):
    g = gen(seed)
    e = torch.randn(v, d, generator=g, dtype=dtype)
    s = torch.randn(n, d, generator=g, dtype=dtype)
    labels = torch.randint(0, v, (n,), generator=g)
    w = torch.rand(n, generator=g, dtype=dtype) + 0.1
    return e, s, labels, w


def direct_p(e, s, labels):
    return torch.softmax(s @ e.T, dim=1)[torch.arange(len(labels)), labels]


def eye_source(v, dtype=F64):
    return EmbeddingLogits(torch.eye(v, dtype=dtype))


def row_with_p(p: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
    """Logit row whose softmax gives the label (column 0) probability exactly ``p``:
    ``z_0 = log p - log(1 - p) + logsumexp(rest)`` (differentiable in ``p``)."""
    z0 = torch.log(p) - torch.log1p(-p) + torch.logsumexp(rest, 0)
    return torch.cat([z0.reshape(1), rest])[None, :]


def loss_and_grads(loss, p_value, v=2, w=0.7, seed=0, dtype=F64):
    """Loss as a function of p (column 0 has probability p); returns L, dL/dp, dL/dz_y."""
    if v > 2:
        rest = torch.randn(v - 1, generator=gen(seed), dtype=dtype)
    else:
        rest = torch.zeros(1, dtype=dtype)
    p = torch.tensor(p_value, dtype=dtype, requires_grad=True)
    z = row_with_p(p, rest)
    z.retain_grad()
    weights = torch.tensor([w], dtype=dtype)
    out = loss(eye_source(v, dtype), z, torch.tensor([0]), weights)
    out.backward()
    return out.detach(), p.grad.detach(), z.grad[0, 0].detach()


def direct_negative(name, p, w):
    """The full-softmax negative losses written out with ``p`` itself."""
    if name == "not_to_recommend":
        return -(w * torch.log(1 - p)).sum()
    if name == "negative_weight_ce":
        return (w * torch.log(p)).sum()
    if name == "eps_smoothed_ce":
        return (w * torch.log(p + 1e-3)).sum()
    if name == "focal_negative":
        return (w * (1 - p) ** 2 * torch.log(p)).sum()
    raise AssertionError(name)


def assert_negative_matches_direct_formula(name):
    e, s, labels, w = problem()
    p = direct_p(e, s, labels)
    got = NEGATIVE_LOSSES[name]()(EmbeddingLogits(e), s, labels, w)
    torch.testing.assert_close(got, direct_negative(name, p, w), rtol=1e-10, atol=1e-12)


def gradcheck(loss, e, s, labels, w, **kw):
    e = e.clone().requires_grad_(True)
    s = s.clone().requires_grad_(True)
    fn = lambda e_, s_: loss(EmbeddingLogits(e_), s_, labels, w, **kw)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (e, s), eps=1e-6, atol=1e-6)


def gradcheck_full_loss(name):
    """Gradcheck of the registered full-softmax loss ``name`` with rows on both sides of
    p = 1/2."""
    e, s, labels, w = problem(n=6, v=9, d=4)
    # Make rows 0-1 high-probability (p > 1/2) so both log(1 - p) branches are checked.
    e = e.clone()
    e[labels[:2]] = 3 * s[:2] / s[:2].norm(dim=1, keepdim=True)
    loss = {**POSITIVE_LOSSES, **NEGATIVE_LOSSES}[name]()
    p = direct_p(e, s, labels)
    assert (p > 0.5).any() and (p < 0.5).any()
    gradcheck(loss, e, s, labels, w)


def gradcheck_sampled_loss(loss):
    """Gradcheck of a sampled loss on one fixed draw that contains an accidental hit."""
    e, s, labels, w = problem(n=6, v=9, d=4)
    negatives = loss.sample_negatives(labels, 9)  # fixed draw: gradcheck needs a function
    negatives[0, 0] = labels[0]  # include an accidental hit (masked, or impossible for gBCE)
    if isinstance(loss, GBCE):
        negatives[0, 0] = (labels[0] + 1) % 9
    gradcheck(loss, e, s, labels, w, negatives=negatives)


def assert_deterministic_given_seed(cls):
    """Same generator seed, same value; another seed, another value."""
    e, s, labels, w = problem()
    src = EmbeddingLogits(e)
    a = cls(n_neg=7, generator=gen(5))(src, s, labels, w)
    b = cls(n_neg=7, generator=gen(5))(src, s, labels, w)
    c = cls(n_neg=7, generator=gen(6))(src, s, labels, w)
    assert a.item() == b.item() and a.item() != c.item()
