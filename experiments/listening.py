#!/usr/bin/env python3
"""Why does the transformer listen less than the GRU? Train, measure and probe the ablation.

For each world seed: the world and its logs, every arm of the ablation
(experiments.paper.listening.ARMS: the GRU and plain SASRec references, one change
each to SASRec - how the feedback enters the input, the action embedding, position
embeddings or a relative position bias in their place, dropout, sequence length, the
label weight, a last-event cross) trained on
the same logs, then each arm's responsiveness (long dwell + dislike vs long dwell on
x_k, slates k+1..k+h, paired bootstrap CIs per seed and pooled), its probe at the fork
(state gap, attention on x_k, where the state moves) and its held-out NDCG@10 paired
by user with the plain SASRec's. Writes
the tables and figures into --out and the study's section into the report
(docs/results.md, between its markers; the rest of the report is kept).

Everything current in --out is reused (logs of the same world, checkpoints trained
with the same config, measurements of the same weights), so a rerun redoes only
what changed; `--train-only` stops after training (e.g. on a GPU machine).

    python3 experiments/listening.py                  # 3 seeds x 14 arms; hours on 2 cores
    python3 experiments/listening.py --quick          # a small world, one seed: minutes
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from experiments.arguments import Parser, exit_on_sigterm, parse_with_config, seed_list
from experiments.paper.listening import (
    ARMS_BY_NAME,
    HORIZON_ARMS,
    ListeningConfig,
    ListeningProgress,
    render_section,
    run_listening_study,
    splice_section,
)
from experiments.paper.presets import QUICK_WORLD
from experiments.paper.study import read_json
from experiments.paper.tables import copy_figures
from experiments.results import Bars
from recommenders.atomic import atomic_write_text
from recommenders.models import ModelConfig
from recommenders.sequences import LogError
from recommenders.training.loop import TrainConfig
from simulator.logs import LogConfig
from simulator.responsiveness.simulated import ResponsivenessConfig, total_user_steps

DEFAULT_REPORT = Path("docs/results.md")
FULL = ListeningConfig()
QUICK = ListeningConfig(
    seeds=(0,),
    world_users=1000,
    world_overrides=QUICK_WORLD,
    logs=LogConfig(n_users=1000, n_steps=60),
    model=ModelConfig(dim=32),
    # Full softmax at a larger rate: a few epochs then already use the sequence.
    train=TrainConfig(epochs=10, patience=10, lr=3e-3, positive_loss="softmax_ce"),
    measure=ResponsivenessConfig(n_users=300, k=10, horizon=3, n_resamples=500),
    arms=HORIZON_ARMS,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help=f"small world, one seed, {len(HORIZON_ARMS)} arms"
    )
    parser.add_argument("--seeds", help="comma-separated world seeds (default: the preset's)")
    parser.add_argument(
        "--arm",
        action="append",
        choices=tuple(ARMS_BY_NAME),
        metavar="NAME",
        help=f"train and measure only these arms (repeatable): {', '.join(ARMS_BY_NAME)}",
    )
    parser.add_argument("--train-only", action="store_true", help="stop after logs and training")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--out", type=Path, help="study folder (default runs/listening[-quick])")
    parser.add_argument(
        "--report",
        type=Path,
        help="report whose section is written (default docs/results.md; with --quick "
        "OUT/results.md)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="retrain checkpoints made with another config"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parse_with_config(parser, argv)


def config_from_args(args: argparse.Namespace) -> ListeningConfig:
    config = QUICK if args.quick else FULL
    if args.seeds:
        config = replace(config, seeds=seed_list(args.seeds))
    if args.arm:
        config = replace(config, arms=tuple(args.arm))
    return replace(config, train=replace(config.train, device=args.device))


def command_line(args: argparse.Namespace, out: Path, report: Path) -> str:
    """The command that regenerates the section, for the report."""
    parts = ["python3 experiments/listening.py"] + (["--quick"] if args.quick else [])
    parts += [f"--seeds {args.seeds}"] if args.seeds else []
    parts += [f"--arm {a}" for a in args.arm or ()]
    default_out = Path("runs/listening-quick" if args.quick else "runs/listening")
    parts += [f"--out {out}"] if out != default_out else []
    default_report = out / "results.md" if args.quick else DEFAULT_REPORT
    parts += [f"--report {report}"] if report != default_report else []
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the command line, also as an installed command
        exit_on_sigterm()
    args = parse_args(argv)
    out = args.out or Path("runs/listening-quick" if args.quick else "runs/listening")
    report = args.report or (out / "results.md" if args.quick else DEFAULT_REPORT)
    bars = Bars(not args.no_progress)
    try:
        config = config_from_args(args)
        steps = total_user_steps(config.measure) * len(config.arms) * len(config.seeds)
        with tqdm(
            total=steps,
            desc="responsiveness",
            unit="user-step",
            disable=args.no_progress,
            file=sys.stderr,
            delay=1,
        ) as measure:
            result = run_listening_study(
                config,
                out,
                overwrite=args.overwrite,
                device=args.device,
                progress=ListeningProgress(
                    stage=bars.stage,
                    epoch=lambda arm, row: bars.epoch(arm, config.train.epochs, row),
                    measure=measure.update,
                ),
                train_only=args.train_only,
            )
        bars.close()
        if result is None:
            print(f"trained into {out} (--train-only)")
            return 0
        figures = copy_figures(
            report.parent / (report.stem + "_figures"),
            {f"listening_{n}": out / f"{n}.png" for n in ("ablation", "horizon")},
        )
        figures = {name.removeprefix("listening_"): path for name, path in figures.items()}
        section = render_section(
            result, read_json(out / "study.json"), figures, command_line(args, out, report)
        )
        text = report.read_text() if report.is_file() else "# Results\n"
        atomic_write_text(report, splice_section(text, section))
    except (ValueError, LogError) as error:  # StudyError is a ValueError
        bars.close()
        print(f"error: {error}", file=sys.stderr)
        return 2
    first = result.responsiveness
    first = first[(first["step"] == first["step"].min()) & (first["kind"] == "content")]
    print(
        first[["seed", "model", "relative_change", "ci_low", "ci_high"]].to_string(
            index=False, float_format=lambda v: f"{100 * v:+.1f}%"
        )
    )
    print(f"wrote {', '.join(str(p) for p in result.paths.values())} and {report}")
    return 0


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(main())
