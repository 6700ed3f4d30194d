"""Figures of responsiveness tables (Wang et al. 2023, Fig. 3b style).

Input is a responsiveness table such as :func:`simulator.responsiveness.simulated.summarize`
returns: one row per (model[, branch][, step], kind) with columns ``model``,
``kind``, ``relative_change``, ``ci_low``, ``ci_high`` (fractions, as from
:func:`simulator.bootstrap.relative_change_ci`) and optionally ``step``,
``branch``, ``reference``, ``mean_a``, ``mean_b``, ``n``. Figures show them in
percent (x100).

Figures are drawn on a bare :class:`~matplotlib.figure.Figure` with the Agg
canvas, never through ``pyplot``: no global state, no GUI backend, safe in
worker threads. Each figure is saved as ``<stem>.png`` (150 dpi) and
``<stem>.pdf``, each written atomically (:mod:`recommenders.atomic`).

Undefined values (NaN relative change) are drawn, never dropped: a hatched,
unfilled bar labelled ``n/a`` in bar charts and an ``x`` on the zero line in
horizon plots.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from recommenders.atomic import save_figure
from simulator.similarity import SIMILARITY_KINDS

__all__ = ["plot_horizon", "plot_responsiveness"]

REQUIRED_COLUMNS = ("model", "kind", "relative_change", "ci_low", "ci_high")
Y_LABEL = "change in similar recommendations (%)"
DPI = 150

# Kinds not in the registry (a table from elsewhere) still get distinct colours.
_OTHER_COLORS = ("#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")
GROUP_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_NA_LABEL = "n/a (undefined)"


@dataclass(frozen=True)
class _Prepared:
    """Rows in percent with a group index, plus group labels and kind order."""

    rows: pd.DataFrame  # columns: group, kind, value, low, high[, step]
    groups: list[str]  # bar-chart tick labels ("model" or "model\nbranch")
    legend_groups: list[str]  # one-line variants for legends
    kinds: list[str]


def _prepare(table: pd.DataFrame, need_step: bool = False) -> _Prepared:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    required = (*REQUIRED_COLUMNS, "step") if need_step else REQUIRED_COLUMNS
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}; has {list(table.columns)}")
    df = table.reset_index(drop=True)
    if "branch" in df.columns and "reference" in df.columns:
        # A reference row compares A with itself (always 0): not a result.
        df = df[df["branch"] != df["reference"]]
    if df.empty:
        raise ValueError("table has no rows to plot")

    out = pd.DataFrame({"model": df["model"].astype(str), "kind": df["kind"].astype(str)})
    for src, dst in (("relative_change", "value"), ("ci_low", "low"), ("ci_high", "high")):
        try:
            out[dst] = 100.0 * pd.to_numeric(df[src], errors="raise").astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {src!r} must be numeric: {exc}") from None
    if "step" in df.columns:
        out["step"] = df["step"]
        if out["step"].isna().any():
            raise ValueError("column 'step' has missing values")

    # Groups: models in order of first appearance, then branches in order of
    # first appearance, whatever order the rows come in.
    models = list(dict.fromkeys(out["model"]))
    several_branches = "branch" in df.columns and df["branch"].nunique(dropna=False) > 1
    if several_branches:
        out["branch"] = df["branch"].astype(str)
        branches = list(dict.fromkeys(out["branch"]))
        keys = [(m, b) for m in models for b in branches]
        present = set(zip(out["model"], out["branch"], strict=True))
        keys = [k for k in keys if k in present]
        index = {k: i for i, k in enumerate(keys)}
        out["group"] = [index[k] for k in zip(out["model"], out["branch"], strict=True)]
        groups = [f"{m}\n{b}" for m, b in keys]
        legend_groups = [f"{m} ({b})" for m, b in keys]
    else:
        index = {m: i for i, m in enumerate(models)}
        out["group"] = out["model"].map(index)
        groups = legend_groups = models

    seen = list(dict.fromkeys(out["kind"]))
    registered = [k for k in SIMILARITY_KINDS if k in seen]
    kinds = registered + [k for k in seen if k not in SIMILARITY_KINDS]
    return _Prepared(out, groups, legend_groups, kinds)


def _key_columns(rows: pd.DataFrame) -> list[str]:
    return ["group", "kind", *(["step"] if "step" in rows.columns else [])]


def _check_unique(prep: _Prepared, keys: list[str]) -> None:
    dup = prep.rows.duplicated(subset=keys, keep=False)
    if dup.any():
        first = prep.rows[dup].iloc[0]
        where = ", ".join(
            f"{k}={prep.legend_groups[first[k]] if k == 'group' else first[k]!r}" for k in keys
        )
        raise ValueError(f"table has {int(dup.sum())} rows that share one key ({where})")


def _kind_colors(kinds: list[str]) -> dict[str, str]:
    others = iter(_OTHER_COLORS * (1 + len(kinds) // len(_OTHER_COLORS)))
    return {k: SIMILARITY_KINDS[k].color if k in SIMILARITY_KINDS else next(others) for k in kinds}


def wrap_label(label: str, width: int = 28) -> str:
    """Break a long label (e.g. a checkpoint path) after '/' or ':' into lines of ~width."""
    lines, current = [], ""
    for part in re.split(r"(?<=[/:])", label):
        if current and len(current) + len(part) > width:
            lines.append(current)
            current = ""
        current += part
    lines.append(current)
    return "\n".join(lines)


def percent_limits(values: np.ndarray) -> tuple[float, float]:
    """y-limits (percent) spanning 0 and every finite value, with room for labels."""
    finite = values[np.isfinite(values)]
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = max(0.0, float(finite.max())) if finite.size else 0.0
    pad = 0.15 * max(high - low, 1.0)
    return low - pad, high + pad


def _format_percent(value: float) -> str:
    if value == 0.0:
        return "0.0%"
    return f"{value:+.1f}%"


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, sharey=True, squeeze=False)[0]
    return fig, list(axes)


def plot_responsiveness(
    table: pd.DataFrame, path_stem: str | os.PathLike[str], title: str | None = None
) -> list[Path]:
    """Grouped bar chart of relative change per model and similarity kind (Fig. 3b).

    One group of bars per model (order of first appearance in ``table``), one
    bar per ``kind`` (the registered kinds of :data:`simulator.similarity.SIMILARITY_KINDS`
    in its order and colours, then any others). Bar height is
    ``100 * relative_change`` (percent change of mean similarity from reference
    branch A to branch B); error bars span ``100 * [ci_low, ci_high]``; each bar
    is labelled like ``-22.7%`` beyond its error bar. An infinite CI end (see
    :func:`simulator.bootstrap.relative_change_ci`) is drawn as an arrow to the
    axis edge. A NaN ``relative_change`` gives a hatched unfilled bar labelled
    ``n/a``; a NaN CI end gives no error bar on that side. A (model, kind) pair
    absent from the table leaves an empty slot.

    If ``table`` has a ``step`` column with several values, only the smallest
    step (the first slate after the fork, k+1) is drawn; see
    :func:`plot_horizon` for all steps. If it has a ``branch`` column with
    several values (after dropping rows whose ``branch`` equals ``reference``,
    when that column exists), groups are (model, branch) pairs labelled
    ``"model\\nbranch"``.

    Args:
        table: responsiveness table (see module docstring).
        path_stem: output path without suffix; a ``.png``/``.pdf`` suffix is
            stripped. Missing parent directories are created.
        title: figure title; by default none, or a note on the step shown when
            ``table`` has several steps.

    Returns:
        ``[<stem>.png, <stem>.pdf]``.

    Raises:
        ValueError: a required column is missing or non-numeric, the table is
            empty, or two rows share (model[, branch], kind[, step]).
    """
    prep = _prepare(table)
    rows = prep.rows
    several_steps = "step" in rows.columns and rows["step"].nunique() > 1
    if several_steps:
        rows = rows[rows["step"] == rows["step"].min()]
    prep = _Prepared(
        rows.drop(columns="step", errors="ignore"), prep.groups, prep.legend_groups, prep.kinds
    )
    _check_unique(prep, ["group", "kind"])
    if title is None and several_steps:
        title = "first slate after the fork (k+1)"

    n_groups, n_kinds = len(prep.groups), len(prep.kinds)
    colors = _kind_colors(prep.kinds)
    fig, (ax,) = new_figure(max(4.5, 1.5 + 1.2 * n_groups * max(1, n_kinds) / 2), 4.0)
    y_min, y_max = percent_limits(prep.rows[["value", "low", "high"]].to_numpy().ravel())
    # An undefined value is drawn as a bar a quarter of the way to the axis
    # edge on the side the data lie: visible, and clearly not a measurement.
    na_height = 0.25 * (y_min if abs(y_min) > abs(y_max) else y_max)
    width = 0.8 / max(1, n_kinds)
    any_na = False
    label_box = {"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8}

    for j, kind in enumerate(prep.kinds):
        offset = (j - (n_kinds - 1) / 2) * width
        for row in prep.rows[prep.rows["kind"] == kind].itertuples(index=False):
            x = row.group + offset
            color = colors[kind]
            if math.isnan(row.value):
                any_na = True
                ax.bar(
                    x,
                    na_height,
                    width,
                    fill=False,
                    hatch="///",
                    edgecolor=color,
                    linestyle="--",
                    linewidth=1.0,
                )
                ax.annotate(
                    "n/a",
                    (x, na_height),
                    xytext=(0, 3 if na_height >= 0 else -3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if na_height >= 0 else "top",
                    fontsize=8,
                )
                continue
            ax.bar(x, row.value, width, color=color)
            lower = row.value - row.low if math.isfinite(row.low) else 0.0
            upper = row.high - row.value if math.isfinite(row.high) else 0.0
            if (math.isfinite(row.low) or math.isfinite(row.high)) and (lower or upper):
                # A BCa interval need not contain the estimate; matplotlib
                # rejects negative error lengths, so such a side is drawn flat.
                ax.errorbar(
                    x,
                    row.value,
                    yerr=[[max(lower, 0.0)], [max(upper, 0.0)]],
                    fmt="none",
                    ecolor="black",
                    elinewidth=1.0,
                    capsize=3,
                )
            for end, edge in ((row.low, y_min), (row.high, y_max)):
                if math.isinf(end):
                    ax.annotate(
                        "",
                        xy=(x, edge),
                        xytext=(x, row.value),
                        arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.0},
                    )
            # The label sits beyond the error bar so neither hides the other; an
            # unbounded or missing end puts it at the bar end instead.
            up = row.value >= 0
            outer = row.high if up else row.low
            anchor = outer if math.isfinite(outer) else row.value
            ax.annotate(
                _format_percent(row.value),
                (x, anchor),
                xytext=(0, 3 if up else -3),
                textcoords="offset points",
                ha="center",
                va="bottom" if up else "top",
                fontsize=8,
                bbox=label_box,
            )

    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_ylim(y_min, y_max)
    labels = [wrap_label(str(g)) for g in prep.groups]
    longest = max((len(line) for g in labels for line in g.split("\n")), default=0)
    if n_groups * longest > 60:
        # Many or long model names would overlap: slant them.
        ax.set_xticks(range(n_groups), labels, rotation=30, ha="right")
    else:
        ax.set_xticks(range(n_groups), labels)
    ax.set_xlim(-0.6, n_groups - 0.4)
    ax.set_ylabel(Y_LABEL)
    handles = [Patch(facecolor=colors[k], label=k) for k in prep.kinds]
    if any_na:
        handles.append(Patch(fill=False, hatch="///", edgecolor="black", label=_NA_LABEL))
    ax.legend(handles=handles, title="similarity", fontsize=8, title_fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path_stem, dpi=DPI)


def plot_horizon(
    table: pd.DataFrame, path_stem: str | os.PathLike[str], title: str | None = None
) -> list[Path]:
    """Relative change vs step after the fork, one panel per similarity kind.

    Each model (or (model, branch) pair when ``branch`` has several values) is
    one line of ``100 * relative_change`` (percent) against ``step`` with a
    shaded ``100 * [ci_low, ci_high]`` band. Steps are read as consecutive
    slates after the fork: the smallest ``step`` in the table is labelled
    ``k+1``, the next ``k+2``, and so on. Infinite CI ends are clipped to the
    axis edge (the band runs off the plot); NaN values break the line and are
    marked with an ``x`` on the zero line.

    Args:
        table: responsiveness table with a ``step`` column.
        path_stem: output path without suffix (see :func:`plot_responsiveness`).
        title: optional figure title.

    Returns:
        ``[<stem>.png, <stem>.pdf]``.

    Raises:
        ValueError: as :func:`plot_responsiveness`, or no ``step`` column.
    """
    prep = _prepare(table, need_step=True)
    _check_unique(prep, _key_columns(prep.rows))
    rows = prep.rows
    steps = sorted(rows["step"].unique())
    first = steps[0]
    y_min, y_max = percent_limits(rows[["value", "low", "high"]].to_numpy().ravel())

    n_kinds = len(prep.kinds)
    fig, axes = new_figure(max(4.5, 1.0 + 3.5 * n_kinds), 4.0, ncols=n_kinds)
    any_na = False
    handles: dict[str, Line2D] = {}
    for ax, kind in zip(axes, prep.kinds, strict=True):
        for g, label in enumerate(prep.legend_groups):
            sel = rows[(rows["kind"] == kind) & (rows["group"] == g)].sort_values("step")
            if sel.empty:
                continue
            color = GROUP_COLORS[g % len(GROUP_COLORS)]
            x = sel["step"].to_numpy(dtype=np.float64)
            value = sel["value"].to_numpy()
            (line,) = ax.plot(x, value, marker="o", markersize=4, color=color, label=label)
            handles.setdefault(label, line)
            ax.fill_between(
                x,
                np.clip(sel["low"].to_numpy(), y_min, y_max),
                np.clip(sel["high"].to_numpy(), y_min, y_max),
                color=color,
                alpha=0.2,
                linewidth=0,
            )
            na = np.isnan(value)
            if na.any():
                any_na = True
                ax.plot(
                    x[na],
                    np.zeros(int(na.sum())),
                    linestyle="none",
                    marker="x",
                    markersize=7,
                    color=color,
                )
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_title(kind)
        ax.set_xticks(
            [float(s) for s in steps], [f"k+{round(float(s) - float(first)) + 1}" for s in steps]
        )
        ax.set_xlabel("slate after the fork")
        ax.set_ylim(y_min, y_max)
    axes[0].set_ylabel(Y_LABEL)
    legend = list(handles.values())
    if any_na:
        legend.append(Line2D([], [], linestyle="none", marker="x", color="black", label=_NA_LABEL))
    axes[-1].legend(handles=legend, fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path_stem, dpi=DPI)
