#!/usr/bin/env python3
"""The paper's full protocol on a world fitted to MovieLens-1M, for models trained on ML-1M.

Runs experiments.movielens.fitted: simulated responsiveness (random trajectory
for k-1 steps, fork at k, slates at k+1..k+horizon) of every ML-1M checkpoint,
FeedbackFilter around the blind reference and the popularity adapter on the
world that experiments/fit_world.py fitted to the same data, then a simulated
live A/B test with the same arms, and writes a report section that puts them
beside the same checkpoints' real-history responsiveness and the fit's
fidelity. With --into-report the section replaces (or is appended as) its
generated block in the results report.

    python3 experiments/fit_world.py --dataset ml1m --out runs/fit-ml1m --bootstrap 10
    python3 experiments/ml1m.py --out runs/ml1m \
        --models sasrec-ce,sasrec-ce-feature,sasrec-ce-feature-ntr-w3,gsasrec
    python3 experiments/fitted_ml1m.py --fit runs/fit-ml1m --ml1m runs/ml1m --out runs/fitted-ml1m
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.arguments import Parser, seed, threads
from experiments.movielens.fitted import (
    DEFAULT_MODELS,
    DISCUSSION,
    FittedStudyConfig,
    fitted_block,
    run_fitted_study,
    splice,
)
from recommenders.atomic import atomic_write_text
from recommenders.checkpoint import CheckpointError
from simulator.records import check_output_dir


def main(argv: list[str] | None = None) -> int:
    parser = Parser.from_doc(__doc__, show_defaults=False)
    parser.add_argument(
        "--fit", type=Path, default=Path("runs/fit-ml1m"), help="fit_world.py output"
    )
    parser.add_argument("--ml1m", type=Path, default=Path("runs/ml1m"), help="ml1m.py output")
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help="checkpoint folders in --ml1m, comma-separated; the first is the blind reference",
    )
    parser.add_argument("--n-users", type=int, default=2000, help="simulated users (2000)")
    parser.add_argument("--k", type=int, default=50, help="fork step (50)")
    parser.add_argument("--horizon", type=int, default=10, help="slates after the fork (10)")
    parser.add_argument("--seed", type=seed, default=0, help="behaviour and bootstrap seed")
    parser.add_argument("--n-resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--live-users", type=int, default=1000, help="live A/B users (1000)")
    parser.add_argument("--live-days", type=int, default=7, help="live A/B days (7)")
    parser.add_argument(
        "--live-max-session", type=int, default=20, help="most items per live A/B session (20)"
    )
    parser.add_argument("--threads", type=threads, help="torch threads (default: torch's own)")
    parser.add_argument("--out", type=Path, default=Path("runs/fitted-ml1m"), help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace results in --out")
    parser.add_argument("--into-report", type=Path, help="splice the section into this report")
    parser.add_argument("--section", type=int, default=9, help="section number in the report")
    parser.add_argument(
        "--discussion",
        type=Path,
        default=DISCUSSION,
        help=f"hand-written text after the section's tables (default {DISCUSSION})",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="only render the section (and --into-report) from the study already in --out",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    try:
        config = FittedStudyConfig(
            models=tuple(m for m in args.models.split(",") if m),
            n_users=args.n_users,
            k=args.k,
            horizon=args.horizon,
            seed=args.seed,
            n_resamples=args.n_resamples,
            live_users=args.live_users,
            live_days=args.live_days,
            live_max_session=args.live_max_session,
        )
        if not config.models:
            raise ValueError("--models names no checkpoint")
        if args.threads is not None:
            import torch

            torch.set_num_threads(args.threads)
        if args.render_only:
            if not (args.out / "study.json").is_file():
                raise ValueError(f"--render-only: {args.out} holds no study.json")
        else:
            check_output_dir(args.out, args.overwrite, ("study.json",))
            run_fitted_study(args.fit, args.ml1m, args.out, config, progress=not args.no_progress)
        block = fitted_block(args.out, args.section, args.discussion)
    except (ValueError, CheckpointError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    atomic_write_text(args.out / "section.md", block + "\n")
    if args.into_report is not None:
        text = args.into_report.read_text() if args.into_report.is_file() else ""
        atomic_write_text(args.into_report, splice(text, block))
    print(block)
    print(f"wrote {args.out}" + (f" and {args.into_report}" if args.into_report else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
