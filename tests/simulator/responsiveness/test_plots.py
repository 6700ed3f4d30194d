"""Tests of simulator.responsiveness.plots."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from simulator.responsiveness.plots import plot_horizon, plot_responsiveness


def make_table(steps=(6,), branches=("long_dwell+dislike",), nan_model=True) -> pd.DataFrame:
    """A summarize()-shaped table: fractions, absolute steps k+1.. with k = 5."""
    rows = []
    models = {"SASRec": -0.227, "GRU4Rec": -0.05}
    if nan_model:
        models["popularity"] = math.nan  # e.g. mean_a == 0: undefined
    for model, base in models.items():
        for b, branch in enumerate(branches):
            for kind, factor in (("content", 1.0), ("creator", 1.5)):
                for step in steps:
                    v = base * factor / (1 + b) / (step - steps[0] + 1)
                    rows.append(
                        {
                            "model": model,
                            "reference": "long_dwell",
                            "branch": branch,
                            "kind": kind,
                            "step": step,
                            "relative_change": v,
                            "ci_low": v - 0.03,
                            "ci_high": v + 0.03,
                            "n": 300,
                        }
                    )
    return pd.DataFrame(rows)


def assert_figure_files(paths, directory, stem):
    assert paths == [directory / f"{stem}.png", directory / f"{stem}.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    # Atomic writes leave nothing else behind.
    assert sorted(directory.iterdir()) == sorted(paths)


def test_bar_chart_files(tmp_path):
    paths = plot_responsiveness(make_table(), tmp_path / "fig3b", title="dislike")
    assert_figure_files(paths, tmp_path, "fig3b")


def test_bar_heights_labels_and_nan(tmp_path, captured):
    plot_responsiveness(make_table(), tmp_path / "fig3b")
    (ax,) = captured[0].axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SASRec", "GRU4Rec", "popularity"]
    assert ax.get_ylabel() == "change in similar recommendations (%)"
    heights = [p.get_height() for p in ax.patches]
    # content bars first (SASRec, GRU4Rec, n/a), then creator; percent units.
    assert heights[0] == pytest.approx(-22.7)
    assert heights[3] == pytest.approx(-34.05)
    labels = [t.get_text() for t in ax.texts]
    assert "-22.7%" in labels and "-5.0%" in labels
    assert labels.count("n/a") == 2  # NaN rows drawn, not dropped
    na_bars = [p for p in ax.patches if p.get_hatch()]
    assert len(na_bars) == 2 and not any(p.get_fill() for p in na_bars)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["content", "creator", "n/a (undefined)"]


def test_only_first_step_in_bar_chart(tmp_path, captured):
    plot_responsiveness(make_table(steps=(6, 7, 8), nan_model=False), tmp_path / "f")
    (ax,) = captured[0].axes
    # Two models x two kinds, all at k+1 (step 6), where the factor is 1.
    assert sorted(p.get_height() for p in ax.patches) == pytest.approx(
        sorted([-22.7, -34.05, -5.0, -7.5])
    )
    assert "k+1" in ax.get_title()


def test_several_branches_label_groups(tmp_path, captured):
    table = make_table(branches=("long_dwell+dislike", "skip"), nan_model=False)
    # Rows come kind-major here; groups must still follow models, then branches.
    table = table.sort_values("kind", kind="stable")
    paths = plot_responsiveness(table, tmp_path / "branches")
    assert_figure_files(paths, tmp_path, "branches")
    (ax,) = captured[0].axes
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "SASRec\nlong_dwell+dislike",
        "SASRec\nskip",
        "GRU4Rec\nlong_dwell+dislike",
        "GRU4Rec\nskip",
    ]


def test_infinite_and_nan_ci_ends(tmp_path):
    table = make_table(nan_model=False)
    table.loc[0, "ci_high"] = math.inf
    table.loc[1, "ci_low"] = math.nan
    table.loc[2, "ci_low"] = table.loc[2, "relative_change"] + 0.01  # CI misses estimate
    assert_figure_files(plot_responsiveness(table, tmp_path / "f"), tmp_path, "f")


def test_all_nan_table(tmp_path):
    table = make_table()
    table[["relative_change", "ci_low", "ci_high"]] = np.nan
    assert_figure_files(plot_responsiveness(table, tmp_path / "f"), tmp_path, "f")


def test_horizon_plot(tmp_path, captured):
    table = make_table(steps=(6, 7, 8, 9))
    table.loc[table["step"] == 9, "ci_high"] = math.inf
    paths = plot_horizon(table, tmp_path / "horizon")
    assert_figure_files(paths, tmp_path, "horizon")
    axes = captured[0].axes
    assert [ax.get_title() for ax in axes] == ["content", "creator"]
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["k+1", "k+2", "k+3", "k+4"]


def test_horizon_needs_step(tmp_path):
    with pytest.raises(ValueError, match="step"):
        plot_horizon(make_table().drop(columns="step"), tmp_path / "h")


def test_suffix_is_stripped_and_parents_created(tmp_path):
    paths = plot_responsiveness(make_table(), tmp_path / "a" / "b" / "fig.png")
    assert paths == [tmp_path / "a" / "b" / "fig.png", tmp_path / "a" / "b" / "fig.pdf"]


def test_same_table_gives_identical_files(tmp_path):
    first = [p.read_bytes() for p in plot_responsiveness(make_table(), tmp_path / "x")]
    second = [p.read_bytes() for p in plot_responsiveness(make_table(), tmp_path / "y")]
    assert first == second


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (make_table().drop(columns="ci_low"), "ci_low"),
        (make_table().iloc[0:0], "no rows"),
        (pd.concat([make_table(), make_table()]), "share one key"),
        (make_table().assign(relative_change="big"), "numeric"),
    ],
)
def test_bad_tables_raise(tmp_path, table, match):
    with pytest.raises(ValueError, match=match):
        plot_responsiveness(table, tmp_path / "f")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_old_files_and_leaves_no_temp(tmp_path, monkeypatch):
    png, pdf = tmp_path / "fig.png", tmp_path / "fig.pdf"
    png.write_bytes(b"old png")
    pdf.write_bytes(b"old pdf")

    def broken_savefig(self, fname, **kwargs):
        with open(fname, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_responsiveness(make_table(), tmp_path / "fig")
    assert png.read_bytes() == b"old png" and pdf.read_bytes() == b"old pdf"
    assert sorted(tmp_path.iterdir()) == [pdf, png]
