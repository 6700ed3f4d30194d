#!/usr/bin/env python3
"""Regenerate the results report (docs/results.md) with one command.

Stages (default: all, in this order):

* fig3b       logs, the five trained variants and their responsiveness on each
              world seed; dislike and skip vs long dwell, FeedbackFilter around
              the baseline, horizon k+1..k+h (experiments.paper.fig3b)
* sensitivity the ordering under changed world parameters (experiments.paper.sensitivity)
* live_ab     the simulated live A/B test of the seed-0 variants (simulator.live_ab.simulation)
* gradient    the loss-gradient study (experiments.paper.gradients)
* report      docs/results.md from what the stages wrote (experiments.paper.tables)

Every stage reuses what is current in --out (logs of the same world and
config, checkpoints trained on them with the same config, measurements of
those checkpoints), so a rerun only redoes what changed. `--quick` runs the
same code on a smaller world (experiments.paper.presets.QUICK) and writes its report
into --out, not into docs/.

    python3 experiments/results.py                 # paper scale, writes docs/results.md
    python3 experiments/results.py --quick         # a few minutes on 2 cores
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from experiments.arguments import (
    Parser,
    add_executor_arguments,
    executor_of,
    exit_on_sigterm,
    seed_list,
)
from experiments.paper.fig3b import StudyProgress, run_fig3b_study
from experiments.paper.gradients import write_gradient_study
from experiments.paper.listening import section_of, splice_section
from experiments.paper.live_ab import run_live_ab_study
from experiments.paper.plots import plot_sensitivity
from experiments.paper.presets import PRESETS, ReportPreset
from experiments.paper.report import render_report
from experiments.paper.sensitivity import point_config, point_folder, run_sensitivity, sweep_points
from experiments.paper.study import (
    StudyConfig,
    prepare_world,
)
from recommenders.atomic import atomic_write_text
from recommenders.sequences import LogError
from simulator.live_ab.output import format_summary
from simulator.responsiveness.simulated import total_user_steps

DEFAULT_REPORT = Path("docs/results.md")
DISCUSSION = Path("docs/results_discussion.md")
DEFAULT_ML1M = Path("runs/ml1m")
DEFAULT_FITTED = Path("runs/fitted-ml1m")
STAGES = ("fig3b", "sensitivity", "live_ab", "gradient", "report")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small world, one seed (CI)")
    parser.add_argument(
        "--stage", action="append", choices=STAGES, help="run only these stages (repeatable)"
    )
    parser.add_argument("--seeds", help="comma-separated world seeds (default: the preset's)")
    parser.add_argument(
        "--sweep",
        action="append",
        metavar="PARAM=V1,V2",
        help="sensitivity sweep of one world parameter (repeatable; default: the preset's)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        metavar="NAME",
        help="train/measure only these variants (repeatable; default all five)",
    )
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="stop after logs and training (e.g. train on a GPU machine, measure elsewhere)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda, for training")
    parser.add_argument("--out", type=Path, help="results folder (default runs/results[-quick])")
    parser.add_argument(
        "--report",
        type=Path,
        help="report path (default docs/results.md; with --quick OUT/results.md)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="retrain checkpoints made with another config"
    )
    parser.add_argument(
        "--ml1m",
        action="append",
        type=Path,
        metavar="DIR",
        help="experiments/ml1m.py output folder for the report's real-data section "
        "(repeatable: the main run first, then other training seeds; default: "
        f"{DEFAULT_ML1M} and {DEFAULT_ML1M}-seed* where they exist; not with --quick)",
    )
    add_executor_arguments(parser, "the Fig. 3b study's seeds and the sensitivity sweep's points")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser.parse_args(argv)


def preset_from_args(args: argparse.Namespace) -> ReportPreset:
    preset = PRESETS["quick" if args.quick else "full"]
    study = preset.study
    if args.seeds:
        study = replace(study, seeds=seed_list(args.seeds))
    study = replace(study, train=replace(study.train, device=args.device))
    if args.variant:
        variants = tuple(dict.fromkeys(args.variant))
        study = replace(study, variants=variants, filter_baseline="baseline" in variants)
    sweep = preset.sweep
    if args.sweep:
        sweep = {}
        for item in args.sweep:
            name, sep, values = item.partition("=")
            try:
                sweep[name.strip()] = tuple(float(v) for v in values.split(",") if v.strip())
            except ValueError:
                sep = ""
            if not sep or not sweep.get(name.strip()):
                raise ValueError(f"--sweep must look like PARAM=V1,V2, got {item!r}")
    for point in sweep_points(sweep):
        point_config(study, point)  # an unknown parameter or bad value fails before any work
    return replace(preset, study=study, sweep=sweep)


class Bars:
    """tqdm bars for the study's callbacks."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.train: tqdm | None = None
        self.name = ""

    def stage(self, name: str) -> None:
        self.close()
        if self.enabled:
            print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)

    def epoch(self, label: str, total: int, row: dict) -> None:
        if not self.enabled:
            return
        if self.train is None or self.name != label:
            self.close()
            self.train = tqdm(total=total, desc=label, unit="epoch", file=sys.stderr)
            self.name = label
        self.train.set_postfix(loss=f"{row['train_loss']:.3f}", ndcg=f"{row['val_ndcg10']:.4f}")
        self.train.update(1)

    def close(self) -> None:
        if self.train is not None:
            self.train.close()
            self.train = None


def train_only(preset: ReportPreset, out: Path, stages: list[str], args, bars: Bars) -> None:
    """Logs and checkpoints of the stages' worlds, without measuring."""
    study = preset.study
    jobs = []
    if "fig3b" in stages:
        jobs += [(study, seed, out / "fig3b" / f"seed-{seed}") for seed in study.seeds]
    if "sensitivity" in stages:
        for point in sweep_points(preset.sweep):
            config = point_config(study, point)
            variants = tuple(v for v in config.variants if v in study.variants)
            config = replace(config, variants=variants, filter_baseline=False)
            folder = point_folder(study, point, out / "sensitivity")
            jobs.append((config, config.seeds[0], folder))
    for config, seed, folder in jobs:
        bars.stage(f"training in {folder}")
        epoch = lambda name, row, c=config: bars.epoch(name, c.train.epochs, row)  # noqa: E731
        prepare_world(config, seed, folder, args.overwrite, epoch)
    bars.close()


def run_fig3b(preset: ReportPreset, out: Path, args, bars: Bars) -> None:
    study: StudyConfig = preset.study
    n_adapters = len(study.variants) + study.filter_baseline
    with tqdm(
        total=total_user_steps(study.measure) * n_adapters * len(study.seeds),
        desc="responsiveness",
        unit="user-step",
        disable=not bars.enabled,
        file=sys.stderr,
    ) as measure:
        result = run_fig3b_study(
            study,
            out / "fig3b",
            overwrite=args.overwrite,
            device=args.device,
            progress=StudyProgress(
                epoch=lambda seed, name, row: bars.epoch(
                    f"seed {seed} {name}", study.train.epochs, row
                ),
                measure=measure.update,
                stage=bars.stage,
            ),
            executor=executor_of(args),
        )
    bars.close()
    first = result.table[
        (result.table["step"] == result.table["step"].min())
        & (result.table["branch"] == "long_dwell+dislike")
    ]
    cols = ["seed", "model", "kind", "relative_change", "ci_low", "ci_high", "paper"]
    print(first[cols].to_string(index=False, float_format=lambda v: f"{100 * v:+.1f}%"))
    print(result.checks.to_string(index=False))


def run_sweep(preset: ReportPreset, out: Path, args, bars: Bars) -> None:
    n_points = len(sweep_points(preset.sweep))
    done = [0]

    def on_point(point) -> None:
        done[0] += 1
        bars.stage(f"sensitivity {done[0]}/{n_points}: {point.parameter} = {point.value:g}")

    table = run_sensitivity(
        preset.study,
        preset.sweep,
        out / "sensitivity",
        overwrite=args.overwrite,
        device=args.device,
        on_point=on_point,
        epoch=lambda name, row: bars.epoch(name, preset.study.train.epochs, row),
        executor=executor_of(args),
    )
    bars.close()
    plot_sensitivity(
        table,
        out / "sensitivity" / "sensitivity",
        ("baseline", "dislike_feature", "dislike_feature_label"),
    )
    cols = ["parameter", "value", "kind", "dislike_rate", "baseline", "dislike_feature"]
    cols += ["dislike_feature_label", "ordering_holds"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def run_live(preset: ReportPreset, out: Path, args, bars: Bars) -> None:
    """The simulated live A/B test: every seed-0 variant (and filter:baseline) as an arm."""
    summary = run_live_ab_study(
        preset.study,
        out,
        preset.ab_users,
        preset.ab_days,
        device=args.device,
        progress=bars.enabled,
        stage=bars.stage,
    )
    print(format_summary(summary))


def run_gradient(preset: ReportPreset, out: Path, bars: Bars) -> None:
    bars.stage("loss-gradient study")
    write_gradient_study(out / "gradient", steps=preset.gradient_steps)


def run_report(
    out: Path, report: Path, quick: bool, bars: Bars, ml1m: list[Path] | None = None
) -> None:
    command = "python3 experiments/results.py" + (" --quick" if quick else "")
    if report != (out / "results.md" if quick else DEFAULT_REPORT):
        command += f" --out {out} --report {report}"
    if ml1m is None and not quick:
        ml1m = [
            p
            for p in (DEFAULT_ML1M, *sorted(DEFAULT_ML1M.parent.glob(f"{DEFAULT_ML1M.name}-seed*")))
            if (p / "benchmark.csv").is_file()
        ]
    elif ml1m:
        command += "".join(f" --ml1m {p}" for p in ml1m)
    discussion = None if quick else DISCUSSION
    # The fitted-world study (experiments/fitted_ml1m.py) joins the report where it was run.
    fitted = DEFAULT_FITTED if not quick and (DEFAULT_FITTED / "study.json").is_file() else None
    text = render_report(out, report, command, discussion, ml1m, fitted)
    # The listening study writes its own section (experiments/listening.py); keep it.
    kept = section_of(report.read_text()) if report.is_file() else None
    if kept is not None:
        text = splice_section(text, kept)
    atomic_write_text(report, text)
    bars.stage(f"wrote {report}")


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the command line, also as an installed command (no __main__ block)
        exit_on_sigterm()
    args = parse_args(argv)
    stages = args.stage or list(STAGES)
    out = args.out or Path("runs/results-quick" if args.quick else "runs/results")
    bars = Bars(not args.no_progress)
    try:
        preset = preset_from_args(args)
        if args.train_only:
            train_only(preset, out, stages, args, bars)
            return 0
        if "fig3b" in stages:
            run_fig3b(preset, out, args, bars)
        if "sensitivity" in stages:
            run_sweep(preset, out, args, bars)
        if "live_ab" in stages:
            run_live(preset, out, args, bars)
        if "gradient" in stages:
            run_gradient(preset, out, bars)
        if "report" in stages:
            report = args.report or (out / "results.md" if args.quick else DEFAULT_REPORT)
            run_report(out, report, args.quick, bars, args.ml1m)
    except (ValueError, LogError) as error:
        bars.close()
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(main())
