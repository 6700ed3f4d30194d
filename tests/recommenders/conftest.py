"""Shared fixtures: a tiny corpus, random histories, hand-made sequences (no simulator import)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st

from recommenders import PAD, Feedback, History, HistoryBatch
from recommenders.sequences import Sequences, validate_log
from recommenders.torch_threads import one_torch_thread


@dataclass(frozen=True)
class TinyCorpus:
    n_items: int
    cluster: np.ndarray
    creator: np.ndarray
    popularity: np.ndarray


def tiny_corpus(
    n_items: int = 60, n_clusters: int = 5, n_creators: int = 12, seed: int = 0
) -> TinyCorpus:
    rng = np.random.default_rng(seed)
    creator = rng.integers(0, n_creators, n_items)
    # Popularity with many ties, so tie-breaking is exercised.
    return TinyCorpus(
        n_items=n_items,
        cluster=creator % n_clusters,
        creator=creator,
        popularity=rng.integers(0, 8, n_items).astype(float),
    )


def history(items, feedback=None) -> History:
    items = np.asarray(items, np.int64)
    feedback = np.zeros(len(items), np.int64) if feedback is None else np.asarray(feedback)
    return History(items, feedback, np.ones(len(items)))


def random_batch(
    rng: np.random.Generator, n_rows: int, n_items: int, max_len: int, n_feedback: int = 5
) -> HistoryBatch:
    """Histories of random length (0..max_len), items with repeats, random feedback codes."""
    rows = []
    for _ in range(n_rows):
        t = int(rng.integers(0, max_len + 1))
        rows.append(
            History(rng.integers(0, n_items, t), rng.integers(0, n_feedback, t), rng.random(t))
        )
    return HistoryBatch.of(rows)


def histories_strategy(n_items: int, max_rows: int = 6, max_len: int = 12):
    """Hypothesis strategy for a list of Histories over ``n_items`` items."""
    event = st.tuples(st.integers(0, n_items - 1), st.integers(0, 4))
    one = st.lists(event, max_size=max_len).map(
        lambda events: history([e[0] for e in events], [e[1] for e in events])
    )
    return st.lists(one, min_size=1, max_size=max_rows)


@pytest.fixture(scope="session")
def corpus() -> TinyCorpus:
    return tiny_corpus()


@pytest.fixture(scope="session")
def make_corpus():
    return tiny_corpus


@pytest.fixture(scope="session")
def make_history():
    return history


@pytest.fixture(scope="session")
def make_batch():
    return random_batch


@pytest.fixture(scope="session")
def histories():
    return histories_strategy


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Every module here (recommenders.torch_threads)."""
    with one_torch_thread():
        yield


D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


def make_sequences(users: dict[int, list[tuple[int, int]]]) -> Sequences:
    """Sequences from {user: [(item, feedback), ...]} in position order."""
    rows = [
        (user, position, item, feedback, 1.0)
        for user, events in users.items()
        for position, (item, feedback) in enumerate(events)
    ]
    frame = pd.DataFrame(rows, columns=["user", "position", "item", "feedback", "dwell"])
    return Sequences.from_log(validate_log(frame, 100))


@pytest.fixture
def tiny():
    """Two users' hand-made sequences (items 10-14 and 20-22) for split and metric tests."""
    return make_sequences(
        {
            0: [(10, P), (11, D), (12, P), (13, S), (14, D)],
            1: [(20, P), (21, P), (22, P)],
        }
    )


def cyclic_sequences(n_users=24, length=12, n_items=20):
    """Next item = previous + 1 (mod n_items); every 4th event disliked."""
    return make_sequences(
        {
            u: [((u + t) % n_items, D if t % 4 == 3 else P) for t in range(length)]
            for u in range(n_users)
        }
    )


def padded(rows, extra: int) -> HistoryBatch:
    """The batch of ``rows`` with ``extra`` more padding columns than it needs."""
    batch = HistoryBatch.of(rows)
    pad = ((0, 0), (0, extra))
    return HistoryBatch(
        np.pad(batch.items, pad, constant_values=PAD),
        np.pad(batch.feedback, pad, constant_values=PAD),
        np.pad(batch.dwell, pad, constant_values=np.nan),
        batch.lengths,
    )
