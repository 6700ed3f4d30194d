"""Training a sequential recommender on an interaction log, the paper's eq. 1.

Each training window of at most ``max_len`` events is fed to the model; the
state before event t (after events < t) is trained on event t's label:
positive (weight r) or negative (weight w) according to the variant's
:class:`~recommenders.variants.LabelRule`, or no label. The batch loss is

    L = ( - sum_pos r log p(y|s)  - sum_neg w log(1 - p(y|s)) ) / n_labels

with the negative term's form chosen by ``variant.negative_loss``. By
default the positive term uses sampled softmax with logQ correction over
``n_negatives`` uniformly drawn items shared by the batch (the not-to-recommend
term always uses the full softmax): on CPU the full softmax over a 5,000-item
corpus costs about ten times more per batch (``TrainConfig.positive_loss``
switches to it). Two binary cross-entropy options replace the softmax on
positive labels: ``"bce"``, the original SASRec loss,
``-log sigma(z_y) - log(1 - sigma(z_n))`` with one negative ``n`` drawn uniformly
from the other items at every labelled position, and ``"gbce"``, gSASRec's
``-beta log sigma(z_y) - sum_k log(1 - sigma(z_{n_k}))`` with ``n_negatives``
such draws per position and ``beta = gbce_beta(n_negatives, V, gbce_t)``
(:class:`~recommenders.losses.GBCE`). The last
``n_holdout`` events of each user are held out; after every epoch from
``min_epochs`` on, NDCG@10 on them (or on what a ``validate`` callback
returns) decides early stopping, and the best such epoch's weights are kept.
``max_seconds`` bounds the wall time of a run.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from recommenders.atomic import atomic_write_csv
from recommenders.devices import check_device
from recommenders.evaluation.ranking import evaluate
from recommenders.history import Feedback
from recommenders.inference import model_inputs
from recommenders.losses import NEGATIVE_LOSSES, POSITIVE_LOSSES, EmbeddingLogits, Objective
from recommenders.memory import check_fits
from recommenders.models import SequentialRecommender
from recommenders.sequences import Sequences, Slices, holdout_contexts, training_windows
from recommenders.variants import Variant


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. ``grad_clip`` is the max global gradient norm (None = off).

    ``positive_loss``: a name in :data:`recommenders.losses.POSITIVE_LOSSES`:
    ``"sampled_softmax"`` (``n_negatives`` shared negatives per batch), ``"softmax_ce"``,
    ``"bce"`` (one uniform negative per labelled position) or ``"gbce"``
    (``n_negatives`` uniform negatives per position, calibration ``gbce_t``); see the
    module docstring. ``max_seconds``: wall-time budget in seconds (training
    and validation together) or None; an epoch is started only when the previous
    epoch's duration says it will end within the budget (the first always runs).
    """

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 5
    min_epochs: int = 0
    n_holdout: int = 2
    seed: int = 0
    device: str = "cpu"
    grad_clip: float | None = None
    positive_loss: str = "sampled_softmax"
    n_negatives: int = 512
    gbce_t: float = 0.75
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (math.isfinite(self.lr) and self.lr > 0, f"lr must be finite and > 0, got {self.lr}"),
            (
                math.isfinite(self.weight_decay) and self.weight_decay >= 0,
                f"weight_decay must be finite and >= 0, got {self.weight_decay}",
            ),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
            (
                0 <= self.min_epochs <= self.epochs,
                f"min_epochs must be in [0, epochs={self.epochs}], got {self.min_epochs}",
            ),
            (self.n_holdout >= 1, f"n_holdout must be >= 1, got {self.n_holdout}"),
            (self.n_negatives >= 1, f"n_negatives must be >= 1, got {self.n_negatives}"),
            (
                self.positive_loss in POSITIVE_LOSSES,
                f"positive_loss must be one of {', '.join(POSITIVE_LOSSES)}, "
                f"got {self.positive_loss!r}",
            ),
            (0.0 <= self.gbce_t <= 1.0, f"gbce_t must be in [0, 1], got {self.gbce_t}"),
            (
                self.max_seconds is None
                or (math.isfinite(self.max_seconds) and self.max_seconds > 0),
                f"max_seconds must be finite and > 0 (None: no budget), got {self.max_seconds}",
            ),
            (
                self.grad_clip is None or (math.isfinite(self.grad_clip) and self.grad_clip > 0),
                f"grad_clip must be finite and > 0 (None: off), got {self.grad_clip}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"TrainConfig: {message}")
        try:
            check_device(self.device)
        except ValueError as error:
            raise ValueError(f"TrainConfig: {error}") from None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    """Per-epoch metrics and the epoch whose weights the model now holds.

    ``events_per_second`` / ``sequences_per_second``: training events / windows
    processed per second of training (forward, backward, step; validation excluded).
    """

    history: pd.DataFrame
    best_epoch: int
    events_per_second: float
    sequences_per_second: float = float("nan")


def window_labels(windows: Slices, variant: Variant) -> tuple[np.ndarray, np.ndarray]:
    """Weights (n, L): +r positive, w negative (flagged), 0 none; and the negative flags."""
    rule = variant.labels
    valid = np.arange(windows.items.shape[1]) < windows.lengths[:, None]
    positive = valid & np.isin(windows.feedback, rule.positive_feedback)
    positive &= windows.dwell >= rule.min_positive_dwell
    negative = valid & np.isin(windows.feedback, rule.negative_feedback)
    weights = np.where(
        positive, rule.positive_weight, np.where(negative, rule.negative_weight, 0.0)
    )
    return weights, negative


def _batch_loss(model, objective, variant, windows, weights, negative, idx, device):
    inputs = model_inputs(
        variant,
        windows.items[idx],
        windows.feedback[idx],
        windows.dwell[idx],
        windows.lengths[idx],
        model.config.max_len,
        device,
    )
    states = model(*inputs)[:, :-1]  # state before event t predicts event t
    # model_inputs trims the batch to its longest window; the trimmed columns
    # are padding, whose weight is 0, so the labels stay aligned.
    width = inputs[0].shape[1]
    w = torch.as_tensor(weights[idx][:, :width], dtype=torch.float32, device=device)
    labelled = w > 0
    labels = inputs[0][labelled]
    is_negative = torch.as_tensor(negative[idx][:, :width], device=device)[labelled]
    source = EmbeddingLogits(model.item_embedding.weight)
    loss, parts = objective(source, states[labelled], labels, w[labelled], is_negative)
    n_labels = max(int(labelled.sum()), 1)
    return loss / n_labels, parts, n_labels


class TrainingDiverged(ValueError):
    """The training loss became NaN or infinite; no checkpoint is kept."""


def step_bytes(model: SequentialRecommender, config: TrainConfig) -> int:
    """An upper estimate of one training step's float32 activations, in bytes.

    With ``R = batch_size x max_len`` positions: logits of width
    ``W = max(n_items, n_negatives)`` (the full softmax of the not-to-recommend term or
    ``softmax_ce``, or the sampled candidates), held three times (values, softmax,
    gradient), and the network's hidden states, ``dim`` wide, about ``4 + 8 x n_layers``
    of them per position with their gradients.
    """
    rows = config.batch_size * model.config.max_len
    width = max(model.n_items, config.n_negatives)
    hidden = rows * model.config.dim * (4 + 8 * model.config.n_layers)
    return 4 * (3 * rows * width + hidden)


def train_model(
    model: SequentialRecommender,
    variant: Variant,
    sequences: Sequences,
    config: TrainConfig,
    metrics_path: str | Path | None = None,
    progress: Callable[[dict], object] | None = None,
    validate: Callable[[SequentialRecommender], Mapping[str, float]] | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``sequences``; see the module docstring.

    ``validate``, when given, replaces the held-out evaluation: it is called after
    every epoch with the model in eval mode and returns metrics (logged as
    ``val_<name>``), of which ``"ndcg10"`` decides early stopping and selection.
    """
    check_fits(
        step_bytes(model, config),
        f"a training step of batch_size {config.batch_size} x max_len {model.config.max_len} "
        f"over {max(model.n_items, config.n_negatives):,} candidates",
        config.device,
    )
    run_start = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = config.device
    model.to(device)
    max_len = model.config.max_len
    train_seqs, full = sequences.split_last(config.n_holdout)
    if variant.exclude_disliked_input:
        # Windows are cut after the transform so each holds max_len kept events.
        train_seqs = train_seqs.without_feedback(int(Feedback.DISLIKE))
    windows = training_windows(train_seqs, max_len)
    weights, negative = window_labels(windows, variant)
    has_label = (weights > 0).any(axis=1)
    windows = Slices(*(getattr(windows, f)[has_label] for f in Slices.__dataclass_fields__))
    weights, negative = weights[has_label], negative[has_label]
    if len(weights) == 0:
        raise ValueError(f"variant {variant.name!r}: the training log has no labelled events")
    contexts = None if validate is not None else holdout_contexts(full, config.n_holdout, max_len)
    objective = build_objective(config, variant, windows, model.n_items)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    rows, best, best_epoch, best_state, stale = [], -np.inf, 0, None, 0
    last_epoch_seconds = 0.0
    n_events = int(windows.lengths.sum())
    total_time = 0.0
    for epoch in range(1, config.epochs + 1):
        if config.max_seconds is not None and rows:
            elapsed = time.perf_counter() - run_start
            # The last epoch's duration (training + validation) predicts the next one's.
            if elapsed + last_epoch_seconds > config.max_seconds:
                break
        epoch_start = time.perf_counter()
        model.train()
        start = time.perf_counter()
        order = rng.permutation(len(weights))
        sums = {"loss": 0.0, "grad_norm": 0.0, "batches": 0}
        for first in range(0, len(order), config.batch_size):
            idx = order[first : first + config.batch_size]
            loss, _, _ = _batch_loss(
                model, objective, variant, windows, weights, negative, idx, device
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            max_norm = config.grad_clip if config.grad_clip is not None else float("inf")
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"training diverged: the loss is {value} at epoch {epoch}, batch "
                    f"{sums['batches'] + 1} (lower the learning rate or the loss weights)"
                )
            sums["loss"] += value
            sums["grad_norm"] += float(norm)
            sums["batches"] += 1
        seconds = time.perf_counter() - start
        total_time += seconds
        if validate is None:
            values = evaluate(model, variant, contexts, device=device).to_dict()
        else:
            model.eval()
            values = dict(validate(model))
        score = values["ndcg10"]
        row = {
            "epoch": epoch,
            "train_loss": sums["loss"] / sums["batches"],
            "grad_norm": sums["grad_norm"] / sums["batches"],
            **{f"val_{k}": v for k, v in values.items()},
            "epoch_seconds": seconds,
            "events_per_second": n_events / seconds,
        }
        rows.append(row)
        if metrics_path is not None:
            write_metrics(pd.DataFrame(rows), Path(metrics_path))
        if progress is not None:
            progress(row)
        last_epoch_seconds = time.perf_counter() - epoch_start
        if epoch < config.min_epochs:
            # Early epochs can score well by ranking popular items before the model
            # has learned anything sequential; they are neither kept nor counted.
            continue
        if score > best:
            best, best_epoch, stale = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        pd.DataFrame(rows),
        best_epoch,
        n_events * len(rows) / total_time,
        len(weights) * len(rows) / total_time,
    )


def build_objective(
    config: TrainConfig, variant: Variant, windows: Slices, n_items: int
) -> Objective:
    """The batch loss: ``config.positive_loss`` on positive labels, the variant's negative loss.

    Each is built by its registry entry's ``for_training(config, windows, n_items)``
    (:mod:`recommenders.losses.registry`): e.g. ``"sampled_softmax"`` draws
    ``n_negatives`` shared negatives by item frequency in ``windows``, ``"bce"`` is
    :class:`~recommenders.losses.GBCE` with one negative and ``t = 0`` (beta = 1: plain
    binary cross-entropy) and ``"gbce"`` has ``n_negatives`` negatives and ``t = gbce_t``,
    drawn on the training device, per position.
    """
    positive = POSITIVE_LOSSES[config.positive_loss].for_training(config, windows, n_items)
    negative = None
    if variant.negative_loss is not None:
        negative = NEGATIVE_LOSSES[variant.negative_loss].for_training(config, windows, n_items)
    return Objective(positive=positive, negative=negative)


def write_metrics(history: pd.DataFrame, path: Path) -> None:
    """Per-epoch metrics as CSV, written atomically."""
    atomic_write_csv(path, history)
