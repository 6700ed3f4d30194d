"""The generic loader: an interaction table (and optional item table) to InteractionData.

Every check raises a one-line :class:`DataError` naming the source, the column
and the first offending row; nothing is dropped, clipped or repaired.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommenders.datasets.columns import (
    feedback_codes,
    in_range,
    integers,
    numbers,
    on_scale,
    order_keys,
    rating_values,
    read_table,
    require_columns,
)
from recommenders.datasets.errors import DataError
from recommenders.datasets.interactions import InteractionData
from recommenders.datasets.items import ItemTable, build_items
from recommenders.datasets.rules import RatingRule
from recommenders.sequences import validate_log

Table = str | Path | pd.DataFrame


def load_interactions(
    interactions: Table,
    *,
    user: str = "user",
    order: str = "position",
    order_kind: str = "position",
    item: str = "item",
    rating: str | None = None,
    feedback: str | None = None,
    dwell: str | None = None,
    rule: RatingRule | None = None,
    items: Table | None = None,
    item_id: str = "item",
    clusters: str | None = "clusters",
    cluster_sep: str = "|",
    creator: str | None = None,
    creator_name: str | None = None,
    title: str | None = None,
    name: str | None = None,
    read_csv: dict | None = None,
) -> InteractionData:
    """Load an interaction table, and optionally an item table, from files or frames.

    A path is read as parquet when it ends in ``.parquet``, else as CSV with a
    header (``.csv.gz`` and other compressions by suffix); only the named
    columns are read. Column names are the caller's:

    * ``user``, ``item``: integer original ids. Dense ids number them in
      ascending order (``InteractionData.user_ids`` / ``item_ids`` map back).
    * ``order``: a ``position`` (``order_kind="position"``: integers, unique
      within a user) or a ``timestamp`` (``order_kind="timestamp"``: numbers,
      e.g. Unix seconds, or datetime64; ties allowed). Events are sorted by it
      within each user, **ties broken by input order** (a stable sort: rows
      with equal timestamps keep their file order), and renumbered to
      positions 0..len-1.
    * ``rating``: numeric ratings, mapped to feedback codes by ``rule``
      (default :class:`RatingRule`: whole stars 1..5, <= 2 DISLIKE, 3 SKIP,
      >= 4 POSITIVE; half stars need ``RatingRule(min_rating=0.5, step=0.5)``)
      and kept as the log's ``rating`` column (int64 when every rating is a
      whole number, else float64). A rating off the rule's scale is an error.
    * ``feedback``: Feedback codes (0..4) or names ("DISLIKE", any case). Given
      with ``rating``, it is the feedback and ``rating`` only rides along.
    * ``dwell``: numbers in [0, 1] (fraction of the item watched). Without it
      every row gets dwell 1.0, so LabelRule's dwell threshold keeps positives.

    With ``items`` (one row per item): ``item_id`` is the integer id column,
    ``clusters`` the content clusters ("Comedy|Drama" split on ``cluster_sep``,
    listed order kept, the first is the primary; or lists; or one integer per
    item; None for none), ``creator`` the creator key column (missing = -1),
    ``creator_name`` display names, ``title`` titles. Items of the table that
    no one interacted with are kept (the catalogue), an interaction with an
    item outside the table is an error. Without ``items`` the catalogue is the
    items seen, with no clusters and creator -1. ``read_csv`` goes to
    ``pandas.read_csv`` for both tables (e.g. ``{"sep": "\\t"}``).

    Raises:
        DataError: a column is missing or of the wrong type, a value is
            missing or out of range (ratings outside the rule's range, dwell
            outside [0, 1], feedback codes), a (user, position) pair repeats,
            an item id repeats in the item table or is not in it.
    """
    columns = [c for c in (user, order, item, rating, feedback, dwell) if c is not None]
    if rating is None and feedback is None:
        raise ValueError("load_interactions needs rating= or feedback= (a column name)")
    if order_kind not in ("position", "timestamp"):
        raise ValueError(f"order_kind must be 'position' or 'timestamp', got {order_kind!r}")
    read_csv = {} if read_csv is None else read_csv
    frame, source = _table(interactions, columns, "interactions", read_csv)
    if name is None:
        name = source if isinstance(interactions, pd.DataFrame) else _stem(Path(interactions))
    table = None
    if items is not None:
        item_columns = [c for c in (item_id, clusters, creator, creator_name, title) if c]
        item_frame, item_source = _table(items, item_columns, "items", read_csv)
        table = build_items(
            item_frame,
            item_source,
            item_id=item_id,
            clusters=clusters,
            cluster_sep=cluster_sep,
            creator=creator,
            creator_name=creator_name,
            title=title,
        )
    return assemble(
        frame,
        source,
        name,
        table,
        user=user,
        order=order,
        order_kind=order_kind,
        item=item,
        rating=rating,
        feedback=feedback,
        dwell=dwell,
        rule=rule,
    )


def assemble(
    frame: pd.DataFrame,
    source: str,
    name: str,
    table: ItemTable | None,
    *,
    user: str,
    order: str,
    order_kind: str,
    item: str,
    rating: str | None,
    feedback: str | None,
    dwell: str | None,
    rule: RatingRule | None,
) -> InteractionData:
    """Check an in-memory interaction table and build the dense-id InteractionData."""
    columns = [c for c in (user, order, item, rating, feedback, dwell) if c is not None]
    require_columns(frame, columns, source)
    if not len(frame):
        raise DataError(f"{source}: no interactions (the table has no rows)")
    users = integers(frame, user, source)
    items = integers(frame, item, source)
    keys = order_keys(frame, order, order_kind, source)
    ratings = None if rating is None else rating_values(frame, rating, source)
    if feedback is not None:
        codes = feedback_codes(frame, feedback, source)
        rule = None
    else:
        rule = RatingRule() if rule is None else rule
        # Steps first: half stars under a whole-star rule are named as such, wherever they sit.
        on_scale(ratings, rule, rating, source)
        in_range(ratings, rule.min_rating, rule.max_rating, rating, source, " (the rating rule)")
        codes = rule.feedback(ratings)
    if dwell is None:
        dwells = np.ones(len(frame))
    else:
        dwells = numbers(frame, dwell, source)
        in_range(dwells, 0.0, 1.0, dwell, source)

    user_codes, user_ids = pd.factorize(users, sort=True)
    if table is None:
        item_codes, item_ids = pd.factorize(items, sort=True)
        table = ItemTable.bare(np.asarray(item_ids, np.int64))
    else:
        item_codes = _dense_items(items, table.item_ids, item, source)

    # Two stable sorts: by order key, then by user. Equal keys keep input order.
    rows = np.argsort(keys, kind="stable")
    rows = rows[np.argsort(user_codes[rows], kind="stable")]
    sorted_users, sorted_keys = user_codes[rows], keys[rows]
    if order_kind == "position":
        same = (sorted_users[1:] == sorted_users[:-1]) & (sorted_keys[1:] == sorted_keys[:-1])
        if same.any():
            # Rows of a repeated pair are adjacent, earlier input row first (stable sort).
            later = rows[1:][same]
            row = int(later.min())
            first = int(rows[:-1][same][np.argmin(later)])
            raise DataError(
                f"{source}: duplicate ({user}, {order}) = ({users[row]}, {keys[row]}) "
                f"in row {row} (first in row {first})"
            )
    counts = np.bincount(sorted_users, minlength=len(user_ids))
    positions = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)

    log = pd.DataFrame(
        {
            "user": sorted_users.astype(np.int64),
            "position": positions.astype(np.int64),
            "item": item_codes[rows].astype(np.int64),
            "feedback": codes[rows],
            "dwell": dwells[rows],
        }
    )
    if ratings is not None:
        log["rating"] = ratings[rows]
    # The checks above make this pass; it stays as the contract's guard (about 0.1 s on ML-1M).
    log = validate_log(log, len(table.item_ids), source)
    return InteractionData(
        name=name,
        log=log,
        items=table.frame,
        cluster_names=table.cluster_names,
        creator_names=table.creator_names,
        user_ids=np.asarray(user_ids, np.int64),
        item_ids=table.item_ids,
        rule=rule,
    )


def _dense_items(items: np.ndarray, known: np.ndarray, column: str, source: str) -> np.ndarray:
    dense = np.searchsorted(known, items)
    found = known[np.minimum(dense, len(known) - 1)] if len(known) else np.full(len(items), -1)
    unknown = (dense >= len(known)) | (found != items)
    if unknown.any():
        row = int(np.argmax(unknown))
        raise DataError(
            f"{source}: column {column!r} has item {items[row]} in row {row}, "
            "which is not in the item table"
        )
    return dense.astype(np.int64)


def _table(
    table: Table, columns: list[str], label: str, read_csv: dict
) -> tuple[pd.DataFrame, str]:
    if isinstance(table, pd.DataFrame):
        return table, f"{label} table"
    return read_table(table, columns, **read_csv), str(table)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".bz2", ".xz", ".zip", ".zst", ".csv", ".parquet"):
        name = name.removesuffix(suffix)
    return name
