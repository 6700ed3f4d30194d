"""Training throughput on a benchmark data set (ML-1M): sequences and events per second.

Times the training steps of the benchmark's own configuration (its model size,
input length and batch size, full softmax cross-entropy, every event a positive
label) with :func:`recommenders.training.throughput.training_throughput`, on the
training part of the leave-one-out split.
"""

from __future__ import annotations

from experiments.movielens.models import BenchmarkConfig, benchmark_models
from recommenders.evaluation.leave_one_out import leave_one_out
from recommenders.sequences import Sequences
from recommenders.training.throughput import training_throughput

THROUGHPUT_MODELS = ("sasrec-ce", "gru-ce")


def model_throughput(
    sequences: Sequences,
    n_items: int,
    config: BenchmarkConfig,
    models: tuple[str, ...] = THROUGHPUT_MODELS,
    n_batches: int = 10,
    warmup: int = 2,
) -> list[dict]:
    """One :func:`~recommenders.training.throughput.training_throughput` record per named model.

    Each record adds ``"benchmark_model"``; ``sequences_per_second`` counts training
    windows of at most ``config.max_len`` events.
    """
    train = leave_one_out(sequences).train
    known = benchmark_models()
    records = []
    for name in models:
        spec = known[name]
        record = training_throughput(
            train,
            spec.variant,
            config.model_config(spec),
            config.train_config(spec),
            n_items,
            n_batches=n_batches,
            warmup=warmup,
        )
        records.append({"benchmark_model": name, **record})
    return records
