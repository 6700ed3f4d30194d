"""implicit's ALS behind the contract (recommenders.adapters.implicit_als)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommenders import Feedback, History, HistoryBatch, top_k, validate_slates
from tests.recommenders.conftest import padded, random_batch

pytest.importorskip("implicit")

from recommenders.adapters.implicit_als import (
    DISLIKE_MODES,
    ImplicitALSAdapter,
    confidence_matrix,
)

ROOT = Path(__file__).resolve().parents[3]
SMALL = {"factors": 8, "iterations": 5}
"""A tiny model: the contract does not depend on its size, and it trains in milliseconds."""


@pytest.fixture(scope="module")
def logs(corpus) -> HistoryBatch:
    # 300 histories over the 60 items, with repeats and every feedback code.
    return random_batch(np.random.default_rng(0), 300, corpus.n_items, 25)


@pytest.fixture(scope="module")
def models(corpus, logs) -> dict[str, ImplicitALSAdapter]:
    return {
        mode: ImplicitALSAdapter(corpus, histories=logs, dislike=mode, **SMALL)
        for mode in DISLIKE_MODES
    }


def _positive_histories(n_rows: int, n_items: int, seed: int) -> list[History]:
    """Histories of 3..8 distinct items, all POSITIVE, the last one free to fork."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_rows):
        items = rng.choice(n_items, int(rng.integers(4, 9)), replace=False)
        rows.append(History(items, np.zeros(len(items), np.int64), np.ones(len(items))))
    return rows


def _fork(rows: list[History], code: int) -> HistoryBatch:
    """Each history with its last event's feedback set to ``code``."""
    out = []
    for h in rows:
        feedback = h.feedback.copy()
        feedback[-1] = code
        out.append(History(h.items, feedback, h.dwell))
    return HistoryBatch.of(out)


def _without_last(rows: list[History]) -> HistoryBatch:
    return HistoryBatch.of([History(h.items[:-1], h.feedback[:-1], h.dwell[:-1]) for h in rows])


# --- the confidence matrix -----------------------------------------------------------


def test_confidence_matrix_by_mode():
    # Row 0: item 1 liked, item 2 disliked; row 1: item 3 disliked then liked again,
    # item 4 liked then disliked (the latest event decides), item 1 seen twice.
    rows = np.array([0, 0, 1, 1, 1, 1, 1, 1])
    items = np.array([1, 2, 3, 4, 3, 4, 1, 1])
    like, dislike = int(Feedback.POSITIVE), int(Feedback.DISLIKE)
    feedback = np.array([like, dislike, dislike, like, like, dislike, int(Feedback.SKIP), like])
    dense = {
        mode: confidence_matrix(rows, items, feedback, 2, 6, mode, 1.0, 4.0).toarray()
        for mode in DISLIKE_MODES
    }
    assert dense["ignore"].tolist() == [[0, 2, 2, 0, 0, 0], [0, 2, 0, 2, 2, 0]]
    assert dense["drop"].tolist() == [[0, 2, 0, 0, 0, 0], [0, 2, 0, 2, 0, 0]]
    assert dense["negative"].tolist() == [[0, 2, -5, 0, 0, 0], [0, 2, 0, 2, -5, 0]]
    assert all(m.dtype == np.float32 for m in dense.values())


def test_confidence_matrix_refuses_bad_input():
    with pytest.raises(ValueError, match="dislike must be one of"):
        confidence_matrix(np.array([0]), np.array([0]), np.array([0]), 1, 3, "punish", 1, 1)
    with pytest.raises(ValueError, match=r"item id 3 is outside \[0, 3\)"):
        confidence_matrix(np.array([0]), np.array([3]), np.array([0]), 1, 3, "drop", 1, 1)


# --- the contract ------------------------------------------------------------------


@pytest.mark.parametrize("mode", DISLIKE_MODES)
def test_slates_obey_the_contract(models, corpus, mode):
    adapter = models[mode]
    batch = random_batch(np.random.default_rng(1), 40, corpus.n_items, 30)
    slates = adapter.recommend(batch, 10)
    assert slates.shape == (40, 10) and slates.dtype.kind == "i"
    validate_slates(slates, 40, 10, corpus.n_items, adapter.name)  # range, duplicates
    for row, history in enumerate(batch):
        assert not set(slates[row]) & set(history.items.tolist()), "a consumed item came back"


@pytest.mark.parametrize("mode", DISLIKE_MODES)
def test_pure_and_batch_invariant(models, corpus, mode):
    adapter = models[mode]
    batch = random_batch(np.random.default_rng(2), 30, corpus.n_items, 20)
    scores, slates = adapter.score(batch), adapter.recommend(batch, 10)
    again = HistoryBatch(
        *(a.copy() for a in (batch.items, batch.feedback, batch.dwell)), batch.lengths.copy()
    )
    assert np.array_equal(adapter.recommend(again, 10), slates)  # same histories, same slates
    order = np.random.default_rng(3).permutation(len(batch))
    assert np.array_equal(adapter.recommend(batch.take(order), 10), slates[order])
    # One row at a time gives the same scores, bit for bit (einsum, not a BLAS product).
    alone = np.concatenate([adapter.score(batch.take(np.array([r]))) for r in range(len(batch))])
    assert np.array_equal(alone, scores)
    # Wider padding is not a different history.
    assert np.array_equal(adapter.recommend(padded(list(batch), 7), 10), slates)


def test_an_empty_batch_gets_an_empty_array(models):
    slates = models["drop"].recommend(HistoryBatch.of([]), 10)
    assert slates.shape == (0, 10)


def test_same_seed_same_model_other_seed_other_model(corpus, logs, models):
    same = ImplicitALSAdapter(corpus, histories=logs, **SMALL)
    assert np.array_equal(same.item_factors, models["drop"].item_factors)
    other = ImplicitALSAdapter(corpus, histories=logs, seed=1, **SMALL)
    assert not np.array_equal(other.item_factors, same.item_factors)


def test_a_history_without_positives_gets_the_popular_items(models, corpus):
    adapter = models["drop"]
    empty = HistoryBatch.of([History.empty()])
    expected = top_k(adapter.popularity[None, :], 10)
    assert np.array_equal(adapter.recommend(empty, 10), expected)
    # Under drop, dislikes alone leave nothing to fold in: popular items minus those seen.
    disliked = History(
        np.array([int(expected[0, 0])]), np.array([int(Feedback.DISLIKE)]), np.ones(1)
    )
    slate = adapter.recommend(HistoryBatch.of([disliked]), 9)
    assert slate[0].tolist() == expected[0, 1:].tolist()


# --- what a dislike does -------------------------------------------------------------


def test_ignore_does_not_see_the_dislike(models, corpus):
    adapter, rows = models["ignore"], _positive_histories(40, corpus.n_items, 4)
    liked, disliked = _fork(rows, Feedback.POSITIVE), _fork(rows, Feedback.DISLIKE)
    assert np.array_equal(adapter.score(liked), adapter.score(disliked))
    assert np.array_equal(adapter.recommend(liked, 10), adapter.recommend(disliked, 10))


def test_drop_forgets_the_disliked_event(models, corpus):
    adapter, rows = models["drop"], _positive_histories(40, corpus.n_items, 5)
    disliked, liked = _fork(rows, Feedback.DISLIKE), _fork(rows, Feedback.POSITIVE)
    # A disliked x_k folds in exactly as a history without it...
    assert np.array_equal(adapter.score(disliked), adapter.score(_without_last(rows)))
    # ...so the slate after it differs from the slate after a liked x_k.
    changed = (adapter.recommend(disliked, 10) != adapter.recommend(liked, 10)).any(axis=1)
    assert changed.mean() > 0.5


def test_negative_shrinks_the_disliked_direction(models, corpus):
    adapter, rows = models["negative"], _positive_histories(40, corpus.n_items, 6)
    disliked, liked = _fork(rows, Feedback.DISLIKE), _fork(rows, Feedback.POSITIVE)
    forgotten = _without_last(rows)
    x_k = np.array([h.items[-1] for h in rows])
    at = np.arange(len(rows))
    # Sherman-Morrison: the entry adds dislike_alpha y yᵀ to the normal equations, so
    # y · x_B = y · x_forgotten / (1 + dislike_alpha yᵀA⁻¹y): the disliked item's own
    # score moves towards 0, never across it.
    s_b, s_f = adapter.score(disliked)[at, x_k], adapter.score(forgotten)[at, x_k]
    assert (np.abs(s_b) < np.abs(s_f)).all() and (np.sign(s_b) == np.sign(s_f)).all()
    changed = (adapter.recommend(disliked, 10) != adapter.recommend(liked, 10)).any(axis=1)
    assert changed.mean() > 0.5


# --- construction --------------------------------------------------------------------


def test_bad_arguments_are_one_line_errors(corpus, logs):
    with pytest.raises(ValueError, match="dislike must be one of"):
        ImplicitALSAdapter(corpus, histories=logs, dislike="punish")
    with pytest.raises(ValueError, match="factors must be >= 1"):
        ImplicitALSAdapter(corpus, histories=logs, factors=0)
    with pytest.raises(ValueError, match=r"corpus\.data"):
        ImplicitALSAdapter(corpus)  # a corpus with no data set and no histories


def test_missing_implicit_names_the_extra(monkeypatch, corpus, logs):
    monkeypatch.setitem(sys.modules, "implicit", None)
    monkeypatch.setitem(sys.modules, "implicit.als", None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[implicit\]'"):
        ImplicitALSAdapter(corpus, histories=logs)


def test_importing_the_module_does_not_import_implicit():
    code = (
        "import sys, recommenders, recommenders.adapters.implicit_als; "
        "from recommenders.adapters import ImplicitALSAdapter; "
        "print('implicit' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# --- end to end on ML-100K, through the spec grammar and the real-history protocol -------


@pytest.mark.slow
def test_real_history_responsiveness_on_ml100k():
    from recommenders.datasets import DataCorpus, data_root, load_ml100k
    from simulator.adapter_specs import build_real_adapter
    from simulator.responsiveness.real import compare_real
    from simulator.responsiveness.real_histories import RealHistoryConfig

    folder = data_root() / "ml-100k"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (MovieLens is not shipped; set RESP_DATA_DIR)")
    data = load_ml100k(folder)
    corpus = DataCorpus.of(data)
    module = "recommenders.adapters.implicit_als"
    specs = {
        "ignore": f"{module}:ImplicitALSIgnore",
        "drop": f"{module}:ImplicitALSAdapter",
        "negative": f"{module}:ImplicitALSNegative",
    }
    models = {mode: build_real_adapter(spec, data, corpus) for mode, spec in specs.items()}
    assert [m.dislike for m in models.values()] == list(specs)
    config = RealHistoryConfig(k=20, n_users=300, n_resamples=200)
    runs = {run.model: run for run in compare_real(data, models, config)}
    content = {mode: run.summary.set_index("kind").loc["content"] for mode, run in runs.items()}
    assert content["ignore"]["relative_change"] == 0.0
    assert (content["ignore"]["ci_low"], content["ignore"]["ci_high"]) == (0.0, 0.0)
    assert content["drop"]["relative_change"] < 0 and content["negative"]["relative_change"] < 0
    for run in runs.values():
        assert len(run.selection.users) == 300 and run.per_user["repeats"].sum() == 0
