"""The cost of listening: each feedback-aware model's change against its blind twin.

One point per model of a :func:`~experiments.movielens.paired.paired_differences`
table: x is the change in "disliked target in top 10" (left is better: fewer
movies the user went on to dislike are recommended), y the change in NDCG@10
(up is better), over all users (left panel) and over users whose target was
not disliked (right panel). Bars are the paired 95% bootstrap intervals; the
twin sits at the origin.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from recommenders.atomic import save_figure

PANELS = (("all", "NDCG@10, all users"), ("not_disliked", "NDCG@10, target not disliked"))


def plot_paired(table: pd.DataFrame, path_stem: str | Path, title: str = "") -> list[Path]:
    """Two panels of (Δ disliked-in-top-10, Δ NDCG@10) per model; PNG and PDF, atomically."""
    if table.empty:
        raise ValueError("plot_paired: the paired table is empty (no model with its twin)")
    x_rows = table[table["metric"] == "disliked_in_top10"].set_index(["model", "twin"])
    # a model compared with two twins (blind, and without its pathway) gets one point each
    one_twin = table["twin"].nunique() == 1
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for ax, (users, label) in zip(axes, PANELS, strict=True):
        y_rows = table[(table["metric"] == "ndcg10") & (table["users"] == users)]
        for _, y in y_rows.iterrows():
            x = x_rows.loc[(y["model"], y["twin"])]
            ax.errorbar(
                x["difference"],
                y["difference"],
                xerr=[[x["difference"] - x["ci_low"]], [x["ci_high"] - x["difference"]]],
                yerr=[[y["difference"] - y["ci_low"]], [y["ci_high"] - y["difference"]]],
                fmt="o",
                capsize=3,
            )
            ax.annotate(
                y["model"] if one_twin else f"{y['model']} - {y['twin']}",
                (x["difference"], y["difference"]),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.axvline(0.0, color="grey", lw=0.8)
        twins = ", ".join(sorted(set(y_rows["twin"])))
        ax.set(
            title=label,
            xlabel="change in disliked target in top 10 (left is better)",
            ylabel=f"change in NDCG@10 vs {twins} (up is better)",
        )
    if title:
        fig.suptitle(title)
    return save_figure(fig, path_stem)
