"""The paper's Fig. 3b study, repeated over world seeds: logs, trained variants, responsiveness.

For each world seed ``s`` the study runs the whole pipeline a user would run
by hand (``make_logs.py``, ``train.py --variant all``, ``responsiveness.py``):

1. **World and logs.** ``World`` of seed ``s`` (default parameters, or the
   ``world_overrides`` of a sensitivity point) with ``world_users`` users;
   interaction logs drawn by :func:`simulator.logs.make_logs` (mixture logging
   recommender, log seed ``logs.seed``).
2. **Training.** Each variant (:data:`recommenders.variants.VARIANTS`) is
   trained by :func:`recommenders.training.fit.fit_variant` into
   ``seed-s/models/{kind}-{variant}``. A checkpoint already there is reused
   when it was trained on the same world with the same model and training
   config (the device aside); any other checkpoint there is an error unless
   ``overwrite``.
3. **Responsiveness.** Every variant, plus :class:`recommenders.FeedbackFilter`
   around the baseline (``filter:baseline``, the downstream heuristic), is
   measured with the counterfactual protocol: reference branch ``long_dwell``
   against ``long_dwell+dislike`` and ``skip`` (a short dwell), slates at
   steps k+1..k+horizon.

Responsiveness values are fractions (-0.227 = 22.7 % fewer similar items),
with paired-bootstrap 95 % CIs; see :mod:`simulator.responsiveness.simulated`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from experiments import published
from recommenders import FeedbackFilter, RecommenderAdapter
from recommenders.atomic import atomic_write_csv, atomic_write_text
from recommenders.checkpoint import load_adapter, read_checkpoint
from recommenders.models import ModelConfig
from recommenders.sequences import Sequences, read_log
from recommenders.training.fit import fit_variant
from recommenders.training.loop import TrainConfig
from recommenders.variants import VARIANTS, Variant, get_variant
from simulator.logs import LogConfig, make_logs
from simulator.responsiveness.simulated import ResponsivenessConfig, measure_responsiveness
from simulator.world.world import World, WorldConfig, override_world_config, world_parameters

STUDY_FLOAT_FORMAT = "%.6g"
"""Six significant digits: the study's tables mix counts, dislike rates near 1e-3 and
relative changes, which a fixed number of decimals would round away or pad."""
FILTER_NAME = "filter:baseline"
STUDY_BRANCHES = ("long_dwell", "long_dwell+dislike", "skip")


class StudyError(ValueError):
    """A study cannot run as configured (bad override, stale checkpoint, ...)."""


@dataclass(frozen=True)
class TrainedWorldsConfig:
    """What every study on synthetic worlds shares: per world seed a world, logs drawn
    from it and models trained on the logs. Subclasses add what they measure.

    Attributes:
        seeds: world seeds; each gives its own world, logs and models.
        world_users: users in each world (the logs draw from all of them).
        world_overrides: ``("section.field", value)`` pairs replacing default
            world parameters, e.g. ``("response.dislike_averse", 0.25)``.
        logs: how the training logs are drawn.
        model: the base architecture.
        train: optimisation (``device`` is not part of a checkpoint's identity).
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    world_users: int = 5000
    world_overrides: tuple[tuple[str, float], ...] = ()
    logs: LogConfig = field(default_factory=LogConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(
            self, "world_overrides", tuple((str(k), v) for k, v in self.world_overrides)
        )
        if not self.seeds:
            raise StudyError(f"{name}.seeds is empty")
        if len(set(self.seeds)) != len(self.seeds):
            raise StudyError(f"{name}.seeds has duplicates: {list(self.seeds)}")
        if self.logs.n_users > self.world_users:
            raise StudyError(
                f"logs.n_users {self.logs.n_users} exceeds world_users {self.world_users}"
            )
        world_config(0, self.world_users, self.world_overrides)  # fails early on a bad override

    def _check_measured_users(self, measure: ResponsivenessConfig) -> None:
        if measure.n_users > self.world_users:
            raise StudyError(
                f"measure.n_users {measure.n_users} exceeds world_users {self.world_users}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StudyConfig(TrainedWorldsConfig):
    """The paper's study (Fig. 3b and Table 1 across variants); the defaults are the
    paper-scale run. Fields beyond :class:`TrainedWorldsConfig`'s:

    Attributes:
        variants: variant names to train and measure; the model's ``features`` are set
            per variant.
        measure: the responsiveness protocol (its ``seed`` keys behaviour and bootstrap).
        filter_baseline: also measure ``FeedbackFilter`` around the baseline.
    """

    variants: tuple[str, ...] = tuple(VARIANTS)
    measure: ResponsivenessConfig = field(
        default_factory=lambda: ResponsivenessConfig(horizon=10, branches=STUDY_BRANCHES)
    )
    filter_baseline: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "variants", tuple(self.variants))
        if not self.variants:
            raise StudyError("StudyConfig.variants is empty")
        for name in self.variants:
            get_variant(name)
        if self.filter_baseline and "baseline" not in self.variants:
            raise StudyError("filter_baseline needs the 'baseline' variant")
        self._check_measured_users(self.measure)


def world_config(
    seed: int, n_users: int, overrides: tuple[tuple[str, float], ...] = ()
) -> WorldConfig:
    """The default world config of ``seed`` with ``n_users`` users and ``overrides`` applied
    (:func:`simulator.world.world.override_world_config`)."""
    base = WorldConfig()
    config = replace(base, seed=seed, population=replace(base.population, n_users=n_users))
    # The study sets the number of users itself; any other parameter may vary.
    known = [key for key in world_parameters(config) if key != "population.n_users"]
    for key, _ in overrides:
        if key not in known:
            raise StudyError(f"unknown world parameter {key!r}; known: {', '.join(known)}")
    try:
        return override_world_config(config, overrides)
    except ValueError as error:
        raise StudyError(f"world overrides {dict(overrides)}: {error}") from None


@dataclass(frozen=True)
class WorldRun:
    """One seed's prepared world: its folder, the world, and checkpoint folders by variant."""

    seed: int
    folder: Path
    world: World
    checkpoints: dict[str, Path]
    seconds: dict[str, float]


def prepare_world(
    config: StudyConfig,
    seed: int,
    folder: Path,
    overwrite: bool = False,
    progress: Callable[[str, dict], object] | None = None,
) -> WorldRun:
    """Steps 1-2 for one seed: world, logs and trained variants in ``folder`` (reused when current).

    ``progress(name, row)`` receives each training epoch's metrics row.
    """
    world = World.generate(world_config(seed, config.world_users, config.world_overrides))
    seconds = prepare_logs(world, config.logs, folder)
    sequences = logged_sequences(folder, world)
    checkpoints = {}
    for name in config.variants:
        variant = get_variant(name)
        model_config = replace(config.model, features=variant.features)
        target = folder / "models" / f"{model_config.kind}-{name}"
        checkpoints[name] = target
        spent = train_if_stale(
            target,
            world,
            variant,
            model_config,
            config.train,
            sequences,
            overwrite,
            None if progress is None else (lambda row, n=name: progress(n, row)),
            check_variant=False,
        )
        if spent is not None:
            seconds[f"train:{name}"] = spent
    return WorldRun(seed, folder, world, checkpoints, seconds)


def logged_sequences(folder: Path, world: World) -> Callable[[], Sequences]:
    """The training sequences of ``folder``'s logs, read on the first call only."""
    return functools.cache(
        lambda: Sequences.from_log(read_log(folder / "interactions.csv.gz", world.corpus.n_items))
    )


def train_if_stale(
    target: Path,
    world: World,
    variant: Variant,
    model: ModelConfig,
    train: TrainConfig,
    sequences: Callable[[], Sequences],
    overwrite: bool = False,
    progress: Callable[[dict], object] | None = None,
    check_variant: bool = True,
) -> float | None:
    """Train ``variant`` of ``model`` on ``sequences()`` into ``target`` unless the
    checkpoint there is current (:func:`checkpoint_is_current`, with the variant when
    ``check_variant``); seconds spent, or None when kept. A stale checkpoint is a
    :class:`StudyError` unless ``overwrite``."""
    current = checkpoint_is_current(target, world, model, train, variant if check_variant else None)
    if target.exists() and current:
        return None
    if target.exists() and not overwrite:
        raise StudyError(
            f"{target} was trained on another world or config; pass overwrite=True "
            "(--overwrite) to retrain it"
        )
    start = time.perf_counter()
    fit_variant(
        sequences(),
        variant,
        model,
        train,
        world.corpus.n_items,
        world.fingerprint,
        target.parent,
        name=target.name,
        overwrite=True,
        progress=progress,
    )
    return time.perf_counter() - start


def prepare_logs(world: World, logs: LogConfig, folder: Path) -> dict[str, float]:
    """``world.npz``, ``interactions.csv.gz`` and ``logs.json`` of ``world`` drawn with
    ``logs`` in ``folder``, kept when ``logs.json`` says they were made from exactly these;
    returns the seconds spent (``{"logs": s}``, or nothing when kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    logs_path = folder / "interactions.csv.gz"
    stamp = {"world": world.fingerprint, "logs": logs.to_dict()}
    stamp_path = folder / "logs.json"
    if is_current(stamp_path, stamp, logs_path, folder / "world.npz"):
        return {}
    start = time.perf_counter()
    log = make_logs(world, logs)
    world.save(folder / "world.npz")
    atomic_write_csv(logs_path, log)
    atomic_write_text(stamp_path, json.dumps(stamp, indent=2) + "\n")
    return {"logs": time.perf_counter() - start}


def is_current(record: Path, stamp: dict, *outputs: Path, key: str | None = None) -> bool:
    """True when every output file exists and the JSON ``record`` holds ``stamp``
    (under ``key`` if given): the outputs were made from what ``stamp`` describes."""
    saved = read_json(record)
    if key is not None:
        saved = (saved or {}).get(key)
    # Compared as read back from JSON (tuples become lists).
    return saved == json.loads(json.dumps(stamp)) and all(p.is_file() for p in outputs)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def checkpoint_is_current(
    path: Path,
    world: World,
    model: ModelConfig,
    train: TrainConfig,
    variant: Variant | None = None,
) -> bool:
    """Trained on ``world`` with ``model`` and ``train`` (the device aside), and with
    ``variant`` (its features, labels and loss) when given?

    Fields a newer library added to the configs are read at their defaults, so a
    checkpoint stays current when an option it could not know about is unused.
    """
    try:
        header = json.loads((path / "checkpoint.json").read_text())
        saved_model = ModelConfig.from_dict(header["model"])
        saved = {**TrainConfig().to_dict(), **header.get("train", {}), "device": train.device}
        saved_train = TrainConfig(**saved)
        saved_variant = Variant.from_dict(header["variant"]) if variant is not None else None
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (
        header.get("fingerprint") == world.fingerprint
        and saved_model == model
        and saved_train == train
        and saved_variant == variant
    )


def study_adapters(
    run: WorldRun, config: StudyConfig, device: str = "cpu"
) -> dict[str, RecommenderAdapter]:
    """The measured adapters of one seed: every variant, then ``filter:baseline``."""
    world = run.world
    adapters: dict[str, RecommenderAdapter] = {
        name: load_adapter(path, world.corpus, world.fingerprint, device=device)
        for name, path in run.checkpoints.items()
    }
    if config.filter_baseline:
        adapters[FILTER_NAME] = FeedbackFilter(adapters["baseline"], world.corpus, by="creator")
    return adapters


def measure_world(
    run: WorldRun,
    config: StudyConfig,
    device: str = "cpu",
    progress: Callable[[int], object] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Step 3 for one seed: (summary table, per-user table, seconds per adapter), with ``seed``."""
    summaries, per_user, seconds = [], [], {}
    for name, adapter in study_adapters(run, config, device).items():
        result = measure_responsiveness(
            run.world, adapter, config.measure, name=name, progress=progress
        )
        summaries.append(result.summary)
        per_user.append(result.per_user)
        seconds[f"measure:{name}"] = result.wall_seconds
    summary = pd.concat(summaries, ignore_index=True)
    summary.insert(0, "seed", run.seed)
    users = pd.concat(per_user, ignore_index=True)
    users.insert(0, "seed", run.seed)
    return summary, users, seconds


def measure_stamp(run: WorldRun, config: StudyConfig) -> dict:
    """What a measurement depends on: the protocol and every checkpoint's weights (SHA-256)."""
    return {
        "measure": config.measure.to_dict(),
        "filter_baseline": config.filter_baseline,
        "weights": {
            name: hashlib.sha256((path / "weights.pt").read_bytes()).hexdigest()
            for name, path in run.checkpoints.items()
        },
    }


def checkpoint_metrics(run: WorldRun) -> pd.DataFrame:
    """Held-out metrics of each trained variant at its best epoch (from checkpoint.json)."""
    rows = []
    for name, path in run.checkpoints.items():
        header, _, _ = read_checkpoint(path)
        best = header.get("best_metrics", {})
        rows.append(
            {
                "seed": run.seed,
                "variant": name,
                "best_epoch": header.get("best_epoch"),
                **{k: v for k, v in best.items() if k.startswith("val_")},
            }
        )
    return pd.DataFrame(rows)


def ordering_checks(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's ordering (Fig. 3b), per seed and kind, on the first slate after a dislike.

    * ``baseline_contains_0``: the baseline's CI contains 0;
    * ``feature_negative``: dislike_feature's CI lies below 0;
    * ``label_below_feature``: dislike_feature_label's CI lies entirely below
      dislike_feature's (non-overlapping 95 % CIs).
    """
    rows = table[(table["branch"] == "long_dwell+dislike")]
    rows = rows[rows["step"] == rows["step"].min()]
    out = []
    for (seed, kind), group in rows.groupby(["seed", "kind"], sort=True):
        by = group.set_index("model")
        missing = {"baseline", "dislike_feature", "dislike_feature_label"} - set(by.index)
        if missing:
            raise StudyError(f"ordering check needs variants {sorted(missing)} (seed {seed})")
        base, feat, label = (
            by.loc[n] for n in ("baseline", "dislike_feature", "dislike_feature_label")
        )
        out.append(
            {
                "seed": seed,
                "kind": kind,
                "baseline_contains_0": bool(base["ci_low"] <= 0 <= base["ci_high"]),
                "feature_negative": bool(feat["ci_high"] < 0),
                "label_below_feature": bool(label["ci_high"] < feat["ci_low"]),
            }
        )
    checks = pd.DataFrame(out)
    checks["holds"] = checks[
        ["baseline_contains_0", "feature_negative", "label_below_feature"]
    ].all(axis=1)
    return checks


def paper_column(table: pd.DataFrame) -> np.ndarray:
    """The paper's Fig. 3b value for each (model, kind) row of ``table`` (NaN where none)."""
    keys = zip(table["model"], table["kind"], strict=True)
    return np.array([published.FIG3B.get(key, np.nan) for key in keys], dtype=np.float64)


def write_json(path: Path, record: Mapping) -> None:
    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n")


__all__ = [
    "FILTER_NAME",
    "STUDY_BRANCHES",
    "StudyConfig",
    "StudyError",
    "WorldRun",
    "checkpoint_is_current",
    "checkpoint_metrics",
    "logged_sequences",
    "measure_world",
    "ordering_checks",
    "paper_column",
    "prepare_logs",
    "prepare_world",
    "study_adapters",
    "train_if_stale",
    "world_config",
]
