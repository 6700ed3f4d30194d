"""The benchmark table: one row per model, test metrics beside the published anchors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommenders.atomic import atomic_write_csv
from simulator.records import md_table

COLUMNS = (
    "model",
    "kind",
    "loss",
    "variant",
    "recall10",
    "ndcg10",
    "recall1",
    "published_recall10",
    "published_ndcg10",
    "val_ndcg10",
    "disliked_in_top10",
    "recall10_not_disliked",
    "disliked_director_share",
    "best_epoch",
    "epochs",
    "wall_seconds",
    "sequences_per_second",
    "events_per_second",
    "device_name",
    "n_users",
    "n_disliked",
    "n_director_users",
    "checkpoint",
)
"""Column order of ``benchmark.csv``. Metrics are on the test events (each user's last)
unless prefixed ``val_``; ``disliked_in_top10`` and ``disliked_director_share`` are the
negative-target metrics of :mod:`recommenders.evaluation.metrics` (lower is better)."""


def benchmark_table(rows: list[dict]) -> pd.DataFrame:
    """Rows of :func:`~experiments.movielens.runner.run_model`, in :data:`COLUMNS` order."""
    frame = pd.DataFrame(rows)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"benchmark rows lack columns {missing}")
    return frame[list(COLUMNS)]


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """``table`` as CSV, atomically."""
    atomic_write_csv(path, table)
    return Path(path)


def markdown(table: pd.DataFrame) -> str:
    """The headline columns as a Markdown table (test metrics, anchors, negative targets)."""
    columns = {
        "model": "model",
        "recall10": "R@10",
        "ndcg10": "NDCG@10",
        "recall1": "R@1",
        "published_recall10": "pub. R@10",
        "published_ndcg10": "pub. NDCG@10",
        "val_ndcg10": "val NDCG@10",
        "disliked_in_top10": "disliked target in top 10",
        "disliked_director_share": "disliked-director share",
        "best_epoch": "best epoch",
        "epochs": "epochs",
        "wall_seconds": "wall s",
        "sequences_per_second": "seq/s",
    }
    cells = pd.DataFrame(
        {
            label: [_cell(column, value) for value in table[column]]
            for column, label in columns.items()
        }
    )
    return md_table(cells)


def _cell(column: str, value) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if column in ("epochs", "best_epoch"):
        return f"{int(value)}"
    if column in ("wall_seconds",):
        return f"{value:.0f}"
    if column == "sequences_per_second":
        return f"{value:,.0f}"
    return f"{value:.4f}"
