"""Reading tables and checking their columns, with one-line errors naming the first bad row.

Rows in messages are counted from 0 over the table's data rows (a file's
header line is not a row), in the order of the source.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommenders.datasets.errors import DataError
from recommenders.history import Feedback
from recommenders.tables import read_frame


def read_table(path: str | Path, columns: list[str], **read_csv) -> pd.DataFrame:
    """Read the named ``columns`` of a .parquet file or a CSV (.csv, .csv.gz, ...).

    Only those columns are parsed (faster on wide files); a missing one raises
    DataError listing what the file has. ``read_csv`` goes to ``pd.read_csv``.
    """
    path = Path(path)
    wanted = set(columns)
    # A callable usecols never fails on absent names, so the check below can say which.
    frame = read_frame(path, DataError, usecols=lambda c: c in wanted, **read_csv)
    if any(c not in frame.columns for c in columns) and path.suffix != ".parquet":
        # Name every column the file has, not only the ones that were read.
        header = read_frame(path, DataError, nrows=0, **read_csv)
        require_columns(header, columns, str(path))
    require_columns(frame, columns, str(path))
    return frame[columns]


def show(value) -> str:
    """A cell value for a message: strings quoted, numpy scalars as plain numbers (3.5, nan)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def require_columns(frame: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {missing} (it has {[str(c) for c in frame.columns]})"
        )


def _first_na(series: pd.Series, column: str, source: str, what: str) -> None:
    na = series.isna().to_numpy()
    if na.any():
        raise DataError(
            f"{source}: column {column!r} is empty in row {int(np.argmax(na))} ({what})"
        )


def integers(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """The column as int64; DataError unless its dtype is integer and no value is missing."""
    series = frame[column]
    if pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series):
        _first_na(series, column, source, "needs an integer")  # nullable Int64 may hold NA
        if pd.api.types.is_unsigned_integer_dtype(series):
            # uint64 above 2**63 - 1 would wrap to a negative int64 (and sort first).
            values = series.to_numpy(np.uint64)
            big = values > np.uint64(np.iinfo(np.int64).max)
            if big.any():
                row = int(np.argmax(big))
                raise DataError(
                    f"{source}: column {column!r} has {values[row]} in row {row}, "
                    f"above the largest int64 ({np.iinfo(np.int64).max})"
                )
        return series.to_numpy(np.int64)
    # Not an integer dtype: point at the first value that is not a whole number.
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    if pd.api.types.is_bool_dtype(series) or not bad.any():
        raise DataError(
            f"{source}: column {column!r} must have an integer dtype, got {series.dtype} "
            f"(row 0 = {show(series.iloc[0])}); cast it to int64"
        )
    row = int(np.argmax(bad))
    raise DataError(
        f"{source}: column {column!r} must hold integers, got {show(series.iloc[row])} "
        f"in row {row} (dtype {series.dtype})"
    )


def numbers(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """The column as float64; DataError unless numeric (not bool) with no missing value."""
    series = frame[column]
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if not numeric:
        coerced = pd.to_numeric(series, errors="coerce")
        bad = coerced.isna().to_numpy()
        row = int(np.argmax(bad)) if bad.any() else 0
        raise DataError(
            f"{source}: column {column!r} must be numeric, got {show(series.iloc[row])} "
            f"in row {row} (dtype {series.dtype})"
        )
    _first_na(series, column, source, "needs a number")
    return series.to_numpy(np.float64)


def rating_values(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """A rating column: int64 when every value is a whole number (1..5 stars), else float64
    (half stars); DataError unless numeric with no missing value."""
    values = numbers(frame, column, source)
    whole = np.isfinite(values) & (values == np.round(values))
    return values.astype(np.int64) if whole.all() else values


def on_scale(values: np.ndarray, rule, column: str, source: str) -> None:
    """DataError naming the first rating between the steps of ``rule``'s scale (e.g. 2.5
    under a whole-star rule)."""
    where = (np.asarray(values, np.float64) - rule.min_rating) / rule.step
    off = np.abs(where - np.rint(where)) > 1e-9
    if off.any():
        row = int(np.argmax(off))
        raise DataError(
            f"{source}: column {column!r} has {show(values[row])} in row {row}, not on the "
            f"rating rule's scale {rule.min_rating}..{rule.max_rating} in steps of {rule.step} "
            "(half stars: a rule with min_rating 0.5 and step 0.5, on the command line "
            "--min-rating 0.5 --rating-step 0.5)"
        )


def in_range(
    values: np.ndarray, low: float, high: float, column: str, source: str, what: str = ""
) -> None:
    """DataError naming the first value outside ``[low, high]``."""
    bad = (values < low) | (values > high)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"{source}: column {column!r} has {values[row]} in row {row}, "
            f"outside [{low}, {high}]{what}"
        )


def order_keys(frame: pd.DataFrame, column: str, kind: str, source: str) -> np.ndarray:
    """Sortable int64 / float64 keys of an order column: a position or a timestamp.

    A position must be an integer. A timestamp may be numeric (e.g. Unix
    seconds) or datetime64 (compared as instants). Neither may be missing.
    """
    if kind == "position":
        return integers(frame, column, source)
    if kind != "timestamp":
        raise ValueError(f"order_kind must be 'position' or 'timestamp', got {kind!r}")
    series = frame[column]
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        _first_na(series, column, source, "needs a timestamp")
        return pd.DatetimeIndex(series).asi8
    return numbers(frame, column, source)


def feedback_codes(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """int64 Feedback codes from integer codes or member names (any case, e.g. "dislike")."""
    series = frame[column]
    if pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series):
        codes = integers(frame, column, source)
        in_range(codes, 0, len(Feedback) - 1, column, source, " (Feedback codes)")
        return codes
    names = {f.name: int(f) for f in Feedback}
    codes = series.astype("string").str.upper().map(names)
    bad = codes.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"{source}: column {column!r} has {show(series.iloc[row])} in row {row}, "
            f"not a Feedback code 0..{len(Feedback) - 1} or name {sorted(names)}"
        )
    return codes.to_numpy(np.int64)
