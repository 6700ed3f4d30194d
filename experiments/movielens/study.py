"""The MovieLens-1M study from a loaded data set to its files, one step per function.

:func:`split_users` (an optional seeded subset, then leave-one-out),
:func:`train_models` (train or reuse each named model, ``benchmark.csv``
rewritten after every one so an interrupted run keeps what it finished),
:func:`write_benchmark` (the table and the learning curves),
:func:`compare_with_twins` (``paired.csv``: each feedback-aware model minus its
feedback-blind twin) and :func:`measure_real_histories` (counterfactual
responsiveness of the trained models on real histories). ``experiments/ml1m.py``
is the command line that calls them in this order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from experiments.movielens.models import (
    BenchmarkConfig,
    BenchmarkModel,
    blind_twin,
    pathway_twin,
)
from experiments.movielens.paired import compare_twins, paired_view
from experiments.movielens.paired_plot import plot_paired
from experiments.movielens.runner import checkpoint_ranks, reuse_model, run_model
from experiments.movielens.table import benchmark_table, write_table
from recommenders.atomic import atomic_write_csv
from recommenders.datasets import DataCorpus, InteractionData
from recommenders.evaluation import LeaveOneOut, leave_one_out, sample_users
from recommenders.history import Feedback
from recommenders.sequences import Sequences
from recommenders.training.learning_curve import plot_learning_curves
from simulator.adapter_specs import build_real_adapter
from simulator.responsiveness.output import format_table
from simulator.responsiveness.real import compare_real, write_real_run
from simulator.responsiveness.real_histories import RealHistoryConfig

Log = Callable[[str], object]


def _print(line: str) -> None:
    print(line, flush=True)


def split_users(
    data: InteractionData, users: int | None, seed: int
) -> tuple[LeaveOneOut, dict | None]:
    """Leave-one-out split of every user, or of a seeded sample of ``users`` of them; the
    second value records the sample (``{"users": [...]}``) for the benchmark rows."""
    sequences = Sequences.from_log(data.log)
    if users is not None and users > data.n_users:
        raise ValueError(f"--users {users:,} exceeds the data set's {data.n_users:,} users")
    if users is not None:
        sequences = sample_users(sequences, users, seed=seed)
    subset = None if users is None else {"users": sequences.users.tolist()}
    return leave_one_out(sequences), subset


def train_models(
    models: dict[str, BenchmarkModel],
    split: LeaveOneOut,
    data: InteractionData,
    config: BenchmarkConfig,
    out: Path,
    *,
    reuse: bool,
    overwrite: bool,
    subset: dict | None = None,
    show_progress: bool = True,
    log: Log = _print,
) -> tuple[list[dict], list[str]]:
    """(benchmark rows, names reused) of every model, trained in order into ``out / name``.

    With ``reuse``, a model whose folder exists is tabulated from its checkpoint
    (:func:`~experiments.movielens.runner.reuse_model`) instead of trained again.
    """
    rows, reused = [], []
    for name, spec in models.items():
        extra = {"subset": subset} if subset else None
        if reuse and (out / name).exists():
            row = reuse_model(spec, config, data.fingerprint, out, extra=extra)
            rows.append(row)
            reused.append(name)
            log(f"{name}: reused {row['checkpoint']} (trained on {row['device_name']})")
            continue
        with tqdm(
            total=config.epochs, desc=name, unit="epoch", file=sys.stderr, disable=not show_progress
        ) as bar:

            def progress(row, bar=bar):
                bar.set_postfix(loss=f"{row['train_loss']:.3f}", ndcg=f"{row['val_ndcg10']:.4f}")
                bar.update(1)

            row = run_model(
                spec,
                split,
                config,
                data.n_items,
                data.creator,
                data.fingerprint,
                out,
                overwrite=overwrite,
                progress=progress,
                extra=extra,
            )
        rows.append(row)
        # Rewritten after every model, so an interrupted run keeps what it finished.
        write_table(benchmark_table(rows), out / "benchmark.csv")
        log(
            f"{name}: test R@10 {row['recall10']:.4f} NDCG@10 {row['ndcg10']:.4f} "
            f"R@1 {row['recall1']:.4f} (val NDCG@10 {row['val_ndcg10']:.4f}, best epoch "
            f"{row['best_epoch']}/{row['epochs']}, {row['wall_seconds']:.0f} s, "
            f"{row['sequences_per_second']:,.0f} seq/s); disliked target in top 10 "
            f"{row['disliked_in_top10']:.4f}, disliked-director share "
            f"{row['disliked_director_share']:.4f}"
        )
    return rows, reused


def write_benchmark(
    rows: list[dict], names: list[str], data_name: str, out: Path
) -> tuple[pd.DataFrame, list[Path]]:
    """(table, paths written): ``benchmark.csv`` and ``learning_curves.png/.pdf`` (every
    model's validation curves)."""
    table = benchmark_table(rows)
    write_table(table, out / "benchmark.csv")
    plots = plot_learning_curves(
        {name: pd.read_csv(out / name / "metrics.csv") for name in names},
        out / "learning_curves",
        title=f"{data_name}: validation on each user's second-to-last event",
    )
    return table, [out / "benchmark.csv", *plots]


def compare_with_twins(
    split: LeaveOneOut,
    names: list[str],
    config: BenchmarkConfig,
    out: Path,
    seed: int,
    show_progress: bool = True,
    log: Log = _print,
) -> list[Path]:
    """Each feedback-aware model minus its feedback-blind twin, and each model with a
    feedback pathway minus the same model without it (:func:`pathway_twin`), when both
    ran, per metric, with paired bootstrap CIs over users
    (:mod:`experiments.movielens.paired`), into ``paired.csv`` and ``paired.png/.pdf``;
    returns the paths written. When no pair ran, an earlier run's paired files are
    removed rather than left beside this run's."""
    twins = (blind_twin, pathway_twin)
    pairs = {twin: [n for n in names if twin(n) in names] for twin in twins}
    if not any(pairs.values()):
        for name in ("paired.csv", "paired.png", "paired.pdf"):
            (out / name).unlink(missing_ok=True)
        return []
    involved = sorted(
        {n for twin, mine in pairs.items() for n in (*mine, *map(twin, mine))}, key=names.index
    )
    ranks = {
        name: checkpoint_ranks(out / name, split.test, config.eval_batch_size, config.device)
        for name in tqdm(involved, desc="test ranks", file=sys.stderr, disable=not show_progress)
    }
    disliked = split.test.target_feedback == int(Feedback.DISLIKE)
    table = pd.concat(
        [
            compare_twins(mine, ranks, disliked, twin, seed=seed)
            for twin, mine in pairs.items()
            if mine
        ],
        ignore_index=True,
    )
    atomic_write_csv(out / "paired.csv", table)
    title = "feedback-aware model minus its blind twin"
    if pairs[pathway_twin]:
        title += "; with a pathway minus without"
    plots = plot_paired(table, out / "paired", title=title)
    log(paired_view(table).to_string(index=False))
    log(f"wrote {out / 'paired.csv'} and paired.png/.pdf")
    return [out / "paired.csv", *plots]


def measure_real_histories(
    data: InteractionData,
    names: list[str],
    out: Path,
    k: int | None,
    seed: int,
    log: Log = _print,
) -> Path:
    """Counterfactual responsiveness of every trained model on real histories, into
    ``out / "responsiveness"``; returns that folder's manifest (its run.json).

    Each eligible user's real first k-1 events, then their real k-th movie rated 5 in
    one branch and 1 in the other (:mod:`simulator.responsiveness.real_histories`);
    FeedbackFilter around the blind twin (else the first model) is measured beside them
    as the downstream heuristic.
    """
    config = RealHistoryConfig(k=k, seed=seed)
    corpus = DataCorpus.of(data)
    adapters = {
        name: build_real_adapter(f"checkpoint:{out / name}", data, corpus) for name in names
    }
    # The filter wraps the blind twin of the feedback-aware models when there is one,
    # so the heuristic and the learned responses start from the same model.
    base = next((n for n in names if any(blind_twin(m) == n for m in names)), names[0])
    adapters[f"filter:{base}"] = build_real_adapter(f"filter:checkpoint:{out / base}", data, corpus)
    runs = compare_real(data, adapters, config)
    paths = write_real_run(out / "responsiveness", runs, config, data)
    log(format_table(pd.concat([run.summary for run in runs], ignore_index=True)))
    log(f"wrote {out / 'responsiveness'}")
    return paths["run.json"]
