"""A few hundred Adam steps learn "next item = item + 1 (mod V)" for both kinds."""

import math

import torch
import torch.nn.functional as F

from recommenders.models import build_model

V, LENGTH, BATCH = 40, 8, 32


def _batch(generator):
    start = torch.randint(0, V, (BATCH, 1), generator=generator)
    items = (start + torch.arange(LENGTH)) % V
    lengths = torch.randint(2, LENGTH + 1, (BATCH,), generator=generator)
    pad = torch.arange(LENGTH) >= lengths[:, None]
    items = items.masked_fill(pad, -1)
    feedback = torch.zeros_like(items).masked_fill(pad, -1)
    dwell = torch.ones(BATCH, LENGTH).masked_fill(pad, float("nan"))
    return items, feedback, dwell, lengths


def _loss(model, items, feedback, dwell, lengths):
    """Cross-entropy of states[:, t] (after t events) against item t, for 1 <= t < length."""
    states = model(items, feedback, dwell, lengths)[:, 1:LENGTH]
    targets = items[:, 1:]
    keep = targets != -1
    return F.cross_entropy(model.logits(states[keep]), targets[keep])


def test_both_kinds_learn_a_successor_task(kind, make_config):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = build_model(make_config(kind, dim=16, max_len=LENGTH, dropout=0.0), V).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):
        optimiser.zero_grad()
        loss = _loss(model, *_batch(generator))
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        final = _loss(model, *_batch(generator)).item()
    assert final < 0.1 * math.log(V), final
