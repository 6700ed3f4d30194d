"""Checks on what an adapter returns. Nothing is clipped or repaired.

Every error is a ``ValueError`` subclass whose one-line message names the
adapter, the row and the bad value.
"""

from __future__ import annotations

import numpy as np


class AdapterError(ValueError):
    """An adapter returned something that breaks the contract."""


class InvalidSlateError(AdapterError):
    """A slate has the wrong shape, dtype, an id out of range, a duplicate or a NaN."""


class InvalidScoresError(AdapterError):
    """A scoring adapter produced NaN scores or scores of the wrong shape."""


class SlateSizeError(AdapterError):
    """A slate cannot be filled: too few recommendable items for the requested size."""


class AdapterFailure(AdapterError):
    """An adapter's ``recommend`` raised (or called ``sys.exit``): the run cannot go on."""


class Terminated(SystemExit):
    """The process was asked to stop from outside (a signal such as SIGTERM), whatever
    it was running at the time; its code is the shell's ``128 + signal number``."""


def call_recommend(adapter, histories, slate_size: int) -> object:
    """``adapter.recommend(histories, slate_size)``, with whatever it raises, ``SystemExit``
    included, turned into a one-line :class:`AdapterFailure` naming the adapter.

    A contract error (:class:`AdapterError`) passes through unchanged;
    ``KeyboardInterrupt`` and :class:`Terminated` (a signal that happened to arrive
    during the call, not the adapter's doing) are left alone so a run can be stopped.
    """
    try:
        return adapter.recommend(histories, slate_size)
    except (AdapterError, Terminated):
        raise
    except (Exception, SystemExit) as failure:
        name = getattr(adapter, "name", type(adapter).__name__)
        text = str(failure).strip().splitlines()
        detail = f": {text[0]}" if text else ""
        raise AdapterFailure(
            f"adapter {name}: recommend raised {type(failure).__name__}{detail}"
        ) from failure


def validate_slates(
    slates: object, n_rows: int, slate_size: int, n_items: int, adapter: str
) -> np.ndarray:
    """Return ``slates`` as an int64 array after checking the whole contract.

    Checks, in order: ndarray, no NaN, integer dtype, shape
    ``(n_rows, slate_size)``, every id in ``[0, n_items)``, no duplicate id
    within a row. Cost O(n_rows * slate_size * log slate_size).

    Raises:
        InvalidSlateError: naming ``adapter``, the first bad row and value.
    """
    if not isinstance(slates, np.ndarray):
        raise InvalidSlateError(
            f"{adapter}.recommend returned {type(slates).__name__}, expected a numpy ndarray"
        )
    if slates.dtype.kind in "fc":
        bad = np.argwhere(np.isnan(slates))
        if bad.size:
            row = bad[0][0] if slates.ndim > 1 else 0
            raise InvalidSlateError(f"{adapter}.recommend returned NaN in row {row}")
    if slates.dtype.kind not in "iu":
        raise InvalidSlateError(
            f"{adapter}.recommend returned dtype {slates.dtype}, expected an integer dtype"
        )
    if slates.shape != (n_rows, slate_size):
        raise InvalidSlateError(
            f"{adapter}.recommend returned shape {slates.shape}, expected ({n_rows}, {slate_size})"
        )
    out_of_range = (slates < 0) | (slates >= n_items)
    if out_of_range.any():
        row, col = np.argwhere(out_of_range)[0]
        raise InvalidSlateError(
            f"{adapter}.recommend returned item id {slates[row, col]} in row {row}, "
            f"outside [0, {n_items})"
        )
    ordered = np.sort(slates, axis=1)
    repeated = ordered[:, 1:] == ordered[:, :-1]
    if repeated.any():
        row, col = np.argwhere(repeated)[0]
        raise InvalidSlateError(
            f"{adapter}.recommend returned item id {ordered[row, col]} twice in row {row}"
        )
    return slates.astype(np.int64, copy=False)
