"""The prefix state cache: the states of full recomputation, within bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import HistoryBatch
from recommenders.adapters.sequential import SequentialModelAdapter
from recommenders.history import PAD, Feedback
from recommenders.inference import as_tensors, model_window
from recommenders.models import FEEDBACK_ENTRIES, MODELS
from recommenders.models.incremental import PrefixStateCache
from recommenders.variants import get_variant
from tests.recommenders.models.conftest import ALL_FEATURES, N_ITEMS, crossed_model, tiny_model

INCREMENTAL = [kind for kind, model in MODELS.items() if model.incremental]
MAX_LEN = 12  # tiny_config's


def recomputed(model, items, feedback, dwell, lengths) -> torch.Tensor:
    with torch.inference_mode():
        return model.last_state(*as_tensors(items, feedback, dwell, lengths, "cpu"))


def padded(rows: list[list[tuple[int, int, float]]]):
    """Right-padded (items, feedback, dwell, lengths) of event lists."""
    lengths = np.array([len(r) for r in rows], np.int64)
    width = int(lengths.max()) if len(rows) else 0
    items = np.full((len(rows), width), PAD, np.int64)
    feedback = np.full((len(rows), width), PAD, np.int64)
    dwell = np.full((len(rows), width), np.nan)
    for r, events in enumerate(rows):
        for t, (item, code, d) in enumerate(events):
            items[r, t], feedback[r, t], dwell[r, t] = item, code, d
    return items, feedback, dwell, lengths


events = st.tuples(
    st.integers(0, N_ITEMS - 1), st.integers(0, len(Feedback) - 1), st.floats(0.0, 1.0)
)


@st.composite
def protocols(draw):
    """Histories that grow by one event per call, fork into branches, repeat themselves
    and start over, as the counterfactual protocol and its variants ask for them."""
    users = draw(st.integers(1, 5))
    rows = [[] for _ in range(users)]
    calls = []
    for _ in range(draw(st.integers(1, MAX_LEN))):
        action = draw(st.sampled_from(["grow", "grow", "fork", "repeat", "restart"]))
        if action == "fork":
            rows = rows + [list(r) for r in rows]
        if action == "restart":
            rows[draw(st.integers(0, len(rows) - 1))] = []
        if action != "repeat":
            for r in rows:
                r.append(draw(events))
        calls.append([list(r) for r in rows])
    return calls


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(INCREMENTAL),
    features=st.sampled_from(ALL_FEATURES),
    entry=st.sampled_from(FEEDBACK_ENTRIES),
    layers=st.integers(1, 2),
    small=st.booleans(),
    cross=st.sampled_from([None, "diagonal", "matrix"]),
    positions=st.booleans(),
    bias=st.booleans(),
    calls=protocols(),
)
def test_cached_states_are_the_recomputed_states(
    kind, features, entry, layers, small, cross, positions, bias, calls
):
    options = {"n_layers": layers, "feedback_entry": entry}
    if kind == "sasrec":
        options["position_embeddings"] = positions
        options["position_bias"] = bias
    if cross is not None and features.uses_feedback:
        model = crossed_model(kind, features, cross=cross, **options)
    else:
        model = tiny_model(kind, features, **options)
    # A bound of two rows' states forces eviction after nearly every call.
    cache = PrefixStateCache(model, max_bytes=1)
    if not small:
        cache = PrefixStateCache(model)
    for rows in calls:
        inputs = padded(rows)
        states = cache.last_states(*inputs)
        cache.finish()
        torch.testing.assert_close(states, recomputed(model, *inputs), rtol=1e-5, atol=1e-5)
        assert cache.stats.nbytes <= cache.max_bytes or cache.stats.blocks == 0


@pytest.mark.parametrize("kind", INCREMENTAL)
def test_a_growing_history_is_extended_not_recomputed(kind):
    model = tiny_model(kind)
    cache = PrefixStateCache(model)
    rng = np.random.default_rng(0)
    rows = [[] for _ in range(4)]
    for _ in range(MAX_LEN - 1):
        for r in rows:
            r.append((int(rng.integers(N_ITEMS)), 0, 1.0))
        cache.last_states(*padded(rows))
        cache.finish()
    stats = cache.stats
    assert (stats.computed, stats.extended, stats.hits) == (4, 4 * (MAX_LEN - 2), 0)
    # A fork: both branches extend the one cached prefix, the second in a copy of it.
    forked = [[*r, (1, int(Feedback.POSITIVE), 1.0)] for r in rows[:3]]
    forked += [[*r, (1, int(Feedback.DISLIKE), 1.0)] for r in rows[:3]]
    blocks, before = cache.stats.blocks, cache.stats
    states = cache.last_states(*padded(forked))
    cache.finish()
    after = cache.stats
    assert (after.extended - before.extended, after.computed, after.blocks) == (6, 4, blocks + 1)
    expected = recomputed(model, *padded(forked))
    torch.testing.assert_close(states, expected, rtol=1e-5, atol=1e-5)
    # The branches' histories again: hits; their windows moved by one: no cached prefix.
    cache.last_states(*padded(forked))
    cache.last_states(*padded([r[1:] for r in forked]))
    assert (cache.stats.hits, cache.stats.computed) == (6, 4 + 6)


def test_memory_stays_within_the_bound_and_evicts_the_oldest():
    model = tiny_model("sasrec")
    row_bytes = PrefixStateCache(model).row_bytes
    layers = model.config.n_layers
    assert row_bytes == 4 * (MAX_LEN + 1) * (layers * 2 * 8 + 8)  # float32 (kv, out) per position
    cache = PrefixStateCache(model, max_bytes=4 * row_bytes)
    assert cache.rows_per_call() == 2
    first = padded([[(item, 0, 1.0)] for item in (1, 2, 3)])
    cache.last_states(*first)
    cache.finish()
    second = padded([[(item, 0, 1.0)] for item in (4, 5, 6)])
    cache.last_states(*second)
    cache.finish()
    assert cache.stats.nbytes <= cache.max_bytes
    computed = cache.stats.computed
    cache.last_states(*second)  # the newest block survived
    cache.last_states(*first)  # the oldest was evicted: computed again
    assert cache.stats.computed == computed + 3


def test_bad_cache_arguments_are_refused():
    with pytest.raises(ValueError, match="max_bytes must be positive, got 0"):
        PrefixStateCache(tiny_model("gru"), max_bytes=0)
    too_long = padded([[(1, 0, 1.0)] * (MAX_LEN + 1)])
    with pytest.raises(ValueError, match=f"13 events exceeds max_len {MAX_LEN}; cut it"):
        PrefixStateCache(tiny_model("gru")).last_states(*too_long)


@pytest.mark.parametrize("kind", INCREMENTAL)
@pytest.mark.parametrize("variant", ["dislike_feature_label", "exclude_disliked"])
def test_the_adapter_serves_the_slates_of_full_recomputation(kind, variant):
    """A trajectory past max_len (the window slides), forked at every call, with disliked
    events that exclude_disliked drops (the model's input repeats: a cache hit)."""
    spec = get_variant(variant)
    model = tiny_model(kind, spec.features)
    cached = SequentialModelAdapter(model, spec, batch_size=5)
    full = SequentialModelAdapter(model, spec, batch_size=5, cache_bytes=None)
    rng = np.random.default_rng(1)
    n, steps = 6, MAX_LEN + 6
    items = np.stack([rng.permutation(N_ITEMS)[:steps] for _ in range(n)])
    codes = [int(Feedback.POSITIVE), int(Feedback.DISLIKE)]
    feedback = rng.choice(codes, (n, steps), p=[0.85, 0.15])
    dwell = rng.random((n, steps))
    for t in range(1, steps + 1):
        # Each history and its branch that disliked the last item instead.
        other = feedback[:, :t].copy()
        other[:, -1] = np.where(
            other[:, -1] == Feedback.DISLIKE, Feedback.POSITIVE, Feedback.DISLIKE
        )
        batch = HistoryBatch(
            np.concatenate([items[:, :t]] * 2),
            np.concatenate([feedback[:, :t], other]),
            np.concatenate([dwell[:, :t]] * 2),
            np.full(2 * n, t),
        )
        states = cached._prepare(batch)
        torch.testing.assert_close(states, full._prepare(batch), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(cached.recommend(batch, 3), full.recommend(batch, 3))
    window, slid = model_window(spec, items, feedback, dwell, np.full(n, steps), MAX_LEN)
    assert slid.any() and window[3].max() == MAX_LEN
    assert cached.cache.stats.extended > 0
    if variant == "exclude_disliked":
        assert cached.cache.stats.hits > 0
