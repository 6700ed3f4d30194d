"""simulator.responsiveness.probe: the protocol's forked histories, traced through a model."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders.adapters.sequential import SequentialModelAdapter
from recommenders.history import Feedback
from recommenders.models import ModelConfig, build_model
from recommenders.probe import check_branches
from recommenders.variants import get_variant
from simulator import ResponsivenessConfig
from simulator.responsiveness.probe import forked_histories, probe_table


def _adapter(world, kind: str = "sasrec", variant: str = "dislike_feature"):
    torch.manual_seed(0)
    chosen = get_variant(variant)
    config = ModelConfig(kind=kind, dim=8, max_len=12, n_heads=2, features=chosen.features)
    return SequentialModelAdapter(build_model(config, world.corpus.n_items), chosen, name=kind)


@settings(max_examples=5, deadline=None)
@given(k=st.integers(1, 8), seed=st.integers(0, 1000))
def test_branches_differ_only_in_the_feedback_on_x_k(small_world, k, seed):
    config = ResponsivenessConfig(n_users=25, k=k, seed=seed, n_resamples=200)
    branches = forked_histories(small_world, _adapter(small_world, "gru"), config)
    assert list(branches) == list(config.branches)
    a, b = branches.values()
    check_branches(a, b)
    assert len(a) == 25 and (a.lengths == k).all()
    last = np.arange(25), a.lengths - 1
    assert (a.feedback[last] != b.feedback[last]).all()
    assert (b.feedback[last] == int(Feedback.DISLIKE)).all()


def test_probe_table_has_a_row_per_level_and_attention(small_world):
    config = ResponsivenessConfig(n_users=30, k=6, n_resamples=200)
    table, probes = probe_table(small_world, {"sasrec": _adapter(small_world)}, config)
    gaps = table[table["quantity"] == "state_gap"]
    assert gaps["level"].tolist() == ["input", "layer 1", "state"]
    assert (gaps["n"] == 30).all() and (gaps["mean"] > 0).all()
    assert (gaps["ci_low"] <= gaps["mean"]).all() and (gaps["mean"] <= gaps["ci_high"]).all()
    assert set(table["quantity"]) == {
        "state_gap",
        "attention_on_x_k_a",
        "attention_on_x_k_b",
        "aim_away_from_x_k",
        "x_k_score_drop_sd",
        "cluster_score_drop_sd",
    }
    aim = table[table["quantity"] == "aim_away_from_x_k"]
    np.testing.assert_allclose(aim["mean"], probes["sasrec"].aim.mean())
    np.testing.assert_allclose(gaps["mean"], probes["sasrec"].gap.mean(0))


def test_only_trained_sequential_models_and_two_branches(small_world):
    from recommenders import PopularityAdapter

    config = ResponsivenessConfig(n_users=10, k=3, n_resamples=200)
    with pytest.raises(ValueError, match="only a trained sequential model"):
        probe_table(small_world, {"pop": PopularityAdapter(small_world.corpus)}, config)
    three = ResponsivenessConfig(
        n_users=10, k=3, n_resamples=200, branches=("long_dwell", "long_dwell+dislike", "skip")
    )
    with pytest.raises(ValueError, match="compares two branches, got 3"):
        probe_table(small_world, {"sasrec": _adapter(small_world)}, three)


def test_cluster_fall_is_the_cluster_mean_fall_minus_the_rest():
    from recommenders.probe import BranchGap
    from simulator.responsiveness.probe import cluster_fall
    from simulator.similarity import ItemAttributes

    items = ItemAttributes(
        cluster=np.array([0, 0, 0, 1, 1, 1]), creator=np.array([0, 1, 2, 3, 4, -1])
    )
    change = -np.array([[1.0, 2.0, 3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 4.0, 0.0, 2.0]])
    probe = BranchGap(("state",), np.zeros((2, 1)), None, np.zeros(2), np.zeros(2), change,
                      np.array([1.0, 2.0]))  # fmt: skip
    fall = cluster_fall(probe, np.eye(6), np.array([0, 4]), items)
    # Row 0: cluster {1, 2} falls 2.5, the rest {3, 4, 5} 0. Row 1 (sd 2): {3, 5} fall
    # (2 + 1) / 2 = 1.5, the rest {0, 1, 2} 0.
    np.testing.assert_allclose(fall, [2.5, 1.5])
    unknown = ItemAttributes(cluster=np.array([-1, 0, 0, 1, 1, 1]), creator=np.zeros(6, int))
    assert np.isnan(cluster_fall(probe, np.eye(6), np.array([0, 4]), unknown)[0])
