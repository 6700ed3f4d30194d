"""What every command line shares: one-line usage errors and checked seed arguments.

:class:`Parser` is an :class:`argparse.ArgumentParser` whose errors are one
line, ``error: argument --NAME: ...`` on stderr with exit code 2, the form
every other error of the commands takes (argparse's own adds the usage text
first). :func:`seed` is the ``type`` of every ``--*seed`` option: an integer in
[0, 2**63), the range the keyed random numbers accept.
"""

from __future__ import annotations

import argparse
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
