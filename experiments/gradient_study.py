#!/usr/bin/env python3
"""The loss-gradient study: how negative-label losses behave as p -> 0 (docs/losses.md).

Writes, under --out:

* ``gradients.csv`` / ``gradients.png`` / ``gradients.pdf``: loss value, dL/dp and dL/dz
  of one negative label whose softmax probability is exactly p (float64, autograd through
  the library's loss classes), for not_to_recommend, negative_weight_ce, eps_smoothed_ce,
  focal_negative and negative_weight_ce with its logit gradient clipped to norm <= 1.
* ``instability.csv`` / ``instability.png`` / ``instability.pdf``: short Adam runs on a
  tiny synthetic task, not_to_recommend vs negative_weight_ce, same seed.

Which derivative blows up and which does not:

* dL/dp of negative_weight_ce (L = w log p) is w / p: it blows up like 1/p as p -> 0.
  This is the paper's "gradient blow-up" (focal_negative does the same).
* dL/dz of negative_weight_ce is w (1 - p) -> w: it does not blow up, but it never fades
  either, and the loss is unbounded below, so training keeps pushing the label's logit
  down for ever. Clipping caps the step; it does not make it fade.
* not_to_recommend (L = -w log(1 - p)) has dL/dp = w / (1 - p) -> w (finite) and
  dL/dz = w p -> 0: the push stops once the item is no longer recommended.

dL/dp is derived from the measured dL/dz by the chain rule, dp/dz = p (1 - p).
A short table (p = 1e-1, 1e-3, 1e-6, 1e-9) is printed to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from experiments.arguments import Parser, seed
from experiments.paper.gradients import gradient_table, write_gradient_study

TABLE_P = np.array([1e-1, 1e-3, 1e-6, 1e-9])


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/gradient_study"),
        help="output directory (default runs/gradient_study)",
    )
    parser.add_argument(
        "--n-items", type=int, default=1000, help="corpus size V of the gradient table (1000)"
    )
    parser.add_argument("--steps", type=int, default=200, help="Adam steps per run (default 200)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the instability runs (0)")
    args = parser.parse_args(argv)
    try:
        _, frame = write_gradient_study(args.out, args.n_items, args.steps, args.seed)
        short = gradient_table(TABLE_P, n_items=args.n_items)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"negative label, w = 1, V = {args.n_items}, other logits 0")
    print(f"{'loss':<36}{'p':>8}{'dL/dp':>14}{'dL/dz':>14}")
    for row in short.itertuples(index=False):
        print(f"{row.loss:<36}{row.p:>8.0e}{row.dL_dp:>14.6g}{row.dL_dz:>14.6g}")
    last = frame.groupby("negative_loss", sort=False).tail(1)
    print(f"\nafter {args.steps} Adam steps (seed {args.seed}):")
    for row in last.itertuples(index=False):
        print(
            f"{row.negative_loss:<20} total {row.total:>11.4g}  negative part {row.negative:>11.4g}"
            f"  grad norm {row.grad_norm:>10.4g}  mean log p(neg) {row.mean_log_p_negative:>9.4g}"
        )
    print(f"wrote {args.out}/gradients.{{csv,png,pdf}} and {args.out}/instability.{{csv,png,pdf}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
