"""states[:, t] depends on events < t only, and never on padding."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import History, HistoryBatch

WIDTH = 10


def _random_rows(rng, n_rows, n_items, max_len):
    rows = []
    for _ in range(n_rows):
        t = int(rng.integers(0, max_len + 1))
        rows.append(History(rng.integers(0, n_items, t), rng.integers(0, 5, t), rng.random(t)))
    return rows


def _rewrite_from(rng, rows, t, n_items):
    """Rows whose events at index >= t (content and count) are redrawn; earlier ones kept."""
    out = []
    for h in rows:
        if len(h) < t:  # nothing at index >= t to change without touching index < t
            out.append(h)
            continue
        n = int(rng.integers(t, WIDTH + 1)) - t
        out.append(
            History(
                np.concatenate([h.items[:t], rng.integers(0, n_items, n)]),
                np.concatenate([h.feedback[:t], rng.integers(0, 5, n)]),
                np.concatenate([h.dwell[:t], rng.random(n)]),
            )
        )
    return out


def _padded(rows, width):
    """HistoryBatch of ``rows`` padded to exactly ``width`` columns."""
    pad = History(np.zeros(width, np.int64), np.zeros(width, np.int64), np.zeros(width))
    return HistoryBatch.of([*rows, pad])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), t=st.integers(0, WIDTH), grad=st.booleans())
def test_states_depend_on_earlier_events_only(
    kind, features, make_model, to_tensors, seed, t, grad
):
    model = make_model(kind, features)
    rng = np.random.default_rng(seed)
    rows = _random_rows(rng, 5, model.n_items, WIDTH)
    changed = _rewrite_from(rng, rows, t, model.n_items)
    with torch.set_grad_enabled(grad):
        before = model(*to_tensors(_padded(rows, WIDTH)))[:, : t + 1]
        after = model(*to_tensors(_padded(changed, WIDTH)))[:, : t + 1]
    torch.testing.assert_close(after, before, atol=1e-6, rtol=0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), grad=st.booleans())
def test_last_state_ignores_padding_and_batch_mates(
    kind, features, make_model, to_tensors, seed, grad
):
    model = make_model(kind, features)
    rng = np.random.default_rng(seed)
    rows = _random_rows(rng, 4, model.n_items, 6)
    longer = _random_rows(rng, 3, model.n_items, model.config.max_len)
    with torch.set_grad_enabled(grad):
        alone = torch.cat([model.last_state(*to_tensors(HistoryBatch.of([h]))) for h in rows])
        wide = model.last_state(*to_tensors(_padded(rows, model.config.max_len)))[:4]
        mixed = model.last_state(*to_tensors(HistoryBatch.of([*longer, *rows])))[3:]
    torch.testing.assert_close(wide, alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mixed, alone, atol=1e-5, rtol=1e-5)


def test_padding_gets_no_gradient(kind, features, make_model, to_tensors):
    model = make_model(kind, features)
    model.zero_grad()
    rows = [History([3, 4], [2, 1], [0.5, 0.1]), History([5], [0], [1.0])]  # item 0 only as padding
    last = model.last_state(*to_tensors(HistoryBatch.of(rows)))
    # Not .sum(): a LayerNorm output sums to a constant, whose gradient is 0.
    (last * torch.linspace(-1, 1, last.shape[1])).sum().backward()
    grad = model.item_embedding.weight.grad
    assert torch.count_nonzero(grad[0]) == 0
    assert torch.count_nonzero(grad[3]) > 0
    model.zero_grad()
