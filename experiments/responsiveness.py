#!/usr/bin/env python3
"""Measure how much recommenders reduce similar recommendations after a dislike.

Counterfactual protocol of Wang et al. (RecSys 2023, section 4): synthetic
users follow random trajectories for k-1 steps, the k-th item is forked into
branches (default: long dwell vs long dwell + dislike) under identical history
and random numbers, and each branch's next slate is compared with x_k by
content cluster and by creator. Writes responsiveness.csv, per_user.csv.gz,
run.json and a Fig 3b-style plot (PNG and PDF) into --out.

Example:
    python experiments/responsiveness.py --adapter popularity \\
        --adapter filter:popularity --n-users 2000 --k 50 --out runs/demo
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from experiments.arguments import (
    Parser,
    adapter_kwargs,
    add_adapter_arg_options,
    add_serving_arguments,
    add_shard_arguments,
    add_world_param_argument,
    cache_bytes,
    exit_on_sigterm,
    is_sharded,
    model_arguments,
    number,
    parse_with_config,
    report_shards,
    seed,
    shard_options,
    shard_record,
    world_params,
)
from recommenders.validation import AdapterError
from simulator import (
    DEFAULT_BRANCHES,
    ResponsivenessConfig,
    World,
    interval_count,
    measure_responsiveness,
    total_user_steps,
)
from simulator.adapter_specs import WORLD_BUILTINS, build_adapter, measured_specs, named_specs
from simulator.responsiveness.output import check_output_dir, format_table, summary_table, write_run
from simulator.responsiveness.shards import measure_in_shards
from simulator.world import AnyWorld, load_world

DEFAULT_ADAPTERS = ("popularity", "itemknn", "filter:popularity", "filter:itemknn")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = Parser.from_doc(__doc__)
    parser.add_argument(
        "--adapter",
        action="append",
        metavar="SPEC",
        help="recommender to measure; repeat to compare. "
        f"Built-in: {', '.join(sorted(WORLD_BUILTINS))}; "
        "filter:SPEC / filter-cluster:SPEC wrap SPEC in the FeedbackFilter heuristic; "
        "checkpoint:PATH is a trained model (so filter:checkpoint:PATH filters it); "
        "http://HOST:PORT/PATH is a recommender served over HTTP (docs/serving.md); "
        "package.module:Class builds Class(corpus) (keyword arguments: --adapter-arg). "
        "NAME=SPEC measures SPEC under the name NAME (e.g. prod=http://HOST:PORT/PATH). "
        f"Default when neither --adapter nor --checkpoint is given: {' '.join(DEFAULT_ADAPTERS)}",
    )
    parser.add_argument(
        "--checkpoint",
        action="extend",
        nargs="+",
        metavar="PATH",
        default=[],
        help="trained model checkpoint folder(s) to measure; takes several (--checkpoint DIR/*) "
        "and may be repeated; read by recommenders.load_adapter",
    )
    parser.add_argument(
        "--world", type=Path, help="world file (.npz); default: a synthetic world from --seed"
    )
    parser.add_argument(
        "--save-world", type=Path, metavar="PATH", help="also save the generated world here"
    )
    parser.add_argument("--n-users", type=int, default=2000, help="simulated users")
    parser.add_argument("--k", type=int, default=50, help="fork at the k-th consumed item")
    parser.add_argument("--slate-size", type=int, default=10, help="items per slate")
    parser.add_argument(
        "--horizon", type=int, default=1, help="slates observed after the fork (k+1..k+h)"
    )
    parser.add_argument(
        "--branches",
        default=",".join(DEFAULT_BRANCHES),
        help="comma-separated branch actions, reference first: long_dwell or skip, "
        "optionally +dislike / +like / +dismiss",
    )
    parser.add_argument(
        "--policy",
        choices=("random", "logit"),
        default="random",
        help="trajectory policy before the fork (the paper's is random)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="seed of the world (if generated), behaviour and bootstrap",
    )
    parser.add_argument(
        "--cohort-size", type=int, default=2000, help="users acting at the same simulated instants"
    )
    parser.add_argument(
        "--batch-window",
        type=number,
        default=0.0,
        help="simulated time over which the service batches requests",
    )
    parser.add_argument("--n-resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/responsiveness"), help="output folder"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    add_serving_arguments(parser)
    add_adapter_arg_options(parser)
    add_shard_arguments(parser)
    add_world_param_argument(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parse_with_config(parser, argv)


class MeasuredBefore(Exception):
    """An adapter failed; ``runs`` are the models measured before it."""

    def __init__(self, failure: Exception, model: str, runs: list) -> None:
        super().__init__(str(failure))
        self.failure, self.model, self.runs = failure, model, runs


def world_of(args: argparse.Namespace) -> AnyWorld:
    overrides = world_params(args)
    if args.world is not None:
        return load_world(args.world)
    world = World.default(args.seed, max(args.n_users, 1), overrides)
    if args.save_world is not None:
        world.save(args.save_world)
    return world


def adapter_texts(args: argparse.Namespace) -> list[str]:
    """The --adapter values (NAME=SPEC or SPEC), or the defaults when neither --adapter
    nor --checkpoint is given."""
    return args.adapter or ([] if args.checkpoint else list(DEFAULT_ADAPTERS))


def build_models(args: argparse.Namespace, world: AnyWorld, arguments) -> tuple[dict, dict]:
    """Adapters by name, and the spec each was built from (with ``arguments``'
    constructor keyword arguments)."""

    def build(spec: str):
        kwargs = arguments.get(spec.strip(), {})
        return build_adapter(spec, world, args.device, cache_bytes(args), kwargs)

    return named_specs(adapter_texts(args), args.checkpoint, build)


def measure_sharded(args, config, world, specs, arguments, bar, ci_bar) -> list | None:
    """The run in shards (resuming); the merged runs, or None while shards are missing.
    ``arguments``: spec -> adapter keyword arguments (:func:`adapter_kwargs`)."""
    done = measure_in_shards(
        world,
        specs,
        config,
        args.out / "shards",
        **shard_options(args),
        progress=bar.update,
        on_interval=ci_bar.update,
        arguments=model_arguments(specs, arguments),
    )
    report_shards(done, args)
    return done.runs


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the command line, also as an installed command (no __main__ block)
        exit_on_sigterm()
    args = parse_args(argv)
    try:
        config = ResponsivenessConfig(
            n_users=args.n_users,
            k=args.k,
            slate_size=args.slate_size,
            horizon=args.horizon,
            branches=tuple(b for b in args.branches.split(",") if b),
            seed=args.seed,
            policy=args.policy,
            cohort_size=args.cohort_size,
            batch_window=args.batch_window,
            n_resamples=args.n_resamples,
        )
        check_output_dir(args.out, args.overwrite)
        arguments = adapter_kwargs(args, measured_specs(adapter_texts(args), args.checkpoint))
        if args.save_world is not None:
            if args.world is not None:
                raise ValueError(
                    "--save-world saves the generated default world; with --world the world "
                    "is already a file"
                )
            if args.save_world.exists() and not args.overwrite:
                raise ValueError(
                    f"--save-world {args.save_world} already exists; pass --overwrite or choose "
                    "another path"
                )
        world = world_of(args)
        config.check_world(world)
        models, specs = build_models(args, world, arguments)
        sharded = is_sharded(args)
        start = time.perf_counter()
        runs = []
        with (
            tqdm(
                total=total_user_steps(config) * len(models),
                unit="user-step",
                disable=args.no_progress,
                desc="responsiveness",
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
            if sharded:
                runs = measure_sharded(args, config, world, specs, arguments, bar, ci_bar)
                if runs is None:
                    print(
                        f"shard {args.shard} written to {args.out / 'shards'}; the results "
                        f"follow when all {args.shard.split('/')[1]} are there (rerun with "
                        "--shards N to measure the rest and merge)"
                    )
                    return 0
            for name, adapter in models.items() if not sharded else ():
                try:
                    runs.append(
                        measure_responsiveness(
                            world,
                            adapter,
                            config,
                            name,
                            progress=bar.update,
                            on_interval=ci_bar.update,
                        )
                    )
                except AdapterError as failure:
                    raise MeasuredBefore(failure, name, runs) from None
        extra = {"command": args.command, "wall_seconds": time.perf_counter() - start}
        if arguments:
            extra["adapter_args"] = arguments
        if sharded:
            extra["shards"] = shard_record(args)
        paths = write_run(args.out, runs, config, world, extra=extra)
    except MeasuredBefore as stopped:
        # The models measured before the failing one keep their results, marked partial.
        if stopped.runs:
            extra = {
                "command": args.command,
                "failed": {"model": stopped.model, "error": str(stopped.failure)},
            }
            if arguments:
                extra["adapter_args"] = arguments
            write_run(args.out, stopped.runs, config, world, extra=extra)
            kept = f"; the {len(stopped.runs)} model(s) measured before it are in {args.out}"
        else:
            kept = ""
        print(f"error: {stopped.failure}{kept}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(summary_table(runs)))
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}")
    return 0


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(main())
