#!/usr/bin/env python3
"""Measure responsiveness to a dislike on real user histories (MovieLens or any rated log).

Each eligible user's real first k-1 events are followed by their real k-th
item x_k, once rated 5 (reference) and once rated 1 (treatment); each model's
next slate is compared with x_k by genre (shares one) and by director (the
same). Responsiveness is the relative change of mean similarity with a paired
bootstrap CI (simulator.responsiveness.real_histories). Writes responsiveness.csv,
per_user.csv.gz, run.json and a Fig 3b-style plot (PNG and PDF) into --out.

The data set is a preset (--dataset ml1m, the default, or ml100k) or any
interaction table: --interactions FILE with column options, or --schema FILE
(recommenders.datasets.TableSchema as JSON/YAML). Half-star ratings need a
half-star rule (--min-rating 0.5 --rating-step 0.5) and --ratings on its
scale (e.g. 5,0.5).

Example:
    python experiments/real_responsiveness.py --adapter popularity \\
        --adapter filter:popularity --checkpoint runs/ml1m-models/* --out runs/real
    python experiments/real_responsiveness.py --interactions ratings.csv \\
        --user userId --item movieId --order timestamp --order-kind timestamp \\
        --items movies.csv --item-id movieId --clusters genres \\
        --min-rating 0.5 --rating-step 0.5 --out runs/real-mine
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from experiments.arguments import (
    Parser,
    adapter_kwargs,
    add_adapter_arg_options,
    add_serving_arguments,
    cache_bytes,
    parse_with_config,
    seed,
)
from experiments.data_options import add_data_arguments, load_data
from recommenders.datasets import DataCorpus
from simulator.adapter_specs import (
    DATA_BUILTINS,
    build_named,
    build_real_adapter,
    measured_specs,
)
from simulator.responsiveness import interval_count
from simulator.responsiveness.output import check_output_dir, format_table
from simulator.responsiveness.real import compare_real, write_real_run
from simulator.responsiveness.real_histories import (
    RealHistories,
    RealHistoryConfig,
    branch_feedback,
    select_users,
)
from simulator.similarity import CONTENT_RULES

DEFAULT_ADAPTERS = ("popularity", "filter:popularity")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = Parser.from_doc(__doc__, epilog_from=2)
    parser.add_argument(
        "--adapter",
        action="append",
        metavar="SPEC",
        help=f"recommender to measure; repeat to compare. Built-in: {', '.join(DATA_BUILTINS)}; "
        "filter:SPEC / filter-cluster:SPEC wrap SPEC in the FeedbackFilter heuristic "
        "(by director / primary genre); checkpoint:PATH; http://HOST:PORT/PATH (a served "
        "recommender); package.module:Class (keyword arguments: --adapter-arg). "
        "NAME=SPEC measures SPEC under the name NAME (e.g. prod=http://HOST:PORT/PATH). "
        f"Default when neither --adapter nor --checkpoint is given: {' '.join(DEFAULT_ADAPTERS)}",
    )
    parser.add_argument(
        "--checkpoint",
        action="extend",
        nargs="+",
        metavar="DIR",
        default=[],
        help="checkpoint folder(s) of models trained on this data set (fingerprint checked)",
    )
    parser.add_argument(
        "--k",
        default="50",
        help="1-based position of the forked item x_k (users with fewer events are left "
        "out), or 'last' for each user's last event",
    )
    parser.add_argument(
        "--n-users", type=int, help="measure at most this many eligible users (default: all)"
    )
    parser.add_argument("--slate-size", type=int, default=10, help="items per slate")
    parser.add_argument(
        "--ratings",
        default="5,1",
        help="counterfactual rating of x_k per branch, reference first",
    )
    parser.add_argument(
        "--content-rule",
        choices=CONTENT_RULES,
        default="any",
        help="content similarity: shares any genre with x_k, or the same first-listed genre",
    )
    parser.add_argument(
        "--seed", type=seed, default=0, help="user draw (with --n-users), bootstrap"
    )
    parser.add_argument("--n-resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/real_responsiveness"), help="output folder"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    add_serving_arguments(parser)
    add_adapter_arg_options(parser)
    add_data_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parse_with_config(parser, argv)


def parse_k(text: str) -> int | None:
    """``last`` -> None, else an integer (validated by RealHistoryConfig)."""
    if text.strip().lower() == "last":
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--k must be a positive integer or 'last', got {text!r}") from None


def parse_ratings(text: str) -> tuple[float, ...]:
    try:
        ratings = tuple(float(r) for r in text.split(",") if r.strip())
    except ValueError:
        raise ValueError(f"--ratings must be comma-separated numbers, got {text!r}") from None
    # Whole numbers as ints: the branches are named rating=5, rating=1.
    return tuple(int(r) if r.is_integer() else r for r in ratings)


def build_models(args: argparse.Namespace, data) -> tuple[dict, dict]:
    """Adapters by name, and the constructor keyword arguments given per spec."""
    specs = args.adapter if args.adapter or args.checkpoint else list(DEFAULT_ADAPTERS)
    corpus = DataCorpus.of(data)
    arguments = adapter_kwargs(args, measured_specs(specs or [], args.checkpoint))

    def build(spec: str):
        kwargs = arguments.get(spec.strip(), {})
        return build_real_adapter(spec, data, corpus, args.device, cache_bytes(args), kwargs)

    return build_named(specs or [], args.checkpoint, build), arguments


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = RealHistoryConfig(
            k=parse_k(args.k),
            n_users=args.n_users,
            slate_size=args.slate_size,
            ratings=parse_ratings(args.ratings),
            content_rule=args.content_rule,
            seed=args.seed,
            n_resamples=args.n_resamples,
        )
        check_output_dir(args.out, args.overwrite)
        data = load_data(args)
        branch_feedback(config, data.rule)  # cheap checks first: a bad rating, too large a k
        selection = select_users(RealHistories(data), config)
        models, arguments = build_models(args, data)
        start = time.perf_counter()
        with (
            tqdm(
                total=len(selection.users) * len(config.branches) * len(models),
                unit="slate",
                disable=args.no_progress,
                desc="real responsiveness",
                file=sys.stderr,
            ) as bar,
            tqdm(
                total=interval_count(config) * len(models),
                unit="interval",
                disable=args.no_progress,
                desc="bootstrap CIs",
                file=sys.stderr,
            ) as ci_bar,
        ):
            runs = compare_real(
                data,
                models,
                config,
                progress=bar.update,
                selection=selection,
                on_interval=ci_bar.update,
            )
        extra = {"command": args.command, "wall_seconds": time.perf_counter() - start}
        if arguments:
            extra["adapter_args"] = arguments
        paths = write_real_run(args.out, runs, config, data, extra=extra)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(pd.concat([run.summary for run in runs], ignore_index=True)))
    left_out = (
        "x_k = each user's last event"
        if config.k is None
        else f"{selection.n_too_short} of {selection.n_total} had fewer than k = {config.k} events"
    )
    print(f"\n{len(selection.users)} users measured; {left_out}")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
