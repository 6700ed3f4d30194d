"""Why does the transformer listen less than the GRU? The ablation study, seed by seed.

On the same logs, SASRec trained with the dislike feature (and the not-to-recommend
loss) cuts similar recommendations after a dislike far less than the GRU does. The
study trains a table of named configurations, :data:`ARMS` (each one change to the
plain SASRec, or a reference), on every world seed, and for each one measures:

* responsiveness: the counterfactual protocol (long dwell vs long dwell + dislike on
  x_k), slates k+1..k+h, with paired-bootstrap 95% CIs per seed and pooled over seeds
  (:mod:`simulator.responsiveness.simulated`);
* what reaches the state at the fork (:mod:`simulator.responsiveness.probe`): the
  relative state gap per level, the attention on x_k, and where the state moves,
  ``aim = cos(s_B - s_A, -v_{x_k})`` and x_k's own score fall in standard deviations;
* held-out accuracy at the selected epoch (NDCG@10, Recall@10, disliked in top 10).

An arm is data (a variant, :class:`recommenders.models.ModelConfig` overrides, a label
weight, a feature set), so a new question is one more entry in :data:`ARMS`. Folder per
seed: ``seed-S/`` holds the world, the logs and ``models/ARM/`` (checkpoints that
``responsiveness.py --checkpoint`` loads like any other), reused while current.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.paper.plots import POOLED, plot_seed_bars
from experiments.paper.study import (
    STUDY_FLOAT_FORMAT,
    StudyError,
    TrainedWorldsConfig,
    is_current,
    logged_sequences,
    prepare_logs,
    read_json,
    train_if_stale,
    world_config,
    write_json,
)
from experiments.paper.tables import ci, figure_lines, pct
from recommenders.atomic import atomic_write_csv
from recommenders.checkpoint import load_adapter, read_checkpoint
from recommenders.evaluation.ranking import positive_ndcg_gains
from recommenders.models import ModelConfig
from recommenders.sequences import Sequences, holdout_contexts, holdout_positions
from recommenders.variants import Variant, get_variant, with_action_embedding
from simulator.bootstrap import mean_difference_ci
from simulator.records import md_table
from simulator.responsiveness.plots import plot_horizon
from simulator.responsiveness.probe import ForkRecorder, probe_adapter
from simulator.responsiveness.simulated import (
    ResponsivenessConfig,
    measure_responsiveness,
    summarize,
)
from simulator.world.world import World


@dataclass(frozen=True)
class Arm:
    """One row of the ablation: a model kind and variant, and what differs from it.

    Attributes:
        name: the row's (and checkpoint folder's) name.
        kind: "gru" or "sasrec".
        variant: a :data:`recommenders.variants.VARIANTS` name.
        question: what the row asks, for the report.
        model: :class:`ModelConfig` fields that differ from the study's base model.
        negative_weight: the not-to-recommend label weight w, if not the variant's.
        action_embedding: the variant's features replaced by Nekrasov's action
            embedding (:func:`recommenders.variants.with_action_embedding`).
    """

    name: str
    kind: str
    variant: str
    question: str
    model: tuple[tuple[str, object], ...] = ()
    negative_weight: float | None = None
    action_embedding: bool = False

    def training_variant(self) -> Variant:
        variant = get_variant(self.variant)
        if self.negative_weight is not None:
            labels = replace(variant.labels, negative_weight=self.negative_weight)
            variant = replace(variant, labels=labels)
        return with_action_embedding(variant) if self.action_embedding else variant

    def model_config(self, base: ModelConfig) -> ModelConfig:
        """``base`` with this arm's kind, layers (1 GRU, 2 SASRec, as train.py), the
        variant's features and the arm's overrides."""
        layers = 1 if self.kind == "gru" else 2
        config = replace(
            base, kind=self.kind, n_layers=layers, features=self.training_variant().features
        )
        try:
            return replace(config, **dict(self.model))
        except (TypeError, ValueError) as error:
            raise StudyError(f"arm {self.name!r}: {error}") from None


_CROSS = (("last_event_cross", True),)
ARMS: tuple[Arm, ...] = (
    Arm("gru-feature", "gru", "dislike_feature", "reference: GRU, dislike feature"),
    Arm("gru-treatment", "gru", "dislike_feature_label", "reference: GRU, feature + label"),
    Arm("sasrec-feature", "sasrec", "dislike_feature", "plain SASRec, dislike feature"),
    Arm("sasrec-treatment", "sasrec", "dislike_feature_label", "plain SASRec, feature + label"),
    Arm(
        "sasrec-concat",
        "sasrec",
        "dislike_feature_label",
        "feedback concatenated to the item, then projected",
        model=(("feedback_entry", "concat"),),
    ),
    Arm(
        "sasrec-input-cross",
        "sasrec",
        "dislike_feature_label",
        "latent cross at the input: v * (1 + c(f)) + f",
        model=(("feedback_entry", "latent_cross"),),
    ),
    Arm(
        "sasrec-action",
        "sasrec",
        "dislike_feature_label",
        "Nekrasov's action embedding instead of the dislike flag",
        action_embedding=True,
    ),
    Arm(
        "sasrec-no-positions",
        "sasrec",
        "dislike_feature_label",
        "no position embeddings (order only through the causal mask)",
        model=(("position_embeddings", False),),
    ),
    Arm(
        "sasrec-relative-positions",
        "sasrec",
        "dislike_feature_label",
        "relative position bias b[i - j] in the attention instead of position embeddings",
        model=(("position_embeddings", False), ("position_bias", True)),
    ),
    Arm(
        "sasrec-dropout0",
        "sasrec",
        "dislike_feature_label",
        "dropout 0 (default 0.1)",
        model=(("dropout", 0.0),),
    ),
    Arm(
        "sasrec-len20",
        "sasrec",
        "dislike_feature_label",
        "20 events read (default 50)",
        model=(("max_len", 20),),
    ),
    Arm(
        "sasrec-w10",
        "sasrec",
        "dislike_feature_label",
        "label weight w = 10 (default 100)",
        negative_weight=10.0,
    ),
    Arm(
        "sasrec-cross-feature",
        "sasrec",
        "dislike_feature",
        "last-event cross s + c(f) * v, dislike feature",
        model=_CROSS,
    ),
    Arm(
        "sasrec-cross-treatment",
        "sasrec",
        "dislike_feature_label",
        "last-event cross s + c(f) * v, feature + label",
        model=_CROSS,
    ),
)
"""The ablation's rows: references, one change each to the plain SASRec."""
ARMS_BY_NAME = {arm.name: arm for arm in ARMS}
HORIZON_ARMS = (
    "gru-treatment",
    "sasrec-treatment",
    "sasrec-no-positions",
    "sasrec-relative-positions",
    "sasrec-cross-treatment",
)
"""The arms whose horizon curves (k+1..k+h) the report draws."""
DISLIKE = "long_dwell+dislike"


@dataclass(frozen=True)
class ListeningConfig(TrainedWorldsConfig):
    """The listening study; the defaults are the paper-scale run. ``model`` is the base
    architecture (dim, max_len, heads, dropout) that arms change, and ``train`` is the
    same for every arm. Fields beyond :class:`TrainedWorldsConfig`'s:

    Attributes:
        measure: the protocol: long dwell vs long dwell + dislike, slates k+1..k+h.
        arms: names of :data:`ARMS` rows to train and measure.
    """

    measure: ResponsivenessConfig = field(default_factory=lambda: ResponsivenessConfig(horizon=10))
    arms: tuple[str, ...] = tuple(ARMS_BY_NAME)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "arms", tuple(dict.fromkeys(self.arms)))
        unknown = [a for a in self.arms if a not in ARMS_BY_NAME]
        if unknown or not self.arms:
            raise StudyError(
                f"unknown arm(s) {unknown}; known: {', '.join(ARMS_BY_NAME)}"
                if unknown
                else "ListeningConfig.arms is empty"
            )
        if self.measure.branches != ("long_dwell", DISLIKE):
            raise StudyError(f"the study compares long_dwell with {DISLIKE}")
        self._check_measured_users(self.measure)
        for name in self.arms:
            ARMS_BY_NAME[name].model_config(self.model)  # a bad override fails here


@dataclass(frozen=True)
class ListeningProgress:
    """Callbacks: ``stage(text)``, ``epoch(arm, row)`` per training epoch, ``measure(n)``
    user-steps measured."""

    stage: Callable[[str], object] | None = None
    epoch: Callable[[str, dict], object] | None = None
    measure: Callable[[int], object] | None = None


@dataclass(frozen=True)
class ListeningResult:
    """The study's tables (see :func:`run_listening_study`) and the files written."""

    responsiveness: pd.DataFrame
    probe: pd.DataFrame
    models: pd.DataFrame
    paths: dict[str, Path]
    heldout: pd.DataFrame | None = None


def prepare_seed(
    config: ListeningConfig,
    seed: int,
    folder: Path,
    overwrite: bool = False,
    progress: ListeningProgress | None = None,
) -> tuple[World, dict[str, Path]]:
    """World, logs and every arm's checkpoint of one seed (each reused when current)."""
    progress = progress or ListeningProgress()
    world = World.generate(world_config(seed, config.world_users, config.world_overrides))
    prepare_logs(world, config.logs, folder)
    sequences, checkpoints = logged_sequences(folder, world), {}
    for name in config.arms:
        arm = ARMS_BY_NAME[name]
        target = folder / "models" / name
        checkpoints[name] = target
        epoch = None if progress.epoch is None else partial(progress.epoch, name)
        if progress.stage is not None and not target.exists():
            progress.stage(f"seed {seed}: training {name}")
        train_if_stale(
            target,
            world,
            arm.training_variant(),
            arm.model_config(config.model),
            config.train,
            sequences,
            overwrite,
            epoch,
        )
    return world, checkpoints


def _weights_digest(checkpoint: Path) -> str:
    """SHA-256 of a checkpoint's weights: what its kept measurements were made from."""
    return hashlib.sha256((checkpoint / "weights.pt").read_bytes()).hexdigest()


REFERENCE_ARMS = {"dislike_feature": "sasrec-feature", "dislike_feature_label": "sasrec-treatment"}
"""Variant -> the plain SASRec arm whose held-out NDCG@10 each arm of that variant is paired
with (same logs, same held-out events, same training)."""


def held_out_gains(
    config: ListeningConfig,
    world: World,
    checkpoints: dict[str, Path],
    folder: Path,
    sequences: Callable[[], Sequences],
    device: str = "cpu",
) -> pd.DataFrame:
    """Per user and arm, the mean NDCG@10 gain over the user's positive held-out events
    (the last ``config.train.n_holdout`` events the training validated on; users with
    none are left out): columns arm, user, gain. Kept per arm in ``measure/ARM.heldout.*``
    with the weights they came from."""
    frames = []
    for name, path in checkpoints.items():
        stamp = {
            "n_holdout": config.train.n_holdout,
            "weights": _weights_digest(path),
        }
        kept = folder / "measure"
        table = kept / f"{name}.heldout.csv.gz"
        if not is_current(kept / f"{name}.heldout.json", stamp, table, key="stamp"):
            adapter = load_adapter(path, world.corpus, world.fingerprint, device=device)
            logged = sequences()
            rows, _ = holdout_positions(logged, config.train.n_holdout)
            contexts = holdout_contexts(
                logged, config.train.n_holdout, adapter.model.config.max_len
            )
            gains = positive_ndcg_gains(adapter.model, adapter.variant, contexts, device=device)
            per_user = (
                pd.DataFrame({"user": rows, "gain": gains}).groupby("user")["gain"].mean().dropna()
            )
            kept.mkdir(parents=True, exist_ok=True)
            atomic_write_csv(table, per_user.reset_index(), STUDY_FLOAT_FORMAT)
            write_json(kept / f"{name}.heldout.json", {"stamp": stamp})
        frames.append(pd.read_csv(table).assign(arm=name))
    return pd.concat(frames, ignore_index=True)[["arm", "user", "gain"]]


def paired_ndcg(
    gains: dict[int, pd.DataFrame], arms: tuple[str, ...], seed: int = 0
) -> pd.DataFrame:
    """Each arm's held-out NDCG@10 minus its :data:`REFERENCE_ARMS` arm's, paired by user,
    per seed and pooled over seeds (users of different seeds are different users), with
    95% BCa bootstrap intervals (:func:`simulator.bootstrap.mean_difference_ci`).

    Columns seed, arm, reference, difference, ci_low, ci_high, n (users). The unit is
    NDCG@10 averaged per user over their positive held-out events."""
    rows, pooled = [], {}
    for seed_, frame in gains.items():
        wide = frame.pivot(index="user", columns="arm", values="gain")
        for arm in arms:
            reference = REFERENCE_ARMS[ARMS_BY_NAME[arm].variant]
            if reference not in wide or arm not in wide:
                continue
            both = wide[[arm, reference]].dropna()
            diff = (both[arm] - both[reference]).to_numpy()
            pooled.setdefault(arm, []).append(diff)
            rows.append((str(seed_), arm, reference, diff))
    if len(gains) > 1:
        rows += [
            (POOLED, arm, REFERENCE_ARMS[ARMS_BY_NAME[arm].variant], np.concatenate(diffs))
            for arm, diffs in pooled.items()
        ]
    out = []
    for seed_, arm, reference, diff in rows:
        mean, low, high = mean_difference_ci(diff, seed=seed)
        out.append(
            {
                "seed": seed_,
                "arm": arm,
                "reference": reference,
                "difference": mean,
                "ci_low": low,
                "ci_high": high,
                "n": len(diff),
            }
        )
    return pd.DataFrame(
        out, columns=["seed", "arm", "reference", "difference", "ci_low", "ci_high", "n"]
    )


def measure_seed(
    config: ListeningConfig,
    seed: int,
    world: World,
    checkpoints: dict[str, Path],
    folder: Path,
    device: str = "cpu",
    progress: ListeningProgress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-user responsiveness table, probe table, checkpoint metrics) of one seed.

    Each arm is measured once per protocol and weights: its per-user rows and probe rows
    are kept in ``measure/ARM.*`` with the stamp they were made from, so adding an arm
    measures only that arm. One protocol run gives both: its step-k+1 histories
    (:class:`simulator.responsiveness.probe.ForkRecorder`) are what the probe traces.
    """
    progress = progress or ListeningProgress()
    users, probes = [], []
    for name, path in checkpoints.items():
        stamp = {
            "measure": config.measure.to_dict(),
            "weights": _weights_digest(path),
        }
        kept = folder / "measure"
        users_path, probe_path = kept / f"{name}.users.csv.gz", kept / f"{name}.probe.csv"
        if not is_current(kept / f"{name}.json", stamp, users_path, probe_path, key="stamp"):
            if progress.stage is not None:
                progress.stage(f"seed {seed}: measuring {name}")
            adapter = load_adapter(path, world.corpus, world.fingerprint, device=device)
            kept.mkdir(parents=True, exist_ok=True)
            recorder = ForkRecorder(config.measure)
            run = measure_responsiveness(
                world,
                adapter,
                config.measure,
                name=name,
                summary=False,
                progress=progress.measure,
                on_slate=recorder,
            )
            rows, _ = probe_adapter(world, name, adapter, recorder.branches(), config.measure.seed)
            atomic_write_csv(users_path, run.per_user, STUDY_FLOAT_FORMAT)
            atomic_write_csv(probe_path, pd.DataFrame(rows), STUDY_FLOAT_FORMAT)
            write_json(kept / f"{name}.json", {"stamp": stamp})
        users.append(pd.read_csv(users_path))
        probes.append(pd.read_csv(probe_path))
    probe = pd.concat(probes, ignore_index=True)
    probe.insert(0, "seed", seed)
    return pd.concat(users, ignore_index=True), probe, _metrics(seed, checkpoints)


def _metrics(seed: int, checkpoints: dict[str, Path]) -> pd.DataFrame:
    rows = []
    for name, path in checkpoints.items():
        header, _, _ = read_checkpoint(path)
        best = header.get("best_metrics", {})
        rows.append(
            {
                "seed": seed,
                "model": name,
                "best_epoch": header.get("best_epoch"),
                "ndcg10": best.get("val_ndcg10"),
                "recall10": best.get("val_recall10"),
                "disliked_in_top10": best.get("val_disliked_in_top10"),
            }
        )
    return pd.DataFrame(rows)


def summarise_seeds(users: dict[int, pd.DataFrame], config: ListeningConfig) -> pd.DataFrame:
    """Responsiveness per seed and pooled over seeds (users renumbered apart), with CIs."""
    tables = []
    for seed, frame in users.items():
        table = summarize(frame, config.measure)
        table.insert(0, "seed", str(seed))
        tables.append(table)
    if len(users) > 1:
        pooled = pd.concat(
            [f.assign(user=f["user"] + seed * config.measure.n_users) for seed, f in users.items()],
            ignore_index=True,
        )
        table = summarize(pooled, config.measure)
        table.insert(0, "seed", POOLED)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def run_listening_study(
    config: ListeningConfig,
    out: Path,
    overwrite: bool = False,
    device: str = "cpu",
    progress: ListeningProgress | None = None,
    train_only: bool = False,
) -> ListeningResult | None:
    """Every seed's arms trained and measured, the tables and figures in ``out``:
    ``responsiveness.csv`` (per seed and pooled, every step), ``probe.csv``,
    ``models.csv``, ``heldout.csv`` (:func:`paired_ndcg`), ``ablation.png``/``.pdf``
    (k+1), ``horizon.png``/``.pdf`` and ``study.json``. With ``train_only`` it stops
    after training (None)."""
    start = time.perf_counter()
    prepared = {}
    for seed in config.seeds:
        folder = out / f"seed-{seed}"
        prepared[seed] = (folder, *prepare_seed(config, seed, folder, overwrite, progress))
    if train_only:
        return None
    users, probes, models, gains = {}, [], [], {}
    for seed, (folder, world, checkpoints) in prepared.items():
        users[seed], probe, metrics = measure_seed(
            config, seed, world, checkpoints, folder, device, progress
        )
        probes.append(probe)
        models.append(metrics)
        sequences = logged_sequences(folder, world)
        gains[seed] = held_out_gains(config, world, checkpoints, folder, sequences, device)
    table = summarise_seeds(users, config)
    probe, models = pd.concat(probes, ignore_index=True), pd.concat(models, ignore_index=True)
    heldout = paired_ndcg(gains, config.arms, seed=config.measure.seed)
    paths = {}
    for name, frame in (
        ("responsiveness.csv", table),
        ("probe.csv", probe),
        ("models.csv", models),
        ("heldout.csv", heldout),
    ):
        atomic_write_csv(out / name, frame, STUDY_FLOAT_FORMAT)
        paths[name] = out / name
    paths.update(_figures(table, config, out))
    write_json(
        out / "study.json",
        {
            "config": config.to_dict(),
            "arms": [asdict(ARMS_BY_NAME[a]) for a in config.arms],
            "seconds": time.perf_counter() - start,
        },
    )
    paths["study.json"] = out / "study.json"
    return ListeningResult(table, probe, models, paths, heldout)


def _figures(table: pd.DataFrame, config: ListeningConfig, out: Path) -> dict[str, Path]:
    first = table["step"].min()
    rows = table[(table["branch"] == DISLIKE) & (table["step"] == first)]
    m = config.measure
    title = f"dislike vs long dwell on x_k, first slate after the fork (k={m.k}, {m.n_users} users)"
    paths = {p.name: p for p in plot_seed_bars(rows, out / "ablation", title=title)}
    seed = POOLED if len(config.seeds) > 1 else str(config.seeds[0])
    curves = table[
        (table["seed"] == seed) & (table["branch"] == DISLIKE) & table["model"].isin(HORIZON_ARMS)
    ]
    if table["step"].nunique() > 1 and not curves.empty:
        horizon_title = f"dislike responsiveness after the fork ({seed} seed(s))"
        paths.update({p.name: p for p in plot_horizon(curves, out / "horizon", horizon_title)})
    return paths


def read_result(out: Path) -> ListeningResult | None:
    """The tables of a finished study in ``out`` (None when it has not finished)."""
    if read_json(out / "study.json") is None:
        return None
    return ListeningResult(
        pd.read_csv(out / "responsiveness.csv", dtype={"seed": str}),
        pd.read_csv(out / "probe.csv"),
        pd.read_csv(out / "models.csv"),
        {},
        pd.read_csv(out / "heldout.csv", dtype={"seed": str})
        if (out / "heldout.csv").is_file()
        else None,
    )


SECTION_START = (
    "<!-- listening study: generated by experiments/listening.py; edits are replaced -->"
)
SECTION_END = "<!-- end of the listening study -->"
DISCUSSION = Path("docs/listening_discussion.md")
"""The hand-written conclusion the section ends with (kept as written, not generated)."""


def _mean_range(values: pd.Series, digits: int = 4) -> str:
    values = values.dropna()
    if values.empty:
        return "n/a"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ({values.min():.{digits}f}-{values.max():.{digits}f})"


def _paired_cell(heldout: pd.DataFrame, arm: str) -> str:
    overall = POOLED if POOLED in set(heldout["seed"]) else heldout["seed"].iloc[0]
    row = heldout[(heldout["seed"] == overall) & (heldout["arm"] == arm)]
    if row.empty:
        return "n/a"
    row = row.iloc[0]
    if row["arm"] == row["reference"]:
        return "reference"
    return f"{row['difference']:+.4f} [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]"


def ablation_table(result: ListeningResult, arms: tuple[str, ...]) -> pd.DataFrame:
    """One row per arm: k+1 responsiveness (pooled CI and per seed), the probe's means over
    seeds, and held-out NDCG@10 (mean and range over seeds)."""
    table = result.responsiveness
    first = table[(table["branch"] == DISLIKE) & (table["step"] == table["step"].min())]
    seeds = [s for s in dict.fromkeys(first["seed"]) if s != POOLED]
    overall = POOLED if POOLED in set(first["seed"]) else seeds[0]
    probe = result.probe.groupby(["model", "quantity", "level"])["mean"].mean()
    rows = []
    for name in arms:
        mine = first[first["model"] == name].set_index(["seed", "kind"])
        cells = {"arm": name, "what changes": ARMS_BY_NAME[name].question}
        for kind in ("content", "creator"):
            row = mine.loc[(overall, kind)]
            cells[f"{kind} [95% CI]"] = (
                f"{pct(row['relative_change'])} {ci(row['ci_low'], row['ci_high'])}"
            )
            if kind == "content" and len(seeds) > 1:
                cells["content by seed"] = " / ".join(
                    pct(mine.loc[(s, kind), "relative_change"]) for s in seeds
                )
        cells["share A -> B"] = (
            f"{mine.loc[(overall, 'content'), 'mean_a']:.3f} -> "
            f"{mine.loc[(overall, 'content'), 'mean_b']:.3f}"
        )
        for label, key in (
            ("state gap", ("state_gap", "state")),
            ("aim", ("aim_away_from_x_k", "state")),
            ("x_k score fall (sd)", ("x_k_score_drop_sd", "state")),
            ("cluster fall (sd)", ("cluster_score_drop_sd", "state")),
        ):
            value = probe.get((name, *key))
            cells[label] = "n/a" if value is None else f"{value:.3f}"
        ndcg = result.models[result.models["model"] == name]["ndcg10"]
        cells["NDCG@10"] = _mean_range(ndcg)
        if result.heldout is not None:
            cells["NDCG@10 minus plain SASRec's [95% CI]"] = _paired_cell(result.heldout, name)
        rows.append(cells)
    return pd.DataFrame(rows)


def reach_table(result: ListeningResult, arms: tuple[str, ...]) -> pd.DataFrame:
    """One row per arm: what of x_k's feedback reaches each level at the fork (means over
    seeds of the per-user means). ``gap LEVEL`` is ``||h_B - h_A|| / ||h_A||`` at that
    level (input: the last position's input vector; layer l: its output; state: what the
    scores are read from); ``attention on x_k, layer l`` is the weight the last position
    puts on x_k in branch A -> branch B (the GRU has none). "-" where a model has no such
    level."""
    probe = result.probe[result.probe["model"].isin(arms)]
    means = probe.groupby(["model", "quantity", "level"], sort=False)["mean"].mean()
    gaps = probe[probe["quantity"] == "state_gap"]["level"]
    levels = [level for level in dict.fromkeys(gaps) if level != "state"] + ["state"]
    layers = sorted(
        set(probe[probe["quantity"] == "attention_on_x_k_a"]["level"]),
        key=lambda level: int(level.split()[-1]),
    )
    rows = []
    for name in arms:
        cells = {"arm": name}
        for level in levels:
            value = means.get((name, "state_gap", level))
            cells[f"gap {level}"] = "-" if value is None else f"{value:.3f}"
        for level in layers:
            a = means.get((name, "attention_on_x_k_a", level))
            b = means.get((name, "attention_on_x_k_b", level))
            cells[f"attention on x_k, {level}"] = "-" if a is None else f"{a:.3f} -> {b:.3f}"
        rows.append(cells)
    return pd.DataFrame(rows)


def horizon_table(result: ListeningResult, arms: tuple[str, ...], kind: str) -> pd.DataFrame:
    """Responsiveness at each slate after the fork (pooled where there are seeds to pool)."""
    table = result.responsiveness
    overall = POOLED if POOLED in set(table["seed"]) else table["seed"].iloc[0]
    rows = table[
        (table["seed"] == overall) & (table["branch"] == DISLIKE) & (table["kind"] == kind)
    ]
    first = rows["step"].min()
    out = {"arm": list(arms)}
    for step in sorted(rows["step"].unique()):
        label = "k+1" if step == first else f"k+{step - first + 1}"
        by = rows[rows["step"] == step].set_index("model")["relative_change"]
        out[label] = [pct(by.get(a, float("nan"))) for a in arms]
    return pd.DataFrame(out)


def render_section(
    result: ListeningResult, record: dict, figures: dict[str, str], command: str
) -> str:
    """The report's section on the study: tables, figures, and the hand-written
    discussion from :data:`DISCUSSION` when it exists."""
    config = record["config"]
    measure = config["measure"]
    arms = tuple(record["arms"][i]["name"] for i in range(len(record["arms"])))
    seeds = ", ".join(str(s) for s in config["seeds"])
    lines = [
        SECTION_START,
        "## 10. Why the transformer listens less, and a SASRec that listens",
        "",
        "```bash",
        command,
        "```",
        "",
        f"World seeds {seeds}, one set of logs per seed shared by every arm "
        f"({config['logs']['n_users']:,} users x {config['logs']['n_steps']} steps); "
        f"every model trained the same way (at most {config['train']['epochs']} epochs, "
        f"patience {config['train']['patience']}, seed {config['train']['seed']}); "
        f"responsiveness of long dwell + dislike vs long dwell on x_k, "
        f"{measure['n_users']:,} users per seed, k = {measure['k']}, 95% paired bootstrap "
        "CIs, pooled over the seeds' users (per-seed values in "
        "`responsiveness.csv`). The probe columns are means over seeds of the per-user "
        "means at the fork: the relative state gap ||s_B - s_A|| / ||s_A||, the aim "
        "cos(s_B - s_A, -v_{x_k}), x_k's own score fall and how much more the rest of "
        "x_k's cluster falls than the other items, in standard deviations of the scores "
        "(`experiments/branch_probe.py`). NDCG@10: held-out, mean (range) over seeds; "
        "beside it, the arm's held-out NDCG@10 minus that of the plain SASRec of the same "
        "variant (sasrec-feature or sasrec-treatment), paired by user (each user's mean "
        "over their positive held-out events, the events the training validated on) and "
        "pooled over seeds, 95% BCa CI (`heldout.csv`).",
        "",
        md_table(ablation_table(result, arms)),
        "",
        "### What reaches the state at the fork",
        "",
        "Relative gap between the branches at each level, ||h_B - h_A|| / ||h_A|| "
        "(input: the last position's input vector; `network`: before the last-event "
        "cross; state: what the scores are read from), and the attention the last "
        "position puts on x_k in branch A -> branch B; means over seeds.",
        "",
        md_table(reach_table(result, arms)),
        "",
    ]
    lines += figure_lines(figures, "ablation", "ablation: first slate after the fork")
    horizon_arms = tuple(a for a in HORIZON_ARMS if a in arms)
    if result.responsiveness["step"].nunique() > 1 and horizon_arms:
        lines += ["### Horizon: content responsiveness at k+1 .. k+h", ""]
        lines += [md_table(horizon_table(result, horizon_arms, "content")), ""]
        lines += figure_lines(figures, "horizon", "horizon")
    if DISCUSSION.is_file():
        lines += [DISCUSSION.read_text().rstrip(), ""]
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


def section_of(report: str) -> str | None:
    """The listening section of ``report`` (markers included), or None."""
    if SECTION_START not in report or SECTION_END not in report:
        return None
    start = report.index(SECTION_START)
    return report[start : report.index(SECTION_END, start) + len(SECTION_END)] + "\n"


def splice_section(report: str, section: str) -> str:
    """``report`` with its listening section replaced by ``section`` (appended when it has
    none); a start marker without its end marker is refused."""
    if SECTION_START not in report:
        return report.rstrip("\n") + "\n\n" + section
    head, _, rest = report.partition(SECTION_START)
    if SECTION_END not in rest:
        raise StudyError("the report has the listening section's start marker but not its end")
    _, _, tail = rest.partition(SECTION_END)
    return head + section.rstrip("\n") + tail
