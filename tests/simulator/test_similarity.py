"""The similarity registry: each kind's share, its catalogue description, its reach."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import PopularityAdapter
from recommenders.datasets import load_interactions
from simulator import ResponsivenessConfig, measure_responsiveness
from simulator.adapter_specs import build_real_adapter
from simulator.responsiveness.plots import plot_responsiveness
from simulator.responsiveness.real import measure_real_responsiveness, write_real_run
from simulator.responsiveness.real_histories import RealHistoryConfig
from simulator.similarity import (
    SIMILARITY_KINDS,
    ItemAttributes,
    same_content,
    same_creator,
    share_of,
    similarities,
)
from tests.simulator.responsiveness.test_real import tiny_data

KINDS = list(SIMILARITY_KINDS)
SLATE = 7


def test_registry_order_and_entries():
    assert KINDS[:2] == ["content", "creator"]  # tables, plots and reports keep this order
    for name, kind in SIMILARITY_KINDS.items():
        assert kind.name == name and kind.description
        assert kind.color.startswith("#") and len(kind.color) == 7
    assert len({kind.color for kind in SIMILARITY_KINDS.values()}) == len(KINDS)


# --- the two kinds by hand ------------------------------------------------------------------


def test_content_is_any_shared_cluster_and_creator_needs_a_known_creator():
    # Clusters: x = item 0 is {0, 2}; items 1..4: {2}, {1}, {0, 1}, {}; item 5 has none.
    matrix = np.zeros((6, 3), bool)
    matrix[0, [0, 2]] = True
    matrix[1, 2] = matrix[2, 1] = True
    matrix[3, [0, 1]] = True
    creator = np.array([7, 7, -1, 3, 7, -1])
    items = ItemAttributes(cluster=np.array([0, 2, 1, 0, -1, -1]), creator=creator, clusters=matrix)
    slates = np.array([[1, 2, 3, 4], [1, 2, 3, 4]])
    content = SIMILARITY_KINDS["content"].share(slates, np.array([0, 5]), items)
    assert content[0] == 0.5  # items 1 and 3 overlap with {0, 2}; 2 and 4 do not
    assert np.isnan(content[1])  # x_k without a cluster: undefined, not 0
    # Creators: x_k = item 0 (creator 7): items 1 (7) and 4 (7) match, item 2 (-1)
    # never matches; x_k = item 2 (unknown): undefined.
    same = SIMILARITY_KINDS["creator"].share(slates, np.array([0, 2]), items)
    assert same[0] == 0.5 and np.isnan(same[1])
    # Relations combine: an unknown creator adds no match (item 5's -1 is not x_k's -1),
    # the known cluster still defines the share; nothing known leaves it undefined.
    either = share_of(same_creator, same_content)(
        np.array([[1, 3, 4, 5], [1, 3, 4, 5]]), np.array([2, 5]), items
    )
    assert either[0] == 0.25 and np.isnan(either[1])
    # Without the matrix, content compares the single cluster: only item 3 (0) matches.
    single = ItemAttributes(cluster=items.cluster, creator=creator)
    primary = SIMILARITY_KINDS["content"].share(slates, np.array([0, 5]), single)
    assert primary[0] == 0.25 and np.isnan(primary[1])


def test_content_rules_on_loaded_data():
    data = tiny_data()
    x_k = np.array([0, 0])
    slates = np.array([np.arange(1, 11), np.arange(11, 21)])
    matrix = data.cluster_matrix
    expected_any = [matrix[row][:, matrix[0]].any(axis=1).mean() for row in slates]
    any_rule = similarities(slates, x_k, ItemAttributes.from_interactions(data, "any"))
    np.testing.assert_allclose(any_rule["content"], expected_any)
    primary = similarities(slates, x_k, ItemAttributes.from_interactions(data, "primary"))
    np.testing.assert_allclose(
        primary["content"], (data.cluster[slates] == data.cluster[0]).mean(axis=1)
    )
    # Any overlap includes the same primary genre, so it is never smaller.
    assert np.all(any_rule["content"] >= primary["content"])
    assert any_rule["content"].max() > primary["content"].max()
    for rule in (any_rule, primary):
        np.testing.assert_allclose(
            rule["creator"], (data.creator[slates] == data.creator[0]).mean(axis=1)
        )


def test_bad_inputs_fail_in_one_line():
    with pytest.raises(ValueError, match="content_rule must be one of"):
        ItemAttributes.from_interactions(tiny_data(), "all")
    with pytest.raises(ValueError, match="cluster must be 1-D int"):
        ItemAttributes(cluster=np.zeros(3), creator=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="3 clusters but 2 creators"):
        ItemAttributes(cluster=np.zeros(3, np.int64), creator=np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="clusters must be bool"):
        ItemAttributes(np.zeros(3, np.int64), np.zeros(3, np.int64), np.zeros((2, 4), bool))
    items = ItemAttributes(cluster=np.zeros(3, np.int64), creator=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"slates must be \(n, S\)"):
        similarities(np.zeros((2, 3), np.int64), np.zeros(3, np.int64), items)
    with pytest.raises(ValueError, match="at least one relation"):
        share_of()


# --- every registered kind ------------------------------------------------------------------


def _catalogue(seed: int, multi: bool, n_items: int = 40) -> tuple[ItemAttributes, np.ndarray]:
    """Random attributes where the items flagged ``unknown`` have no attribute at all."""
    rng = np.random.default_rng(seed)
    unknown = rng.random(n_items) < 0.3
    cluster = np.where(unknown, -1, rng.integers(0, 4, n_items))
    creator = np.where(unknown, -1, rng.integers(0, 6, n_items))
    clusters = None
    if multi:
        clusters = rng.random((n_items, 4)) < 0.3
        clusters[np.arange(n_items), np.maximum(cluster, 0)] = True
        clusters[unknown] = False
    return ItemAttributes(cluster, creator, clusters), unknown


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), multi=st.booleans(), n=st.integers(1, 30))
def test_every_kind_is_a_share_nan_exactly_where_the_anchor_is_unknown(kind, seed, multi, n):
    items, unknown = _catalogue(seed, multi=multi)
    rng = np.random.default_rng(seed + 1)
    slates = np.stack([rng.choice(items.n_items, SLATE, replace=False) for _ in range(n)])
    x_k = rng.integers(0, items.n_items, n)
    share = SIMILARITY_KINDS[kind].share(slates, x_k, items)
    assert share.dtype == np.float64 and share.shape == (n,)
    np.testing.assert_array_equal(np.isnan(share), unknown[x_k])
    defined = share[~unknown[x_k]]
    assert ((defined >= 0) & (defined <= 1)).all()
    # A share of a slate of SLATE items: a whole number of items over SLATE.
    np.testing.assert_allclose(defined * SLATE, np.round(defined * SLATE), atol=1e-12)
    # Each similarity is of one item to x_k: the order within a slate cannot matter.
    shuffled = rng.permuted(slates, axis=1)
    np.testing.assert_array_equal(SIMILARITY_KINDS[kind].share(shuffled, x_k, items), share)
    # Nor can other rows: each row is scored against its own x_k only.
    order = rng.permutation(n)
    np.testing.assert_array_equal(
        SIMILARITY_KINDS[kind].share(slates[order], x_k[order], items), share[order]
    )


@pytest.mark.parametrize("rule", ["any", "primary"])
def test_a_world_and_the_same_catalogue_loaded_as_data_agree(small_world, rule):
    """One cluster per item: "shares a genre" and "same primary genre" are "same cluster"."""
    corpus = small_world.corpus
    n_items = corpus.n_items
    catalogue = pd.DataFrame(
        {
            "item": np.arange(n_items) + 1000,  # other ids and names: only the relation counts
            "genres": [f"g{c}" for c in corpus.cluster],
            "director": [f"d{r}" for r in corpus.creator],
        }
    )
    ratings = pd.DataFrame({"user": [1], "position": [0], "item": [1000], "rating": [5]})
    data = load_interactions(
        ratings, rating="rating", items=catalogue, clusters="genres", creator="director"
    )
    assert data.n_items == n_items and data.cluster_matrix.sum(axis=1).tolist() == [1] * n_items
    world_items = ItemAttributes.from_corpus(corpus)
    data_items = ItemAttributes.from_interactions(data, rule)
    rng = np.random.default_rng(0)
    slates = np.stack([rng.choice(n_items, 10, replace=False) for _ in range(200)])
    x_k = rng.integers(0, n_items, 200)
    from_world = similarities(slates, x_k, world_items)
    from_data = similarities(slates, x_k, data_items)
    assert list(from_world) == KINDS
    for kind in KINDS:
        assert not np.isnan(from_world[kind]).any()
        np.testing.assert_array_equal(from_world[kind], from_data[kind])
    assert from_world["content"].mean() > from_world["creator"].mean() > 0


# --- a registered kind reaches every table and figure ---------------------------------------


def test_an_added_kind_reaches_tables_summaries_and_figures(
    small_world, extra_kind, captured, tmp_path
):
    kinds = ["content", "creator", extra_kind.name]
    config = ResponsivenessConfig(n_users=30, k=5, n_resamples=200)
    run = measure_responsiveness(small_world, PopularityAdapter(small_world.corpus), config)
    assert list(run.per_user.columns[-3:]) == kinds
    # Either relation: never below the larger of the two shares, never above their sum.
    either, content, creator = (run.per_user[k].to_numpy() for k in reversed(kinds))
    assert (either >= np.maximum(content, creator)).all()
    assert (either <= content + creator + 1e-12).all()
    assert run.summary["kind"].tolist() == kinds
    plot_responsiveness(run.summary, tmp_path / "sim")
    (ax,) = captured[-1].axes
    assert [t.get_text() for t in ax.get_legend().get_texts()][: len(kinds)] == kinds
    assert len(ax.patches) == len(kinds)  # one model, one bar per kind

    data = tiny_data()
    real_config = RealHistoryConfig(k=6, n_resamples=200)
    real = measure_real_responsiveness(data, build_real_adapter("popularity", data), real_config)
    assert extra_kind.name in real.per_user.columns
    assert real.summary["kind"].tolist() == kinds
    write_real_run(tmp_path / "real", [real], real_config, data)
    record = json.loads((tmp_path / "real" / "run.json").read_text())
    assert list(record["users"]["undefined"]) == kinds
    assert record["similarity"][extra_kind.name] == extra_kind.description
    table = pd.read_csv(tmp_path / "real" / "responsiveness.csv")
    assert table["kind"].tolist() == kinds
