"""The downstream heuristic: never show a creator (or cluster) the user disliked."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommenders.adapter import CorpusLike, RecommenderAdapter
from recommenders.history import Feedback, History, HistoryBatch
from recommenders.validation import SlateSizeError, validate_slates


class FeedbackFilter(RecommenderAdapter):
    """Wrap an adapter and drop every item of a group the user gave negative feedback to.

    Let ``g(i)`` be item ``i``'s creator (``by="creator"``) or cluster
    (``by="cluster"``) and ``B(h) = {g(h_t) : feedback_t ∈ feedback}`` the
    groups blocked by history ``h``. The slate is the first ``slate_size`` items
    of the inner slate whose group is not in ``B(h)``, in the inner order.

    The inner adapter is asked for ``slate_size + extra`` items (``extra``
    defaults to ``slate_size``); a row left short is asked again with twice
    as many, up to its capacity: ``n_items`` less its distinct consumed items
    when the inner adapter excludes them (assumed unless it has
    ``exclude_consumed = False``). A row still short at capacity raises
    :class:`SlateSizeError`. Rows are asked in groups of equal request size;
    a row's requests depend only on its own history, so its slate does too.
    """

    def __init__(
        self,
        inner: RecommenderAdapter,
        corpus: CorpusLike,
        by: str = "creator",
        feedback: Sequence[int] = (Feedback.DISLIKE,),
        extra: int | None = None,
    ) -> None:
        if by not in ("creator", "cluster"):
            raise ValueError(f"FeedbackFilter: by must be 'creator' or 'cluster', got {by!r}")
        n_items = int(corpus.n_items)
        group = np.asarray(getattr(corpus, by))
        if group.shape != (n_items,) or group.dtype.kind not in "iu":
            raise ValueError(
                f"FeedbackFilter: corpus.{by} must be integers of shape ({n_items},), "
                f"got {group.dtype} {group.shape}"
            )
        if n_items and group.min() < 0:
            raise ValueError(f"FeedbackFilter: corpus.{by} must be non-negative")
        if extra is not None and extra < 0:
            raise ValueError(f"FeedbackFilter: extra must be >= 0, got {extra}")
        self.inner = inner
        self.by = by
        self.n_items = n_items
        self.group = group.astype(np.int64)
        self.n_groups = int(self.group.max()) + 1 if n_items else 0
        self.feedback = np.unique(np.asarray([int(code) for code in feedback], np.int64))
        self.extra = extra
        self.exclude_consumed = getattr(inner, "exclude_consumed", True)

    @property
    def name(self) -> str:
        suffix = "" if self.by == "creator" else f", by={self.by}"
        return f"FeedbackFilter({self.inner.name}{suffix})"

    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        batch = HistoryBatch.of(histories)
        n, k = len(batch), int(slate_size)
        if not 0 < k <= self.n_items:
            raise SlateSizeError(f"{self.name}: slate_size {k} must be in [1, {self.n_items}]")
        blocked = self._blocked_keys(batch)
        # Start from a lower bound on capacity; made exact only for rows it could limit.
        capacity = np.full(n, self.n_items, np.int64)
        if self.exclude_consumed:
            capacity -= batch.lengths
        exact = np.full(n, not self.exclude_consumed)
        request = np.full(n, k + (k if self.extra is None else self.extra), np.int64)
        out = np.empty((n, k), np.int64)
        pending = np.arange(n)
        stuck, stuck_kept = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        while pending.size:
            # Exact wherever the request reaches the bound, so "stuck" below is never premature.
            unsure = pending[~exact[pending] & (capacity[pending] <= request[pending])]
            if unsure.size:
                capacity[unsure] = self.n_items - _distinct_per_row(batch.take(unsure))
                exact[unsure] = True
            # Never ask for fewer than k: if the inner cannot rank k items, it says so itself.
            request[pending] = np.minimum(request[pending], np.maximum(capacity[pending], k))
            short, survivors = [], []
            for size in np.unique(request[pending]):
                rows = pending[request[pending] == size]
                rows_short, kept = self._fill(batch, rows, int(size), k, blocked, out)
                short.append(rows_short)
                survivors.append(kept)
            pending, kept = np.concatenate(short), np.concatenate(survivors)
            at_capacity = request[pending] >= capacity[pending]
            stuck.append(pending[at_capacity])
            stuck_kept.append(kept[at_capacity])
            pending = pending[~at_capacity]
            request[pending] *= 2
        stuck_rows = np.concatenate(stuck)
        if stuck_rows.size:
            # Name the lowest such row, whichever round found it.
            first = np.argmin(stuck_rows)
            row = int(stuck_rows[first])
            raise SlateSizeError(
                f"{self.name}: row {row} has only {np.concatenate(stuck_kept)[first]} items "
                f"not blocked by {self.by} among the {request[row]} its inner adapter can "
                f"rank, for a slate of {k}"
            )
        return out

    def _fill(
        self,
        batch: HistoryBatch,
        rows: np.ndarray,
        size: int,
        k: int,
        blocked: np.ndarray,
        out: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ask the inner adapter for ``size`` items per row; write the rows it fills.

        Returns the rows left short and how many items survived in each.
        """
        sub = batch if rows.size == len(batch) else batch.take(rows)
        slates = validate_slates(
            self.inner.recommend(sub, size), rows.size, size, self.n_items, self.inner.name
        )
        keys = rows[:, None] * self.n_groups + self.group[slates]
        where = np.minimum(np.searchsorted(blocked, keys), max(blocked.size - 1, 0))
        keep = ~(blocked[where] == keys) if blocked.size else np.ones(keys.shape, bool)
        taken = np.cumsum(keep, axis=1, dtype=np.int32)
        full = taken[:, -1] >= k
        # taken <= k on a kept item marks the first k survivors, in inner order.
        chosen = keep[full] & (taken[full] <= k)
        cols = np.flatnonzero(chosen).reshape(-1, k) - (np.arange(int(full.sum())) * size)[:, None]
        out[rows[full]] = np.take_along_axis(slates[full], cols, axis=1)
        return rows[~full], taken[~full, -1]

    def _blocked_keys(self, batch: HistoryBatch) -> np.ndarray:
        """Sorted unique ``row * n_groups + group`` of every blocking event of the batch."""
        negative = batch.mask & np.isin(batch.feedback, self.feedback)
        rows, cols = np.nonzero(negative)
        return np.unique(rows * self.n_groups + self.group[batch.items[rows, cols]])


def _distinct_per_row(batch: HistoryBatch) -> np.ndarray:
    """Number of distinct items in each history."""
    ordered = np.sort(np.where(batch.mask, batch.items, -1), axis=1)
    first = ordered[:, :1] >= 0
    changes = (ordered[:, 1:] != ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    return first.sum(axis=1) + changes.sum(axis=1)
