"""Content-based "more like this": items whose embeddings are closest to the recent items.

Used as the personalised part of the logging policy, the role a production
sequential recommender plays in the paper's logs: it keeps offering items
similar to what the user just consumed, whatever the feedback.
"""

from __future__ import annotations

import numpy as np

from recommenders.adapter import ScoringAdapter
from recommenders.history import HistoryBatch


class SimilarItemsAdapter(ScoringAdapter):
    """score(i) = v_i . sum_{j=1..n_recent} decay^(j-1) v_{r_j}, r_1 the most recent item.

    Needs ``corpus.embedding`` (n_items, d). Feedback-blind: a disliked item
    pulls its neighbours up like any other. Consumed items are excluded. An
    empty history has nothing to be like: it gets the most popular items when
    the corpus has ``popularity``, else the lowest ids.
    """

    def __init__(
        self, corpus, n_recent: int = 3, decay: float = 0.5, exclude_consumed: bool = True
    ):
        embedding = getattr(corpus, "embedding", None)
        if embedding is None or np.ndim(embedding) != 2 or len(embedding) != corpus.n_items:
            raise ValueError("SimilarItemsAdapter needs corpus.embedding of shape (n_items, d)")
        if n_recent < 1 or not 0 <= decay <= 1:
            raise ValueError("SimilarItemsAdapter: n_recent must be >= 1 and decay in [0, 1]")
        super().__init__(corpus.n_items, exclude_consumed)
        self.embedding = np.asarray(embedding, np.float64)
        self.n_recent = n_recent
        self.decay = decay
        popularity = getattr(corpus, "popularity", None)
        self.prior = (
            np.zeros(corpus.n_items)
            if popularity is None
            else np.asarray(popularity, np.float64) / np.max(popularity)
        )

    def score(self, batch: HistoryBatch) -> np.ndarray:
        n = len(batch)
        if batch.width == 0:
            return np.tile(self.prior, (n, 1))
        ages = np.arange(self.n_recent)
        cols = batch.lengths[:, None] - 1 - ages[None, :]
        valid = cols >= 0
        items = np.where(valid, batch.items[np.arange(n)[:, None], np.maximum(cols, 0)], 0)
        weights = np.where(valid, self.decay**ages, 0.0)
        query = np.einsum("nr,nrd->nd", weights, self.embedding[items])
        scores = query @ self.embedding.T
        empty = batch.lengths == 0
        scores[empty] = self.prior
        return scores
