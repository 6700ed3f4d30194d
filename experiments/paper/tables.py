"""docs/results.md from the files ``experiments/results.py`` writes; nothing is typed by hand.

Every table is read from a CSV of the run folder and every figure is copied
from it, so the report and the numbers cannot drift apart. The prose that
explains the numbers lives in ``docs/results_discussion.md`` and is appended
verbatim; the verdict lines beside the paper's numbers (sign, size, ordering)
are computed here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from experiments import published
from experiments.paper.plots import POOLED
from simulator import SIMILARITY_KINDS
from simulator.records import md_table

VARIANT_ORDER = (
    "baseline",
    "dislike_feature",
    "dislike_feature_label",
    "exclude_disliked",
    "skip_label",
    "filter:baseline",
)


def pct(value: float, digits: int = 1) -> str:
    """A fraction as a signed percentage; n/a for NaN."""
    if value is None or not np.isfinite(value):
        return "n/a" if value is None or np.isnan(value) else ("+inf" if value > 0 else "-inf")
    return f"{100 * value:+.{digits}f}%"


def ci(low: float, high: float, digits: int = 1) -> str:
    return f"[{pct(low, digits)}, {pct(high, digits)}]"


def _order(models) -> list[str]:
    known = [m for m in VARIANT_ORDER if m in set(models)]
    return known + sorted(set(models) - set(known))


def fig3b_table(table: pd.DataFrame, branch: str = "long_dwell+dislike") -> pd.DataFrame:
    """Per (model, registered kind): change [CI] per seed and pooled at k+1, and the paper's value.

    Kinds in the order of :data:`simulator.similarity.SIMILARITY_KINDS`; a kind the
    table lacks gives a row of empty cells.
    """
    rows = table[(table["branch"] == branch) & (table["step"] == table["step"].min())]
    seeds = [s for s in dict.fromkeys(rows["seed"].astype(str)) if s != POOLED] + [POOLED]
    out = []
    for model in _order(rows["model"]):
        for kind in SIMILARITY_KINDS:
            sel = rows[(rows["model"] == model) & (rows["kind"] == kind)]
            record = {"model": model, "kind": kind}
            for seed in seeds:
                r = sel[sel["seed"].astype(str) == seed]
                label = "all seeds pooled" if seed == POOLED else f"world seed {seed}"
                record[label] = (
                    f"{pct(r['relative_change'].iloc[0])} "
                    f"{ci(r['ci_low'].iloc[0], r['ci_high'].iloc[0])}"
                    if len(r)
                    else ""
                )
            paper = published.FIG3B.get((model, kind))
            record["paper (Fig. 3b)"] = pct(paper) if paper is not None else ""
            out.append(record)
    return pd.DataFrame(out)


def horizon_table(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Pooled dislike responsiveness of each model at every step after the fork."""
    rows = table[
        (table["seed"].astype(str) == POOLED)
        & (table["branch"] == "long_dwell+dislike")
        & (table["kind"] == kind)
    ]
    first = rows["step"].min()
    wide = rows.pivot(index="model", columns="step", values="relative_change")
    wide = wide.loc[_order(wide.index)]
    wide.columns = [f"k+{int(s - first) + 1}" for s in wide.columns]
    wide = wide.map(pct)
    return wide.reset_index()


def horizon_sections(table: pd.DataFrame) -> list[str]:
    """Markdown lines: per registered kind, a heading (``Content:``) and its horizon table."""
    lines = []
    for kind in SIMILARITY_KINDS:
        heading = kind.replace("_", " ").capitalize()
        lines += [f"{heading}:", "", md_table(horizon_table(table, kind)), ""]
    return lines


def checks_table(checks: pd.DataFrame) -> pd.DataFrame:
    yes = {True: "yes", False: "**no**"}
    shown = checks.copy()
    for column in ("baseline_contains_0", "feature_negative", "label_below_feature", "holds"):
        shown[column] = shown[column].map(lambda v: yes[bool(v)])
    return shown.rename(
        columns={
            "baseline_contains_0": "baseline CI contains 0",
            "feature_negative": "feature-only CI < 0",
            "label_below_feature": "feature+label CI below feature-only CI",
            "holds": "ordering holds",
        }
    )


def models_table(models: pd.DataFrame) -> pd.DataFrame:
    shown = models[["seed", "variant", "best_epoch", "val_ndcg10", "val_recall10"]].copy()
    shown["disliked in top 10"] = models["val_disliked_in_top10"].map("{:.3f}".format)
    shown["val_ndcg10"] = shown["val_ndcg10"].map("{:.4f}".format)
    shown["val_recall10"] = shown["val_recall10"].map("{:.4f}".format)
    return shown.rename(columns={"val_ndcg10": "NDCG@10", "val_recall10": "Recall@10"})


def live_table(summary: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame(
        {
            "arm": summary["arm"],
            "metric": summary["metric"],
            "baseline": summary["mean_baseline"].map("{:.4g}".format),
            "arm value": summary["mean_arm"].map("{:.4g}".format),
            "change [95% CI]": [
                f"{pct(v, 2)} {ci(lo, hi, 2)}"
                for v, lo, hi in zip(
                    summary["relative_change"], summary["ci_low"], summary["ci_high"], strict=True
                )
            ],
            "paper": summary["paper"].map(lambda v: "" if pd.isna(v) else pct(v, 2)),
        }
    )
    return shown


def sensitivity_table(table: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame(
        {
            "parameter": table["parameter"],
            "value": table["value"].map("{:g}".format),
            "kind": table["kind"],
            "dislike rate": table["dislike_rate"].map("{:.3f}".format),
            "dislikes on an aversion": table["dislikes_on_aversion"].map("{:.2f}".format),
            "P(dislike after a dislike of the creator)": table[
                "p_dislike_after_creator_dislike"
            ].map("{:.3f}".format),
            "creator's main-cluster share": table["creator_main_cluster_share"].map(
                "{:.2f}".format
            ),
        }
    )
    for model in ("baseline", "dislike_feature", "dislike_feature_label"):
        shown[model] = [
            f"{pct(v)} {ci(lo, hi)}"
            for v, lo, hi in zip(
                table[model], table[f"{model}_low"], table[f"{model}_high"], strict=True
            )
        ]
    shown["ordering holds"] = table["ordering_holds"].map({True: "yes", False: "**no**"})
    return shown


def gradient_table(gradients: pd.DataFrame) -> pd.DataFrame:
    """Loss, dL/dp and dL/dz of each loss at a few p (from gradients.csv)."""
    picks = []
    for p in (1e-1, 1e-3, 1e-6, 1e-9):
        index = (gradients["p"] - p).abs().groupby(gradients["loss"]).idxmin()
        picks.append(gradients.loc[index.to_numpy()])
    rows = pd.concat(picks).sort_values(["loss", "p"], ascending=[True, False])
    return pd.DataFrame(
        {
            "loss": rows["loss"],
            "p": rows["p"].map("{:.0e}".format),
            "L": rows["loss_value"].map("{:.4g}".format),
            "dL/dp": rows["dL_dp"].map("{:.4g}".format),
            "dL/dz": rows["dL_dz"].map("{:.4g}".format),
        }
    )


def fig3b_verdicts(table: pd.DataFrame) -> list[str]:
    """One line per (variant, kind) the paper reports: ours (pooled) against the paper's."""
    rows = table[
        (table["seed"].astype(str) == POOLED)
        & (table["branch"] == "long_dwell+dislike")
        & (table["step"] == table["step"].min())
    ].set_index(["model", "kind"])
    lines = []
    for (model, kind), paper in published.FIG3B.items():
        if (model, kind) not in rows.index:
            continue
        row = rows.loc[(model, kind)]
        ours, low, high = row["relative_change"], row["ci_low"], row["ci_high"]
        if paper == 0:
            verdict = "matches (CI contains 0)" if low <= 0 <= high else "does not match"
        elif low <= paper <= high:
            verdict = "matches (the paper's value is inside our CI)"
        elif np.sign(ours) == np.sign(paper):
            verdict = f"same sign, {'larger' if abs(ours) > abs(paper) else 'smaller'} in size"
        else:
            verdict = "opposite sign"
        lines.append(
            f"* {model}, {kind}: ours {pct(ours)} {ci(low, high)}, paper {pct(paper)}: {verdict}."
        )
    return lines


def figure_lines(figures: dict[str, str], name: str, caption: str) -> list[str]:
    """A markdown image and a blank line, if ``name`` was copied by :func:`copy_figures`."""
    return [f"![{caption}]({figures[name]})", ""] if name in figures else []


def copy_figures(figures: Path, names: dict[str, Path]) -> dict[str, str]:
    """Copy each existing figure into ``figures``; returns name -> path relative to the report."""
    figures.mkdir(parents=True, exist_ok=True)
    copied = {}
    for name, source in names.items():
        if source.is_file():
            target = figures / f"{name}.png"
            shutil.copyfile(source, target)
            copied[name] = f"{figures.name}/{target.name}"
    return copied
