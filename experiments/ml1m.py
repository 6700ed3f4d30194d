#!/usr/bin/env python3
"""The sequential MovieLens-1M benchmark (or any data set's), with negative-target metrics.

The data set is ML-1M by default; --dataset ml100k, or any interaction table
(--interactions FILE --items FILE with column options, or --schema FILE, as
real_responsiveness.py takes them) runs the same protocol on it, with blank
published anchors (they are ML-1M's) and "disliked creator" read from the
item table's --creator column (NaN without one).

Protocol (recommenders.evaluation.leave_one_out): leave-one-out by position; each
user's last event is the test target, the second-to-last the validation target,
training uses the rest. Every target is ranked against all 3,416 items,
excluding the user's input items; Recall@10, NDCG@10 and Recall@1 are averaged
over all 6,040 users. Each model keeps the epoch with the best validation
NDCG@10 and is scored once on the test targets.

Models (--models, comma-separated; default the first six): sasrec-bce (original
SASRec), gsasrec (gBCE, 256 negatives, t = 0.75), sasrec-ce and gru-ce (full
softmax cross-entropy), sasrec-ce-feature (rating class as an input feature),
sasrec-ce-feature-ntr (feature + not-to-recommend loss on disliked events), and
on request gru-ce-feature, gru-ce-feature-ntr; 'all' trains all eight. A
not-to-recommend model takes its own weight as a suffix: sasrec-ce-feature-ntr-w10
is w = 10 (--negative-weight sets the weight of the unsuffixed names).

Writes into --out: benchmark.csv (one row per model: test Recall@10, NDCG@10,
Recall@1 beside the published numbers, validation NDCG@10, epochs, wall time,
training sequences/s, and the negative-target metrics: how often a disliked
test target is still in the top 10, and the share of the top 10 by a director
the user disliked), learning_curves.png/.pdf (validation NDCG@10 and
disliked-in-top-10 per epoch, every model), per model a checkpoint folder with
metrics.csv and learning_curve.png/.pdf, and last run.json (the command, and the
SHA-256 of every file the run wrote: a folder without it did not finish).
When a feedback-aware model runs beside its blind twin (sasrec-ce-feature*
beside sasrec-ce, gru-ce-feature* beside gru-ce), paired.csv and
paired.png/.pdf give each metric's difference with a paired bootstrap CI over
users, over all users and split by whether the target was disliked
(experiments.movielens.paired). Then responsiveness/ holds the real-history
measurement (--real-k). Models run one after another; give a GPU run a time
budget per model with --max-minutes-per-model, and tabulate checkpoints
trained elsewhere with --reuse.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

from experiments.arguments import Parser, number, parse_with_config, seed, threads
from experiments.data_options import add_data_arguments, data_source, load_data, preset_name
from experiments.movielens import (
    DEFAULT_MODELS,
    QUICK,
    BenchmarkConfig,
    benchmark_models,
    device_name,
    markdown,
    resolve_model,
)
from experiments.movielens.study import (
    compare_with_twins,
    measure_real_histories,
    split_users,
    train_models,
    write_benchmark,
)
from recommenders.datasets.presets import preset_folder
from recommenders.sequences import LogError
from recommenders.variants import RATING_NEGATIVE_WEIGHT as NEGATIVE_WEIGHT
from simulator.records import begin_results, check_writable, finish_results, package_versions

DEFAULT_DATA = preset_folder("ml1m")
QUICK_USERS = 300


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help="comma-separated model names or 'all' (default: the six of the description)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="maximum epochs per model (default 200; quick 2)"
    )
    parser.add_argument(
        "--max-minutes-per-model",
        type=number,
        default=None,
        help="wall-time budget per model, training + validation (default none)",
    )
    parser.add_argument(
        "--patience", type=int, default=None, help="epochs without improvement (default 20)"
    )
    parser.add_argument(
        "--max-len", type=int, default=None, help="input events a model reads (default 200)"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="windows per batch (128)")
    parser.add_argument(
        "--negative-weight",
        type=number,
        default=NEGATIVE_WEIGHT,
        help=f"w of the not-to-recommend labels (default {NEGATIVE_WEIGHT:g})",
    )
    parser.add_argument(
        "--users", type=int, default=None, help=f"random subset of users (quick: {QUICK_USERS})"
    )
    parser.add_argument("--seed", type=seed, default=0, help="training and sampling seed")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument(
        "--threads",
        type=threads,
        default=None,
        help="torch CPU threads (default: every core; 1 with --quick, whose tiny models "
        "gain nothing from threads)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/ml1m"), help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier results")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take models already trained in --out (same data, model and architecture; "
        "device and training budget may differ) instead of training them again, e.g. "
        "checkpoints trained on a GPU machine",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {QUICK_USERS} users, tiny models, 2 epochs (< 1 min on 2 cores)",
    )
    parser.add_argument(
        "--real-k",
        default="50",
        help="after training, real-history responsiveness of the trained models with x_k the "
        "k-th event (rating 5 vs 1; simulator.responsiveness.real_histories): an integer, "
        "'last', or 'none'",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_data_arguments(parser)
    args = parse_with_config(parser, argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except (ValueError, LogError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if not args.negative_weight >= 0:
        raise ValueError(f"--negative-weight must be >= 0, got {args.negative_weight}")
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    names = list(benchmark_models()) if names == ["all"] else names
    if not names:
        raise ValueError(f"unknown model {args.models!r}; name at least one model")
    if len(set(names)) != len(names):
        raise ValueError(f"--models names a model twice: {args.models}")
    known = {name: resolve_model(name, args.negative_weight) for name in names}
    if args.real_k not in ("none", "last") and not (args.real_k.isdigit() and int(args.real_k) > 0):
        raise ValueError(
            f"--real-k must be a positive integer, 'last' or 'none', got {args.real_k!r}"
        )
    config = _config(args)
    users = args.users if args.users is not None else (QUICK_USERS if args.quick else None)
    if users is not None and users < 3:
        raise ValueError(f"--users must be >= 3, got {users}")
    n_threads = args.threads if args.threads is not None else (1 if args.quick else os.cpu_count())
    if args.reuse and args.overwrite:
        raise ValueError("--reuse and --overwrite exclude each other")
    existing = [args.out / n for n in (*names, "benchmark.csv") if (args.out / n).exists()]
    if existing and not (args.overwrite or args.reuse):
        raise ValueError(
            f"{existing[0]} already exists; pass --reuse to keep its trained models, "
            "--overwrite to retrain them, or choose another --out"
        )
    check_writable(args.out)
    torch.set_num_threads(n_threads)

    data = load_data(args)
    if preset_name(args) != "ml1m":
        # The published anchors are ML-1M's: beside another data set they would mislead.
        known = {name: spec.without_anchors() for name, spec in known.items()}
    split, subset = split_users(data, users, args.seed)
    print(
        f"{data.name} ({data.fingerprint}): {split.n_users:,} users, {data.n_items:,} items, "
        f"{int(split.train.lengths.sum()):,} training events; device {config.device}, "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )
    begin_results(args.out, "run.json")  # the manifest: removed first, written last
    rows, reused = train_models(
        known,
        split,
        data,
        config,
        args.out,
        reuse=args.reuse,
        overwrite=args.overwrite,
        subset=subset,
        show_progress=not args.no_progress,
    )
    table, files = write_benchmark(rows, names, data.name, args.out)
    print(markdown(table))
    files += compare_with_twins(split, names, config, args.out, args.seed, not args.no_progress)
    if args.real_k != "none":
        k = None if args.real_k == "last" else int(args.real_k)
        files.append(measure_real_histories(data, names, args.out, k, args.seed))
    else:
        earlier = args.out / "responsiveness" / "run.json"
        if reused == names and earlier.is_file():
            files.append(earlier)  # measured on exactly these checkpoints: still theirs
        else:
            # A measurement of other checkpoints must not sit beside these as if it were theirs.
            earlier.unlink(missing_ok=True)
    for name in names:
        files += sorted(p for p in (args.out / name).iterdir() if p.is_file())
    wall = time.perf_counter() - start
    record = {
        "command": ["python3", "experiments/ml1m.py", *args.argv],
        "benchmark": f"{data.name} sequential, leave-one-out, full ranking",
        "data": data.summary(),
        "data_source": data_source(args),
        "users": split.n_users,
        "subset_seed": args.seed if users is not None else None,
        "quick": args.quick,
        "models": {n: known[n].to_dict() for n in names},
        "config": config.to_dict(),
        "threads": torch.get_num_threads(),
        "device_name": device_name(config.device),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": package_versions(),
        "wall_seconds": wall,
        # Their training device, budget and wall time are in benchmark.csv and their headers.
        "reused_checkpoints": reused,
    }
    finish_results(args.out, "run.json", record, files)
    print(f"wrote {args.out / 'benchmark.csv'} and {args.out / 'run.json'} ({wall:.0f} s)")
    return 0


def _config(args: argparse.Namespace) -> BenchmarkConfig:
    base = QUICK if args.quick else BenchmarkConfig()
    changes = {"seed": args.seed, "device": args.device}
    for field, value in (
        ("epochs", args.epochs),
        ("patience", args.patience),
        ("max_len", args.max_len),
        ("batch_size", args.batch_size),
    ):
        if value is not None:
            if value < 1:
                raise ValueError(f"--{field.replace('_', '-')} must be >= 1, got {value}")
            changes[field] = value
    if args.max_minutes_per_model is not None:
        if not args.max_minutes_per_model > 0:
            raise ValueError(
                f"--max-minutes-per-model must be > 0, got {args.max_minutes_per_model}"
            )
        changes["max_seconds"] = 60.0 * args.max_minutes_per_model
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: CUDA is not available on this machine")
    return base.replace(**changes)


if __name__ == "__main__":
    sys.exit(main())
