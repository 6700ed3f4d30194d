"""Item metadata: original ids, multi-valued content clusters (genres) and creators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommenders.datasets.columns import integers, require_columns, show
from recommenders.datasets.errors import DataError


@dataclass(frozen=True, eq=False)
class ItemTable:
    """Items sorted by original id; row i is dense item i (see ``InteractionData.items``)."""

    frame: pd.DataFrame
    item_ids: np.ndarray
    cluster_names: tuple[str, ...]
    creator_names: tuple[str, ...]

    @classmethod
    def bare(cls, item_ids: np.ndarray) -> ItemTable:
        """Items known only by id (no item table given): no clusters, creator -1."""
        return assemble_items(item_ids, np.zeros(0, np.int64), np.zeros(0, np.int64), (), "items")


def build_items(
    table: pd.DataFrame,
    source: str,
    *,
    item_id: str,
    clusters: str | None,
    cluster_sep: str,
    creator: str | None,
    creator_name: str | None,
    title: str | None,
) -> ItemTable:
    """The item table of a frame with one row per item.

    ``clusters`` names a column of ``cluster_sep``-separated names ("Comedy|Drama",
    listed order kept, first = primary; empty or missing = no cluster), of
    list-likes of names, or of integers (one cluster per item). Cluster ids
    number the names in sorted order. ``creator`` names a column of keys (any
    type; missing = unknown = -1), numbered in sorted order; ``creator_name`` an
    optional column of display names, one per key.
    """
    columns = [c for c in (item_id, clusters, creator, creator_name, title) if c is not None]
    require_columns(table, columns, source)
    original = integers(table, item_id, source)
    if clusters is None:
        rows, names = np.zeros(0, np.int64), pd.Series([], dtype=object)
    else:
        rows, names = _memberships(table[clusters], clusters, cluster_sep, source)
    if pd.api.types.is_integer_dtype(names):
        vocabulary = np.unique(names.to_numpy())
        ids = np.searchsorted(vocabulary, names.to_numpy())
        vocabulary = tuple(str(v) for v in vocabulary)
    else:
        vocabulary = tuple(sorted(set(names)))
        ids = pd.Index(vocabulary).get_indexer(names)
    return assemble_items(
        original,
        rows,
        ids,
        vocabulary,
        source,
        creator=None if creator is None else table[creator],
        creator_name=None if creator_name is None else table[creator_name],
        title=None if title is None else table[title],
    )


def _memberships(
    values: pd.Series, column: str, sep: str, source: str
) -> tuple[np.ndarray, pd.Series]:
    """(row, cluster name) pairs, in row order and listed order within a row."""
    values = values.reset_index(drop=True)
    present = values.notna().to_numpy()
    if pd.api.types.is_integer_dtype(values):  # one cluster id per item (NA: none)
        return np.flatnonzero(present).astype(np.int64), values[present].reset_index(drop=True)
    kept = values[present]
    is_text = kept.map(lambda v: isinstance(v, str)).to_numpy(bool)
    if is_text.all():
        # An empty or missing cell means "no cluster".
        split = values.map(lambda v: v.split(sep) if isinstance(v, str) and v else [])
    elif kept.map(pd.api.types.is_list_like).all():
        split = values.map(lambda v: v if pd.api.types.is_list_like(v) else [])
    else:
        row = int(np.flatnonzero(present)[np.argmax(~is_text)])
        raise DataError(
            f"{source}: column {column!r} has {show(values[row])} in row {row}: give "
            f"'{sep}'-separated names, lists of names or integer cluster ids"
        )
    pairs = split.explode().dropna()  # an empty list explodes to one NaN: "no cluster"
    names = pairs.astype(str)
    bad = (names == "").to_numpy()
    if bad.any():
        row = int(pairs.index[np.argmax(bad)])
        raise DataError(
            f"{source}: column {column!r} has an empty cluster name in row {row} "
            f"({show(values[row])})"
        )
    repeated = pd.DataFrame({"row": pairs.index, "name": names.to_numpy()}).duplicated()
    if repeated.any():
        row = int(pairs.index[np.argmax(repeated.to_numpy())])
        raise DataError(
            f"{source}: column {column!r} lists a cluster twice in row {row} ({show(values[row])})"
        )
    return pairs.index.to_numpy(np.int64), names.reset_index(drop=True)


def assemble_items(
    original: np.ndarray,
    member_rows: np.ndarray,
    member_clusters: np.ndarray,
    cluster_names: tuple[str, ...],
    source: str,
    *,
    creator: pd.Series | None = None,
    creator_name: pd.Series | None = None,
    title: pd.Series | None = None,
) -> ItemTable:
    """An ItemTable from per-row ids and (row, cluster id) memberships in listed order.

    Row r of the inputs describes item ``original[r]``; rows need not be sorted.
    The first membership listed for a row is its primary cluster.
    """
    original = np.asarray(original, np.int64)
    order = np.argsort(original, kind="stable")
    ids = original[order]
    repeated = np.flatnonzero(ids[1:] == ids[:-1])
    if repeated.size:
        first = ids[repeated[0]]
        rows = np.flatnonzero(original == first)
        raise DataError(f"{source}: item id {first} appears twice, in rows {rows[0]} and {rows[1]}")
    dense_of_row = np.empty(len(original), np.int64)
    dense_of_row[order] = np.arange(len(original))

    # Group memberships by dense item, keeping the listed order within an item.
    member_items = dense_of_row[np.asarray(member_rows, np.int64)]
    member_clusters = np.asarray(member_clusters, np.int64)
    by_item = np.argsort(member_items, kind="stable")
    counts = np.bincount(member_items, minlength=len(ids))
    groups = np.split(member_clusters[by_item], np.cumsum(counts)[:-1]) if len(ids) else []
    starts = np.cumsum(counts) - counts
    primary = np.full(len(ids), -1, np.int64)
    listed = counts > 0
    primary[listed] = member_clusters[by_item][starts[listed]]

    frame = pd.DataFrame({"original_id": ids}, index=pd.RangeIndex(len(ids), name="item"))
    if title is not None:
        frame["title"] = title.to_numpy()[order]
    frame["clusters"] = pd.Series([tuple(int(c) for c in g) for g in groups], dtype=object)
    frame["primary_cluster"] = primary
    creator_ids, creator_names = _creators(creator, creator_name, source)
    frame["creator"] = creator_ids[order] if creator is not None else np.full(len(ids), -1)
    return ItemTable(frame, ids, tuple(cluster_names), creator_names)


def _creators(
    keys: pd.Series | None, labels: pd.Series | None, source: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Dense creator ids per row (-1 where the key is missing) and a name per id."""
    if keys is None:
        return np.zeros(0, np.int64), ()
    codes, uniques = pd.factorize(keys.reset_index(drop=True), sort=True)
    if labels is None:
        return codes.astype(np.int64), tuple(_key_name(u) for u in uniques)
    pairs = pd.DataFrame({"id": codes, "name": labels.to_numpy()})[codes >= 0]
    names = pairs.groupby("id", sort=True)["name"]
    clash = (names.nunique(dropna=False) > 1).to_numpy()
    if clash.any():
        key = uniques[int(np.flatnonzero(clash)[0])]
        raise DataError(f"{source}: creator {show(key)} has more than one name")
    return codes.astype(np.int64), tuple(str(n) for n in names.first().to_numpy())


def _key_name(key) -> str:
    # Integer keys in a column with gaps are read as floats: name them 12, not 12.0.
    if isinstance(key, float | np.floating) and float(key).is_integer():
        return str(int(key))
    return str(key)
