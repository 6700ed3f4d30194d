"""An adapter with constructor keyword arguments, for the command-line tests
(``Class(corpus, **kwargs)`` from ``--adapter-arg`` / ``--adapter-args``)."""

import numpy as np

from recommenders import PopularityAdapter, RecommenderAdapter


class Shifted(RecommenderAdapter):
    """Popularity order from rank ``offset`` on; ``label`` and ``weights`` are kept, so a
    test can see which values arrived and with which types."""

    def __init__(self, corpus, offset: int = 0, label: str = "plain", weights=None) -> None:
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a whole number >= 0, got {offset!r}")
        self.inner = PopularityAdapter(corpus)
        self.offset, self.label, self.weights = offset, label, weights

    def recommend(self, histories, slate_size):
        wide = self.inner.recommend(histories, slate_size + self.offset)
        return np.ascontiguousarray(wide[:, self.offset :])


class NeedsPath(RecommenderAdapter):
    """A constructor with a required keyword argument."""

    def __init__(self, corpus, path: str) -> None:
        self.inner = PopularityAdapter(corpus)
        self.path = path

    def recommend(self, histories, slate_size):
        return self.inner.recommend(histories, slate_size)
