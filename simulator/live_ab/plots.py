"""Figure of a simulated live A/B test (Wang et al. 2023, Fig. 2 style).

One panel per metric: the relative change of each arm against the baseline
per simulated day, in percent (``100 * relative_change`` of the ``daily``
table of :func:`simulator.live_ab.metrics.compare_arms`), with the 95 % CI as a
shaded band and a zero line (the baseline). A panel spans every estimate
and most CI ends (see :func:`_limits`); bands beyond it, infinite ends
included, are clipped to the panel. NaN values (a metric undefined that day,
e.g. churn on day 1) leave a gap.

Drawn on a bare :class:`~matplotlib.figure.Figure` with the Agg canvas, never
through ``pyplot`` (no global state, no GUI backend), and saved as
``<stem>.png`` (150 dpi) and ``<stem>.pdf``, each atomically.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from recommenders.atomic import save_figure
from simulator.live_ab.metrics import METRIC_NAMES

__all__ = ["plot_live_ab"]

DPI = 150
REQUIRED_COLUMNS = ("arm", "metric", "day", "relative_change", "ci_low", "ci_high")
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _limits(estimates: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> tuple[float, float]:
    """y-limits (percent) spanning 0, every estimate and every CI end but outliers.

    A day on which the baseline's mean is tiny can give a CI end of +10,000 %;
    spanning it would flatten every other day, so CI ends beyond Tukey's far-out
    fences (3 interquartile ranges outside the quartiles of all values) are
    left out, and their bands run off the panel.
    """
    values = np.concatenate([estimates, lows, highs])
    values = values[np.isfinite(values)]
    if not values.size:
        return -1.0, 1.0
    q1, q3 = np.quantile(values, [0.25, 0.75])
    fence = 3.0 * (q3 - q1)
    ends = values[(values >= q1 - fence) & (values <= q3 + fence)]
    finite_estimates = estimates[np.isfinite(estimates)]
    low = min(0.0, *ends, *finite_estimates)
    high = max(0.0, *ends, *finite_estimates)
    # All-zero panels (identical arms) still get a readable +-1 percentage point.
    pad = 0.1 * (high - low) if high > low else 1.0
    return low - pad, high + pad


def plot_live_ab(
    daily: pd.DataFrame,
    path_stem: str | os.PathLike[str],
    metrics: tuple[str, ...] | None = None,
    title: str | None = None,
    ncols: int = 3,
) -> list[Path]:
    """Relative change vs the baseline per day, one panel per metric, one line per arm.

    Args:
        daily: table with columns ``arm``, ``metric``, ``day``,
            ``relative_change``, ``ci_low``, ``ci_high`` (fractions).
        path_stem: output path without suffix; parents are created.
        metrics: panels to draw, in order (default: every metric present, in
            the order of :data:`simulator.live_ab.metrics.METRICS`).
        title: figure title.
        ncols: panels per row.

    Returns:
        ``[<stem>.png, <stem>.pdf]``.

    Raises:
        ValueError: a required column is missing, or no rows to draw.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in daily.columns]
    if missing:
        raise ValueError(f"daily table lacks column(s) {missing}")
    if daily.empty:
        raise ValueError("daily table has no rows to plot")
    present = set(daily["metric"])
    if metrics is None:
        metrics = tuple(m for m in METRIC_NAMES if m in present) + tuple(
            sorted(present - set(METRIC_NAMES))
        )
    arms = list(dict.fromkeys(daily["arm"]))
    days = sorted(daily["day"].unique())
    nrows = math.ceil(len(metrics) / ncols)
    fig = Figure(figsize=(3.6 * ncols, 2.8 * nrows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, metric in zip(axes, metrics, strict=False):
        rows = daily[daily["metric"] == metric]
        values = 100.0 * rows[["relative_change", "ci_low", "ci_high"]].to_numpy(np.float64)
        y_min, y_max = _limits(*values.T)
        for i, arm in enumerate(arms):
            sel = rows[rows["arm"] == arm].sort_values("day")
            if sel.empty:
                continue
            color = _COLORS[i % len(_COLORS)]
            day = sel["day"].to_numpy(np.float64)
            ax.plot(day, 100.0 * sel["relative_change"], marker="o", ms=3, color=color, label=arm)
            ax.fill_between(
                day,
                np.clip(100.0 * sel["ci_low"].to_numpy(np.float64), y_min, y_max),
                np.clip(100.0 * sel["ci_high"].to_numpy(np.float64), y_min, y_max),
                color=color,
                alpha=0.2,
                linewidth=0,
            )
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_ylim(y_min, y_max)
        ax.set_title(metric, fontsize=10)
        ax.set_xlim(days[0] - 0.5, days[-1] + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("day")
        ax.set_ylabel("change vs baseline (%)", fontsize=8)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(arms), 4), fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path_stem, dpi=DPI)
