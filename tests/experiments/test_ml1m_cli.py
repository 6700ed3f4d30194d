"""experiments/ml1m.py: one-line errors with exit 2, and the --quick run on the real data."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from experiments.movielens import COLUMNS, DEFAULT_MODELS
from experiments.movielens.report import ml1m_section
from recommenders import load_adapter
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
        (["--threads", "0"], "argument --threads: must be in [1, "),
        (["--threads", "1000000000"], "per core of this machine's"),
        (["--real-k", "x"], "--real-k must be a positive integer, 'last' or 'none'"),
        (["--real-k", "0"], "--real-k must be a positive integer, 'last' or 'none', got '0'"),
        (["--seed", "-1"], "argument --seed: must be in [0, 2**63), got -1"),
        (["--reuse", "--overwrite"], "--reuse and --overwrite exclude each other"),
        (["--models", "sasrec-ce-feature-ntr-wx"], "the weight after -w must be a number"),
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
    assert "already exists; pass --reuse to keep its trained models, --overwrite" in err


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
    assert real.loc[("filter:sasrec-ce", "creator"), "relative_change"] == -1.0
    assert (out / "responsiveness" / "responsiveness.png").is_file()
    # The feedback-aware models against their blind twin, with a plot and curves.
    paired = pd.read_csv(out / "paired.csv")
    assert set(paired["model"]) == {"sasrec-ce-feature", "sasrec-ce-feature-ntr"}
    assert set(paired["twin"]) == {"sasrec-ce"} and len(paired) == 12
    assert (paired["ci_low"] <= paired["difference"]).all()
    assert (paired["difference"] <= paired["ci_high"]).all()
    for name in ("paired.png", "learning_curves.png", "learning_curves.pdf"):
        assert (out / name).is_file(), name
    # A second run into the same folder refuses to overwrite ...
    capsys.readouterr()
    assert CLI.main(["--quick", "--no-progress", "--out", str(out)]) == 2
    assert "pass --reuse" in capsys.readouterr().err
    # ... and with --reuse tabulates the same checkpoints into the same table.
    first = (out / "benchmark.csv").read_bytes()
    assert (
        CLI.main(["--quick", "--no-progress", "--reuse", "--real-k", "none", "--out", str(out)])
        == 0
    )
    assert (out / "benchmark.csv").read_bytes() == first
    assert "sasrec-ce: reused" in capsys.readouterr().out
    record = json.loads((out / "run.json").read_text())
    assert record["reused_checkpoints"] == list(DEFAULT_MODELS)
    assert (
        record["command"][:2] == ["python3", "experiments/ml1m.py"]
        and "--reuse" in record["command"]
    )
    # The report's ML-1M section renders from this folder.
    lines = "\n".join(ml1m_section([out, out], tmp_path / "figures", number=7))
    assert "## 7. MovieLens-1M" in lines and "gSASRec NDCG@10" in lines
    assert "### Feedback-aware models against their feedback-blind twin" in lines
    assert "### Counterfactual responsiveness on real histories" in lines
    assert "### Training seeds" in lines
    assert (tmp_path / "figures" / "ml1m_paired.png").is_file()
