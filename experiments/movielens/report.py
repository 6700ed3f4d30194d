"""The MovieLens-1M section of the results report, from folders written by experiments/ml1m.py.

The first folder is the main run: its benchmark table beside the published
numbers, the feedback-aware models against their blind twin (paired bootstrap
over users), learning curves, and the real-history responsiveness. Further
folders (other training seeds) add one row per model to a seed table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from experiments import published
from experiments.paper.tables import copy_figures, figure_lines, pct
from simulator.records import md_table

GSASREC_TOLERANCE = 0.01
"""Within 0.01 NDCG@10 of the published gSASRec anchor, or the gap explained."""

FIGURES = {
    "ml1m_curves": "learning_curves.png",
    "ml1m_paired": "paired.png",
    "ml1m_responsiveness": "responsiveness/responsiveness.png",
}


def _num(value: float, digits: int = 4) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}f}")
    )


def _estimates(table: pd.DataFrame, column: str, fmt) -> list[str]:
    """``"value [low, high]"`` per row, from ``column``, ``ci_low`` and ``ci_high``."""
    return [
        f"{fmt(v)} [{fmt(lo)}, {fmt(hi)}]"
        for v, lo, hi in zip(table[column], table["ci_low"], table["ci_high"], strict=True)
    ]


def benchmark_view(table: pd.DataFrame) -> pd.DataFrame:
    """benchmark.csv as a report table."""
    return pd.DataFrame(
        {
            "model": table["model"],
            "R@10": table["recall10"].map(_num),
            "NDCG@10": table["ndcg10"].map(_num),
            "R@1": table["recall1"].map(_num),
            "published R@10 / NDCG@10": [
                "" if math.isnan(r) else f"{r:.3f} / {n:.3f}"
                for r, n in zip(table["published_recall10"], table["published_ndcg10"], strict=True)
            ],
            "val NDCG@10": table["val_ndcg10"].map(_num),
            "disliked target in top 10": table["disliked_in_top10"].map(_num),
            "disliked-director share": table["disliked_director_share"].map(_num),
            "kept / run epochs": [
                f"{b} / {e}" for b, e in zip(table["best_epoch"], table["epochs"], strict=True)
            ],
            "wall s": table["wall_seconds"].map("{:.0f}".format),
            "train seq/s": table["sequences_per_second"].map("{:,.0f}".format),
            "trained on": table["device_name"],
        }
    )


def paired_report_view(table: pd.DataFrame) -> pd.DataFrame:
    """paired.csv as a report table: one row per (model, metric, users)."""
    return pd.DataFrame(
        {
            "model": table["model"],
            "metric": table["metric"],
            "users": table["users"] + " (" + table["n"].astype(str) + ")",
            "blind twin": table["twin_value"].map(_num),
            "model value": table["model_value"].map(_num),
            "difference [95% CI]": _estimates(table, "difference", "{:+.4f}".format),
            "beyond noise": table["beyond_noise"].map({True: "yes", False: "no"}),
        }
    )


def responsiveness_view(table: pd.DataFrame) -> pd.DataFrame:
    """responsiveness.csv (real histories) as a report table."""
    return pd.DataFrame(
        {
            "model": table["model"].str.replace(r"checkpoint:\S*/", "", regex=True),
            "kind": table["kind"],
            "rating 5 branch": table["mean_a"].map(_num),
            "rating 1 branch": table["mean_b"].map(_num),
            "change [95% CI]": _estimates(table, "relative_change", pct),
            "users": table["n"],
        }
    )


def gsasrec_verdict(table: pd.DataFrame) -> str:
    """Whether gSASRec's NDCG@10 is within :data:`GSASREC_TOLERANCE` of the anchor."""
    rows = table[table["model"] == "gsasrec"]
    if rows.empty:
        return "gSASRec was not in this run."
    ndcg = float(rows["ndcg10"].iloc[0])
    gap = ndcg - published.GSASREC_NDCG10
    within = abs(gap) <= GSASREC_TOLERANCE
    return (
        f"gSASRec NDCG@10 {ndcg:.4f} vs published {published.GSASREC_NDCG10:.3f}: gap {gap:+.4f}, "
        f"{'within' if within else 'outside'} the {GSASREC_TOLERANCE} tolerance."
    )


def seeds_view(folders: list[Path]) -> pd.DataFrame:
    """One row per (folder, model): training seed, test metrics and disliked-in-top-10."""
    rows = []
    for folder in folders:
        record = json.loads((folder / "run.json").read_text())
        table = pd.read_csv(folder / "benchmark.csv")
        for _, row in table.iterrows():
            rows.append(
                {
                    "folder": folder.name,
                    "seed": record["config"]["seed"],
                    "model": row["model"],
                    "R@10": _num(row["recall10"]),
                    "NDCG@10": _num(row["ndcg10"]),
                    "disliked target in top 10": _num(row["disliked_in_top10"]),
                    "kept / run epochs": f"{row['best_epoch']} / {row['epochs']}",
                    "wall s": f"{row['wall_seconds']:.0f}",
                }
            )
    frame = pd.DataFrame(rows)
    # Only models trained in more than one folder say anything about seeds.
    repeated = frame["model"].map(frame["model"].value_counts()) > 1
    return frame[repeated].sort_values(["model", "seed"], kind="stable")


def ml1m_section(folders: list[Path], figures_dir: Path, number: int) -> list[str]:
    """Markdown lines of the section; figures are copied into ``figures_dir``."""
    title = f"## {number}. MovieLens-1M: the benchmark and real-history responsiveness"
    if not folders or not (folders[0] / "benchmark.csv").is_file():
        return [title, "", "_Not run: `experiments/ml1m.py` (pass its folder with --ml1m)._", ""]
    main = folders[0]
    record = json.loads((main / "run.json").read_text())
    table = pd.read_csv(main / "benchmark.csv")
    figures = copy_figures(figures_dir, {k: main / v for k, v in FIGURES.items()})
    command = " ".join(record.get("command", ["python3", "experiments/ml1m.py", "..."]))
    parts = [
        title,
        "",
        f"Data: {record['data']['name']} ({record['data']['fingerprint']}), "
        f"{record['users']:,} users, leave-one-out by position, full ranking over all items "
        "except the user's inputs; the epoch with the best validation NDCG@10 "
        "(second-to-last events) is kept and tested once on the last events. "
        "Tabulated, compared and measured on "
        f"{record['device_name']} ({record['threads']} threads) by",
        "",
        f"```bash\n{command}\n```",
        "",
        "which reuses checkpoints trained before (`trained on` column). Each row's wall time "
        "and training speed are its training run's; on a GPU several models may have shared "
        "the device, so speed is a share of it (isolated throughput: `experiments/bench.py "
        "--ml1m`). Architecture: "
        f"{_architecture(record['config'])}.",
        "",
        md_table(benchmark_view(table)),
        "",
        f"* {gsasrec_verdict(table)}",
        "",
        *figure_lines(figures, "ml1m_curves", "ML-1M learning curves"),
    ]
    if (main / "paired.csv").is_file():
        parts += [
            "### Feedback-aware models against their feedback-blind twin",
            "",
            "Per-user differences on the same test events, paired BCa bootstrap over "
            "users (`paired.csv`, `experiments.movielens.paired`). `not_disliked`: users "
            "whose test movie was rated 3-5; `disliked`: rated 1-2, where the row is the "
            "disliked-in-top-10 rate (lower is better). The interval is test-set noise only; "
            "see the seed table below for training noise.",
            "",
            md_table(paired_report_view(pd.read_csv(main / "paired.csv"))),
            "",
            *figure_lines(figures, "ml1m_paired", "The cost of listening"),
        ]
    real = main / "responsiveness" / "responsiveness.csv"
    if real.is_file():
        meta = json.loads((main / "responsiveness" / "run.json").read_text())
        parts += [
            "### Counterfactual responsiveness on real histories",
            "",
            f"Each eligible user's real first k-1 = {meta['config']['k'] - 1} events, then "
            "their real k-th movie rated 5 (reference) or 1 (treatment); share of the next "
            "top-10 that shares a genre with that movie (content) or has its director "
            "(creator), paired bootstrap CIs (`responsiveness/`, "
            "`simulator.responsiveness.real_histories`). "
            "`filter:` is `FeedbackFilter` (drop the disliked director) around the blind twin.",
            "",
            md_table(responsiveness_view(pd.read_csv(real))),
            "",
            *figure_lines(figures, "ml1m_responsiveness", "Real-history responsiveness"),
        ]
    if len(folders) > 1:
        parts += [
            "### Training seeds",
            "",
            "The same models trained again with another seed (folders after the first "
            "`--ml1m`); differences between seeds are the training noise that the paired "
            "intervals above do not include.",
            "",
            md_table(seeds_view(folders)),
            "",
        ]
        for folder in folders[1:]:
            if (folder / "paired.csv").is_file():
                paired = paired_report_view(pd.read_csv(folder / "paired.csv"))
                parts += [f"Against the blind twin in `{folder.name}`:", "", md_table(paired), ""]
    return parts


def _architecture(config: dict) -> str:
    return (
        f"dim {config['dim']}, input length {config['max_len']}, {config['sasrec_blocks']} "
        f"SASRec blocks / {config['gru_layers']} GRU layer, dropout {config['dropout']}, "
        f"batch {config['batch_size']}, Adam lr {config['lr']}, patience {config['patience']} "
        "epochs"
    )
