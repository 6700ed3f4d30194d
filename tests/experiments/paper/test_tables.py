"""The report's Fig. 3b tables and seed bars follow the similarity registry."""

import pandas as pd

from experiments.paper import plots
from experiments.paper.plots import POOLED, plot_seed_bars
from experiments.paper.tables import fig3b_table, horizon_sections
from simulator import SIMILARITY_KINDS


def _table(kinds) -> pd.DataFrame:
    rows = []
    for seed in (0, POOLED):
        for kind in kinds:
            for step in (51, 52):
                rows.append(
                    {
                        "seed": seed,
                        "model": "baseline",
                        "branch": "long_dwell+dislike",
                        "kind": kind,
                        "step": step,
                        "relative_change": -0.01 * (step - 50),
                        "ci_low": -0.05,
                        "ci_high": 0.0,
                    }
                )
    return pd.DataFrame(rows)


def test_every_registered_kind_in_registry_order(extra_kind, tmp_path, monkeypatch):
    kinds = ["content", "creator", extra_kind.name]
    table = _table(kinds[::-1])  # rows in another order: the registry's order wins
    shown = fig3b_table(table)
    assert shown["kind"].tolist() == kinds
    assert shown["world seed 0"].tolist() == ["-1.0% [-5.0%, +0.0%]"] * 3
    lines = horizon_sections(table)
    headings = [line for line in lines if line.endswith(":")]
    assert headings == ["Content:", "Creator:", "Creator or content:"]
    assert "| baseline | -1.0% | -2.0% |" in lines[lines.index("Creator or content:") + 2]

    figures = []
    save = plots.save_figure
    monkeypatch.setattr(
        plots, "save_figure", lambda fig, stem, dpi: figures.append(fig) or save(fig, stem, dpi)
    )
    plot_seed_bars(table[table["step"] == 51], tmp_path / "bars")
    assert [ax.get_title() for ax in figures[0].axes] == kinds


def test_a_kind_the_table_lacks_is_an_empty_row():
    shown = fig3b_table(_table(["content"]))
    assert shown["kind"].tolist() == list(SIMILARITY_KINDS)
    assert shown.iloc[1]["world seed 0"] == "" and shown.iloc[1]["all seeds pooled"] == ""


def test_the_report_skips_what_an_interrupted_run_leaves_in_models(tmp_path):
    """A stray .NAME.metrics.csv (training killed mid-run) or a checkpoint's staging folder
    used to crash results.py --stage report with NotADirectoryError."""
    import json

    from experiments.paper.report import _trained_on

    models = tmp_path / "fig3b" / "seed-0" / "models"
    done = models / "gru-baseline"
    done.mkdir(parents=True)
    (done / "checkpoint.json").write_text(json.dumps({"train": {"device": "cpu"}}))
    (done / "metrics.csv").write_text("epoch,epoch_seconds\n1,2.5\n")
    (models / ".gru-dislike_feature.metrics.csv").write_text("epoch,epoch_seconds\n1,9\n")
    (models / ".gru-skip_label.abc123").mkdir()
    assert _trained_on(tmp_path) == "cpu (2 s of training epochs in all)"
