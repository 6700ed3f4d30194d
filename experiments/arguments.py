"""What every command line shares: one-line usage errors and checked seed arguments.

:class:`Parser` is an :class:`argparse.ArgumentParser` whose errors are one
line, ``error: argument --NAME: ...`` on stderr with exit code 2, the form
every other error of the commands takes (argparse's own adds the usage text
first). :func:`seed` is the ``type`` of every ``--*seed`` option: an integer in
[0, 2**63), the range the keyed random numbers accept; :func:`number` of every
real-valued option (finite: NaN and infinities are refused where they are typed,
not carried into a run or a JSON record); :func:`threads` of every ``--threads``;
:func:`device` of the measuring commands' ``--device``, which
:func:`add_serving_arguments` adds with the state cache options.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

SEED_LIMIT = 2**63


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``--help`` is unchanged)."""

    def error(self, message: str):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def seed(text: str) -> int:
    """An integer seed in [0, 2**63)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**63), got {value}")
    return value


def number(text: str) -> float:
    """A finite real number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


THREADS_PER_CORE = 4
"""The most torch threads a command takes per core: more only slows a run down, and
a huge count makes the OpenMP runtime abort while allocating its thread pool."""


def threads(text: str) -> int:
    """A torch thread count in [1, :data:`THREADS_PER_CORE` x this machine's cores]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    cores = os.cpu_count() or 1
    limit = THREADS_PER_CORE * cores
    if not 1 <= value <= limit:
        raise argparse.ArgumentTypeError(
            f"must be in [1, {limit}] ({THREADS_PER_CORE} per core of this machine's "
            f"{cores}), got {value}"
        )
    return value


def device(text: str) -> str:
    """A torch device this machine has (``recommenders.devices.check_device``)."""
    from recommenders.devices import check_device

    try:
        return check_device(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def mebibytes(text: str) -> int:
    """A positive whole number of MiB (``--cache-mib``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of MiB, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 MiB, got {value}")
    return value


def add_serving_arguments(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--cache-mib`` and ``--no-cache``: where checkpoints score, and their
    prefix state cache (read back with :func:`cache_bytes`)."""
    from recommenders.devices import DEFAULT_CACHE_BYTES

    parser.add_argument(
        "--device",
        type=device,
        default="cpu",
        help="torch device the checkpoints score on: cpu (default), cuda or cuda:N",
    )
    parser.add_argument(
        "--cache-mib",
        type=mebibytes,
        default=DEFAULT_CACHE_BYTES // 2**20,
        help="memory bound of each checkpoint's prefix state cache, which computes a history "
        "from its cached prefix one event at a time",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute every history in full at every step (the reference the cache equals)",
    )


def cache_bytes(args: argparse.Namespace) -> int | None:
    """The state cache bound :func:`add_serving_arguments` parsed; None for ``--no-cache``."""
    return None if args.no_cache else args.cache_mib * 2**20


def positive(text: str) -> int:
    """A whole number >= 1 (a count of shards or workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def shard(text: str) -> str:
    """``I/N``, the I-th of N shards (1-based); checked here, parsed by ``shard_count``."""
    from simulator.shards import ShardPlanError, parse_shard

    try:
        parse_shard(text)
    except ShardPlanError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--shard ")) from None
    return text


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit(143)``, so that a killed run unwinds like Ctrl-C:
    temporary files are removed and worker processes or a local Ray are stopped."""
    import signal

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def add_executor_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """``--executor``, ``--workers``, ``--ray-address``: where the run's ``what`` (its
    independent parts) run (simulator.executors)."""
    parser.add_argument(
        "--executor",
        choices=("local", "processes", "ray"),
        default="local",
        help=f"where {what} run: this process, --workers local processes, or Ray tasks "
        "(pip install -e '.[ray]')",
    )
    parser.add_argument(
        "--workers", type=positive, default=1, help="parallel workers of --executor processes/ray"
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="a running Ray cluster (e.g. ray://head:10001 or auto); default: a local Ray "
        "with --workers CPUs, started and stopped by the command",
    )


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    """``--shards``, ``--shard``, ``--executor``, ``--workers``, ``--ray-address``: a run
    split into user shards (simulator.responsiveness.shards), resumable, on an executor
    (simulator.executors)."""
    parser.add_argument(
        "--shards",
        type=positive,
        metavar="N",
        help="split the users into N contiguous shards, each written to --out/shards/ when "
        "it finishes; a rerun measures only the missing shards, then merges (the results "
        "of one unsharded run). Default: 1, or 4 per worker with --executor processes/ray",
    )
    parser.add_argument(
        "--shard",
        type=shard,
        metavar="I/N",
        help="measure only shard I of N (1-based), e.g. on one machine of several; the "
        "results are written when all N are in --out/shards/",
    )
    add_executor_arguments(parser, "shards")


def is_sharded(args: argparse.Namespace) -> bool:
    """Whether the run goes through shards: more than one, one of several, or any
    executor option (so that a misplaced ``--workers`` is an error, not ignored)."""
    return (
        shard_count(args) > 1
        or args.shard is not None
        or args.executor != "local"
        or args.workers != 1
        or args.ray_address is not None
    )


def shard_count(args: argparse.Namespace) -> int:
    """The run's shard count: ``--shard I/N``'s N, ``--shards``, or its default."""
    if args.shard is not None:
        return int(args.shard.partition("/")[2])
    if args.shards is not None:
        return args.shards
    return 1 if args.executor == "local" else max(1, min(4 * args.workers, args.n_users))


def shard_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of a sharded run (``measure_in_shards``,
    ``live_ab_in_shards``) from the command line: shard count, executor, ``--shard``,
    world file, device, cache and ``--overwrite``; one-line errors for bad ones."""
    from simulator.executors import make_executor
    from simulator.shards import parse_shard

    return {
        "n_shards": shard_count(args),
        "executor": make_executor(args.executor, args.workers, args.ray_address),
        "only": parse_shard(args.shard)[0] if args.shard else None,
        "world_file": args.world,
        "device": args.device,
        "cache_bytes": cache_bytes(args),
        "overwrite": args.overwrite,
    }


def report_shards(done, args: argparse.Namespace) -> None:
    """One stderr line: shards measured now, kept from an earlier run, where, how long."""
    print(
        f"shards: {len(done.measured)} measured, {len(done.kept)} kept from an earlier run "
        f"({args.executor}, {args.workers} worker(s), {done.wall_seconds:.1f} s)",
        file=sys.stderr,
    )
