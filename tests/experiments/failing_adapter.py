"""An adapter that fails on its first call, for the command-line tests (``Class(corpus)``)."""

from recommenders import RecommenderAdapter


class Fails(RecommenderAdapter):
    def __init__(self, corpus) -> None:
        self.n_items = corpus.n_items

    def recommend(self, histories, slate_size):
        raise RuntimeError("the service is down")
