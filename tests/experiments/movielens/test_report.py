"""experiments.movielens.report: the report's MovieLens-1M tables and verdict."""

from __future__ import annotations

import pandas as pd

from experiments.movielens.report import gsasrec_verdict, ml1m_section, responsiveness_view


def test_gsasrec_verdict_within_and_outside_the_tolerance():
    assert "gap -0.0060, within" in gsasrec_verdict(
        pd.DataFrame({"model": ["gsasrec"], "ndcg10": [0.170]})
    )
    assert "gap -0.0260, outside" in gsasrec_verdict(
        pd.DataFrame({"model": ["gsasrec"], "ndcg10": [0.150]})
    )
    assert gsasrec_verdict(pd.DataFrame({"model": ["sasrec-ce"], "ndcg10": [0.2]})).startswith(
        "gSASRec was not in this run"
    )


def test_responsiveness_view_names_models_without_their_path():
    table = pd.DataFrame(
        {
            "model": ["filter:checkpoint:runs/ml1m/sasrec-ce", "sasrec-ce-feature-ntr-w3"],
            "kind": ["creator", "content"],
            "mean_a": [0.0121, 0.8028],
            "mean_b": [0.0, 0.7901],
            "relative_change": [-1.0, -0.0158],
            "ci_low": [-1.0, -0.018],
            "ci_high": [-1.0, -0.014],
            "n": [4278, 4294],
        }
    )
    view = responsiveness_view(table)
    assert list(view["model"]) == ["filter:sasrec-ce", "sasrec-ce-feature-ntr-w3"]
    assert list(view["change [95% CI]"]) == ["-100.0% [-100.0%, -100.0%]", "-1.6% [-1.8%, -1.4%]"]


def test_missing_folder_says_how_to_make_it(tmp_path):
    lines = ml1m_section([tmp_path / "none"], tmp_path / "figures", number=7)
    assert lines[0].startswith("## 7. MovieLens-1M") and "_Not run" in lines[2]
