"""Learning-curve plot of a training run: loss, gradient norm and validation metrics per epoch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from recommenders.atomic import atomic_path


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
    paths = []
    for suffix in (".png", ".pdf"):
        target = Path(str(path_stem) + suffix)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, dpi=130, format=suffix[1:])
        paths.append(target)
    return paths
