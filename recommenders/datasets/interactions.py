"""A loaded data set: the training log, item metadata and the id mappings."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from recommenders.datasets.errors import DataError
from recommenders.datasets.rules import RatingRule
from recommenders.history import Feedback


@dataclass(frozen=True, eq=False)
class InteractionData:
    """An interaction data set in the project's dense-id form.

    Attributes:
        name: label of the data set (e.g. ``"ml-1m"``).
        log: one row per interaction, sorted by (user, position), passing
            :func:`recommenders.sequences.validate_log` with ``n_items``: int64
            ``user`` in ``[0, n_users)``, ``position`` 0..len-1 within each user
            (the rank of the source's order column), ``item`` in ``[0, n_items)``,
            ``feedback`` (:class:`~recommenders.history.Feedback` code), float64
            ``dwell`` in [0, 1] (1.0 on every row when the source has none), and
            ``rating`` when the source had ratings (int64 whole stars, float64 half
            stars; absent otherwise).
        items: one row per dense item id (the index, named ``item``): int64
            ``original_id``; ``title`` (str) when the source had titles;
            ``clusters``: tuple of cluster ids in the source's listed order
            (multi-valued genres; empty when none); int64 ``primary_cluster``:
            the first listed cluster, -1 when none; int64 ``creator``: -1 unknown.
        cluster_names: name of cluster id c at ``cluster_names[c]``.
        creator_names: name of creator id c at ``creator_names[c]``.
        user_ids: int64 original user id of dense user u, ascending.
        item_ids: int64 original item id of dense item i, ascending.
        rule: the rating rule that made ``feedback``; None when the source gave
            feedback codes itself.
        fingerprint: SHA-256 (hex, first 16 chars) of the canonical content:
            the log, item metadata and names. Two loads agree on it exactly
            when a model trained on one fits the other, whatever the file
            format or compression; a different rating rule changes it.

    It satisfies :class:`recommenders.adapter.CorpusLike` (``n_items``,
    ``cluster`` = primary cluster, ``creator``), so reference adapters can be
    built from it directly.
    """

    name: str
    log: pd.DataFrame
    items: pd.DataFrame
    cluster_names: tuple[str, ...]
    creator_names: tuple[str, ...]
    user_ids: np.ndarray
    item_ids: np.ndarray
    rule: RatingRule | None = None

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_names)

    @property
    def n_creators(self) -> int:
        return len(self.creator_names)

    @cached_property
    def cluster_matrix(self) -> np.ndarray:
        """bool (n_items, n_clusters): True where the item is in the cluster (multi-hot).

        "Shares a genre with item k" for every item is ``cluster_matrix[:, clusters_of_k].any(1)``
        or, for many k at once, ``(cluster_matrix @ cluster_matrix[k].T) > 0``.
        """
        clusters = self.items["clusters"]
        counts = clusters.map(len).to_numpy(np.int64)
        rows = np.repeat(np.arange(self.n_items), counts)
        cols = np.fromiter(
            (c for item in clusters for c in item), np.int64, count=int(counts.sum())
        )
        matrix = np.zeros((self.n_items, self.n_clusters), bool)
        matrix[rows, cols] = True
        matrix.flags.writeable = False
        return matrix

    @cached_property
    def cluster(self) -> np.ndarray:
        """int64 (n_items,): primary cluster of each item, -1 for an item with none."""
        return _frozen(self.items["primary_cluster"].to_numpy(np.int64))

    @cached_property
    def creator(self) -> np.ndarray:
        """int64 (n_items,): creator id of each item, -1 where unknown."""
        return _frozen(self.items["creator"].to_numpy(np.int64))

    @cached_property
    def popularity(self) -> np.ndarray:
        """float64 (n_items,): share of log rows per item (sums to 1)."""
        counts = np.bincount(self.log["item"].to_numpy(), minlength=self.n_items)
        return _frozen(counts / max(len(self.log), 1))

    def item_index(self, original_ids) -> np.ndarray:
        """Dense item ids of original item ids; DataError names the first unknown one."""
        return _lookup(self.item_ids, original_ids, f"{self.name}: item")

    def user_index(self, original_ids) -> np.ndarray:
        """Dense user ids of original user ids; DataError names the first unknown one."""
        return _lookup(self.user_ids, original_ids, f"{self.name}: user")

    @cached_property
    def fingerprint(self) -> str:
        header = {
            "log_columns": list(self.log.columns),
            "cluster_names": list(self.cluster_names),
            "creator_names": list(self.creator_names),
        }
        digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
        arrays = {f"log.{c}": self.log[c].to_numpy() for c in self.log.columns}
        arrays.update(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            creator=self.creator,
            cluster=self.cluster,
            cluster_matrix=self.cluster_matrix,
        )
        for name, array in sorted(arrays.items()):
            digest.update(name.encode())
            # Fixed little-endian dtypes, so the hash does not depend on the platform.
            dtype = {"f": "<f8", "i": "<i8", "u": "<i8", "b": "|b1"}[array.dtype.kind]
            digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
        return digest.hexdigest()[:16]

    def summary(self) -> dict:
        """Sizes and the feedback mix, JSON-ready (e.g. for a run's record)."""
        feedback = self.log["feedback"].to_numpy()
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "rows": len(self.log),
            "users": self.n_users,
            "items": self.n_items,
            "clusters": self.n_clusters,
            "creators": self.n_creators,
            "feedback_share": {
                f.name: float((feedback == f).mean()) if len(feedback) else 0.0 for f in Feedback
            },
            "rule": None if self.rule is None else self.rule.to_dict(),
        }


def _frozen(array: np.ndarray) -> np.ndarray:
    # Shared with every adapter built from the data set: a write would corrupt all of them.
    array.flags.writeable = False
    return array


def _lookup(sorted_ids: np.ndarray, original_ids, what: str) -> np.ndarray:
    wanted = np.asarray(original_ids)
    if wanted.size and not np.issubdtype(wanted.dtype, np.integer):
        raise DataError(f"{what} ids must be integers, got dtype {wanted.dtype}")
    index = np.searchsorted(sorted_ids, wanted)
    clipped = np.minimum(index, max(len(sorted_ids) - 1, 0))
    found = sorted_ids[clipped] if len(sorted_ids) else np.full(wanted.shape, -1)
    unknown = (index >= len(sorted_ids)) | (found != wanted)
    if unknown.any():
        at = int(np.argmax(unknown.ravel()))
        raise DataError(f"{what} id {wanted.ravel()[at]} (index {at}) is not in the data set")
    return index.astype(np.int64)
