"""Run the Fig. 3b study over every seed and write its tables and figures.

Output folder layout::

    seed-S/world.npz, interactions.csv.gz, logs.json     world and training logs
    seed-S/models/{kind}-{variant}/                      checkpoints (+ learning curves)
    seed-S/responsiveness.csv, per_user.csv.gz           that seed's measurement
    fig3b.csv        every seed and all seeds pooled: one row per
                     (seed, model, branch, kind, step), with the paper's value
    checks.csv       the ordering acceptance per seed and kind
    models.csv       held-out metrics of every checkpoint
    fig3b.png/.pdf   dislike vs long dwell at k+1, bars per seed, paper diamonds
    skip.png/.pdf    skip (short dwell) vs long dwell at k+1
    horizon.png/.pdf dislike responsiveness at k+1..k+h, all seeds pooled
    pooled.csv/.json the all-seeds summary and what it was computed from (reused)
    study.json       config, world fingerprints, wall seconds per stage

"Pooled" treats the users of all seeds as one sample (user ids made unique
per seed) and bootstraps over them, so it averages over worlds as well as
users.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from experiments import published
from experiments.paper.plots import POOLED, plot_seed_bars
from experiments.paper.study import (
    STUDY_FLOAT_FORMAT,
    StudyConfig,
    WorldRun,
    checkpoint_metrics,
    is_current,
    measure_stamp,
    measure_world,
    ordering_checks,
    paper_column,
    prepare_world,
    read_json,
    write_json,
)
from recommenders.atomic import atomic_write_csv
from simulator.records import package_versions, project_record
from simulator.responsiveness.plots import plot_horizon, plot_responsiveness
from simulator.responsiveness.simulated import summarize, total_user_steps


@dataclass(frozen=True)
class Fig3bResult:
    table: pd.DataFrame  # fig3b.csv
    checks: pd.DataFrame
    models: pd.DataFrame
    seconds: dict[str, float]
    paths: dict[str, Path]


@dataclass(frozen=True)
class StudyProgress:
    """Callbacks a CLI turns into progress bars (all optional)."""

    epoch: Callable[[int, str, dict], object] | None = None  # (seed, variant, metrics row)
    measure: Callable[[int], object] | None = None  # user-steps done
    stage: Callable[[str], object] | None = None  # a stage starts


@dataclass(frozen=True)
class SeedTask:
    """One seed of the study (world, logs, training, measurement), self-contained so
    that a worker process or a Ray task can run it; ``threads`` caps torch's threads."""

    config: StudyConfig
    seed: int
    folder: Path
    overwrite: bool = False
    device: str = "cpu"
    threads: int | None = None
    steps: int = 0


@dataclass(frozen=True)
class SeedResult:
    seed: int
    fingerprint: str
    seconds: dict
    summary: pd.DataFrame
    users: pd.DataFrame
    models: pd.DataFrame
    stamp: dict


def run_seed(task: SeedTask, progress: StudyProgress | None = None) -> SeedResult:
    """Steps 1-3 for one seed, reusing what is current in its folder."""
    progress = progress or StudyProgress()
    if task.threads is not None:
        import torch

        torch.set_num_threads(task.threads)
    seed = task.seed
    _stage(progress, f"seed {seed}: world, logs and training")
    epoch = None if progress.epoch is None else (lambda n, r: progress.epoch(seed, n, r))
    run = prepare_world(task.config, seed, task.folder, task.overwrite, epoch)
    seconds = {f"seed-{seed}:{k}": v for k, v in run.seconds.items()}
    _stage(progress, f"seed {seed}: responsiveness")
    summary, users, measured = _measure_cached(run, task.config, task.device, progress.measure)
    seconds.update({f"seed-{seed}:{k}": v for k, v in measured.items()})
    return SeedResult(
        seed,
        run.world.fingerprint,
        seconds,
        summary,
        users,
        checkpoint_metrics(run),
        measure_stamp(run, task.config),
    )


def run_fig3b_study(
    config: StudyConfig,
    out: Path,
    overwrite: bool = False,
    device: str = "cpu",
    progress: StudyProgress | None = None,
    executor=None,
) -> Fig3bResult:
    """Prepare, train and measure every seed (reusing what is current), then aggregate.

    ``executor`` (:mod:`simulator.executors`; default: this process) runs the seeds;
    elsewhere than in this process each seed reports only when it is done, and each
    worker gets the executor's CPUs per worker as torch threads.
    """
    from simulator.executors import LocalExecutor

    progress = progress or StudyProgress()
    executor = executor or LocalExecutor()
    out.mkdir(parents=True, exist_ok=True)
    local = isinstance(executor, LocalExecutor)
    steps = total_user_steps(config.measure) * (len(config.variants) + config.filter_baseline)
    tasks = [
        SeedTask(
            config,
            seed,
            out / f"seed-{seed}",
            overwrite,
            device,
            executor.threads,
            steps,
        )
        for seed in config.seeds
    ]
    if local:
        done = [run_seed(task, progress) for task in tasks]
    else:
        done = list(executor.run(run_seed, tasks, progress.measure))
    by_seed = {result.seed: result for result in done}
    results = [by_seed[seed] for seed in config.seeds]  # in seed order, wherever they ran
    summaries = [r.summary for r in results]
    per_user = [r.users for r in results]
    models = [r.models for r in results]
    stamps = [r.stamp for r in results]
    fingerprints = {r.seed: r.fingerprint for r in results}
    seconds: dict[str, float] = {}
    for r in results:
        seconds.update(r.seconds)
    _stage(progress, "all seeds pooled")
    pooled = _pooled_cached(out, per_user, config, stamps)
    table = pd.concat([*summaries, pooled], ignore_index=True)
    table["paper"] = paper_column(table)
    checks = ordering_checks(table[table["seed"] != POOLED])
    model_table = pd.concat(models, ignore_index=True)
    paths = _write(out, config, table, checks, model_table)
    write_json(
        out / "study.json",
        {
            "config": config.to_dict(),
            "device": device,
            "fingerprints": fingerprints,
            "seconds": seconds,
            "versions": package_versions(),
            "project": project_record(),
        },
    )
    paths["study.json"] = out / "study.json"
    return Fig3bResult(table, checks, model_table, seconds, paths)


def _stage(progress: StudyProgress, name: str) -> None:
    if progress.stage is not None:
        progress.stage(name)


def _measure_cached(
    run: WorldRun, config: StudyConfig, device: str, progress
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """That seed's measurement, recomputed only when the models or the protocol changed."""
    stamp = measure_stamp(run, config)
    folder = run.folder
    summary_path, users_path = folder / "responsiveness.csv", folder / "per_user.csv.gz"
    record = folder / "measure.json"
    if is_current(record, stamp, summary_path, users_path, key="stamp"):
        # The seconds of the run that measured them, so the report keeps its wall times.
        seconds = read_json(record).get("seconds", {})
        return pd.read_csv(summary_path), pd.read_csv(users_path), seconds
    start = time.perf_counter()
    summary, users, seconds = measure_world(run, config, device, progress)
    atomic_write_csv(summary_path, summary, STUDY_FLOAT_FORMAT)
    atomic_write_csv(users_path, users, STUDY_FLOAT_FORMAT)
    write_json(folder / "measure.json", {"stamp": stamp, "seconds": seconds})
    seconds["measure"] = time.perf_counter() - start
    # Read back what was written so a fresh and a cached run aggregate identical numbers.
    return pd.read_csv(summary_path), pd.read_csv(users_path), seconds


def _pooled_cached(
    out: Path, per_user: list[pd.DataFrame], config: StudyConfig, stamps: list[dict]
) -> pd.DataFrame:
    """The pooled summary, recomputed only when a seed's measurement changed.

    Its bootstrap over all seeds' users takes minutes at paper scale.
    """
    stamp = {"seeds": list(config.seeds), "measurements": stamps}
    path = out / "pooled.csv"
    if not is_current(out / "pooled.json", stamp, path):
        atomic_write_csv(path, _pooled(per_user, config), STUDY_FLOAT_FORMAT)
        write_json(out / "pooled.json", stamp)
    return pd.read_csv(path, dtype={"seed": str})


def _pooled(per_user: list[pd.DataFrame], config: StudyConfig) -> pd.DataFrame:
    users = pd.concat(per_user, ignore_index=True)
    users["user"] = users["seed"] * config.measure.n_users + users["user"]
    pooled = summarize(users.drop(columns="seed"), config.measure)
    pooled.insert(0, "seed", POOLED)
    return pooled


def _write(
    out: Path,
    config: StudyConfig,
    table: pd.DataFrame,
    checks: pd.DataFrame,
    models: pd.DataFrame,
) -> dict[str, Path]:
    paths = {}
    for name, frame in (("fig3b.csv", table), ("checks.csv", checks), ("models.csv", models)):
        atomic_write_csv(out / name, frame, STUDY_FLOAT_FORMAT)
        paths[name] = out / name
    first = table["step"].min()
    m = config.measure
    for branch, stem in (("long_dwell+dislike", "fig3b"), ("skip", "skip")):
        rows = table[(table["branch"] == branch) & (table["step"] == first)]
        if rows.empty:
            continue
        title = (
            f"{branch} vs {m.branches[0]}, first slate after the fork (k={m.k}, "
            f"{m.n_users} users per seed)"
        )
        paper = published.FIG3B if branch == "long_dwell+dislike" else None
        for path in plot_seed_bars(rows, out / stem, paper=paper, title=title):
            paths[path.name] = path
    pooled = table[(table["seed"] == POOLED) & (table["branch"] == "long_dwell+dislike")]
    if pooled["step"].nunique() > 1:
        title = f"dislike responsiveness after the fork, {len(config.seeds)} world seeds pooled"
        for path in plot_horizon(pooled, out / "horizon", title=title):
            paths[path.name] = path
    both = table[(table["seed"] == POOLED) & (table["step"] == first)]
    for path in plot_responsiveness(both, out / "branches", title="all seeds pooled, k+1"):
        paths[path.name] = path
    return paths
