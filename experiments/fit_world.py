#!/usr/bin/env python3
"""Fit a response model to an interaction log and measure its fidelity on held-out events.

The model (simulator.world.response_fit) is an ordinal logistic regression of
each event's rating (or feedback class) on user, item, genre, creator and
low-rank terms plus two sequential effects estimated from the log, with
cluster-robust 95% intervals: does a dislike of a creator lower the user's
next rating of that creator, and does a liked genre raise the next item's?
It is fitted on each user's earlier events and scored on the last --holdout
share of them beside baselines (bias-only, the default synthetic world's
response rule mapped onto the catalogue, and scikit-surprise SVD when that
optional package is installed): log-loss and AUC of dislikes, class and
rating-level log-loss, rating RMSE, and reliability per class
(simulator.world.fidelity).

The fitted model becomes a world (simulator.world.fitted): the data set's
catalogue, --n-users simulated users each drawn from the fitted users, and
their responses from the model, saved as world.npz for responsiveness.py,
live_ab.py and make_logs.py (--world). Models trained on the same data set
(ml1m.py checkpoints) are accepted by it; others are refused.

Writes into --out: world.npz, response_model.json (the sequential effects with their
intervals, thresholds, fit size), fidelity.csv (model, metric, value, n),
calibration.csv, statistics.csv (the repeat-dislike lift and other statistics
of the real log, of outcomes drawn from the fitted model, of the same without
the creator effect, and of the default world's logs), fidelity.md (the
tables), reliability.png/.pdf and run.json, written last with each file's SHA-256:
a folder without it did not finish.

    python3 experiments/fit_world.py --dataset ml1m --out runs/fit-ml1m
    python3 experiments/fit_world.py --interactions ratings.csv --user userId \\
        --item movieId --rating rating --order timestamp --order-kind timestamp \\
        --items movies.csv --item-id movieId --clusters genres --out runs/fit-mine
    python3 experiments/fit_world.py --schema my-data.json --out runs/fit-mine
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from experiments.arguments import Parser, number, parse_with_config, seed, threads
from experiments.data_options import add_data_arguments, load_data
from recommenders.atomic import atomic_write_csv, atomic_write_text
from recommenders.datasets import DataError
from simulator.records import (
    begin_results,
    check_output_dir,
    finish_results,
    package_versions,
    world_record,
)
from simulator.world.fidelity import BASELINES, evaluate_fidelity, with_world_logs
from simulator.world.fidelity_output import fidelity_markdown, plot_reliability
from simulator.world.fitted import FittedWorldConfig, fit_world
from simulator.world.response_fit import ResponseFitConfig

RESULT_FILES = (
    "world.npz",
    "response_model.json",
    "fidelity.csv",
    "calibration.csv",
    "fidelity.md",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser.from_doc(__doc__, show_defaults=False)
    add_data_arguments(parser)
    parser.add_argument(
        "--holdout", type=number, default=0.2, help="share of each user's last events held out"
    )
    parser.add_argument("--n-factors", type=int, default=8, help="rank of the factor terms")
    parser.add_argument("--l2-bias", type=number, default=1.0, help="prior weight on biases")
    parser.add_argument("--l2-factors", type=number, default=10.0, help="prior weight on factors")
    parser.add_argument("--max-iter", type=int, default=1000, help="L-BFGS iterations at most")
    parser.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help=f"comma-separated, from {', '.join(BASELINES)} (or 'none')",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="parametric-bootstrap interval of the sequential effects from B refits "
        "(bias-corrected; B >= 2; each refit costs about a third of the fit; default 0: off)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of the fit and the baselines")
    parser.add_argument(
        "--n-users",
        type=int,
        help="simulated users of the world, drawn from the fitted ones (default: the data's)",
    )
    parser.add_argument(
        "--world-seed", type=seed, default=0, help="seed of the draw of simulated users"
    )
    parser.add_argument(
        "--no-statistics",
        action="store_true",
        help="skip the real-vs-simulated statistics (they draw outcomes and default-world logs)",
    )
    parser.add_argument("--threads", type=threads, help="torch threads (default: torch's own)")
    parser.add_argument("--out", type=Path, default=Path("runs/fit-world"), help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace results in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines")
    return parse_with_config(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        if not 0.0 < args.holdout < 1.0:
            raise ValueError(f"--holdout must be in (0, 1), got {args.holdout}")
        baselines = tuple(b for b in args.baselines.split(",") if b and b != "none")
        unknown = [b for b in baselines if b not in BASELINES]
        if unknown:
            raise ValueError(f"--baselines: unknown {unknown}; choose from {list(BASELINES)}")
        config = ResponseFitConfig(
            n_factors=args.n_factors,
            l2_bias=args.l2_bias,
            l2_factors=args.l2_factors,
            max_iter=args.max_iter,
            seed=args.seed,
        )
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        if args.n_users is not None and args.n_users < 1:
            raise ValueError(f"--n-users must be >= 1, got {args.n_users}")
        check_output_dir(args.out, args.overwrite, RESULT_FILES)
        data = load_data(args)
        if not data.cluster_matrix.any():
            raise ValueError(
                f"{data.name}: no item has a content cluster; a world needs them "
                "(pass --items with a --clusters column)"
            )
        say = (lambda _: None) if args.no_progress else (lambda m: print(m, file=sys.stderr))
        say(
            f"{data.name}: {data.n_users:,} users, {data.n_items:,} items, {len(data.log):,} events"
        )
        result = evaluate_fidelity(
            data,
            args.holdout,
            config,
            args.seed,
            baselines,
            progress=say,
            statistics=not args.no_statistics,
            bootstrap=args.bootstrap,
        )
        world_config = FittedWorldConfig(n_users=args.n_users or data.n_users, seed=args.world_seed)
        world = fit_world(data, result.model, world_config)
        if result.statistics is not None:
            say("statistics of logs drawn from the fitted world")
            result.statistics = with_world_logs(result.statistics, world, seed=args.seed + 1)
    except (ValueError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out
    begin_results(out, "run.json")  # the manifest: removed first, written last
    paths = [out / name for name in ("world.npz", "response_model.json", "fidelity.csv")]
    world.save(paths[0])
    summary = {"data": data.summary(), "holdout": args.holdout, **result.model.summary()}
    if result.effect_intervals:
        summary["bootstrap"] = [e.to_dict() for e in result.effect_intervals]
    atomic_write_text(paths[1], json.dumps(summary, indent=2) + "\n")
    atomic_write_csv(paths[2], result.metrics)
    paths.append(out / "calibration.csv")
    atomic_write_csv(paths[-1], result.calibration)
    if result.statistics is not None:
        paths.append(out / "statistics.csv")
        atomic_write_csv(paths[-1], result.statistics)
    else:
        # An earlier run's table would otherwise sit beside this run's as if it were its own.
        (out / "statistics.csv").unlink(missing_ok=True)
    text = fidelity_markdown(data, result, args.holdout)
    paths.append(out / "fidelity.md")
    atomic_write_text(paths[-1], text)
    paths += plot_reliability(
        result.calibration, out / "reliability", title=f"{data.name}: reliability"
    )
    record = {
        "command": args.command,
        "config": config.to_dict(),
        "holdout": args.holdout,
        "bootstrap": args.bootstrap,
        "baselines": list(baselines),
        "skipped": result.skipped,
        "seed": args.seed,
        "data": data.summary(),
        "world": world_record(world),
        "versions": package_versions(),
        "wall_seconds": time.perf_counter() - start,
    }
    finish_results(out, "run.json", record, paths)
    print(text)
    print(
        f"wrote {out} ({record['wall_seconds']:.0f} s); world {world.fingerprint} "
        f"({world.n_users:,} users): {out / 'world.npz'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
