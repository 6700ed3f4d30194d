#!/usr/bin/env python3
"""Benchmark the responsiveness protocol (user-steps/s per adapter) and model training (events/s).

Reports, per adapter, the throughput of the whole simulated protocol (k steps
per user, the fork, the branch slates) and the share of wall time spent inside
``recommend`` (the rest is simulator overhead), best of --repeats runs, as a
table on stdout and JSON in --out. Target on a 2-core machine: >= 300,000
user-steps/s with the popularity adapter. With --fitted-world FILE the same
adapters are also timed on that world (a world fitted to a data set by
experiments/fit_world.py), beside the synthetic one. Training throughput (forward,
backward and Adam step, events per second) is timed for GRU and SASRec on logs
drawn from the same world, with sampled and full softmax. With --ml1m it is also
timed on MovieLens-1M in the configuration of experiments/ml1m.py (embedding
128, input length 200, batch 128, full softmax), in sequences (training
windows) and events per second. With --ci-users the paired BCa bootstrap interval
is timed at those population sizes (simulator.throughput.interval_timing), beside
scipy.stats.bootstrap on the same resamples where that finishes (up to 20,000 users).
With --cache-compare every checkpoint:DIR adapter (trained on --world) is timed with
its prefix state cache and with full recomputation, in alternating pairs, and the
per-user tables of all those runs are compared. With --workers 1 2 the --adapter specs
are measured in shards on --executor (Ray by default) with 1 and with 2 workers, and
the merged per-user tables are compared. With --http the popularity adapter is timed in
process and behind a local HTTP server (recommenders.serving in a thread, HttpAdapter as
the client), in --repeats alternating pairs: seconds per recommend call and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

from experiments.arguments import Parser, seed
from experiments.movielens import BenchmarkConfig, model_throughput
from recommenders.atomic import atomic_write_text
from recommenders.datasets import load_ml1m
from recommenders.datasets.presets import preset_folder
from recommenders.models import ModelConfig
from recommenders.sequences import Sequences
from recommenders.training.loop import TrainConfig
from recommenders.training.throughput import training_throughput
from recommenders.variants import get_variant
from simulator import ResponsivenessConfig, World
from simulator.adapter_specs import build_adapter
from simulator.engine.service import RecommenderService
from simulator.logs import LogConfig, make_logs
from simulator.records import package_versions, project_record
from simulator.throughput import (
    cache_speedup,
    http_overhead,
    interval_timing,
    protocol_throughput,
    worker_scaling,
)
from simulator.world import load_world

DEFAULT_ADAPTERS = ("popularity", "filter:popularity", "random", "itemknn")
ML1M = preset_folder("ml1m")
CI_USERS = (2_000, 20_000, 200_000, 1_000_000)


def protection_cost(world, config: ResponsivenessConfig, repeats: int, pairs: int = 15) -> dict:
    """Popularity-adapter throughput with the service's history copy on and off, in
    alternating pairs; ``ratio`` is the median of protected / unprotected."""
    adapter = build_adapter("popularity", world)
    ratios = []
    try:
        for _ in range(pairs):
            speed = {}
            for protect in (False, True):
                RecommenderService.protect_histories = protect
                run = protocol_throughput(world, "popularity", lambda: adapter, config, repeats)
                speed[protect] = run.user_steps_per_second
            ratios.append(speed[True] / speed[False])
    finally:
        RecommenderService.protect_histories = True
    return {
        "ratio": statistics.median(ratios),
        "min": min(ratios),
        "max": max(ratios),
        "pairs": pairs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--adapter",
        action="append",
        metavar="SPEC",
        help=f"adapter to time (repeatable); default: {' '.join(DEFAULT_ADAPTERS)}",
    )
    parser.add_argument("--n-users", type=int, default=2000, help="simulated users (default 2000)")
    parser.add_argument("--k", type=int, default=50, help="fork step (default 50)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per adapter; the fastest counts (default 3)"
    )
    parser.add_argument("--seed", type=seed, default=0, help="world and behaviour seed (default 0)")
    parser.add_argument(
        "--fitted-world",
        type=Path,
        metavar="FILE",
        help="also time the adapters on this fitted world (experiments/fit_world.py's world.npz)",
    )
    parser.add_argument(
        "--training",
        choices=("gru", "sasrec"),
        action="append",
        help="also time training of these models (repeatable; default both); --no-training skips",
    )
    parser.add_argument("--no-training", action="store_true", help="skip the training benchmark")
    parser.add_argument(
        "--protection-cost",
        action="store_true",
        help="also time the popularity adapter with and without the copy of the histories "
        "the service hands adapters (15 alternating pairs; median ratio of the pairs)",
    )
    parser.add_argument(
        "--cache-compare",
        action="store_true",
        help="for each checkpoint:DIR adapter, also time the protocol with its prefix state "
        "cache and with full recomputation (--repeats alternating pairs, fresh adapters) and "
        "check that both give the same per-user table",
    )
    parser.add_argument(
        "--http",
        action="store_true",
        help="also time the popularity adapter served over HTTP on 127.0.0.1 (HttpAdapter, "
        "the example server's code in a thread) against in process: seconds per recommend "
        "call, --repeats alternating pairs (docs/serving.md)",
    )
    parser.add_argument(
        "--world",
        type=Path,
        metavar="FILE",
        help="world file the checkpoints were trained on (default: World.default(--seed, "
        "--n-users))",
    )
    parser.add_argument(
        "--ci-users",
        type=int,
        nargs="*",
        metavar="N",
        help="also time one bootstrap interval (BCa, 2000 resamples) at these user counts "
        f"(no value: {' '.join(f'{n:,}' for n in CI_USERS)}); scipy's bootstrap on the "
        "same resamples is timed beside it up to 20,000 users",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        metavar="N",
        help="also time a sharded run of the --adapter specs on --executor with each of these "
        "worker counts (e.g. 1 2), in --repeats alternating rounds, and check that every "
        "count merges to the same per-user table",
    )
    parser.add_argument(
        "--executor",
        choices=("processes", "ray"),
        default="ray",
        help="executor of --workers (default ray: a local Ray per run)",
    )
    parser.add_argument(
        "--shards", type=int, default=8, help="shards of the --workers runs (default 8)"
    )
    parser.add_argument(
        "--cpus-per-worker",
        type=int,
        metavar="C",
        help="CPUs (torch threads) of each --workers worker; default: this machine's cores "
        "shared among the workers, so that one worker already uses every core",
    )
    parser.add_argument("--device", default="cpu", help="device of the training benchmark")
    parser.add_argument(
        "--training-batches", type=int, default=20, help="timed training batches (default 20)"
    )
    parser.add_argument(
        "--ml1m",
        type=Path,
        nargs="?",
        const=ML1M,
        default=None,
        metavar="PATH",
        help=f"also time training on ML-1M (folder; default {ML1M})",
    )
    parser.add_argument(
        "--ml1m-batches", type=int, default=5, help="timed ML-1M training batches (default 5)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/bench.json"),
        help="JSON output (default runs/bench.json)",
    )
    args = parser.parse_args(argv)
    try:
        config = ResponsivenessConfig(
            n_users=args.n_users, k=args.k, seed=args.seed, cohort_size=args.n_users
        )
        world = (
            World.default(args.seed, args.n_users) if args.world is None else load_world(args.world)
        )
        worlds = {"synthetic": world}
        if args.fitted_world is not None:
            fitted = load_world(args.fitted_world)
            worlds[f"{fitted.kind} {getattr(fitted, 'data_name', '')}".strip()] = fitted
        results = []
        for label, timed in worlds.items():
            for spec in args.adapter or DEFAULT_ADAPTERS:
                result = protocol_throughput(
                    timed,
                    spec,
                    lambda spec=spec, timed=timed: build_adapter(spec, timed),
                    config,
                    args.repeats,
                )
                results.append({"world": label, **result.to_dict()})
                print(
                    f"{spec:>20}: {result.user_steps_per_second:>12,.0f} user-steps/s  "
                    f"({result.user_steps:,} steps in {result.wall_seconds:.3f} s; "
                    f"{100 * result.recommend_share:.0f}% inside recommend; {label} world)",
                    flush=True,
                )
        caches = []
        if args.cache_compare:
            checkpoints = [s for s in args.adapter or [] if s.startswith("checkpoint:")]
            if not checkpoints:
                raise ValueError("--cache-compare needs at least one --adapter checkpoint:DIR")
            for spec in checkpoints:
                speedup = cache_speedup(world, spec, config, args.repeats)
                caches.append(speedup.to_dict())
                print(
                    f"{'state cache':>20}: {speedup.speedup:.1f}x ({speedup.recomputed_seconds:.2f}"
                    f" s recomputed, {speedup.cached_seconds:.2f} s cached; k = {args.k}, "
                    f"{args.n_users:,} users; per-user tables "
                    f"{'identical' if speedup.identical else 'DIFFER'}) {spec}",
                    flush=True,
                )
        scaling = None
        if args.workers:
            specs = args.adapter or list(DEFAULT_ADAPTERS)
            scaling = worker_scaling(
                world,
                {spec: spec for spec in specs},
                config,
                args.executor,
                tuple(args.workers),
                args.shards,
                args.repeats,
                args.cpus_per_worker,
            )
            for count, threads, secs, ratio in zip(
                scaling.workers, scaling.threads, scaling.seconds, scaling.speedup, strict=True
            ):
                print(
                    f"{args.executor + ' workers':>20}: {count} x {threads} CPU -> {secs:.2f} s, "
                    f"{ratio:.2f}x "
                    f"the first ({args.shards} shards, {args.n_users:,} users, k = {args.k}; "
                    f"per-user tables {'identical' if scaling.identical else 'DIFFER'}) "
                    f"{' '.join(specs)}",
                    flush=True,
                )
        protection = None
        if args.protection_cost:
            protection = protection_cost(world, config, args.repeats)
            print(
                f"{'history protection':>20}: popularity {protection['ratio']:.3f}x the "
                f"unprotected speed (median of {protection['pairs']} pairs, "
                f"{protection['min']:.3f}-{protection['max']:.3f})",
                flush=True,
            )
        served = None
        if args.http:
            served = http_overhead(world, config, "popularity", args.repeats)
            print(
                f"{'http overhead':>20}: popularity {1e3 * served.in_process_seconds:.2f} ms "
                f"per recommend call in process, {1e3 * served.served_seconds:.2f} ms served "
                f"over HTTP, {served.ratio:.1f}x (median of {served.pairs} alternating pairs, "
                f"{served.calls} calls of {args.n_users:,} histories each, k = {args.k}; "
                f"per-user tables {'identical' if served.identical else 'DIFFER'})",
                flush=True,
            )
        intervals = []
        if args.ci_users is not None:
            for n_users in args.ci_users or CI_USERS:
                if n_users < 2:
                    raise ValueError(f"--ci-users needs at least 2 users, got {n_users}")
                timing = interval_timing(n_users, config.n_resamples, args.seed)
                intervals.append(timing.to_dict())
                versus = (
                    f"; scipy {timing.scipy_seconds:.2f} s, "
                    f"{timing.scipy_seconds / timing.wall_seconds:.1f}x slower"
                    if timing.scipy_seconds is not None
                    else ""
                )
                print(
                    f"{'interval':>20}: {n_users:>12,} users in {timing.wall_seconds:.2f} s "
                    f"({timing.cpu_seconds:.2f} s CPU, {timing.n_resamples} resamples{versus})",
                    flush=True,
                )
        training = []
        if not args.no_training:
            log = make_logs(world, LogConfig(n_users=args.n_users, n_steps=100, seed=args.seed + 1))
            sequences = Sequences.from_log(log)
            variant = get_variant("dislike_feature_label")
            for kind in args.training or ["gru", "sasrec"]:
                model_config = ModelConfig(
                    kind=kind, n_layers=1 if kind == "gru" else 2, features=variant.features
                )
                for positive in ("sampled_softmax", "softmax_ce"):
                    row = training_throughput(
                        sequences,
                        variant,
                        model_config,
                        TrainConfig(positive_loss=positive, device=args.device),
                        world.corpus.n_items,
                        n_batches=args.training_batches,
                    )
                    training.append(row)
                    print(
                        f"{'train ' + kind:>20}: {row['events_per_second']:>12,.0f} events/s  "
                        f"({positive}, batch {row['batch_size']} x {row['max_len']}, "
                        f"{row['threads']} threads)",
                        flush=True,
                    )
        ml1m = []
        if args.ml1m is not None:
            data = load_ml1m(args.ml1m)
            ml1m = model_throughput(
                Sequences.from_log(data.log),
                data.n_items,
                BenchmarkConfig(device=args.device),
                n_batches=args.ml1m_batches,
            )
            for row in ml1m:
                print(
                    f"{'ml1m ' + row['benchmark_model']:>20}: "
                    f"{row['sequences_per_second']:>12,.1f} sequences/s, "
                    f"{row['events_per_second']:,.0f} events/s  (batch {row['batch_size']} x "
                    f"<= {row['max_len']}, dim {row['dim']}, {row['threads']} threads)",
                    flush=True,
                )
    except ValueError as error:  # WorldFileError and the configs' errors are ValueErrors
        print(f"error: {error}", file=sys.stderr)
        return 2
    record = {
        "benchmark": "responsiveness protocol",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "processor": platform.processor(),
        },
        "versions": package_versions(),
        "project": project_record(),
        "results": results,
        "history_protection": protection,
        "state_cache": caches,
        "worker_scaling": None if scaling is None else scaling.to_dict(),
        "http_overhead": None if served is None else served.to_dict(),
        "intervals": intervals,
        "training": training,
        "ml1m_training": ml1m,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
