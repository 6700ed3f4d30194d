"""A model of another library behind the contract: ``implicit``'s ALS, folding in each history.

`implicit <https://github.com/benfred/implicit>`_ (Ben Frederickson) factorises a
user x item confidence matrix by alternating least squares (Hu, Koren & Volinsky,
*Collaborative Filtering for Implicit Feedback Datasets*, ICDM 2008). Trained, it
holds one factor per item; a user's factor is a least-squares fit to that user's
row. The adapter keeps the item factors and computes the user factor **from the
history it is given**, at every call (``AlternatingLeastSquares.recalculate_user``,
an exact Cholesky solve), so it is a pure function of the histories, like every
adapter: the users it was trained on are never looked up.

One event becomes one entry of the row, by ``dislike`` (the latest event on an item
decides its entry; an item seen twice counts once):

* ``"ignore"``: every event is an interaction, confidence ``1 + alpha`` (how ALS is
  usually run on MovieLens: the rating is thrown away). Blind to dislikes, so the
  two branches of a fork get the same slate: responsiveness exactly 0;
* ``"drop"`` (default): an event with negative feedback (``Feedback.DISLIKE``) is
  left out of the row, as if never seen, in training and at serving time. A dislike
  of x_k takes x_k's pull out of the user factor; it cannot push away from x_k;
* ``"negative"``: a disliked event is an entry of preference 0 with confidence
  ``1 + dislike_alpha``, implicit's convention for a negative value in the matrix
  (``-(1 + dislike_alpha)``). In the normal equations
  ``(YᵀC_uY + λI) x_u = YᵀC_u p_u`` such an entry adds ``dislike_alpha · y_i y_iᵀ``
  to the left side and nothing to the right: it shrinks the user factor along the
  disliked item's direction, so items like it score lower. It can only shrink what
  the positives built: a history of dislikes alone has ``x_u = 0``.

A history with no positive entry (empty, or only dislikes) has a zero user factor;
its scores are the training popularity (positive entries per item), so its slate is
the most popular unconsumed items. Items already in the history are never
recommended (:class:`recommenders.ScoringAdapter`).

``implicit`` is an optional dependency (``pip install -e '.[implicit]'``), imported
when an adapter is built; importing this module does not import it. The CPU solver
is used on every machine (the GPU one gives other numbers), with ``num_threads``
threads (default 1) and one BLAS thread while training, so that a seed gives the
same factors on every run: ALS's user and item solves are independent of each
other, and the only other randomness is the initial factors, drawn from ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from recommenders.adapter import CorpusLike, ScoringAdapter
from recommenders.history import Feedback, History, HistoryBatch

DISLIKE_MODES = ("drop", "negative", "ignore")
"""How a disliked event enters ALS's confidence matrix (see the module docstring)."""

HOLDOUT = 2
"""Events left out at the end of each user when training on a data set's log: the
leave-one-out split's validation and test targets (``recommenders.evaluation.N_HOLDOUT``),
so the held-out ranking and a fork at each user's last event are out of sample."""

INSTALL_HINT = "pip install -e '.[implicit]'"


def _implicit():
    """The ``implicit.als`` module and ``threadpoolctl``; a one-line ImportError without them."""
    try:
        import implicit.als
        import threadpoolctl
    except ImportError as error:
        raise ImportError(
            f"ImplicitALSAdapter needs the 'implicit' package ({error}): {INSTALL_HINT}"
        ) from None
    return implicit.als, threadpoolctl


def confidence_matrix(
    rows: np.ndarray,
    items: np.ndarray,
    feedback: np.ndarray,
    n_rows: int,
    n_items: int,
    dislike: str,
    alpha: float,
    dislike_alpha: float,
    negative_feedback: Sequence[int] = (Feedback.DISLIKE,),
) -> sp.csr_matrix:
    """The ALS input of events ``(rows[e], items[e], feedback[e])``, listed oldest first.

    One entry per (row, item), decided by the latest event on it: ``1 + alpha`` for an
    interaction, ``-(1 + dislike_alpha)`` for a disliked one under ``"negative"``, no
    entry for a disliked one under ``"drop"``; under ``"ignore"`` every event is an
    interaction. float32 CSR of shape (n_rows, n_items), indices sorted.
    """
    if dislike not in DISLIKE_MODES:
        raise ValueError(f"dislike must be one of {DISLIKE_MODES}, got {dislike!r}")
    rows, items = np.asarray(rows, np.int64), np.asarray(items, np.int64)
    if items.size and (items.min() < 0 or items.max() >= n_items):
        bad = items[(items < 0) | (items >= n_items)][0]
        raise ValueError(f"ImplicitALSAdapter: item id {bad} is outside [0, {n_items})")
    keys = rows * n_items + items
    # np.unique keeps the first occurrence: of the reversed events, that is the latest.
    unique, first = np.unique(keys[::-1], return_index=True)
    latest = len(keys) - 1 - first
    negative = np.isin(np.asarray(feedback)[latest], np.asarray(negative_feedback))
    values = np.full(len(unique), 1.0 + alpha, np.float32)
    if dislike == "negative":
        values[negative] = -(1.0 + dislike_alpha)
    elif dislike == "drop":
        unique, values = unique[~negative], values[~negative]
    return sp.csr_matrix(
        (values, (unique // n_items, unique % n_items)), shape=(n_rows, n_items), dtype=np.float32
    )


def _batch_matrix(adapter: ImplicitALSAdapter, batch: HistoryBatch) -> sp.csr_matrix:
    rows, cols = np.nonzero(batch.mask)  # row-major: each row's events oldest first
    return adapter.confidences(
        rows, batch.items[rows, cols], batch.feedback[rows, cols], len(batch)
    )


def _training_events(corpus: CorpusLike, holdout: int) -> tuple[np.ndarray, ...]:
    """(user, item, feedback, n_users) of ``corpus.data``'s log, each user's last
    ``holdout`` events left out."""
    data = getattr(corpus, "data", None)
    if data is None:
        raise ValueError(
            "ImplicitALSAdapter trains on a real data set's log (corpus.data, as "
            "recommenders.datasets.DataCorpus has it); for another corpus pass histories="
        )
    if holdout < 0:
        raise ValueError(f"ImplicitALSAdapter: holdout must be >= 0, got {holdout}")
    log = data.log  # validated: sorted by (user, position)
    user = log["user"].to_numpy(np.int64)
    counts = np.bincount(user, minlength=data.n_users)
    rank = np.arange(len(user)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = rank < counts[user] - holdout
    item, feedback = log["item"].to_numpy(np.int64), log["feedback"].to_numpy(np.int64)
    return user[keep], item[keep], feedback[keep], int(data.n_users)


class ImplicitALSAdapter(ScoringAdapter):
    """implicit's ALS trained on a log, scoring a history by its folded-in user factor.

    Score of item ``i`` for a history ``h``: ``x_h · y_i``, with ``y_i`` the trained item
    factors and ``x_h`` the least-squares user factor of ``h``'s confidence row
    (:func:`confidence_matrix`); the training popularity when ``h`` has no positive
    entry. Ties go to the lower id, consumed items are excluded.

    Built as ``ImplicitALSAdapter(corpus)`` (the ``package.module:Class`` form of an
    adapter spec) it trains on ``corpus.data``, the data set of a
    :class:`recommenders.datasets.DataCorpus`, minus each user's last ``holdout``
    events; :meth:`fit` does the same from an :class:`InteractionData`. With
    ``histories`` it trains on those instead (one matrix row per history).

    Args:
        corpus: gives ``n_items`` (and ``data`` when ``histories`` is None).
        factors, regularization, iterations: ALS's (``implicit``'s names).
        alpha: an interaction's confidence is ``1 + alpha``.
        dislike: ``"drop"``, ``"negative"`` or ``"ignore"`` (module docstring).
        dislike_alpha: a disliked entry's confidence is ``1 + dislike_alpha`` under
            ``"negative"``; default ``alpha``.
        seed: of the initial factors; the same seed gives the same factors.
        negative_feedback: the feedback codes that count as a dislike.
        num_threads: implicit's threads, training and folding in.
        holdout: events left out at the end of each user of ``corpus.data``.
        histories: train on these histories instead of ``corpus.data``.
    """

    def __init__(
        self,
        corpus: CorpusLike,
        *,
        factors: int = 64,
        regularization: float = 0.05,
        iterations: int = 15,
        alpha: float = 1.0,
        dislike: str = "drop",
        dislike_alpha: float | None = None,
        seed: int = 0,
        negative_feedback: Sequence[int] = (Feedback.DISLIKE,),
        num_threads: int = 1,
        holdout: int = HOLDOUT,
        histories: Sequence[History] | None = None,
        exclude_consumed: bool = True,
    ) -> None:
        super().__init__(corpus.n_items, exclude_consumed)
        if dislike not in DISLIKE_MODES:
            raise ValueError(
                f"ImplicitALSAdapter: dislike must be one of {DISLIKE_MODES}, got {dislike!r}"
            )
        dislike_alpha = alpha if dislike_alpha is None else dislike_alpha
        checks = [
            (isinstance(factors, int) and factors >= 1, f"factors must be >= 1, got {factors!r}"),
            (
                isinstance(iterations, int) and iterations >= 1,
                f"iterations must be >= 1, got {iterations!r}",
            ),
            (
                np.isfinite(regularization) and regularization >= 0,
                f"regularization must be >= 0, got {regularization!r}",
            ),
            (np.isfinite(alpha) and alpha >= 0, f"alpha must be >= 0, got {alpha!r}"),
            (
                np.isfinite(dislike_alpha) and dislike_alpha >= 0,
                f"dislike_alpha must be >= 0, got {dislike_alpha!r}",
            ),
            (
                isinstance(num_threads, int) and num_threads >= 1,
                f"num_threads must be >= 1, got {num_threads!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"ImplicitALSAdapter: {message}")
        self.dislike = dislike
        self.alpha = float(alpha)
        self.dislike_alpha = float(dislike_alpha)
        self.negative_feedback = tuple(int(c) for c in negative_feedback)
        self.seed = int(seed)
        als, threadpoolctl = _implicit()
        if histories is None:
            user, item, feedback, n_rows = _training_events(corpus, holdout)
            train = self.confidences(user, item, feedback, n_rows)
        else:
            train = _batch_matrix(self, HistoryBatch.of(histories))
        # One BLAS thread while implicit builds and trains (its own advice, and the
        # factors' products then run in one fixed order).
        with threadpoolctl.threadpool_limits(1, "blas"):
            model = als.AlternatingLeastSquares(
                factors=factors,
                regularization=regularization,
                alpha=1.0,  # the confidences are built here: 1 + alpha
                iterations=iterations,
                random_state=self.seed,
                num_threads=num_threads,
                use_gpu=False,
            )
            model.fit(train, show_progress=False)
            model.YtY  # noqa: B018  (computed once here, read by every fold-in)
        self.model = model
        self.item_factors = np.asarray(model.item_factors, np.float64)
        self.popularity = np.asarray((train > 0).sum(axis=0), np.float64).ravel()

    @classmethod
    def fit(cls, data, **kwargs) -> ImplicitALSAdapter:
        """Train on the :class:`recommenders.datasets.InteractionData` ``data`` (its log
        minus each user's last ``holdout`` events); ``kwargs`` go to the constructor."""
        from recommenders.datasets import DataCorpus

        return cls(DataCorpus.of(data), **kwargs)

    @property
    def name(self) -> str:
        return f"implicit-als-{self.dislike}"

    def confidences(
        self, rows: np.ndarray, items: np.ndarray, feedback: np.ndarray, n_rows: int
    ) -> sp.csr_matrix:
        """:func:`confidence_matrix` with this adapter's dislike mode and confidences."""
        return confidence_matrix(
            rows,
            items,
            feedback,
            n_rows,
            self.n_items,
            self.dislike,
            self.alpha,
            self.dislike_alpha,
            self.negative_feedback,
        )

    def user_factors(self, batch: HistoryBatch) -> tuple[np.ndarray, np.ndarray]:
        """(factors (n, factors) float64, has a positive entry (n,) bool) of each history."""
        rows = _batch_matrix(self, batch)
        if len(batch) == 0:
            return np.zeros((0, self.item_factors.shape[1])), np.zeros(0, bool)
        factors = self.model.recalculate_user(np.arange(len(batch)), rows)
        positive = np.asarray((rows > 0).sum(axis=1)).ravel() > 0
        return np.asarray(factors, np.float64).reshape(len(batch), -1), positive

    def score(self, batch: HistoryBatch) -> np.ndarray:
        factors, positive = self.user_factors(batch)
        # einsum sums each score over the factors in one fixed order, so a row's scores are
        # bit for bit the same in any batch (a BLAS product of one row and of many differ
        # in the last bit, enough to swap two items tied to 1e-16).
        scores = np.einsum("nf,if->ni", factors, self.item_factors)
        scores[~positive] = self.popularity
        return scores


class ImplicitALSNegative(ImplicitALSAdapter):
    """:class:`ImplicitALSAdapter` with ``dislike="negative"`` by default, for
    ``--adapter recommenders.adapters.implicit_als:ImplicitALSNegative``."""

    def __init__(self, corpus: CorpusLike, **kwargs) -> None:
        kwargs.setdefault("dislike", "negative")
        super().__init__(corpus, **kwargs)


class ImplicitALSIgnore(ImplicitALSAdapter):
    """:class:`ImplicitALSAdapter` with ``dislike="ignore"`` by default (feedback-blind), for
    ``--adapter recommenders.adapters.implicit_als:ImplicitALSIgnore``."""

    def __init__(self, corpus: CorpusLike, **kwargs) -> None:
        kwargs.setdefault("dislike", "ignore")
        super().__init__(corpus, **kwargs)


__all__ = [
    "DISLIKE_MODES",
    "HOLDOUT",
    "ImplicitALSAdapter",
    "ImplicitALSIgnore",
    "ImplicitALSNegative",
    "confidence_matrix",
]
