"""Measuring real-history responsiveness: slate similarities, per-user table, summary, files.

The protocol (which users, which histories, the two branches) is in
:mod:`simulator.responsiveness.real_histories`; this module asks the adapters for slates and
turns them into responsiveness with paired-bootstrap CIs. Slates are scored by every kind of
:data:`simulator.similarity.SIMILARITY_KINDS` on the data set's
:class:`~simulator.similarity.ItemAttributes` (built according to ``content_rule``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recommenders import Feedback, HistoryBatch, RecommenderAdapter, validate_slates
from recommenders.atomic import atomic_write_csv
from recommenders.datasets import InteractionData
from recommenders.validation import call_recommend
from simulator.records import begin_results, finish_results, package_versions
from simulator.responsiveness.plots import plot_responsiveness
from simulator.responsiveness.real_histories import (
    SUMMARY_COLUMNS,
    RealHistories,
    RealHistoryConfig,
    UserSelection,
    branch_feedback,
    select_users,
)
from simulator.responsiveness.simulated import summarize_branches
from simulator.similarity import SIMILARITY_KINDS, ItemAttributes, similarities


def _repeats(batch: HistoryBatch, slates: np.ndarray, n_items: int) -> np.ndarray:
    """Per row, how many slate items are already in the row's history."""
    # A (rows, n_items) bool table costs n_items bytes a row (3.4 kB on ML-1M) and
    # is several times faster than np.isin on row-offset keys for long histories.
    rows, cols = np.nonzero(batch.mask)
    seen = np.zeros((len(slates), n_items), bool)
    seen[rows, batch.items[rows, cols]] = True
    return np.take_along_axis(seen, slates, axis=1).sum(axis=1)


@dataclass
class RealHistoryRun:
    """One adapter's measurement on real histories.

    Attributes:
        model: the adapter's label in the tables.
        per_user: one row per (user, branch): ``model, user`` (dense id),
            ``user_id`` (the data set's), ``branch, step`` (k + 1: the slate
            after x_k), ``x_k, x_k_item_id, x_k_rating`` (the real rating),
            ``x_k_cluster`` (primary genre), ``x_k_creator`` (-1 unknown),
            one column per similarity kind (:data:`simulator.similarity.SIMILARITY_KINDS`:
            shares in [0, 1], NaN where undefined) and ``repeats`` (slate items
            already in the history; 0 expected).
        summary: :func:`summarize_real` of ``per_user``.
        selection: the measured users and those left out.
        wall_seconds: forking, serving and scoring, bootstrap excluded.
        recommend_seconds: time inside ``adapter.recommend``.
        recommend_calls: ``recommend`` calls (chunks x branches).
    """

    model: str
    per_user: pd.DataFrame
    summary: pd.DataFrame
    selection: UserSelection
    wall_seconds: float
    recommend_seconds: float
    recommend_calls: int


def measure_real_responsiveness(
    data: InteractionData,
    adapter: RecommenderAdapter,
    config: RealHistoryConfig,
    name: str | None = None,
    progress: Callable[[int], object] | None = None,
    histories: RealHistories | None = None,
    selection: UserSelection | None = None,
    on_interval: Callable[[], object] | None = None,
) -> RealHistoryRun:
    """Fork every selected user's real history at x_k and score each branch's next slate.

    ``progress`` receives the number of user-branch slates served after each
    call; ``on_interval`` is called after each bootstrap interval of the summary.
    ``histories`` and ``selection`` may be passed to share them between adapters (see
    :func:`compare_real`). Slates are checked against the adapter contract
    (:func:`recommenders.validate_slates`).
    """
    name = name or adapter.name
    histories = RealHistories(data) if histories is None else histories
    selection = select_users(histories, config) if selection is None else selection
    codes = branch_feedback(config, data.rule)
    users = selection.users
    n, n_b = len(users), len(codes)
    attributes = ItemAttributes.from_interactions(data, config.content_rule)
    sims = {kind: np.full((n_b, n), np.nan) for kind in SIMILARITY_KINDS}
    repeats = np.zeros((n_b, n), np.int64)
    lengths = np.zeros(n, np.int64)
    x_k = np.zeros(n, np.int64)
    start = time.perf_counter()
    recommend_seconds, calls = 0.0, 0
    # Chunks of users of similar length: with k=None, ML-1M histories run from 20 to
    # 2,277 events, and a chunk is padded to its longest. Adapters are pure functions
    # of each row's history, so the grouping does not change any slate.
    order = np.argsort(histories.lengths(users, config.k), kind="stable")
    for first in range(0, n, config.chunk_size):
        rows = order[first : first + config.chunk_size]
        fork = histories.fork(users[rows], config.k, codes)
        lengths[rows], x_k[rows] = fork.lengths, fork.x_k
        for b, batch in enumerate(fork.branches):
            tick = time.perf_counter()
            slates = call_recommend(adapter, batch, config.slate_size)
            recommend_seconds += time.perf_counter() - tick
            calls += 1
            slates = validate_slates(slates, len(batch), config.slate_size, data.n_items, name)
            for kind, values in similarities(slates, fork.x_k, attributes).items():
                sims[kind][b, rows] = values
            repeats[b, rows] = _repeats(batch, slates, data.n_items)
            if progress is not None:
                progress(len(batch))
    wall = time.perf_counter() - start
    per_user = pd.DataFrame(
        {
            "model": name,
            "user": np.tile(users, n_b),
            "user_id": np.tile(data.user_ids[users], n_b),
            "branch": np.repeat(np.array(config.branches), n),
            "step": np.tile(lengths + 1, n_b),
            "x_k": np.tile(x_k, n_b),
            "x_k_item_id": np.tile(data.item_ids[x_k], n_b),
            "x_k_rating": np.tile(histories.x_k_rating(users, config.k), n_b),
            "x_k_cluster": np.tile(data.cluster[x_k], n_b),
            "x_k_creator": np.tile(data.creator[x_k], n_b),
            **{kind: values.ravel() for kind, values in sims.items()},
            "repeats": repeats.ravel(),
        }
    )
    summary = summarize_real(per_user, config, on_interval)
    return RealHistoryRun(name, per_user, summary, selection, wall, recommend_seconds, calls)


def summarize_real(
    per_user: pd.DataFrame,
    config: RealHistoryConfig,
    on_interval: Callable[[], object] | None = None,
) -> pd.DataFrame:
    """Responsiveness with paired CIs per model, non-reference branch and kind.

    :func:`simulator.responsiveness.simulated.summarize_branches` with one step label,
    ``config.step``: users whose x_k lacks the attribute a kind compares (no genre,
    an unknown director) are undefined (NaN) for that kind and left out of it.
    """
    table = summarize_branches(
        per_user,
        config.branches,
        config.confidence,
        config.n_resamples,
        config.seed,
        step=config.step,
        on_interval=on_interval,
    )
    return table.reindex(columns=list(SUMMARY_COLUMNS))


def compare_real(
    data: InteractionData,
    adapters: Mapping[str, RecommenderAdapter],
    config: RealHistoryConfig,
    progress: Callable[[int], object] | None = None,
    selection: UserSelection | None = None,
    on_interval: Callable[[], object] | None = None,
) -> list[RealHistoryRun]:
    """Measure several adapters on the same users and branches."""
    histories = RealHistories(data)
    selection = select_users(histories, config) if selection is None else selection
    return [
        measure_real_responsiveness(
            data,
            adapter,
            config,
            name,
            progress,
            histories=histories,
            selection=selection,
            on_interval=on_interval,
        )
        for name, adapter in adapters.items()
    ]


def write_real_run(
    out: str | Path,
    runs: list[RealHistoryRun],
    config: RealHistoryConfig,
    data: InteractionData,
    extra: dict | None = None,
) -> dict[str, Path]:
    """Write responsiveness.csv, per_user.csv.gz, run.json and the plot; name -> path.

    Each file is written atomically, and ``run.json`` is the manifest (removed first,
    written last with each file's SHA-256). It records the config, the
    data set (name, fingerprint, sizes, rating rule), how many users were
    left out and why (too short; per kind, undefined similarity), what each
    similarity kind counts, the branch feedback codes, package versions and
    per-model wall times.
    """
    out = Path(out)
    begin_results(out, "run.json")  # the manifest: removed first, written last
    table = pd.concat([run.summary for run in runs], ignore_index=True)
    per_user = pd.concat([run.per_user for run in runs], ignore_index=True)
    paths = {"responsiveness.csv": out / "responsiveness.csv"}
    atomic_write_csv(paths["responsiveness.csv"], table)
    paths["per_user.csv.gz"] = out / "per_user.csv.gz"
    atomic_write_csv(paths["per_user.csv.gz"], per_user)
    codes = branch_feedback(config, data.rule)
    selection = runs[0].selection
    first = runs[0].per_user
    reference = first[first["branch"] == config.branches[0]]
    record = {
        "command": sys.argv,
        "config": config.to_dict(),
        "data": data.summary(),
        "users": {
            **selection.to_dict(),
            "undefined": {kind: int(reference[kind].isna().sum()) for kind in SIMILARITY_KINDS},
        },
        "similarity": {name: kind.description for name, kind in SIMILARITY_KINDS.items()},
        "branches": {b: Feedback(c).name for b, c in zip(config.branches, codes, strict=True)},
        "seed": config.seed,
        "versions": package_versions(),
        "models": {
            run.model: {
                "wall_seconds": run.wall_seconds,
                "recommend_seconds": run.recommend_seconds,
                "recommend_calls": run.recommend_calls,
                "slate_items_already_in_history": int(run.per_user["repeats"].sum()),
            }
            for run in runs
        },
        **(extra or {}),
    }
    k = "last event" if config.k is None else config.k
    title = (
        f"Real histories ({data.name}): {config.branches[1]} vs {config.branches[0]}\n"
        f"k={k}, n={len(selection.users)} users"
    )
    for path in plot_responsiveness(table, out / "responsiveness", title=title):
        paths[path.name] = path
    paths["run.json"] = finish_results(out, "run.json", record, list(paths.values()))
    return paths


__all__ = [
    "RealHistoryRun",
    "compare_real",
    "measure_real_responsiveness",
    "summarize_real",
    "write_real_run",
]
