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
