#!/usr/bin/env python3
"""Serve a recommender over HTTP, as the JSON of docs/serving.md.

An example service for HttpAdapter audits: any adapter spec (as for
responsiveness.py) built against a world, answering POST /recommend on the
standard library's ThreadingHTTPServer (recommenders.serving). Prints the URL on
one line of stdout, then serves until Ctrl-C or SIGTERM. Binds 127.0.0.1 by
default: the service has no authentication.

Example:
    python experiments/serve_example.py --adapter popularity --port 8123 &
    python experiments/responsiveness.py --adapter http://127.0.0.1:8123/recommend \\
        --out runs/served
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.arguments import (
    Parser,
    adapter_kwargs,
    add_adapter_arg_options,
    add_serving_arguments,
    cache_bytes,
    exit_on_sigterm,
    seed,
)
from recommenders.serving import RecommenderServer
from simulator import World
from simulator.adapter_specs import ItemKNNLogs, build_adapter
from simulator.world import load_world


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = Parser.from_doc(__doc__)
    parser.add_argument(
        "--adapter",
        metavar="SPEC",
        help="the recommender served, a spec as for responsiveness.py (default: popularity)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        metavar="PATH",
        help="serve this trained model (checkpoint:PATH) instead of --adapter",
    )
    parser.add_argument(
        "--world",
        type=Path,
        help="world file (.npz) the adapter is built against; default: the embedded "
        "synthetic world of --seed (the one responsiveness.py generates)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of the default world")
    parser.add_argument(
        "--n-users",
        type=int,
        default=ItemKNNLogs.n_users,
        help="population of the default world (its catalogue does not depend on it; a "
        "checkpoint trained on it does: its fingerprint covers the population)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (127.0.0.1: this machine)"
    )
    parser.add_argument("--port", type=int, default=8123, help="TCP port; 0 picks a free one")
    add_serving_arguments(parser)
    add_adapter_arg_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the command line, also as an installed command (no __main__ block)
        exit_on_sigterm()
    args = parse_args(argv)
    try:
        if args.adapter is not None and args.checkpoint is not None:
            raise ValueError("serve either --adapter or --checkpoint, not both")
        if not 0 <= args.port <= 65535:
            raise ValueError(f"--port must be in [0, 65535], got {args.port}")
        if args.n_users < 1:
            raise ValueError(f"--n-users must be >= 1, got {args.n_users}")
        spec = f"checkpoint:{args.checkpoint}" if args.checkpoint else args.adapter or "popularity"
        arguments = adapter_kwargs(args, [spec])
        world = (
            load_world(args.world)
            if args.world is not None
            else World.default(args.seed, args.n_users)
        )
        kwargs = arguments.get(spec.strip(), {})
        adapter = build_adapter(spec, world, args.device, cache_bytes(args), kwargs)
        try:
            server = RecommenderServer(adapter, world.corpus.n_items, args.host, args.port)
        except OSError as error:  # port taken, no such interface
            raise ValueError(f"cannot listen on {args.host}:{args.port} ({error})") from None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        with server:  # leaving it, also by a signal, closes the socket
            print(server.url, flush=True)
            server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        # Ctrl-C, or SIGTERM (exit_on_sigterm raises Terminated, a SystemExit): the ways
        # a service is stopped, so a clean exit, also when the signal comes before serving.
        pass
    return 0


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(main())
