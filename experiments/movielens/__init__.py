"""The MovieLens-1M study: the sequential benchmark with negative-target metrics.

The protocol and metrics are the library's (:mod:`recommenders.evaluation`:
leave-one-out by position, full ranking with input items excluded, Recall@K,
NDCG@K, disliked target in the top 10, disliked-director share) and so are the
variants for rating data (:func:`recommenders.variants.rating_variants`). The
study adds, one concept per module:

* ``models``: the models (SASRec BCE, gSASRec, full-CE SASRec and GRU, the
  feedback-aware variants) with their published anchors, and the shared
  hyper-parameters;
* ``runner``: train, select on validation NDCG@10, test and save one model;
* ``table``: the ``benchmark.csv`` table;
* ``paired``: a feedback-aware model minus its feedback-blind twin, per metric,
  with a paired bootstrap CI over users; ``paired_plot`` draws it;
* ``throughput``: training sequences / events per second on the data set;
* ``report``: the ML-1M section of the results report.

``experiments/ml1m.py`` is the command line.
"""

from experiments.movielens.models import (
    DEFAULT_MODELS,
    QUICK,
    BenchmarkConfig,
    BenchmarkModel,
    benchmark_models,
    blind_twin,
    pathway_twin,
    resolve_model,
)
from experiments.movielens.paired import (
    PAIRED_COLUMNS,
    PAIRED_METRICS,
    compare_twins,
    paired_differences,
    paired_view,
)
from experiments.movielens.paired_plot import plot_paired
from experiments.movielens.runner import (
    REUSE_IGNORED,
    checkpoint_ranks,
    device_name,
    reuse_model,
    run_model,
)
from experiments.movielens.table import COLUMNS, benchmark_table, markdown, write_table
from experiments.movielens.throughput import model_throughput

__all__ = [
    "COLUMNS",
    "DEFAULT_MODELS",
    "PAIRED_COLUMNS",
    "PAIRED_METRICS",
    "QUICK",
    "REUSE_IGNORED",
    "BenchmarkConfig",
    "BenchmarkModel",
    "benchmark_models",
    "benchmark_table",
    "blind_twin",
    "checkpoint_ranks",
    "compare_twins",
    "device_name",
    "markdown",
    "model_throughput",
    "paired_differences",
    "paired_view",
    "pathway_twin",
    "plot_paired",
    "resolve_model",
    "reuse_model",
    "run_model",
    "write_table",
]
