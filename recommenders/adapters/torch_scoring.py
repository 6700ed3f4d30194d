"""Slates from score tensors: exclusion, the NaN check and top-k in torch, on the scores' device.

:class:`recommenders.ScoringAdapter` turns numpy scores into slates in float64
on the CPU. A model's scores are float32 tensors, often on a GPU; converting
them to float64 numpy and ranking there took a third of a model-backed
responsiveness run. :class:`TorchScoringAdapter` keeps them where they are and
converts only the final slate, with exactly the slate rule of
:func:`recommenders.top_k`: the ``k`` highest scores, best first, ties to the
lower item id, ``-inf`` (a consumed item) never chosen.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np
import torch

from recommenders.adapter import ScoringAdapter
from recommenders.history import History, HistoryBatch
from recommenders.inference import as_tensor
from recommenders.validation import InvalidScoresError, SlateSizeError


def top_k_tensor(
    scores: torch.Tensor, k: int, owner: str = "top_k", row_offset: int = 0
) -> torch.Tensor:
    """Indices (n, k) of the ``k`` largest scores per row, best first, ties to the lower index.

    The rule of :func:`recommenders.top_k` on a float tensor, in O(n * m):
    ``torch.topk`` of ``k + 1`` columns, whose order among equal scores is
    unspecified, then (i) rows whose ``k``-th and ``k+1``-th scores tie are chosen
    exactly (every item above the ``k``-th score, then the lowest ids among those
    equal to it) and (ii) each row's ``k`` items are ordered by descending score,
    then ascending id. A row with fewer than ``k`` scores above ``-inf`` raises
    :class:`SlateSizeError`. NaN, which ``torch.topk`` ranks above every number,
    raises :class:`InvalidScoresError` naming the first (row + ``row_offset``, item).
    """
    m = scores.shape[1]
    if not 0 < k <= m:
        raise SlateSizeError(f"{owner}: slate_size {k} must be in [1, {m}]")
    values, ids = torch.topk(scores, min(k + 1, m), dim=1)
    if bool(torch.isnan(values[:, 0]).any()):
        raise_nan(torch.isnan(scores), owner, row_offset)
    short = values[:, k - 1] == -torch.inf
    if bool(short.any()):
        row = int(torch.nonzero(short)[0, 0])
        count = int((scores[row] > -torch.inf).sum())
        raise SlateSizeError(
            f"{owner}: row {row_offset + row} has only {count} recommendable items "
            f"for a slate of {k}"
        )
    ids = ids[:, :k].clone()
    if m > k:
        tied = torch.nonzero(values[:, k] == values[:, k - 1]).flatten()
        if tied.numel():
            ids[tied] = _exact_top_k(scores[tied], k)
    # Ascending ids, then a stable sort on descending score: ties in id order.
    ids = torch.sort(ids, dim=1).values
    order = torch.sort(torch.gather(scores, 1, ids), dim=1, descending=True, stable=True).indices
    return torch.gather(ids, 1, order)


class NaNScores(InvalidScoresError):
    """A NaN score: the first (``row``, ``item``) in row order and ``count`` in all."""

    def __init__(self, owner: str, row: int, item: int, count: int) -> None:
        super().__init__(
            f"{owner}.score returned NaN at row {row}, item {item} ({count} NaN scores in all)"
        )
        self.owner, self.row, self.item, self.count = owner, row, item, count


def raise_nan(nan: torch.Tensor, owner: str, row_offset: int = 0):
    """:class:`NaNScores` for a NaN mask (n, m): its first NaN in row order, and its count."""
    where = torch.nonzero(nan)
    row, item = (int(v) for v in where[0])
    raise NaNScores(owner, row_offset + row, item, len(where))


def _exact_top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Ids (any order) of each row's ``k`` largest scores, ties at the ``k``-th to lower ids."""
    kth = torch.topk(scores, k, dim=1).values[:, k - 1 :]
    above = scores > kth
    equal = scores == kth
    room = k - above.sum(dim=1, keepdim=True)
    chosen = above | (equal & (torch.cumsum(equal, dim=1) <= room))
    return torch.nonzero(chosen)[:, 1].reshape(scores.shape[0], k)


class TorchScoringAdapter(ScoringAdapter):
    """A :class:`ScoringAdapter` whose scores are a tensor: slates are made in torch.

    Subclasses implement :meth:`score_tensor`. ``recommend`` scores the batch in
    chunks of ``score_rows`` rows; per chunk it checks for NaN, sets consumed items to
    ``-inf`` (``exclude_consumed``) and takes the slate (:func:`top_k_tensor`) on the
    scores' device, and only the ``(rows, slate_size)`` slate goes back to numpy. The
    slates equal those of :class:`ScoringAdapter` on the same scores (float32 to
    float64 is exact, so order and ties are the same). ``score`` still gives numpy
    float64 scores, for callers of the numpy contract.
    """

    score_rows: int = 256
    """Rows scored at once. Small enough for a chunk's scores (rows x catalogue, float32)
    to stay in the CPU's cache between the scoring and the top-k that reads them back:
    256 rows x 5,000 items took half the time of 2,048 rows in one pass."""

    @abc.abstractmethod
    def score_tensor(self, batch: HistoryBatch) -> torch.Tensor:
        """Float tensor (len(batch), n_items) on any device; higher is better.
        May be modified in place."""

    def score(self, batch: HistoryBatch) -> np.ndarray:
        scores = np.empty((len(batch), self.n_items), np.float64)
        with torch.inference_mode():
            prepared = self._prepare(batch)
            for rows, chunk in _chunks(batch, self.score_rows):
                chunk_scores = self._chunk_scores(prepared, rows, chunk)
                scores[rows] = chunk_scores.to(torch.float64).cpu().numpy()
        return scores

    def _prepare(self, batch: HistoryBatch) -> object:
        """Work shared by every chunk of ``batch``, done once before them (none here)."""
        return None

    def _chunk_scores(self, prepared: object, rows: slice, chunk: HistoryBatch) -> torch.Tensor:
        """Scores of ``chunk``, rows ``rows`` of the batch :meth:`_prepare` saw."""
        return self.score_tensor(chunk)

    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        batch = HistoryBatch.of(histories)
        k = int(slate_size)
        if not 0 < k <= self.n_items:
            raise SlateSizeError(f"{self.name}: slate_size {k} must be in [1, {self.n_items}]")
        out = np.empty((len(batch), k), np.int64)
        # Scores made under inference mode can only be changed in place under it.
        with torch.inference_mode():
            self._recommend_into(out, batch, k)
        return out

    def _recommend_into(self, out: np.ndarray, batch: HistoryBatch, k: int) -> None:
        prepared = self._prepare(batch)
        chunks = _chunks(batch, self.score_rows)
        for rows, chunk in chunks:
            scores = self._checked_scores(prepared, rows, chunk)
            try:
                out[rows] = self._slates(scores, chunk, k, rows.start).cpu().numpy()
            except NaNScores as error:
                # The contract counts NaN over the whole batch: score the rest to count.
                more = self._first_nan(prepared, chunks)[1]
                raise NaNScores(error.owner, error.row, error.item, error.count + more) from None
            except SlateSizeError:
                # The contract checks every score before any slate: a later shape error
                # or NaN comes first.
                first, count = self._first_nan(prepared, chunks)
                if first is not None:
                    raise NaNScores(self.name, *first, count) from None
                raise

    def _first_nan(self, prepared, chunks) -> tuple[tuple[int, int] | None, int]:
        """The first NaN (row, item) of the remaining ``chunks``, and their NaN count."""
        first, count = None, 0
        for rows, chunk in chunks:
            nan = torch.isnan(self._checked_scores(prepared, rows, chunk))
            if first is None and bool(nan.any()):
                row, item = (int(v) for v in torch.nonzero(nan)[0])
                first = (rows.start + row, item)
            count += int(nan.sum())
        return first, count

    def _checked_scores(self, prepared, rows: slice, chunk: HistoryBatch) -> torch.Tensor:
        scores = self._chunk_scores(prepared, rows, chunk)
        if tuple(scores.shape) != (len(chunk), self.n_items):
            raise InvalidScoresError(
                f"{self.name}.score_tensor returned shape {tuple(scores.shape)}, "
                f"expected ({len(chunk)}, {self.n_items})"
            )
        return scores

    def _slates(self, scores: torch.Tensor, batch: HistoryBatch, k: int, first_row: int):
        if self.exclude_consumed and batch.width:
            # Padding points at each row's first item (a consumed one, excluded anyway),
            # so one scatter over the padded array excludes everything; an empty row
            # points at item 0 and is restored after.
            items = as_tensor(batch.items, torch.long, scores.device)
            lengths = as_tensor(batch.lengths, torch.long, scores.device)
            real = torch.arange(batch.width, device=scores.device) < lengths[:, None]
            consumed = torch.where(real, items, items[:, :1].clamp(min=0))
            # NaN elsewhere is found by top_k_tensor; on a consumed item, only before
            # that item is excluded.
            if bool(torch.isnan(scores.gather(1, consumed)).logical_and(real).any()):
                raise_nan(torch.isnan(scores), self.name, first_row)
            empty = torch.nonzero(lengths == 0).flatten()
            kept = scores[empty, 0].clone() if empty.numel() else None
            scores.scatter_(1, consumed, -torch.inf)
            if kept is not None:
                scores[empty, 0] = kept
        return top_k_tensor(scores, k, owner=self.name, row_offset=first_row)


def _chunks(batch: HistoryBatch, size: int):
    """(rows, sub-batch) over ``batch`` in blocks of ``size`` rows (views, no copies)."""
    items, feedback, dwell, lengths = batch.items, batch.feedback, batch.dwell, batch.lengths
    for start in range(0, len(batch), size):
        rows = slice(start, min(start + size, len(batch)))
        yield rows, HistoryBatch(items[rows], feedback[rows], dwell[rows], lengths[rows])
