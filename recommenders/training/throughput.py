"""Training throughput: events (and windows) per second of forward + backward + optimiser step."""

from __future__ import annotations

import time

import numpy as np
import torch

from recommenders.models import ModelConfig, build_model
from recommenders.sequences import Sequences, training_windows
from recommenders.training.loop import TrainConfig, _batch_loss, build_objective, window_labels
from recommenders.variants import Variant


def training_throughput(
    sequences: Sequences,
    variant: Variant,
    model_config: ModelConfig,
    train_config: TrainConfig,
    n_items: int,
    n_batches: int = 20,
    warmup: int = 3,
) -> dict:
    """Time ``n_batches`` training steps after ``warmup`` untimed ones.

    An *event* is one position of a training window (input and, when labelled,
    label), so events/s compares models on the same data whatever the label mix;
    a *sequence* is one training window (at most ``max_len`` events).
    """
    torch.manual_seed(train_config.seed)
    windows = training_windows(sequences, model_config.max_len)
    weights, negative = window_labels(windows, variant)
    model = build_model(model_config, n_items).to(train_config.device)
    objective = build_objective(train_config, variant, windows, n_items)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_config.lr)
    rng = np.random.default_rng(train_config.seed)
    events, sequences, seconds = 0, 0, 0.0
    for step in range(warmup + n_batches):
        idx = rng.choice(
            len(weights), size=min(train_config.batch_size, len(weights)), replace=False
        )
        start = time.perf_counter()
        loss, _, _ = _batch_loss(
            model, objective, variant, windows, weights, negative, idx, train_config.device
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if train_config.device.startswith("cuda"):
            torch.cuda.synchronize()
        if step >= warmup:
            seconds += time.perf_counter() - start
            events += int(windows.lengths[idx].sum())
            sequences += len(idx)
    return {
        "model": model_config.kind,
        "variant": variant.name,
        "positive_loss": train_config.positive_loss,
        "batch_size": train_config.batch_size,
        "max_len": model_config.max_len,
        "dim": model_config.dim,
        "threads": torch.get_num_threads(),
        "device": train_config.device,
        "events_per_second": events / seconds,
        "sequences_per_second": sequences / seconds,
        "seconds_per_batch": seconds / n_batches,
    }
