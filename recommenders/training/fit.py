"""One call from a log to a checkpoint: build, train, save, and write the learning curve."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from recommenders.checkpoint import save_checkpoint
from recommenders.models import ModelConfig, SequentialRecommender, build_model
from recommenders.sequences import Sequences
from recommenders.training.learning_curve import plot_learning_curve
from recommenders.training.loop import TrainConfig, TrainResult, train_model, write_metrics
from recommenders.variants import Variant


@dataclass(frozen=True)
class FitResult:
    checkpoint: Path
    result: TrainResult


def fit_variant(
    sequences: Sequences,
    variant: Variant,
    model_config: ModelConfig,
    train_config: TrainConfig,
    n_items: int,
    fingerprint: str,
    out_dir: str | Path,
    name: str | None = None,
    overwrite: bool = False,
    progress: Callable[[dict], object] | None = None,
    validate: Callable[[SequentialRecommender], Mapping[str, float]] | None = None,
    header: Callable[[SequentialRecommender, TrainResult], dict] | None = None,
) -> FitResult:
    """Train ``variant`` and write ``out_dir/NAME/`` (checkpoint, metrics.csv, learning_curve.png).

    ``NAME`` defaults to ``{kind}-{variant}``. While training, per-epoch
    metrics go to the hidden ``out_dir/.NAME.metrics.csv`` so a long run can
    be followed; the checkpoint folder appears only when training is done.
    ``validate`` is :func:`~recommenders.training.loop.train_model`'s early-stopping hook;
    ``header(model, result)``, called with the kept weights before saving, returns
    further checkpoint-header entries (e.g. test metrics).
    """
    out_dir = Path(out_dir)
    name = name or f"{model_config.kind}-{variant.name}"
    target = out_dir / name
    if target.exists() and not overwrite:
        raise ValueError(f"{target} already exists; pass --overwrite or choose another --out")
    torch.manual_seed(train_config.seed)
    model = build_model(model_config, n_items)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    live = out_dir / f".{name}.metrics.csv"
    try:
        result = train_model(
            model,
            variant,
            sequences,
            train_config,
            metrics_path=live,
            progress=progress,
            validate=validate,
        )
    except ValueError:
        # A refused or diverged training leaves nothing behind, not even an empty --out.
        live.unlink(missing_ok=True)
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise
    best = result.history.loc[result.history["epoch"] == result.best_epoch].iloc[0].to_dict()

    def write_files(folder: Path) -> None:
        write_metrics(result.history, folder / "metrics.csv")
        title = f"{name} (best epoch {result.best_epoch})"
        plot_learning_curve(result.history, folder / "learning_curve", title=title)

    save_checkpoint(
        target,
        model,
        variant,
        fingerprint,
        overwrite=overwrite,
        extra={
            "train": train_config.to_dict(),
            "best_epoch": result.best_epoch,
            "best_metrics": best,
            **(header(model, result) if header is not None else {}),
        },
        write_files=write_files,
    )
    live.unlink(missing_ok=True)
    return FitResult(target, result)
