"""The paper's full protocol on a world fitted to MovieLens-1M, for models trained on ML-1M.

Inputs are two folders written by other commands: ``fit`` (experiments/fit_world.py:
world.npz, fidelity.csv, response_model.json) and ``ml1m`` (experiments/ml1m.py:
one checkpoint folder per model and responsiveness/, the real-history
measurement of the same checkpoints). The study

1. measures simulated responsiveness on the fitted world (the random trajectory
   for k-1 steps, the fork at k into long dwell vs long dwell + dislike, slates
   at k+1..k+horizon) for every checkpoint, ``filter:`` around the blind
   reference and the popularity adapter (feedback-blind: exactly 0);
2. runs a simulated live A/B test on the fitted world with the same arms, the
   blind reference as the baseline;
3. renders one report section that puts the simulated numbers beside the
   real-history ones and the fit's fidelity (:func:`fitted_section`).

Everything it writes goes into ``out``: responsiveness/, live_ab/ (the files of
responsiveness.py and live_ab.py) and study.json.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from recommenders.atomic import atomic_write_text
from simulator import ResponsivenessConfig, compare
from simulator.adapter_specs import build_adapter
from simulator.live_ab.output import write_live_ab
from simulator.live_ab.simulation import LiveABConfig, run_live_ab
from simulator.records import md_table, package_versions
from simulator.responsiveness.output import write_run
from simulator.world import FittedWorld, load_world

DEFAULT_MODELS = ("sasrec-ce", "sasrec-ce-feature", "sasrec-ce-feature-ntr-w3", "gsasrec")
"""The ML-1M checkpoints the study measures; the first is the feedback-blind reference."""


@dataclass(frozen=True)
class FittedStudyConfig:
    """What the study runs (the paper's protocol sizes by default).

    Attributes:
        models: checkpoint folder names inside the ml1m folder; the first is the
            blind reference that ``filter:`` wraps and the live A/B's baseline.
        n_users, k, horizon, seed, n_resamples: of the responsiveness protocol.
        live_users, live_days, live_max_session, live_seed: of the live A/B test.
        extra_adapters: built-in adapters measured beside the checkpoints.
    """

    models: tuple[str, ...] = DEFAULT_MODELS
    n_users: int = 2000
    k: int = 50
    horizon: int = 10
    seed: int = 0
    n_resamples: int = 2000
    live_users: int = 1000
    live_days: int = 7
    live_max_session: int = 20
    live_seed: int = 0
    extra_adapters: tuple[str, ...] = field(default=("popularity",))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def run_fitted_study(
    fit: Path, ml1m: Path, out: Path, config: FittedStudyConfig, progress: bool = True
) -> dict:
    """Steps 1 and 2 of the module docstring; returns the study record (also study.json)."""
    world = load_world(fit / "world.npz")
    if not isinstance(world, FittedWorld):
        raise ValueError(f"{fit / 'world.npz'} is a {world.kind} world, not a fitted one")
    missing = [m for m in config.models if not (ml1m / m).is_dir()]
    if missing:
        raise ValueError(f"{ml1m} lacks the checkpoint folder(s) {missing}")
    reference = config.models[0]
    specs = {m: f"checkpoint:{ml1m / m}" for m in config.models}
    specs[f"filter:{reference}"] = f"filter:checkpoint:{ml1m / reference}"
    specs.update({name: name for name in config.extra_adapters})
    adapters = {name: build_adapter(spec, world) for name, spec in specs.items()}
    protocol = ResponsivenessConfig(
        n_users=config.n_users,
        k=config.k,
        horizon=config.horizon,
        seed=config.seed,
        n_resamples=config.n_resamples,
    )
    protocol.check_world(world)
    start = time.perf_counter()
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if progress else (lambda m: None)
    say(f"responsiveness on the fitted world {world.fingerprint}: {list(adapters)}")
    runs = compare(world, adapters, protocol)
    responsiveness_seconds = time.perf_counter() - start
    write_run(out / "responsiveness", runs, protocol, world, extra={"specs": specs})
    arms = {"baseline": specs[reference]}
    arms.update({m: specs[m] for m in config.models[1:]})
    arms[f"filter:{reference}"] = specs[f"filter:{reference}"]
    live = LiveABConfig(
        n_users=config.live_users,
        n_days=config.live_days,
        max_session=config.live_max_session,
        seed=config.live_seed,
    )
    live.check_world(world)
    say(f"live A/B on the fitted world: {list(arms)}")
    start = time.perf_counter()
    result = run_live_ab(
        world, {a: build_adapter(s, world) for a, s in arms.items()}, live, progress=progress
    )
    live_seconds = time.perf_counter() - start
    write_live_ab(out / "live_ab", result, world, arms)
    record = {
        "command": sys.argv,
        "config": config.to_dict(),
        "fit": str(fit),
        "ml1m": str(ml1m),
        "world": world.fingerprint,
        "data": world.header["data"],
        "specs": specs,
        "responsiveness_seconds": responsiveness_seconds,
        "live_ab_seconds": live_seconds,
        "versions": package_versions(),
    }
    atomic_write_text(out / "study.json", json.dumps(record, indent=2, default=str) + "\n")
    return record


def _pct_ci(row) -> str:
    if row is None or (
        isinstance(row["relative_change"], float) and math.isnan(row["relative_change"])
    ):
        return "undefined"
    return (
        f"{100 * row['relative_change']:+.1f}% "
        f"[{100 * row['ci_low']:+.1f}, {100 * row['ci_high']:+.1f}]"
    )


def responsiveness_side_by_side(simulated: pd.DataFrame, real: pd.DataFrame | None) -> pd.DataFrame:
    """One row per model: simulated responsiveness at k+1 and k+horizon and the real-history
    one (both kinds), each as ``change [95% CI]``."""
    first, last = simulated["step"].min(), simulated["step"].max()
    rows = []
    for model in dict.fromkeys(simulated["model"]):
        row = {"model": model}
        for kind in ("content", "creator"):
            mine = simulated[(simulated["model"] == model) & (simulated["kind"] == kind)]
            at = {s: g.iloc[0] for s, g in mine.groupby("step")}
            row[f"{kind}, simulated k+1"] = _pct_ci(at.get(first))
            row[f"{kind}, simulated k+{last - first + 1}"] = _pct_ci(at.get(last))
            if real is not None:
                theirs = real[(real["model"] == model) & (real["kind"] == kind)]
                row[f"{kind}, real histories"] = (
                    _pct_ci(theirs.iloc[0]) if len(theirs) else "not measured"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def live_view(summary: pd.DataFrame) -> pd.DataFrame:
    """Pooled live A/B changes against the baseline: arms as rows, metrics as columns."""
    rows = []
    for arm, group in summary.groupby("arm", sort=False):
        row = {"arm": arm}
        for _, r in group.iterrows():
            value = r["relative_change"]
            row[r["metric"]] = (
                "n/a"
                if pd.isna(value)
                else f"{100 * value:+.1f}%" + ("*" if r.get("significant", False) else "")
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _four(value) -> str:
    return "" if pd.isna(value) else f"{value:.4f}"


def fitted_section(fit: Path, ml1m: Path, study: Path, number: int) -> list[str]:
    """The report section of a finished study (markdown lines)."""
    record = json.loads((study / "study.json").read_text())
    fidelity = pd.read_csv(fit / "fidelity.csv")
    wide = fidelity.pivot(index="metric", columns="model", values="value")
    keep = [m for m in ("dislike_log_loss", "dislike_auc", "rating_rmse") if m in wide.index]
    fidelity_view = wide.loc[keep].reset_index().rename_axis(None, axis=1)
    for column in fidelity_view.columns[1:]:
        fidelity_view[column] = fidelity_view[column].map(
            lambda v: "" if pd.isna(v) else f"{v:.4f}"
        )
    model = json.loads((fit / "response_model.json").read_text())
    effects = []
    for entry in model.get("bootstrap", []):
        effects.append(
            {
                "effect": entry["name"],
                "estimate": f"{entry['estimate']:+.3f}",
                "bias-corrected [95% CI]": f"{entry['corrected']:+.3f} "
                f"[{entry['ci_low']:+.3f}, {entry['ci_high']:+.3f}]",
                "odds ratio": f"x{math.exp(entry['corrected']):.3f}",
                "refits": entry["n_resamples"],
            }
        )
    simulated = pd.read_csv(study / "responsiveness" / "responsiveness.csv")
    real_path = ml1m / "responsiveness" / "responsiveness.csv"
    real = pd.read_csv(real_path) if real_path.is_file() else None
    benchmark = pd.read_csv(ml1m / "benchmark.csv")
    models = benchmark[benchmark["model"].isin(record["config"]["models"])]
    model_view = models[
        ["model", "ndcg10", "recall10", "val_ndcg10", "best_epoch", "epochs"]
    ].copy()
    live = pd.read_csv(study / "live_ab" / "live_ab_summary.csv")
    c = record["config"]
    lines = [
        f"## {number}. The full protocol on a world fitted to MovieLens-1M",
        "",
        f"Generated by `experiments/fitted_ml1m.py` from `{study}` (fit: `{fit}`, checkpoints: "
        f"`{ml1m}`). World {record['world']}, fitted to {record['data']['name']} "
        f"({record['data']['fingerprint']}). Protocol: {c['n_users']} simulated users, fork at "
        f"k = {c['k']}, horizon {c['horizon']}, seed {c['seed']}; live A/B: {c['live_users']} "
        f"users, {c['live_days']} days, seed {c['live_seed']}. Responsiveness took "
        f"{record['responsiveness_seconds']:.0f} s, the live A/B "
        f"{record['live_ab_seconds']:.0f} s.",
        "",
        "Fidelity of the fitted response model on each user's last 20% of events "
        "(docs/fitted_world.md):",
        "",
        md_table(fidelity_view),
        "",
    ]
    if effects:
        lines += [
            "Sequential effects (parametric bootstrap):",
            "",
            md_table(pd.DataFrame(effects)),
            "",
        ]
    lines += [
        "The checkpoints (test metrics of experiments/ml1m.py):",
        "",
        md_table(model_view),
        "",
        "Responsiveness to a dislike of x_k (long dwell + dislike against long dwell), "
        "simulated on the fitted world and measured on real histories (rating 1 against "
        "rating 5 on each user's real k-th event):",
        "",
        md_table(responsiveness_side_by_side(simulated, real)),
        "",
        "Live A/B on the fitted world, pooled over days, change against the baseline arm "
        f"({c['models'][0]}); * = the 95% CI excludes 0:",
        "",
        md_table(live_view(live)),
        "",
    ]
    return lines
