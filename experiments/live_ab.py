#!/usr/bin/env python3
"""Simulate a live A/B test: the same synthetic users served by one recommender per arm.

Closed loop of Wang et al. (RecSys 2023, section 3): every simulated day each
returning user runs a session, choosing from the arm's slates with a
multinomial logit until choosing nothing; whether they come back depends on
how the last session went. Reports, per arm and relative to the baseline
arm, dislike rate, repeated dislikes on the same creator, skip rate,
repeated skips, enjoyment, diversity, items consumed, daily active users and
churn, per day and pooled, with paired bootstrap 95% CIs. Writes
live_ab_daily.csv, live_ab_summary.csv, live_ab_users.csv.gz, live_ab.json
and live_ab.png / .pdf into --out.

Example:
    python experiments/live_ab.py --world runs/logs/world.npz \\
        --arm baseline=checkpoint:runs/models/gru-baseline \\
        --arm dislike_feature_label=checkpoint:runs/models/gru-dislike_feature_label \\
        --arm exclude=filter:checkpoint:runs/models/gru-baseline --out runs/live_ab
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from experiments import published
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
    shard_count,
    shard_options,
    shard_record,
    threads,
    world_params,
)
from simulator import World
from simulator.adapter_specs import WORLD_BUILTINS, build_adapter
from simulator.live_ab.output import check_live_output_dir, format_summary, write_live_ab
from simulator.live_ab.shards import live_ab_in_shards
from simulator.live_ab.simulation import LiveABConfig, run_live_ab
from simulator.world import load_world

DEFAULT_ARMS = ("baseline=popularity", "filter=filter:popularity")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = Parser.from_doc(__doc__)
    parser.add_argument(
        "--arm",
        action="append",
        metavar="NAME=SPEC",
        help="an arm: its name and the recommender serving it; repeat for each arm. SPEC as "
        f"for responsiveness.py: {', '.join(sorted(WORLD_BUILTINS))}, filter:SPEC, "
        "filter-cluster:SPEC, checkpoint:PATH, http://HOST:PORT/PATH or package.module:Class "
        "(keyword arguments: --adapter-arg SPEC key=value). "
        f"Default: {' '.join(DEFAULT_ARMS)}",
    )
    parser.add_argument(
        "--world", type=Path, help="world file (.npz); default: World.default(--world-seed)"
    )
    parser.add_argument(
        "--world-seed", type=seed, default=0, help="seed of the default world (without --world)"
    )
    parser.add_argument("--n-users", type=int, default=2000, help="users in every arm")
    parser.add_argument("--days", type=int, default=14, help="simulated days")
    parser.add_argument("--max-session", type=int, default=20, help="most items per session")
    parser.add_argument("--slate-size", type=int, default=10, help="items per slate")
    parser.add_argument(
        "--no-choice-utility",
        type=number,
        default=LiveABConfig.no_choice_utility,
        help="utility of leaving the session (higher: shorter sessions)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of behaviour and bootstrap")
    parser.add_argument("--baseline", default="baseline", help="arm the others are compared with")
    parser.add_argument("--n-resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--out", type=Path, default=Path("runs/live_ab"), help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    parser.add_argument(
        "--threads",
        type=threads,
        help="torch intra-op threads for checkpoint arms (default: torch's own); the loop "
        "sends many mid-sized batches, and on a shared machine 1 avoids oversubscription",
    )
    add_serving_arguments(parser)
    add_adapter_arg_options(parser)
    add_shard_arguments(parser)
    add_world_param_argument(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parse_with_config(parser, argv)


def parse_arms(values: list[str] | None) -> dict[str, str]:
    """``NAME=SPEC`` strings -> {name: spec}, in order; one-line ValueError if malformed."""
    arms: dict[str, str] = {}
    for value in values or DEFAULT_ARMS:
        name, sep, spec = value.partition("=")
        name, spec = name.strip(), spec.strip()
        if not sep or not name or not spec:
            raise ValueError(f"--arm must be NAME=SPEC, got {value!r}")
        if name in arms:
            raise ValueError(f"arm {name!r} is named twice")
        arms[name] = spec
    return arms


def run_sharded(
    args: argparse.Namespace, world, specs: dict, arguments: dict, config: LiveABConfig
):
    """The test in user shards under --out/shards (resuming); None while shards are missing.
    ``arguments``: spec -> adapter keyword arguments (:func:`adapter_kwargs`)."""
    with tqdm(
        total=config.n_users * config.n_days * len(specs),
        unit="user-day",
        desc="live A/B",
        disable=args.no_progress,
        file=sys.stderr,
    ) as bar:
        done = live_ab_in_shards(
            world,
            specs,
            config,
            args.out / "shards",
            **shard_options(args),
            progress=bar.update,
            reference=published.LIVE_AB,
            arguments=model_arguments(specs, arguments),
        )
    report_shards(done, args)
    return done.runs


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the command line, also as an installed command (no __main__ block)
        exit_on_sigterm()
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        specs = parse_arms(args.arm)
        config = LiveABConfig(
            n_users=args.n_users,
            n_days=args.days,
            max_session=args.max_session,
            slate_size=args.slate_size,
            seed=args.seed,
            no_choice_utility=args.no_choice_utility,
            baseline=args.baseline,
            n_resamples=args.n_resamples,
        )
        if config.baseline not in specs:
            raise ValueError(f"baseline arm {config.baseline!r} is not among --arm {list(specs)}")
        check_live_output_dir(args.out, args.overwrite)
        arguments = adapter_kwargs(args, specs.values())
        if args.threads is not None:
            import torch  # only here: built-in arms run without torch

            torch.set_num_threads(args.threads)
        overrides = world_params(args)  # refused with --world before anything is built
        world = (
            load_world(args.world)
            if args.world is not None
            else World.default(args.world_seed, max(args.n_users, 2), overrides)
        )
        config.check_world(world)
        arms = {
            name: build_adapter(
                spec, world, args.device, cache_bytes(args), arguments.get(spec.strip(), {})
            )
            for name, spec in specs.items()
        }
        if is_sharded(args):
            result = run_sharded(args, world, specs, arguments, config)
            if result is None:
                print(
                    f"shard {args.shard} written to {args.out / 'shards'}; the results follow "
                    f"when all {shard_count(args)} are there (rerun with --shards "
                    f"{shard_count(args)} to run the rest and merge)"
                )
                return 0
        else:
            result = run_live_ab(
                world, arms, config, progress=not args.no_progress, reference=published.LIVE_AB
            )
        paths = write_live_ab(
            args.out,
            result,
            world,
            specs,
            # run_live_ab's wall time excludes loading the world and the models.
            extra={
                "command": args.command,
                "total_wall_seconds": time.perf_counter() - start,
                **({"adapter_args": arguments} if arguments else {}),
                **({"shards": shard_record(args)} if is_sharded(args) else {}),
            },
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_summary(result.summary))
    print(f"\nwall time {result.wall_seconds:.1f} s")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(main())
