#!/usr/bin/env python3
"""A model of another library, end to end: implicit's ALS on MovieLens, measured like ours.

Trains recommenders.adapters.implicit_als.ImplicitALSAdapter once per --dislike mode
(how a dislike enters ALS: ignore, drop, negative) on each user's events but the last
two, then measures every model, with the built-in popularity beside them, on the
real-history protocol (simulator.responsiveness.real: each user's real first k-1
events, then x_k rated 5 or 1; share of the next top 10 sharing a genre / the
director with x_k; paired bootstrap CIs) and ranks every user's held-out last event
over the whole catalogue, inputs excluded (recommenders.evaluation: NDCG@10, Recall@10,
disliked target in top 10). Writes into --out: responsiveness/ (the real-history run,
with its own run.json), heldout.csv, foreign_als.csv and foreign_als.md (the table of
docs/foreign_models.md) and foreign_als.json, the manifest, last. Needs the implicit
extra: pip install -e '.[implicit]'.

Example:
    python3 experiments/foreign_als.py --dataset ml1m --out runs/foreign-als
    python3 experiments/foreign_als.py --dataset ml100k --k 20 --out runs/foreign-als-100k
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from experiments.arguments import Parser, number, seed
from recommenders import HistoryBatch, PopularityAdapter, RecommenderAdapter, ScoringAdapter
from recommenders.atomic import atomic_write_csv, atomic_write_text
from recommenders.datasets import DataCorpus, InteractionData
from recommenders.datasets.presets import PRESETS, load_preset
from recommenders.evaluation import HeldOut, leave_one_out
from recommenders.evaluation.held_out import TOP_K, held_out_metrics
from recommenders.evaluation.metrics import disliked_creator_share
from recommenders.history import Feedback
from recommenders.sequences import Sequences
from simulator.adapter_specs import build_real_adapter
from simulator.records import begin_results, check_output_dir, finish_results, md_table
from simulator.records import package_versions as base_versions
from simulator.responsiveness.real import compare_real, write_real_run
from simulator.responsiveness.real_histories import RealHistories, RealHistoryConfig, select_users

MODES = ("ignore", "drop", "negative")
MANIFEST = "foreign_als.json"
RESULT_FILES = (MANIFEST, "foreign_als.csv", "foreign_als.md", "heldout.csv", "responsiveness")
BUILTIN = "popularity"
"""The built-in reference measured beside ALS (simulator.adapter_specs.DATA_BUILTINS)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = Parser.from_doc(__doc__, epilog_from=2)
    parser.add_argument("--dataset", choices=sorted(PRESETS), default="ml1m", help="a preset")
    parser.add_argument(
        "--data", type=Path, help="the preset's folder (default: under the data root)"
    )
    parser.add_argument(
        "--dislike",
        action="append",
        choices=MODES,
        help=f"how ALS represents a dislike; repeat to compare (default: {', '.join(MODES)})",
    )
    parser.add_argument("--factors", type=int, default=64, help="ALS latent factors")
    parser.add_argument("--regularization", type=number, default=0.05, help="ALS's lambda")
    parser.add_argument("--iterations", type=int, default=15, help="ALS iterations")
    parser.add_argument(
        "--alpha", type=number, default=1.0, help="an interaction's confidence is 1 + alpha"
    )
    parser.add_argument(
        "--dislike-alpha",
        type=number,
        help="a disliked entry's confidence under 'negative' is 1 + this (default: --alpha)",
    )
    parser.add_argument("--k", type=int, default=50, help="1-based position of the forked item x_k")
    parser.add_argument(
        "--n-users", type=int, help="measure at most this many eligible users (default: all)"
    )
    parser.add_argument(
        "--seed", type=seed, default=0, help="ALS's initial factors, the user draw, the bootstrap"
    )
    parser.add_argument("--n-resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument(
        "--no-heldout", action="store_true", help="skip the held-out ranking (NDCG@10)"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/foreign_als"), help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    for name in ("factors", "iterations"):
        if getattr(args, name) < 1:
            parser.error(f"argument --{name}: must be >= 1, got {getattr(args, name)}")
    return args


def train_models(args: argparse.Namespace, data: InteractionData) -> tuple[dict, dict]:
    """(name -> adapter, name -> seconds to build): the built-in first, then ALS per mode."""
    from recommenders.adapters.implicit_als import ImplicitALSAdapter

    corpus = DataCorpus.of(data)
    models: dict[str, RecommenderAdapter] = {BUILTIN: build_real_adapter(BUILTIN, data, corpus)}
    seconds = {BUILTIN: 0.0}
    for mode in args.dislike or MODES:
        start = time.perf_counter()
        adapter = ImplicitALSAdapter(
            corpus,
            factors=args.factors,
            regularization=args.regularization,
            iterations=args.iterations,
            alpha=args.alpha,
            dislike=mode,
            dislike_alpha=args.dislike_alpha,
            seed=args.seed,
        )
        models[adapter.name] = adapter
        seconds[adapter.name] = time.perf_counter() - start
    return models, seconds


def _scores(adapter: RecommenderAdapter, batch: HistoryBatch) -> np.ndarray:
    if isinstance(adapter, ScoringAdapter):
        return np.asarray(adapter.score(batch), np.float64)
    if isinstance(adapter, PopularityAdapter):
        return np.tile(adapter.counts, (len(batch), 1))
    raise TypeError(f"cannot rank held-out events with {type(adapter).__name__}")


def rank_held_out(
    adapter: RecommenderAdapter, held: HeldOut, creator: np.ndarray, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """(ranks, disliked-director shares) of every held-out target, as
    :func:`recommenders.evaluation.held_out.rank_held_out` defines them, from the
    adapter's scores of each input (a history like any other)."""
    import torch

    from recommenders.evaluation.ranking import target_ranks, top_k_excluding

    ranks = np.empty(len(held), np.int64)
    shares = np.full(len(held), np.nan)
    order = np.argsort(held.ends, kind="stable")  # similar lengths per chunk: less padding
    for first in range(0, len(held), chunk):
        rows = order[first : first + chunk]
        items, feedback, dwell, lengths = held.inputs(rows)
        scores = torch.from_numpy(_scores(adapter, HistoryBatch(items, feedback, dwell, lengths)))
        context = torch.from_numpy(items)
        targets = torch.from_numpy(held.target_item[rows])
        ranks[rows] = target_ranks(scores, targets, context).numpy()
        top = top_k_excluding(scores, context, TOP_K).numpy()
        disliked = feedback == int(Feedback.DISLIKE)
        shares[rows] = disliked_creator_share(top, items, disliked, creator)
    return ranks, shares


def held_out_table(models: dict, data: InteractionData, progress: bool) -> pd.DataFrame:
    """The leave-one-out test metrics of every model (one row each)."""
    held = leave_one_out(Sequences.from_log(data.log)).test
    rows = []
    for name, adapter in tqdm(models.items(), desc="held-out ranking", disable=not progress):
        ranks, shares = rank_held_out(adapter, held, data.creator)
        rows.append({"model": name, **held_out_metrics(held, ranks, shares).to_dict()})
    return pd.DataFrame(rows)


HELD_OUT_COLUMNS = {
    "ndcg10": "NDCG@10",
    "recall10": "R@10",
    "disliked_in_top10": "disliked target in top 10",
    "disliked_director_share": "disliked-director share",
}
"""Held-out metrics in the markdown table (recommenders.evaluation.held_out.BenchmarkMetrics)."""


def _number(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:.4f}"


def _change(row) -> str:
    if math.isnan(row.relative_change):
        return "undefined"
    return (
        f"{100 * row.relative_change:+.1f}% [{100 * row.ci_low:+.1f}%, {100 * row.ci_high:+.1f}%]"
    )


def results_table(summary: pd.DataFrame, held: pd.DataFrame | None, models: dict) -> pd.DataFrame:
    """One row per model: responsiveness by kind (relative change and CI), held-out metrics."""
    table = pd.DataFrame({"model": list(models)})
    table["dislike in ALS"] = [getattr(m, "dislike", "-") for m in models.values()]
    for kind in ("content", "creator"):
        rows = summary[summary["kind"] == kind].set_index("model")
        table[f"{kind} mean A"] = table["model"].map(rows["mean_a"])
        table[f"{kind} mean B"] = table["model"].map(rows["mean_b"])
        table[f"{kind} change"] = table["model"].map(rows["relative_change"])
        table[f"{kind} ci_low"] = table["model"].map(rows["ci_low"])
        table[f"{kind} ci_high"] = table["model"].map(rows["ci_high"])
        table[f"{kind} users"] = table["model"].map(rows["n"])
    if held is not None:
        table = table.merge(held, on="model", how="left")
    return table


def markdown(table: pd.DataFrame) -> str:
    shown = pd.DataFrame({"model": table["model"], "dislike in ALS": table["dislike in ALS"]})
    for kind in ("content", "creator"):
        parts = table[[f"{kind} change", f"{kind} ci_low", f"{kind} ci_high"]]
        parts.columns = ["relative_change", "ci_low", "ci_high"]
        shown[f"{kind}: rating 5 / rating 1"] = [
            "undefined" if math.isnan(a) else f"{a:.4f} / {b:.4f}"
            for a, b in zip(table[f"{kind} mean A"], table[f"{kind} mean B"], strict=True)
        ]
        shown[f"{kind} change [95% CI]"] = [_change(r) for r in parts.itertuples(index=False)]
    shown["users (content / creator)"] = [
        f"{a} / {b}" for a, b in zip(table["content users"], table["creator users"], strict=True)
    ]
    if "ndcg10" in table:
        for column, label in HELD_OUT_COLUMNS.items():
            shown[label] = table[column].map(_number)
    return md_table(shown) + "\n"


def package_versions() -> dict[str, str]:
    versions = base_versions()
    for name in ("implicit", "threadpoolctl"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = RealHistoryConfig(
            k=args.k, n_users=args.n_users, seed=args.seed, n_resamples=args.n_resamples
        )
        check_output_dir(args.out, args.overwrite, RESULT_FILES)
        data = load_preset(args.dataset, args.data)
        start = time.perf_counter()
        models, fit_seconds = train_models(args, data)
        selection = select_users(RealHistories(data), config)
        with tqdm(
            total=len(selection.users) * len(config.branches) * len(models),
            unit="slate",
            desc="real responsiveness",
            disable=args.no_progress,
        ) as bar:
            runs = compare_real(data, models, config, progress=bar.update, selection=selection)
        held = None if args.no_heldout else held_out_table(models, data, not args.no_progress)
        summary = pd.concat([run.summary for run in runs], ignore_index=True)
        table = results_table(summary, held, models)
        wall = time.perf_counter() - start
        begin_results(args.out, MANIFEST)
        real = write_real_run(args.out / "responsiveness", runs, config, data)
        files = [real["run.json"]]
        if held is not None:
            atomic_write_csv(args.out / "heldout.csv", held)
            files.append(args.out / "heldout.csv")
        atomic_write_csv(args.out / "foreign_als.csv", table)
        atomic_write_text(args.out / "foreign_als.md", markdown(table))
        files += [args.out / "foreign_als.csv", args.out / "foreign_als.md"]
        record = {
            "command": sys.argv,
            "data": data.summary(),
            "als": {
                "factors": args.factors,
                "regularization": args.regularization,
                "iterations": args.iterations,
                "alpha": args.alpha,
                "dislike_alpha": args.alpha if args.dislike_alpha is None else args.dislike_alpha,
                "dislike": list(args.dislike or MODES),
                "training": "each user's events but the last 2 (leave-one-out)",
            },
            "real_history": config.to_dict(),
            "heldout": None if held is None else "test: each user's last event, input all before",
            "seed": args.seed,
            "fit_seconds": fit_seconds,
            "wall_seconds": wall,
            "versions": package_versions(),
        }
        finish_results(args.out, MANIFEST, record, files)
    except (ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown(table))
    print(f"{len(runs[0].selection.users)} users measured; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
