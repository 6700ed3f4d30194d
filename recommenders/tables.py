"""Reading a table file (.parquet, or CSV possibly compressed) with one-line errors.

One reader for interaction logs (:func:`recommenders.sequences.read_log`) and
interaction tables (:func:`recommenders.datasets.columns.read_table`): a
missing, empty, truncated, undecodable or malformed file is an error of the
caller's type naming the file, never a parser traceback.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

_UNREADABLE = (
    EOFError,
    UnicodeDecodeError,
    pd.errors.EmptyDataError,
    pd.errors.ParserError,
    gzip.BadGzipFile,
    zlib.error,
    OSError,
    ValueError,
)


def read_frame(
    path: str | Path,
    error: Callable[[str], Exception],
    usecols: Callable[[str], bool] | None = None,
    **read_csv,
) -> pd.DataFrame:
    """The table in ``path``; ``error(message)`` is raised (one line, naming the file) when it
    is missing or cannot be read. ``usecols`` and ``read_csv`` go to ``pd.read_csv``."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path} not found")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, usecols=usecols, **read_csv)
    except ImportError:
        raise error(f"reading {path} needs a parquet engine: pip install pyarrow") from None
    except pd.errors.EmptyDataError:
        raise error(f"{path} is empty: no header and no rows") from None
    except UnicodeDecodeError as failure:
        raise error(
            f"{path} is not UTF-8 text (it holds the byte {failure.object[failure.start]:#x}, "
            "which UTF-8 cannot decode); convert it to UTF-8"
        ) from None
    except _UNREADABLE as failure:
        first = str(failure).strip().splitlines()[0] if str(failure).strip() else ""
        raise error(
            f"{path} cannot be read ({type(failure).__name__}: {first}); truncated or corrupt?"
        ) from None
