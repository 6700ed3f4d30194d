"""Learning-curve plot of a training run: loss, gradient norm and validation metrics per epoch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from recommenders.atomic import save_figure


def plot_learning_curve(
    history: pd.DataFrame, path_stem: str | Path, title: str = ""
) -> list[Path]:
    """Three panels (train loss, mean gradient norm, validation NDCG@10 / Recall@10 /
    disliked-in-top-10) against epoch; PNG and PDF, each written atomically."""
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    epochs = history["epoch"]
    axes[0].plot(epochs, history["train_loss"], marker="o")
    axes[0].set(title="training loss", xlabel="epoch")
    axes[1].plot(epochs, history["grad_norm"], marker="o", color="tab:red")
    axes[1].set(title="mean gradient norm", xlabel="epoch", yscale="log")
    for column, label in (
        ("val_ndcg10", "NDCG@10"),
        ("val_recall10", "Recall@10"),
        ("val_disliked_in_top10", "disliked in top 10"),
    ):
        axes[2].plot(epochs, history[column], marker="o", label=label)
    axes[2].set(title="held-out events", xlabel="epoch")
    axes[2].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path_stem)


def plot_learning_curves(
    histories: dict[str, pd.DataFrame], path_stem: str | Path, title: str = ""
) -> list[Path]:
    """Validation NDCG@10 and disliked-in-top-10 against epoch, one line per run.

    ``histories``: run name -> its per-epoch metrics (``epoch``, ``val_ndcg10``,
    ``val_disliked_in_top10``, ``elapsed_seconds`` if known); PNG and PDF, atomically.
    Each run's kept (best validation NDCG@10) epoch is marked.
    """
    if not histories:
        raise ValueError("plot_learning_curves: no runs to plot")
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for i, (name, history) in enumerate(histories.items()):
        # The colour cycle has 10 colours; a second round is dashed so no two runs look alike.
        style = {"lw": 1.2, "ls": "-" if i < 10 else "--", "color": f"C{i % 10}"}
        axes[0].plot(history["epoch"], history["val_ndcg10"], label=name, **style)
        best = history.loc[history["val_ndcg10"].idxmax()]
        axes[0].plot(best["epoch"], best["val_ndcg10"], "o", color=style["color"], ms=4)
        axes[1].plot(history["epoch"], history["val_disliked_in_top10"], **style)
    axes[0].set(title="validation NDCG@10 (dot: kept epoch)", xlabel="epoch")
    axes[1].set(title="validation: disliked target in top 10 (lower is better)", xlabel="epoch")
    fig.legend(loc="outside right center", fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path_stem)
