"""The fidelity report of a fitted response model: a markdown page and a reliability figure."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from recommenders.atomic import save_figure
from recommenders.datasets import InteractionData
from simulator.records import md_table
from simulator.responsiveness.plots import DPI, new_figure
from simulator.world.fidelity import CLASSES, FidelityResult
from simulator.world.response_fit import SEQUENTIAL_EFFECTS

METRIC_ORDER = (
    "dislike_log_loss",
    "dislike_auc",
    "class_log_loss",
    "level_log_loss",
    "rating_rmse",
    "predicted_dislike_rate",
    "observed_dislike_rate",
)
_MODEL_COLORS = {"fitted": "#4C72B0", "bias-only": "#DD8452", "default world": "#55A868"}


def _cell(value: float) -> str:
    return (
        "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
    )


def fidelity_markdown(data: InteractionData, result: FidelityResult, holdout: float) -> str:
    """The metrics table (models as columns), the sequential effects and the skipped baselines."""
    wide = result.metrics.pivot(index="metric", columns="model", values="value")
    models = ["fitted", *[m for m in dict.fromkeys(result.metrics["model"]) if m != "fitted"]]
    order = [m for m in METRIC_ORDER if m in wide.index]
    table = pd.DataFrame(
        {"metric": order, **{m: [_cell(wide.at[k, m]) for k in order] for m in models}}
    )
    summary = result.model.summary()
    effects = []
    for name in SEQUENTIAL_EFFECTS:
        entry = summary[name]
        if "unavailable" in entry:
            effects.append((name, "unavailable", "", entry["unavailable"]))
        elif entry.get("ci95") is None:
            effects.append((name, "not estimated", "", ""))
        else:
            low, high = entry["ci95"]
            effects.append(
                (
                    name,
                    f"{entry['log_odds']:+.4f}",
                    f"[{low:+.4f}, {high:+.4f}]",
                    f"odds x{math.exp(entry['log_odds']):.3f}",
                )
            )
    effects_table = pd.DataFrame(effects, columns=["effect", "log-odds", "95% CI", "note"])
    n_held = int(result.held.sum())
    lines = [
        f"# Fidelity of the fitted response model: {data.name}",
        "",
        f"Fitted on each user's earlier events ({summary['n_train_events']:,}), scored on "
        f"the last {holdout:.0%} of each user's events ({n_held:,}); "
        f"{summary['iterations']} L-BFGS iterations. Lower log-loss and RMSE are better, "
        "higher AUC is better.",
        "",
        md_table(table),
        "",
        "Sequential effects (log-odds of a higher rating or feedback class; "
        "cluster-robust 95% intervals):",
        "",
        md_table(effects_table),
    ]
    if result.effect_intervals:
        boot = pd.DataFrame(
            [
                {
                    "effect": e.name,
                    "estimate": f"{e.estimate:+.4f}",
                    "bias": f"{e.bias:+.4f}",
                    "corrected": f"{e.corrected:+.4f}",
                    "se": f"{e.se:.4f}",
                    "95% CI": f"[{e.ci_low:+.4f}, {e.ci_high:+.4f}]",
                }
                for e in result.effect_intervals
            ]
        )
        lines += [
            "",
            f"Parametric bootstrap of the effects ({result.effect_intervals[0].n_resamples} "
            "refits to outcomes drawn from the fitted model; bias-corrected normal interval, "
            "simulator.world.effect_bootstrap). The cluster-robust interval above conditions "
            "on the other estimates and is too narrow; this one is the one to report:",
            "",
            md_table(boot),
        ]
    if result.statistics is not None:
        stats = result.statistics.copy()
        for column in stats.columns[1:]:
            stats[column] = stats[column].map(lambda v: f"{v:.4g}")
        lines += [
            "",
            "Real against simulated logs (the same statistics on each; `fitted`: outcomes drawn "
            "from the model on the real item sequences, seed as the fit; `fitted world, "
            "simulated choices`: logs of the fitted world, whose users also choose the items):",
            "",
            md_table(stats),
        ]
    if result.skipped:
        lines += ["", "Not run: " + "; ".join(f"{k}: {v}" for k, v in result.skipped.items())]
    return "\n".join(lines) + "\n"


def plot_reliability(
    calibration: pd.DataFrame, path_stem: str | os.PathLike[str], title: str | None = None
) -> list[Path]:
    """One panel per class: mean predicted probability against the observed share per bin,
    one line per model, the diagonal for perfect calibration; PNG and PDF."""
    fig, axes = new_figure(4.0 * len(CLASSES), 3.8, ncols=len(CLASSES))
    for ax, klass in zip(axes, CLASSES, strict=True):
        rows = calibration[calibration["class"] == klass]
        ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1)
        for model, group in rows.groupby("model", sort=False):
            ax.plot(
                group["mean_predicted"],
                group["observed"],
                marker="o",
                markersize=3,
                label=model,
                color=_MODEL_COLORS.get(model),
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(klass)
        ax.set_xlabel("predicted probability")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("observed share")
    axes[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path_stem, dpi=DPI)
