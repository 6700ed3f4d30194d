"""simulator.world.fidelity: the held-out split, the metrics by hand, the baselines."""

import numpy as np
import pandas as pd
import pytest

from recommenders.datasets import load_interactions
from simulator.world.fidelity import (
    Prediction,
    default_world_prediction,
    evaluate_fidelity,
    holdout_events,
    reliability,
    score,
)
from simulator.world.response_fit import ResponseFitConfig

FAST = ResponseFitConfig(n_factors=2, max_iter=60)


def rated(n_users: int = 40, length: int = 12, seed: int = 0):
    """Random ratings over 30 movies with genres and directors (every 5th unknown)."""
    rng = np.random.default_rng(seed)
    rows = [
        (u, t, int(rng.integers(1, 31)), int(rng.integers(1, 6)))
        for u in range(n_users)
        for t in range(length)
    ]
    ratings = pd.DataFrame(rows, columns=["user", "position", "item", "rating"])
    ratings = ratings.drop_duplicates(["user", "item"]).reset_index(drop=True)
    ratings["position"] = ratings.groupby("user").cumcount()
    items = pd.DataFrame(
        {
            "item": np.arange(1, 31),
            "clusters": ["A|B" if i % 3 == 0 else "B" if i % 3 == 1 else "C" for i in range(30)],
            "director": [None if i % 5 == 0 else f"d{i % 7}" for i in range(30)],
        }
    )
    return load_interactions(
        ratings, rating="rating", items=items, clusters="clusters", creator="director"
    )


@pytest.fixture(scope="module")
def data():
    return rated()


def test_holdout_takes_each_users_last_events_and_keeps_one(data):
    held = holdout_events(data, 0.25)
    log = data.log.assign(held=held)
    for _, events in log.groupby("user"):
        n_held = int(events["held"].sum())
        assert 1 <= n_held <= len(events) - 1
        assert events["held"].to_numpy().tolist() == sorted(events["held"].to_numpy().tolist())
    for share in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="holdout share must be in \\(0, 1\\)"):
            holdout_events(data, share)


def test_metrics_by_hand(data):
    held = holdout_events(data, 0.25)
    n = int(held.sum())
    y = data.log["rating"].to_numpy()[held] <= 2
    perfect = Prediction("oracle", p_dislike=np.where(y, 0.9, 0.1))
    rows = score(perfect, data, held).set_index("metric")["value"]
    assert rows["dislike_auc"] == 1.0
    assert rows["dislike_log_loss"] == pytest.approx(-np.log(0.9))
    assert rows["observed_dislike_rate"] == pytest.approx(y.mean())
    constant = score(Prediction("c", p_dislike=np.full(n, 0.3)), data, held).set_index("metric")
    assert constant.loc["dislike_auc", "value"] == 0.5
    truth = data.log["rating"].to_numpy()[held].astype(float)
    off = score(Prediction("r", rating=truth + 0.5), data, held).set_index("metric")
    assert off.loc["rating_rmse", "value"] == pytest.approx(0.5)


def test_reliability_bins_count_every_event(data):
    held = holdout_events(data, 0.25)
    p = np.linspace(0.01, 0.99, int(held.sum()))
    table = reliability(Prediction("m", p_dislike=p), data, held)
    assert table["n"].sum() == held.sum() and set(table["class"]) == {"dislike"}
    assert (table["mean_predicted"].between(table["bin_low"], table["bin_high"])).all()


def test_default_world_rule_raises_dislike_after_a_creator_dislike():
    ratings = pd.DataFrame(
        {"user": [1, 1, 1, 2, 2], "position": [0, 1, 2, 0, 1], "item": [1, 2, 3, 1, 2]}
    )
    ratings["rating"] = [1, 5, 5, 5, 5]
    items = pd.DataFrame({"item": [1, 2, 3], "clusters": ["A", "A", "B"], "dir": ["x", "x", "y"]})
    data = load_interactions(ratings, rating="rating", items=items, creator="dir")
    everything = np.ones(len(data.log), bool)
    p = default_world_prediction(data, everything).p_dislike
    # User 1 disliked director x's first movie: the second of x is far likelier disliked
    # than the same movie for user 2, who liked x's first.
    assert p[1] > 5 * p[4]
    assert p[0] == pytest.approx(p[3])  # no history yet: the prior


def test_the_fitted_model_and_the_baselines_are_scored(data):
    result = evaluate_fidelity(data, 0.25, FAST, seed=0, baselines=("bias-only", "default world"))
    models = set(result.metrics["model"])
    assert models == {"fitted", "bias-only", "default world"}
    fitted = result.metrics[result.metrics["model"] == "fitted"].set_index("metric")["value"]
    for metric in ("dislike_log_loss", "class_log_loss", "level_log_loss", "rating_rmse"):
        assert np.isfinite(fitted[metric]), metric
    assert 0.0 <= fitted["dislike_auc"] <= 1.0
    again = evaluate_fidelity(data, 0.25, FAST, seed=0, baselines=("bias-only", "default world"))
    pd.testing.assert_frame_equal(result.metrics, again.metrics)


def test_the_svd_baseline_predicts_ratings_on_the_scale(data):
    pytest.importorskip("surprise", reason="scikit-surprise is the optional 'fidelity' extra")
    from simulator.world.fidelity import svd_prediction

    held = holdout_events(data, 0.25)
    prediction = svd_prediction(data, held, seed=0)
    assert prediction.rating.shape == (int(held.sum()),)
    assert ((prediction.rating >= 1) & (prediction.rating <= 5)).all()
    again = svd_prediction(data, held, seed=0)
    np.testing.assert_array_equal(prediction.rating, again.rating)
    rmse = score(prediction, data, held).set_index("metric").loc["rating_rmse", "value"]
    assert 0 < rmse < 2.5
