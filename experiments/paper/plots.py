"""Fig. 3b over several world seeds, beside the paper's bars.

One panel per registered similarity kind (:data:`simulator.similarity.SIMILARITY_KINDS`, in
its order); per model a cluster of bars, one per world seed (and one for all seeds pooled),
each ``100 * relative_change`` with its 95 % CI as an error bar; the paper's Fig. 3b value,
where it has one, is a black diamond over the cluster. Drawn with the helpers of
:mod:`simulator.responsiveness.plots` (bare Agg figures, atomic PNG + PDF).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from recommenders.atomic import save_figure
from simulator import SIMILARITY_KINDS
from simulator.responsiveness.plots import (
    DPI,
    GROUP_COLORS,
    Y_LABEL,
    new_figure,
    percent_limits,
    wrap_label,
)

POOLED = "pooled"
_POOLED_COLOR = "#333333"


def plot_seed_bars(
    table: pd.DataFrame,
    path_stem: str | os.PathLike[str],
    paper: dict[tuple[str, str], float] | None = None,
    title: str | None = None,
) -> list[Path]:
    """Bars of relative change per (model, seed), one panel per kind.

    ``table`` has columns ``seed`` (an int, or :data:`POOLED`), ``model``,
    ``kind``, ``relative_change``, ``ci_low``, ``ci_high`` (fractions), one row
    per (seed, model, kind). ``paper`` maps (model, kind) to the paper's value
    (a fraction). Returns ``[<stem>.png, <stem>.pdf]``.
    """
    missing = {"seed", "model", "kind", "relative_change", "ci_low", "ci_high"} - set(table)
    if missing:
        raise ValueError(f"table lacks column(s) {sorted(missing)}")
    if table.duplicated(["seed", "model", "kind"]).any():
        raise ValueError("table has several rows for one (seed, model, kind)")
    paper = paper or {}
    models = list(dict.fromkeys(table["model"]))
    seeds = list(dict.fromkeys(table["seed"]))
    seeds = [s for s in seeds if s != POOLED] + ([POOLED] if POOLED in seeds else [])
    kinds = [k for k in SIMILARITY_KINDS if k in set(table["kind"])]
    values = 100 * table[["relative_change", "ci_low", "ci_high"]].to_numpy(np.float64).ravel()
    paper_values = [100 * v for (m, _), v in paper.items() if m in models]
    y_min, y_max = percent_limits(np.concatenate([values, np.asarray(paper_values, np.float64)]))
    width = 0.8 / len(seeds)
    fig, axes = new_figure(max(6.0, 1.2 + 1.1 * len(models) * len(kinds)), 4.6, ncols=len(kinds))
    for ax, kind in zip(axes, kinds, strict=True):
        rows = table[table["kind"] == kind].set_index(["model", "seed"])
        for m, model in enumerate(models):
            for s, seed in enumerate(seeds):
                if (model, seed) not in rows.index:
                    continue
                row = rows.loc[(model, seed)]
                x = m - 0.4 + width * (s + 0.5)
                value = 100 * float(row["relative_change"])
                low, high = 100 * float(row["ci_low"]), 100 * float(row["ci_high"])
                color = _POOLED_COLOR if seed == POOLED else GROUP_COLORS[s % 10]
                ax.bar(x, value, width=width * 0.92, color=color, alpha=0.85)
                err = [[max(value - max(low, y_min), 0.0)], [max(min(high, y_max) - value, 0.0)]]
                if np.isfinite(value) and np.isfinite(err).all():
                    ax.errorbar(x, value, yerr=err, color="black", linewidth=0.8, capsize=2)
            if (model, kind) in paper:
                ax.plot(m, 100 * paper[(model, kind)], marker="D", color="black", markersize=6)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(models)), [_tick_label(m) for m in models], fontsize=8)
        ax.set_title(kind)
        ax.set_ylim(y_min, y_max)
    axes[0].set_ylabel(Y_LABEL)
    handles = [
        Patch(color=_POOLED_COLOR if s == POOLED else GROUP_COLORS[i % 10], label=_seed_label(s))
        for i, s in enumerate(seeds)
    ]
    if paper:
        handles.append(
            Line2D([], [], linestyle="none", marker="D", color="black", label="paper (Fig. 3b)")
        )
    axes[-1].legend(handles=handles, fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path_stem, dpi=DPI)


def _tick_label(model: str) -> str:
    """Variant and arm names are long snake_case or kebab-case words: break after each
    '_' or '-' (and '/', ':')."""
    if len(model) <= 12:
        return model
    return wrap_label(model, 14).replace("_", "_\n").replace("-", "-\n")


def _seed_label(seed) -> str:
    return "all seeds pooled" if seed == POOLED else f"world seed {seed}"


def plot_sensitivity(
    table: pd.DataFrame, path_stem: str | os.PathLike[str], models: tuple[str, ...]
) -> list[Path]:
    """Relative change against each swept parameter's value, one panel per (kind, parameter).

    ``table`` is :func:`experiments.paper.sensitivity.run_sensitivity`'s: per row
    ``parameter``, ``value``, ``kind`` and, per model, ``MODEL``,
    ``MODEL_low``, ``MODEL_high`` (fractions). Points with their 95 % CI per
    model; a hollow marker where the ordering does not hold.
    """
    parameters = list(dict.fromkeys(table["parameter"]))
    kinds = [k for k in SIMILARITY_KINDS if k in set(table["kind"])]
    fig = new_figure(3.2 * len(parameters), 3.0 * len(kinds), ncols=len(parameters))[0]
    fig.clear()
    axes = fig.subplots(len(kinds), len(parameters), sharey=True, squeeze=False)
    cols = [c for m in models for c in (m, f"{m}_low", f"{m}_high")]
    y_min, y_max = percent_limits(100 * table[cols].to_numpy(np.float64).ravel())
    for r, kind in enumerate(kinds):
        for c, parameter in enumerate(parameters):
            ax = axes[r][c]
            rows = table[(table["kind"] == kind) & (table["parameter"] == parameter)]
            rows = rows.sort_values("value")
            x = rows["value"].to_numpy(np.float64)
            for m, model in enumerate(models):
                y = 100 * rows[model].to_numpy(np.float64)
                err = np.abs(
                    100 * rows[[f"{model}_low", f"{model}_high"]].to_numpy(np.float64).T - y
                )
                color = GROUP_COLORS[m % 10]
                ax.errorbar(x, y, yerr=err, color=color, marker="o", capsize=2, label=model)
                broken = ~rows["ordering_holds"].to_numpy(bool)
                ax.scatter(
                    x[broken], y[broken], s=140, facecolors="white", edgecolors=color, zorder=5
                )
            ax.axhline(0.0, color="black", linewidth=0.8)
            ax.set_ylim(y_min, y_max)
            ax.set_xlabel(parameter)
            if c == 0:
                ax.set_ylabel(f"{kind}: change (%)")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle("dislike responsiveness at k+1; open circles: the ordering does not hold there")
    return save_figure(fig, path_stem, dpi=DPI)
