"""The loss-gradient study: closed forms, plots, and the instability run."""

import numpy as np
import pytest

from experiments.paper.gradients import (
    clipped_name,
    gradient_table,
    plot_gradients,
    plot_instability,
    training_instability,
)

P = np.array([1e-1, 1e-3, 1e-6, 1e-9, 0.5, 0.9])
W = 0.7


@pytest.fixture(scope="module")
def table():
    return gradient_table(P, weight=W, n_items=200)


def _rows(table, loss):
    rows = table[table["loss"] == loss].sort_values("p")
    assert np.allclose(rows["p"], np.sort(P), rtol=0, atol=0)
    return rows, rows["p"].to_numpy()


def test_columns_and_rows(table):
    assert list(table.columns) == ["loss", "p", "loss_value", "dL_dp", "dL_dz"]
    expected = {
        "not_to_recommend",
        "negative_weight_ce",
        "eps_smoothed_ce",
        "focal_negative",
        "gbce_negative",
        clipped_name("negative_weight_ce", 1.0),
    }
    assert set(table["loss"]) == expected
    assert len(table) == len(expected) * len(P)
    assert np.isfinite(table[["loss_value", "dL_dp", "dL_dz"]].to_numpy()).all()


def test_not_to_recommend_closed_forms(table):
    rows, p = _rows(table, "not_to_recommend")
    np.testing.assert_allclose(rows["loss_value"], -W * np.log1p(-p), rtol=1e-9)
    np.testing.assert_allclose(rows["dL_dz"], W * p, rtol=1e-9)
    np.testing.assert_allclose(rows["dL_dp"], W / (1 - p), rtol=1e-9)
    assert rows["dL_dz"].iloc[0] < 1e-9  # fades with p


def test_negative_weight_ce_closed_forms(table):
    rows, p = _rows(table, "negative_weight_ce")
    np.testing.assert_allclose(rows["loss_value"], W * np.log(p), rtol=1e-9)
    np.testing.assert_allclose(rows["dL_dz"], W * (1 - p), rtol=1e-9)
    np.testing.assert_allclose(rows["dL_dp"], W / p, rtol=1e-9)
    small = p < 1e-2
    np.testing.assert_allclose(p[small] * np.abs(rows["dL_dp"].to_numpy()[small]), W, rtol=1e-2)
    assert rows["dL_dp"].iloc[0] > 1e8  # blows up like 1/p


def test_eps_and_focal_closed_forms(table):
    eps, gamma = 1e-3, 2.0
    rows, p = _rows(table, "eps_smoothed_ce")
    np.testing.assert_allclose(rows["loss_value"], W * np.log(p + eps), rtol=1e-9)
    np.testing.assert_allclose(rows["dL_dz"], W * p * (1 - p) / (p + eps), rtol=1e-9)
    rows, p = _rows(table, "focal_negative")
    np.testing.assert_allclose(rows["loss_value"], W * (1 - p) ** gamma * np.log(p), rtol=1e-9)
    dz = W * ((1 - p) ** (gamma + 1) - gamma * p * (1 - p) ** gamma * np.log(p))
    np.testing.assert_allclose(rows["dL_dz"], dz, rtol=1e-9)
    small = p < 1e-5
    np.testing.assert_allclose(p[small] * rows["dL_dp"].to_numpy()[small], W, rtol=1e-3)


def test_clipping_bounds_step_not_loss():
    table = gradient_table(P, losses=("negative_weight_ce",), weight=5.0, n_items=50)
    plain = table[table["loss"] == "negative_weight_ce"].reset_index(drop=True)
    clipped = table[table["loss"] == clipped_name("negative_weight_ce", 1.0)].reset_index(drop=True)
    np.testing.assert_array_equal(plain["loss_value"], clipped["loss_value"])
    assert (clipped["dL_dz"] <= 1.0 + 1e-12).all()
    assert (plain["dL_dz"].iloc[:4] > 4.0).all()  # unclipped: w (1 - p), w = 5
    # Clipped but still not fading as p -> 0: the logit gradient is w (1 - p) on the label
    # and -w p_j on the 49 others, so the clipped label entry is 1 / sqrt(1 + 1/49).
    np.testing.assert_allclose(clipped["dL_dz"].iloc[3], 1 / np.sqrt(1 + 1 / 49), rtol=1e-6)
    assert gradient_table(P, losses=("negative_weight_ce",), clip_norm=None)["loss"].nunique() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p_values": np.array([0.0])},
        {"p_values": np.array([1.0])},
        {"p_values": np.array([])},
        {"p_values": P, "n_items": 1},
        {"p_values": P, "weight": -1.0},
        {"p_values": P, "losses": ("nope",)},
        {"p_values": P, "clip_norm": 0.0},
    ],
)
def test_gradient_table_rejects(kwargs):
    with pytest.raises(ValueError):
        gradient_table(**kwargs)


def test_plot_gradients_writes_files(table, tmp_path):
    paths = plot_gradients(table, tmp_path / "sub" / "gradients")
    assert [p.name for p in paths] == ["gradients.png", "gradients.pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    assert not [p for p in (tmp_path / "sub").iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def instability():
    return training_instability(n_steps=80, seed=0, n_items=100, dim=8, n_users=32, n_negative=8)


def test_instability_negative_weight_ce_diverges(instability):
    assert set(instability["negative_loss"]) == {"not_to_recommend", "negative_weight_ce"}
    last = instability.groupby("negative_loss").tail(1).set_index("negative_loss")
    first = instability.groupby("negative_loss").head(1).set_index("negative_loss")
    ntr, nwce = last.loc["not_to_recommend"], last.loc["negative_weight_ce"]
    assert nwce["negative"] < ntr["negative"]
    assert nwce["negative"] < first.loc["negative_weight_ce", "negative"] - 0.5
    assert ntr["negative"] >= 0.0
    assert ntr["grad_norm"] < nwce["grad_norm"]
    # The push on the negative label's logit: w p -> 0 vs w (1 - p) -> w.
    assert ntr["label_grad"] < 1e-2 < 0.99 < nwce["label_grad"]
    np.testing.assert_allclose(
        instability["total"], instability["positive"] + instability["negative"], rtol=1e-5
    )


def test_instability_same_start_and_deterministic(instability):
    first = instability[instability["step"] == 0].set_index("negative_loss")
    assert first.loc["not_to_recommend", "positive"] == first.loc["negative_weight_ce", "positive"]
    again = training_instability(n_steps=3, seed=0, n_items=100, dim=8, n_users=32, n_negative=8)
    head = instability[instability["step"] < 3].reset_index(drop=True)
    np.testing.assert_allclose(again["total"], head["total"], rtol=1e-6)
    with pytest.raises(ValueError):
        training_instability(n_steps=0)


def test_plot_instability_writes_files(instability, tmp_path):
    paths = plot_instability(instability, tmp_path / "instability")
    assert [p.name for p in paths] == ["instability.png", "instability.pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
