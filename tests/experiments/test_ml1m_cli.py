"""experiments/ml1m.py: one-line errors with exit 2, and the --quick run on the real data."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from recommenders import load_adapter
from recommenders.benchmark import COLUMNS, DEFAULT_MODELS
from tests.experiments.conftest import load_cli

CLI = load_cli("ml1m")
DATA = CLI.DEFAULT_DATA


def error_of(capsys, argv) -> str:
    assert CLI.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--models", "sasrec,gru-ce"], "unknown model 'sasrec'"),
        (["--models", ","], "unknown model"),
        (["--models", "gru-ce,gru-ce"], "names a model twice"),
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--max-len", "-3"], "--max-len must be >= 1"),
        (["--max-minutes-per-model", "0"], "--max-minutes-per-model must be > 0"),
        (["--negative-weight", "-1"], "--negative-weight must be >= 0"),
        (["--users", "2"], "--users must be >= 3"),
        (["--threads", "0"], "--threads must be >= 1"),
        (["--real-k", "x"], "--real-k must be a positive integer, 'last' or 'none'"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, tmp_path, argv, message):
    err = error_of(capsys, [*argv, "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert message in err


def test_missing_data_folder(capsys, tmp_path):
    err = error_of(capsys, ["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert "nowhere not found" in err and "interactions.csv.gz" in err
    assert not (tmp_path / "o").exists()


def test_existing_results_need_overwrite(capsys, tmp_path):
    out = tmp_path / "o"
    (out / "gru-ce").mkdir(parents=True)
    err = error_of(capsys, ["--models", "gru-ce", "--data", str(tmp_path), "--out", str(out)])
    assert "already exists; pass --overwrite" in err


def test_cuda_without_a_gpu(capsys, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    err = error_of(capsys, ["--device", "cuda", "--data", str(tmp_path)])
    assert "CUDA is not available" in err


@pytest.mark.slow
def test_quick_run_on_ml1m(tmp_path, capsys):
    if not (DATA / "interactions.csv.gz").is_file():
        pytest.skip(f"ML-1M not found at {DATA} (shared/data is not on this machine)")
    out = tmp_path / "quick"
    assert CLI.main(["--quick", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| sasrec-ce |" in printed
    table = pd.read_csv(out / "benchmark.csv")
    assert list(table.columns) == list(COLUMNS)
    assert list(table["model"]) == list(DEFAULT_MODELS)
    assert (table["n_users"] == CLI.QUICK_USERS).all() and (table["epochs"] == 2).all()
    for column in ("recall10", "ndcg10", "recall1", "disliked_in_top10"):
        assert table[column].between(0, 1).all(), column
    assert (table["recall1"] <= table["recall10"]).all()
    assert (table["ndcg10"] <= table["recall10"]).all()
    assert (table["n_disliked"] > 0).all() and (table["n_director_users"] > 0).all()
    anchors = table.set_index("model")[["published_recall10", "published_ndcg10"]]
    assert tuple(anchors.loc["gsasrec"]) == (0.3, 0.176)
    assert math.isnan(anchors.loc["gru-ce", "published_recall10"])
    record = json.loads((out / "run.json").read_text())
    assert record["users"] == CLI.QUICK_USERS and record["quick"]
    fingerprint = record["data"]["fingerprint"]
    adapter = load_adapter(out / "sasrec-ce-feature-ntr", fingerprint=fingerprint)
    assert adapter.model.n_items == 3416
    assert (out / "gru-ce" / "learning_curve.png").is_file()
    # Real-history responsiveness of the trained models: the feedback-blind ones serve
    # identical slates after a 5 and a 1 (exactly 0); the filter drops the director.
    real = pd.read_csv(out / "responsiveness" / "responsiveness.csv").set_index(["model", "kind"])
    for model in ("sasrec-bce", "gsasrec", "sasrec-ce", "gru-ce"):
        assert real.loc[(model, "content"), "relative_change"] == 0.0
    assert real.loc[("filter:sasrec-bce", "creator"), "relative_change"] == -1.0
    assert (out / "responsiveness" / "responsiveness.png").is_file()
    # A second run into the same folder refuses to overwrite.
    assert CLI.main(["--quick", "--no-progress", "--out", str(out)]) == 2
