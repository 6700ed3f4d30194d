"""Train one benchmark model, pick its epoch on validation NDCG@10, score it on the test events.

For each :class:`BenchmarkModel` this builds the network, trains it with
:func:`recommenders.training.fit.fit_variant` on every event but each user's last
two, validates after every epoch on the second-to-last events (the epoch with
the best validation NDCG@10 is kept), ranks the last events once with the kept
weights, and writes ``OUT/NAME/``: the checkpoint (``checkpoint.json`` with the
data set's fingerprint, ``weights.pt``), ``metrics.csv`` (one row per epoch)
and ``learning_curve.png`` / ``.pdf``.
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from experiments.movielens.models import BenchmarkConfig, BenchmarkModel
from recommenders.checkpoint import read_checkpoint
from recommenders.evaluation.held_out import evaluate_held_out, rank_held_out
from recommenders.evaluation.leave_one_out import HeldOut, LeaveOneOut
from recommenders.training.fit import fit_variant
from recommenders.variants import Variant


def run_model(
    model_spec: BenchmarkModel,
    split: LeaveOneOut,
    config: BenchmarkConfig,
    n_items: int,
    creator: np.ndarray,
    fingerprint: str,
    out_dir: str | Path,
    overwrite: bool = False,
    progress: Callable[[dict], object] | None = None,
    extra: dict | None = None,
) -> dict:
    """Train, select, test and save ``model_spec``; return its benchmark-table row.

    The row holds the test metrics (:class:`~recommenders.evaluation.held_out.BenchmarkMetrics`
    fields), ``val_ndcg10`` of the kept epoch, ``best_epoch``, ``epochs`` run,
    ``wall_seconds`` (build to saved checkpoint), training ``sequences_per_second`` and
    ``events_per_second``, the published anchors and the checkpoint path. ``extra``
    is stored in the checkpoint header (e.g. the user sample of a quick run).
    """
    start = time.perf_counter()
    variant = model_spec.variant

    def validate(model):
        metrics = evaluate_held_out(
            model, variant, split.validation, None, config.eval_batch_size, config.device
        )
        return {
            "ndcg10": metrics.ndcg10,
            "recall10": metrics.recall10,
            "recall1": metrics.recall1,
            "disliked_in_top10": metrics.disliked_in_top10,
        }

    row: dict = {}

    def header(model, result) -> dict:
        test = evaluate_held_out(
            model, variant, split.test, creator, config.eval_batch_size, config.device
        )
        history = result.history
        best = history.loc[history["epoch"] == result.best_epoch].iloc[0]
        row.update(
            {
                "model": model_spec.name,
                "kind": model_spec.kind,
                "loss": model_spec.positive_loss,
                "variant": variant.name,
                **test.to_dict(),
                "published_recall10": model_spec.published_recall10,
                "published_ndcg10": model_spec.published_ndcg10,
                "val_ndcg10": float(best["val_ndcg10"]),
                "best_epoch": result.best_epoch,
                "epochs": len(history),
                "wall_seconds": time.perf_counter() - start,
                "sequences_per_second": result.sequences_per_second,
                "events_per_second": result.events_per_second,
                "device_name": device_name(config.device),
            }
        )
        return {
            "benchmark_model": model_spec.to_dict(),
            "benchmark_config": config.to_dict(),
            "test_metrics": test.to_dict(),
            # NaN anchors are stored as None: strict JSON has no NaN.
            "benchmark_row": _json_row(row),
            **(extra or {}),
        }

    fitted = fit_variant(
        split.sequences,
        variant,
        config.model_config(model_spec),
        config.train_config(model_spec),
        n_items,
        fingerprint,
        out_dir,
        name=model_spec.name,
        overwrite=overwrite,
        progress=progress,
        validate=validate,
        header=header,
    )
    return {**row, "checkpoint": str(fitted.checkpoint)}


REUSE_IGNORED = ("device", "epochs", "patience", "max_seconds", "eval_batch_size")
""":class:`BenchmarkConfig` fields that may differ between the run that trained a
checkpoint and the run that reuses it: where and how long it trained, not what."""


def reuse_model(
    model_spec: BenchmarkModel,
    config: BenchmarkConfig,
    fingerprint: str,
    out_dir: str | Path,
    extra: dict | None = None,
) -> dict:
    """The benchmark-table row stored in ``out_dir/NAME`` by an earlier :func:`run_model`.

    The checkpoint must have been trained on the same data (``fingerprint``), with the
    same model spec, the same ``config`` apart from :data:`REUSE_IGNORED` (so a GPU
    run's checkpoints can be tabulated and measured on a CPU machine), and the same
    header ``extra`` (e.g. user subset). Anything else is a :class:`ValueError` naming
    the first difference; the row keeps the training run's wall time, speed and device.
    """
    target = Path(out_dir) / model_spec.name
    header, _, _ = read_checkpoint(target)
    if "benchmark_row" not in header:
        raise ValueError(f"{target} was not written by the benchmark (no benchmark_row)")

    def comparable(cfg: dict, ignored: tuple[str, ...]) -> dict:
        return {k: v for k, v in cfg.items() if k not in ignored}

    # Descriptions are prose: rewording one must not invalidate trained models.
    expected = {
        "fingerprint": fingerprint,
        "benchmark_model": comparable(model_spec.to_dict(), ("description",)),
        "benchmark_config": comparable(config.to_dict(), REUSE_IGNORED),
        **(extra or {}),
    }
    found = {
        **header,
        "benchmark_model": comparable(header.get("benchmark_model", {}), ("description",)),
        "benchmark_config": comparable(header.get("benchmark_config", {}), REUSE_IGNORED),
    }
    for key, value in expected.items():
        if json.loads(json.dumps(value, default=str)) != found.get(key):
            raise ValueError(
                f"{target} was trained with another {key} than this run asks for; "
                "pass --overwrite to retrain it"
            )
    row = {k: math.nan if v is None else v for k, v in header["benchmark_row"].items()}
    return {**row, "checkpoint": str(target)}


def checkpoint_ranks(
    path: str | Path, held: HeldOut, batch_size: int = 512, device: str = "cpu"
) -> np.ndarray:
    """0-based rank of every held-out target under the benchmark checkpoint at ``path``."""
    header, model, _ = read_checkpoint(path)
    model.to(device)
    variant = Variant.from_dict(header["variant"])
    ranks, _ = rank_held_out(model, variant, held, None, batch_size, device)
    return ranks


def device_name(device: str) -> str:
    """The GPU's name for a CUDA device, else the CPU's."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


def _json_row(row: dict) -> dict:
    row = {k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()}
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
