#!/usr/bin/env python3
"""Generate interaction logs from a synthetic world for training recommenders.

Users of the world consume --n-steps items each, choosing from the logging
recommender's slates with a utility-driven multinomial logit; dwell and
feedback come from the agents' response model. Writes into --out:
world.npz (the world), interactions.csv.gz (user, position, item, feedback,
dwell) and logs.json (config, world fingerprint, feedback shares, wall time),
written last with each file's SHA-256: a folder without it did not finish.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from experiments.arguments import (
    Parser,
    add_world_param_argument,
    number,
    parse_with_config,
    seed,
    world_params,
)
from recommenders import Feedback
from recommenders.atomic import atomic_write_csv
from simulator import World
from simulator.logs import LOGGING_POLICIES, LOGS_FILES, LogConfig, continuity, make_logs
from simulator.records import begin_results, check_output_dir, finish_results, world_record
from simulator.world import load_world


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=Path, help="world file; default: generate one from --seed")
    parser.add_argument(
        "--seed", type=seed, default=0, help="world seed when generating (default 0)"
    )
    parser.add_argument(
        "--log-seed", type=seed, default=1, help="seed of the logged behaviour (default 1)"
    )
    parser.add_argument("--n-users", type=int, default=5000, help="logged users (default 5000)")
    parser.add_argument(
        "--n-steps", type=int, default=100, help="items consumed per user (default 100)"
    )
    parser.add_argument(
        "--logging",
        choices=LOGGING_POLICIES,
        default="mixture",
        help="logging recommender (default: mixture of similar, random and popularity)",
    )
    parser.add_argument(
        "--similar",
        type=number,
        default=0.5,
        help="share of content-based 'more like this' slates in the mixture (default 0.5)",
    )
    parser.add_argument(
        "--explore",
        type=number,
        default=0.25,
        help="share of uniform random slates in the mixture (default 0.25)",
    )
    parser.add_argument(
        "--slate-size", type=int, default=10, help="items per logged slate (default 10)"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/logs"), help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace logs already in --out")
    add_world_param_argument(parser)
    args = parse_with_config(parser, argv)
    try:
        config = LogConfig(
            n_users=args.n_users,
            n_steps=args.n_steps,
            logging=args.logging,
            explore=args.explore,
            similar=args.similar,
            slate_size=args.slate_size,
            seed=args.log_seed,
        )
        overrides = world_params(args)  # refused with --world before anything is written
        check_output_dir(args.out, args.overwrite, LOGS_FILES)
        if args.world is not None:
            world = load_world(args.world)
        else:
            world = World.default(args.seed, args.n_users, overrides)
        start = time.perf_counter()
        log = make_logs(world, config)
        seconds = time.perf_counter() - start
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    begin_results(args.out, "logs.json")  # the manifest: removed first, written last
    world.save(args.out / "world.npz")
    atomic_write_csv(args.out / "interactions.csv.gz", log)
    shares = log["feedback"].value_counts(normalize=True).sort_index()
    table = continuity(log, world)
    record = {
        "command": args.command,
        "config": config.to_dict(),
        "world": world_record(world),
        "rows": len(log),
        "feedback_share": {Feedback(int(k)).name: float(v) for k, v in shares.items()},
        "continuity": table.to_dict("records"),
        "wall_seconds": seconds,
    }
    files = [args.out / "world.npz", args.out / "interactions.csv.gz"]
    finish_results(args.out, "logs.json", record, files)
    print(f"{len(log):,} events from {config.n_users:,} users in {seconds:.1f} s; feedback shares:")
    for name, share in record["feedback_share"].items():
        print(f"  {name:>9}: {share:.3f}")
    print("next event after each feedback (same user):")
    print(table.to_string(index=False, float_format="%.3f"))
    print(f"wrote {args.out}/world.npz, interactions.csv.gz, logs.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
