"""What every command line shares: one-line usage errors and checked seed arguments.

:class:`Parser` is an :class:`argparse.ArgumentParser` whose errors are one
line, ``error: argument --NAME: ...`` on stderr with exit code 2, the form
every other error of the commands takes (argparse's own adds the usage text
first). :func:`seed` is the ``type`` of every ``--*seed`` option: an integer in
[0, 2**63), the range the keyed random numbers accept; :func:`number` of every
real-valued option (finite: NaN and infinities are refused where they are typed,
not carried into a run or a JSON record); :func:`threads` of every ``--threads``;
:func:`device` of the measuring commands' ``--device``.
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
