"""The one error type of the real-data loaders."""

from __future__ import annotations

from recommenders.sequences import LogError


class DataError(LogError):
    """A data set on disk (or a table passed in) is malformed; the message is one line.

    The message names the source (file or table), the column and the first
    offending row, counted from 0 over data rows (a header line is not a row).
    It is a :class:`~recommenders.sequences.LogError`, hence a ``ValueError``, so
    code that catches malformed logs catches malformed data sets too.
    """
