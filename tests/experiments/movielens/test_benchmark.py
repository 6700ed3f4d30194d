"""experiments.movielens: the study's models and anchors, one model trained end to end
(checkpoint, learning curve, benchmark row), reuse of a trained model, twins."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from experiments.movielens import (
    COLUMNS,
    DEFAULT_MODELS,
    BenchmarkConfig,
    benchmark_models,
    benchmark_table,
    blind_twin,
    checkpoint_ranks,
    markdown,
    pathway_twin,
    resolve_model,
    reuse_model,
    run_model,
)
from recommenders import Feedback
from recommenders.evaluation import (
    leave_one_out,
    ndcg_at,
    recall_at,
)
from recommenders.variants import RATING_NEGATIVE_WEIGHT as NEGATIVE_WEIGHT
from tests.recommenders.conftest import cyclic_sequences

D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


def test_model_specs():
    models = benchmark_models(negative_weight=3.0)
    assert set(DEFAULT_MODELS) <= set(models)
    assert (models["gsasrec"].n_negatives, models["gsasrec"].gbce_t) == (256, 0.75)
    assert models["sasrec-bce"].positive_loss == "bce"
    assert models["sasrec-ce"].published_ndcg10 == 0.182
    assert math.isnan(models["gru-ce"].published_recall10)
    ntr = models["sasrec-ce-feature-ntr"].variant
    assert ntr.labels.negative_weight == 3.0 and ntr.features.feedback_type
    assert not models["sasrec-ce"].variant.features.uses_feedback
    config = BenchmarkConfig()
    sasrec = config.model_config(models["sasrec-ce"])
    assert (sasrec.dim, sasrec.max_len, sasrec.n_layers, sasrec.dropout) == (128, 200, 2, 0.2)
    train = config.train_config(models["gsasrec"])
    assert (train.positive_loss, train.n_negatives, train.gbce_t) == ("gbce", 256, 0.75)


# ------------------------------------------------------------------------ bce / gbce losses


def test_run_model_writes_checkpoint_curve_and_row(tmp_path):
    seqs = cyclic_sequences()
    split = leave_one_out(seqs)
    spec = benchmark_models()["sasrec-ce-feature-ntr"]
    config = BenchmarkConfig(dim=8, max_len=6, sasrec_blocks=1, epochs=2, batch_size=16)
    creator = np.arange(20) % 5
    row = run_model(spec, split, config, 20, creator, "fp-1", tmp_path, extra={"note": 1})
    folder = tmp_path / spec.name
    names = {p.name for p in folder.iterdir()}
    assert {"checkpoint.json", "weights.pt", "metrics.csv", "learning_curve.png"} <= names
    header = json.loads((folder / "checkpoint.json").read_text())
    assert header["fingerprint"] == "fp-1" and header["note"] == 1
    assert header["test_metrics"]["n_users"] == 24
    assert set(COLUMNS) <= set(row) and row["epochs"] == 2 and row["n_users"] == 24
    for key in ("recall10", "ndcg10", "recall1", "disliked_in_top10"):
        assert 0.0 <= row[key] <= 1.0
    # Every user disliked something whose creator is known (creator = item % 5).
    assert row["n_director_users"] == 24 and 0.0 <= row["disliked_director_share"] <= 1.0
    table = benchmark_table([row])
    assert list(table.columns) == list(COLUMNS)
    assert spec.name in markdown(table)
    with pytest.raises(ValueError, match="already exists"):
        run_model(spec, split, config, 20, creator, "fp-1", tmp_path)


def test_reuse_model_returns_the_stored_row_and_refuses_other_settings(tmp_path):
    split = leave_one_out(cyclic_sequences())
    spec = resolve_model("sasrec-ce-feature-ntr-w3")
    config = BenchmarkConfig(dim=8, max_len=6, sasrec_blocks=1, epochs=2, batch_size=16)
    creator = np.arange(20) % 5
    subset = {"subset": [1]}
    row = run_model(spec, split, config, 20, creator, "fp-1", tmp_path, extra=subset)
    # Trained elsewhere, for longer, on another device: still the same model.
    elsewhere = config.replace(epochs=50, patience=3, max_seconds=60.0, device="cpu")
    again = reuse_model(spec, elsewhere, "fp-1", tmp_path, extra=subset)
    pd.testing.assert_frame_equal(benchmark_table([again]), benchmark_table([row]))
    reworded = dataclasses.replace(spec, description="reworded")
    assert reuse_model(reworded, config, "fp-1", tmp_path, extra=subset)["model"] == spec.name
    ranks = checkpoint_ranks(tmp_path / spec.name, split.test)
    assert recall_at(ranks, 10) == pytest.approx(row["recall10"])
    assert ndcg_at(ranks, 10) == pytest.approx(row["ndcg10"])
    other_spec = dataclasses.replace(
        spec, variant=resolve_model("sasrec-ce-feature-ntr-w4").variant
    )
    for args, what in (
        ((other_spec, config, "fp-1", tmp_path, subset), "benchmark_model"),
        ((spec, config.replace(dim=16), "fp-1", tmp_path, subset), "benchmark_config"),
        ((spec, config, "fp-2", tmp_path, subset), "fingerprint"),
        ((spec, config, "fp-1", tmp_path, {"subset": [2]}), "subset"),
    ):
        with pytest.raises(ValueError, match=f"another {what} than this run asks for"):
            reuse_model(*args)
    with pytest.raises(ValueError, match="not a folder"):
        reuse_model(spec, config, "fp-1", tmp_path / "elsewhere")


def test_resolve_model_weights_and_twins():
    default = resolve_model("sasrec-ce-feature-ntr")
    w10 = resolve_model("sasrec-ce-feature-ntr-w10")
    assert w10.name == "sasrec-ce-feature-ntr-w10"
    assert w10.variant.labels.negative_weight == 10.0
    assert default.variant.labels.negative_weight == NEGATIVE_WEIGHT == 3.0
    assert resolve_model("gru-ce-feature-ntr-w0.5").variant.labels.negative_weight == 0.5
    for bad, message in (
        ("sasrec-ce-feature-ntr-wx", "weight after -w must be a number >= 0"),
        ("sasrec-ce-feature-ntr-w-1", "weight after -w must be a number >= 0"),
        ("sasrec-ce-w10", "unknown model 'sasrec-ce-w10'"),
        ("sasrec", "unknown model 'sasrec'"),
    ):
        with pytest.raises(ValueError, match=message):
            resolve_model(bad)
    assert blind_twin("sasrec-ce-feature-ntr-w10") == "sasrec-ce"
    assert blind_twin("gru-ce-feature") == "gru-ce"
    assert blind_twin("sasrec-ce") is None and blind_twin("gsasrec") is None


def test_the_listening_sasrec_is_the_feature_model_with_the_last_event_cross():
    from experiments.movielens.models import BenchmarkConfig

    cross = resolve_model("sasrec-ce-feature-ntr-cross")
    plain = resolve_model("sasrec-ce-feature-ntr")
    assert cross.variant == plain.variant and cross.positive_loss == plain.positive_loss
    config = BenchmarkConfig().model_config(cross)
    assert config.last_event_cross and not BenchmarkConfig().model_config(plain).last_event_cross
    assert blind_twin("sasrec-ce-feature-ntr-cross") == "sasrec-ce"
    for name, twin in (
        ("sasrec-ce-feature-ntr-cross", "sasrec-ce-feature-ntr"),
        ("sasrec-ce-feature-input-cross", "sasrec-ce-feature"),
        ("sasrec-ce-feature-ntr-input-cross-w10", "sasrec-ce-feature-ntr-w10"),
        ("sasrec-ce-feature-ntr-cross-w10", "sasrec-ce-feature-ntr-w10"),
        ("sasrec-ce-feature-ntr-nopos", "sasrec-ce-feature-ntr"),
        ("sasrec-ce-feature-ntr-relpos", "sasrec-ce-feature-ntr"),
    ):
        assert pathway_twin(name) == twin and resolve_model(twin)
    for name in ("sasrec-ce", "sasrec-ce-feature-ntr", "sasrec-ce-feature-ntr-w10", "gsasrec"):
        assert pathway_twin(name) is None
    w10 = resolve_model("sasrec-ce-feature-ntr-cross-w10")
    assert BenchmarkConfig().model_config(w10).last_event_cross
    assert w10.variant.labels.negative_weight == 10.0
    nopos = BenchmarkConfig().model_config(resolve_model("sasrec-ce-feature-ntr-nopos"))
    assert (
        not nopos.position_embeddings and BenchmarkConfig().model_config(plain).position_embeddings
    )
    relpos = BenchmarkConfig().model_config(resolve_model("sasrec-ce-feature-ntr-relpos"))
    assert relpos.position_bias and not relpos.position_embeddings
    entry = BenchmarkConfig().model_config(resolve_model("sasrec-ce-feature-input-cross"))
    assert entry.feedback_entry == "latent_cross" and not entry.last_event_cross
