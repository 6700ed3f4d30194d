#!/usr/bin/env python3
"""Inside the model at the fork: how far the dislike on x_k travels through each layer.

Runs the counterfactual protocol with each --checkpoint (as responsiveness.py does,
same seed, same users) and traces the two branches' histories for step k+1 through the
model (simulator.responsiveness.probe). Per level (the network's input, each layer, the
user state s that scores items) it reports the relative gap ||h_B - h_A|| / ||h_A|| at
the position after x_k, and for a transformer the attention weight that position's
query puts on x_k itself (mean over heads, branch A and B), each as the mean over users
with a 95% BCa bootstrap interval. A state gap much smaller than the input gap is a
network that mutes the feedback. Writes branch_probe.csv, branch_probe.md,
branch_probe.png/.pdf and the manifest branch_probe.json, last.

Example:
    python3 experiments/branch_probe.py --world runs/logs/world.npz \\
        --checkpoint runs/models/gru-dislike_feature runs/models/sasrec-dislike_feature \\
        --out runs/probe
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.arguments import Parser, exit_on_sigterm, parse_with_config, seed
from recommenders.atomic import atomic_write_csv, atomic_write_text, save_figure
from simulator import ResponsivenessConfig
from simulator.adapter_specs import build_adapter
from simulator.records import (
    begin_results,
    check_output_dir,
    finish_results,
    md_table,
    package_versions,
    world_record,
)
from simulator.responsiveness.plots import new_figure
from simulator.responsiveness.probe import probe_table
from simulator.world import load_world

MANIFEST = "branch_probe.json"
RESULT_FILES = (MANIFEST, "branch_probe.csv", "branch_probe.md", "branch_probe.png")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = Parser.from_doc(__doc__)
    parser.add_argument(
        "--checkpoint", nargs="+", type=Path, required=True, metavar="DIR", help="models to probe"
    )
    parser.add_argument(
        "--world", type=Path, required=True, help="the world file the models were trained on"
    )
    parser.add_argument("--n-users", type=int, default=2000, help="users forked")
    parser.add_argument("--k", type=int, default=50, help="the fork's step")
    parser.add_argument("--seed", type=seed, default=0, help="protocol and bootstrap seed")
    parser.add_argument("--out", type=Path, default=Path("runs/probe"), help="results folder")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier results")
    return parse_with_config(parser, argv)


def markdown(table: pd.DataFrame) -> str:
    shown = table.copy()
    shown["mean [95% CI]"] = [
        f"{m:.4f} [{lo:.4f}, {hi:.4f}]"
        for m, lo, hi in zip(shown["mean"], shown["ci_low"], shown["ci_high"], strict=True)
    ]
    return md_table(shown[["model", "quantity", "level", "mean [95% CI]", "n"]]) + "\n"


def plot(table: pd.DataFrame, stem: Path) -> list[Path]:
    """State gap per level, one group of bars per model, 95% CI as error bars."""
    gaps = table[table["quantity"] == "state_gap"]
    models = list(dict.fromkeys(gaps["model"]))
    levels = list(dict.fromkeys(gaps["level"]))
    fig, (axes,) = new_figure(1.6 + 1.2 * len(models), 3.2)
    width = 0.8 / len(levels)
    for j, level in enumerate(levels):
        rows = gaps[gaps["level"] == level].set_index("model").reindex(models)
        x = np.arange(len(models)) + (j - (len(levels) - 1) / 2) * width
        error = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
        axes.bar(x, rows["mean"], width, yerr=error, capsize=2, label=level)
    axes.set_xticks(np.arange(len(models)), models, rotation=15, ha="right", fontsize=8)
    axes.set_ylabel("||h_B - h_A|| / ||h_A|| after x_k")
    axes.set_title("How far the dislike on x_k travels, by level", fontsize=9)
    axes.legend(fontsize=7, frameon=False)
    return save_figure(fig, stem)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_output_dir(args.out, args.overwrite, RESULT_FILES)
        world = load_world(args.world)
        config = ResponsivenessConfig(n_users=args.n_users, k=args.k, seed=args.seed)
        adapters = {}
        for path in args.checkpoint:
            adapter = build_adapter(f"checkpoint:{path}", world)
            adapters[adapter.name] = adapter
        start = time.perf_counter()
        table, _ = probe_table(world, adapters, config)
        begin_results(args.out, MANIFEST)
        csv = args.out / "branch_probe.csv"
        atomic_write_csv(csv, table)
        md = atomic_write_text(args.out / "branch_probe.md", markdown(table))
        figures = plot(table, args.out / "branch_probe")
        record = {
            "command": args.command,
            "config": config.to_dict(),
            "world": world_record(world),
            "checkpoints": [str(p) for p in args.checkpoint],
            "wall_seconds": time.perf_counter() - start,
            "versions": package_versions(),
        }
        finish_results(args.out, MANIFEST, record, [csv, md, *figures])
    except ValueError as error:  # CheckpointError and AdapterSpecError included
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown(table))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(main())
