"""experiments.movielens.paired: per-user scores, the paired bootstrap of a difference,
and the twin comparison table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.movielens import (
    PAIRED_COLUMNS,
    blind_twin,
    compare_twins,
    paired_differences,
    paired_view,
)
from recommenders.evaluation import PER_EVENT, hits_at, ndcg_at, ndcg_gains, recall_at
from simulator.bootstrap import mean_difference_ci


def test_per_user_scores_average_to_the_benchmark_metrics():
    ranks = np.array([0, 3, 9, 10, 500, 1])
    assert hits_at(ranks, 10).tolist() == [1, 1, 1, 0, 0, 1]
    assert hits_at(ranks, 10).mean() == recall_at(ranks, 10)
    assert ndcg_gains(ranks, 10).mean() == ndcg_at(ranks, 10)
    assert ndcg_gains(ranks, 10)[1] == pytest.approx(1 / np.log2(5))
    assert PER_EVENT == {"hit": hits_at, "ndcg": ndcg_gains}


def test_identical_models_differ_by_exactly_zero():
    ranks = np.random.default_rng(0).integers(0, 50, 300)
    table = paired_differences("a", "a", ranks, ranks, ranks % 5 == 0)
    assert list(table.columns) == list(PAIRED_COLUMNS)
    assert (table[["difference", "ci_low", "ci_high"]] == 0).all().all()
    assert not table["beyond_noise"].any()


def test_a_real_shift_is_found_and_its_interval_covers_it():
    rng = np.random.default_rng(1)
    twin = rng.integers(0, 40, 4000)
    model = np.where(rng.random(4000) < 0.3, 0, twin)  # 30% of users: target moved to first
    table = paired_differences("m", "t", model, twin, np.zeros(4000, bool)).set_index(
        ["metric", "users"]
    )
    row = table.loc[("recall10", "all")]
    expected = recall_at(model, 10) - recall_at(twin, 10)
    assert row["difference"] == pytest.approx(expected)
    assert row["ci_low"] < expected < row["ci_high"] and row["beyond_noise"]
    # No user's target was disliked: that row is undefined, not zero.
    assert np.isnan(table.loc[("disliked_in_top10", "disliked"), "difference"])
    assert table.loc[("disliked_in_top10", "disliked"), "n"] == 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.booleans()), min_size=2))
def test_swapping_the_models_negates_every_difference(rows):
    a, b, disliked = (np.array(column) for column in zip(*rows, strict=True))
    forward = paired_differences("b", "a", b, a, disliked)
    backward = paired_differences("a", "b", a, b, disliked)
    np.testing.assert_allclose(forward["difference"], -backward["difference"])
    np.testing.assert_allclose(forward["model_value"], backward["twin_value"])


def test_mean_difference_ci_is_seeded_and_brackets_the_mean():
    diff = np.random.default_rng(2).normal(0.1, 1.0, 500)
    first, second = mean_difference_ci(diff, seed=3), mean_difference_ci(diff, seed=3)
    assert first == second and first[1] < first[0] < first[2]
    assert all(np.isnan(v) for v in mean_difference_ci(np.array([])))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="1-D of one length"):
        paired_differences("m", "t", np.zeros(3), np.zeros(4), np.zeros(3, bool))


def test_compare_twins_pairs_feedback_aware_models_with_their_blind_twin():
    rng = np.random.default_rng(4)
    ranks = {name: rng.integers(0, 30, 200) for name in ("sasrec-ce", "sasrec-ce-feature-ntr")}
    disliked = rng.random(200) < 0.2
    names = ["sasrec-ce", "sasrec-ce-feature-ntr", "gru-ce-feature"]  # gru-ce absent
    table = compare_twins(names, ranks, disliked, blind_twin)
    assert set(table["model"]) == {"sasrec-ce-feature-ntr"} and set(table["twin"]) == {"sasrec-ce"}
    assert len(table) == 6 and "95% CI" in paired_view(table).columns
    assert compare_twins(["sasrec-ce"], ranks, disliked, blind_twin).empty


def test_plots_of_the_paired_table_and_the_learning_curves(tmp_path):
    from experiments.movielens import plot_paired
    from recommenders.training.learning_curve import plot_learning_curves

    rng = np.random.default_rng(5)
    ranks = {n: rng.integers(0, 30, 300) for n in ("sasrec-ce", "sasrec-ce-feature-ntr-w3")}
    table = compare_twins(list(ranks), ranks, rng.random(300) < 0.2, blind_twin)
    paths = plot_paired(table, tmp_path / "paired")
    assert [p.name for p in paths] == ["paired.png", "paired.pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    with pytest.raises(ValueError, match="paired table is empty"):
        plot_paired(table.iloc[:0], tmp_path / "empty")
    history = pd.DataFrame(
        {"epoch": [1, 2, 3], "val_ndcg10": [0.1, 0.2, 0.15], "val_disliked_in_top10": [0.3] * 3}
    )
    assert plot_learning_curves({"a": history}, tmp_path / "curves")[0].is_file()
    with pytest.raises(ValueError, match="no runs to plot"):
        plot_learning_curves({}, tmp_path / "none")


def test_a_model_with_two_twins_gets_a_point_for_each(tmp_path):
    from experiments.movielens import pathway_twin, plot_paired

    rng = np.random.default_rng(6)
    names = ["sasrec-ce", "sasrec-ce-feature-ntr", "sasrec-ce-feature-ntr-cross"]
    ranks = {n: rng.integers(0, 30, 300) for n in names}
    disliked = rng.random(300) < 0.2
    table = pd.concat(
        [compare_twins(names, ranks, disliked, twin) for twin in (blind_twin, pathway_twin)],
        ignore_index=True,
    )
    pairs = set(zip(table["model"], table["twin"], strict=True))
    assert pairs == {
        ("sasrec-ce-feature-ntr", "sasrec-ce"),
        ("sasrec-ce-feature-ntr-cross", "sasrec-ce"),
        ("sasrec-ce-feature-ntr-cross", "sasrec-ce-feature-ntr"),
    }
    assert [p.name for p in plot_paired(table, tmp_path / "paired")] == ["paired.png", "paired.pdf"]
