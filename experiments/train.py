#!/usr/bin/env python3
"""Train sequential recommenders (GRU, SASRec) in the paper's variants on interaction logs.

Reads --logs DIR (world.npz + interactions.csv.gz from experiments/make_logs.py),
or a real data set (--dataset ml1m|ml100k, or --interactions FILE / --schema
FILE with column options, as real_responsiveness.py takes them), trains each
--model x --variant, and writes one checkpoint folder per model into --out
(checkpoint.json, weights.pt, metrics.csv, learning_curve.png/.pdf), so that
`experiments/responsiveness.py --world DIR/world.npz --checkpoint OUT/*`
measures them directly, and models of a real data set go through
`experiments/real_responsiveness.py --checkpoint OUT/*` (and a world fitted
to it) with their fingerprint checked.

Variants: baseline, dislike_feature, dislike_feature_label (the paper's
treatment), exclude_disliked, skip_label; `--variant all` trains all five.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from experiments.arguments import Parser, number, parse_with_config, seed
from experiments.data_options import add_data_arguments, load_data
from recommenders.checkpoint import CheckpointError, read_checkpoint
from recommenders.losses import POSITIVE_LOSSES
from recommenders.models import FEEDBACK_ENTRIES, ModelConfig
from recommenders.models.features import LAST_EVENT_CROSSES
from recommenders.sequences import LogError, Sequences
from recommenders.training.fit import fit_variant
from recommenders.training.loop import TrainConfig
from recommenders.variants import VARIANTS, get_variant, with_action_embedding
from simulator.logs import read_logs_folder
from simulator.records import check_writable


def check_resumable(folder: Path, model_config, train_config, variant, fingerprint) -> None:
    """A one-line ValueError unless ``folder`` is a complete checkpoint of exactly this
    model, variant, training config and world or data set (what ``--resume`` may keep)."""
    header, _, _ = read_checkpoint(folder)
    wanted = {
        "model": model_config.to_dict(),
        "variant": variant.to_dict(),
        "train": train_config.to_dict(),
        "fingerprint": fingerprint,
    }
    # JSON turns tuples into lists: compare both sides as JSON.
    differ = [k for k, v in wanted.items() if json.loads(json.dumps(v)) != header.get(k)]
    if differ:
        raise ValueError(
            f"--resume: {folder} was trained with another {', '.join(differ)}; pass --overwrite "
            "to retrain it or choose another --out"
        )


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--logs",
        type=Path,
        help="folder from make_logs.py (default runs/logs unless a real data set is named)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        metavar="NAME",
        help=f"variant to train (repeatable) or 'all'; one of {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--model",
        action="append",
        choices=("gru", "sasrec"),
        help="model kind (repeatable; default gru)",
    )
    parser.add_argument("--dim", type=int, default=64, help="embedding size (default 64)")
    parser.add_argument("--max-len", type=int, default=50, help="events a model reads (default 50)")
    parser.add_argument("--layers", type=int, default=None, help="layers (default 1 gru, 2 sasrec)")
    parser.add_argument(
        "--dropout", type=number, default=0.1, help="dropout probability (default 0.1)"
    )
    parser.add_argument(
        "--feedback-entry",
        choices=FEEDBACK_ENTRIES,
        default="add",
        help="how feedback features enter each event's vector: added to the item "
        "embedding (default), concatenated then projected, or latent_cross (the item "
        "embedding also scaled by 1 + w_feedback); see recommenders.models.features",
    )
    parser.add_argument(
        "--no-position-embeddings",
        dest="position_embeddings",
        action="store_false",
        help="sasrec: no learned position embeddings (order only through the causal mask)",
    )
    parser.add_argument(
        "--position-bias",
        action="store_true",
        help="sasrec: a learned relative position bias b[i - j] in every attention layer "
        "(with --no-position-embeddings, order reaches the attention only)",
    )
    parser.add_argument(
        "--last-event-cross",
        action="store_true",
        help="a feedback-aware pathway from the last event to the state, s + c(f_t) * v_{x_t} "
        "(recommenders.models.features.LastEventCross); feedback-aware variants only",
    )
    parser.add_argument(
        "--last-event-map",
        choices=LAST_EVENT_CROSSES,
        default="diagonal",
        help="the cross's map of the last item: c(f) * v (default) or a matrix M(f) v",
    )
    parser.add_argument(
        "--action-embedding",
        action="store_true",
        help="replace the variant's feedback features by an embedding of each event's "
        "feedback code (Nekrasov's action embedding); feedback-aware variants only",
    )
    parser.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    parser.add_argument(
        "--patience", type=int, default=5, help="early-stopping patience (default 5)"
    )
    parser.add_argument(
        "--min-epochs",
        type=int,
        default=0,
        help="epochs before early stopping may pick or stop (default 0)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=128, help="windows per batch (default 128)"
    )
    parser.add_argument("--lr", type=number, default=1e-3, help="Adam learning rate (default 1e-3)")
    parser.add_argument(
        "--grad-clip", type=number, default=None, help="max gradient norm (default off)"
    )
    parser.add_argument(
        "--positive-loss",
        choices=tuple(POSITIVE_LOSSES),
        default="sampled_softmax",
        help="loss on positive labels (default sampled_softmax with logQ correction)",
    )
    parser.add_argument(
        "--n-negatives",
        type=int,
        default=512,
        help="sampled negatives per batch for sampled_softmax (default 512)",
    )
    parser.add_argument(
        "--negative-weight",
        type=number,
        default=None,
        help="weight w of each negative label (default: the variant's)",
    )
    parser.add_argument("--name-suffix", default="", help="appended to each checkpoint's name")
    parser.add_argument("--seed", type=seed, default=0, help="training seed (default 0)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--out", type=Path, default=Path("runs/models"), help="checkpoint folder")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the checkpoints already in --out that were trained with this exact "
        "config (an interrupted multi-variant run goes on where it stopped)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing checkpoints")
    add_data_arguments(parser, default=None)
    args = parse_with_config(parser, argv)
    try:
        names = args.variant or ["all"]
        variants = list(VARIANTS.values()) if "all" in names else [get_variant(n) for n in names]
        train_config = TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            patience=args.patience,
            min_epochs=args.min_epochs,
            seed=args.seed,
            device=args.device,
            grad_clip=args.grad_clip,
            positive_loss=args.positive_loss,
            n_negatives=args.n_negatives,
        )
        if args.resume and args.overwrite:
            raise ValueError("--resume and --overwrite exclude each other")
        # Every option is checked, and --out found writable, before the logs are read.
        plan = []
        for kind in args.model or ["gru"]:
            layers = args.layers if args.layers is not None else (1 if kind == "gru" else 2)
            for variant in variants:
                if args.negative_weight is not None:
                    labels = replace(variant.labels, negative_weight=args.negative_weight)
                    variant = replace(variant, labels=labels)
                if args.action_embedding:
                    variant = with_action_embedding(variant)
                model_config = ModelConfig(
                    kind=kind,
                    dim=args.dim,
                    max_len=args.max_len,
                    n_layers=layers,
                    dropout=args.dropout,
                    features=variant.features,
                    feedback_entry=args.feedback_entry,
                    position_embeddings=args.position_embeddings,
                    position_bias=args.position_bias,
                    last_event_cross=args.last_event_cross,
                    last_event_map=args.last_event_map,
                )
                plan.append(
                    (kind, variant, model_config, f"{kind}-{variant.name}{args.name_suffix}")
                )
        check_writable(args.out)
        real = any(v is not None for v in (args.dataset, args.interactions, args.schema))
        if real and args.logs is not None:
            raise ValueError(
                "--logs names simulated logs; --dataset/--interactions/--schema a "
                "real data set: pick one"
            )
        if real:
            data = load_data(args)
            n_items, fingerprint, log = data.n_items, data.fingerprint, data.log
            print(
                f"{data.name} ({fingerprint}): {data.n_users:,} users, {n_items:,} items, "
                f"{len(log):,} events",
                flush=True,
            )
        else:
            world, log = read_logs_folder(args.logs or Path("runs/logs"))
            n_items, fingerprint = world.corpus.n_items, world.fingerprint
        sequences = Sequences.from_log(log)
        for kind, variant, model_config, name in plan:
            if args.resume and (args.out / name).exists():
                check_resumable(args.out / name, model_config, train_config, variant, fingerprint)
                print(f"{args.out / name}: kept (--resume; trained with this config)")
                continue
            with tqdm(
                total=args.epochs, desc=f"{kind}-{variant.name}", unit="epoch", file=sys.stderr
            ) as bar:

                def progress(row, bar=bar):
                    bar.set_postfix(
                        loss=f"{row['train_loss']:.3f}", ndcg=f"{row['val_ndcg10']:.4f}"
                    )
                    bar.update(1)

                fitted = fit_variant(
                    sequences,
                    variant,
                    model_config,
                    train_config,
                    n_items,
                    fingerprint,
                    args.out,
                    name=name,
                    overwrite=args.overwrite,
                    progress=progress,
                )
            best = fitted.result.history.set_index("epoch").loc[fitted.result.best_epoch]
            print(
                f"{fitted.checkpoint}: best epoch {fitted.result.best_epoch}, "
                f"NDCG@10 {best['val_ndcg10']:.4f}, Recall@10 {best['val_recall10']:.4f}, "
                f"disliked in top 10 {best['val_disliked_in_top10']:.4f}, "
                f"{fitted.result.events_per_second:,.0f} events/s",
                flush=True,
            )
    except (ValueError, LogError, CheckpointError) as error:  # DataError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
