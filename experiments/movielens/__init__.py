"""The sequential ML-1M benchmark (or any interaction data) with negative-target metrics.

One concept per module:

* ``protocol``: leave-one-out by position (test = last event, validation =
  second-to-last, training = the rest);
* ``metrics``: Recall@K, NDCG@K and the negative-target metrics (disliked
  target in the top 10, share of the top 10 by a disliked director);
* ``ranking``: full ranking of held-out targets, input items excluded;
* ``labels``: feedback-blind and feedback-aware label rules and features;
* ``models``: the models (SASRec BCE, gSASRec, full-CE SASRec and GRU, the
  feedback-aware variants) with their published anchors, and the shared
  hyper-parameters;
* ``runner``: train, select on validation NDCG@10, test and save one model;
* ``table``: the ``benchmark.csv`` table;
* ``paired``: a feedback-aware model minus its feedback-blind twin, per metric,
  with a paired bootstrap CI over users; ``paired_plot`` draws it;
* ``throughput``: training sequences / events per second on the data set.

``experiments/ml1m.py`` is the command line.
"""

from experiments.movielens.labels import (
    ALL_POSITIVE,
    NEGATIVE_WEIGHT,
    RATING_FEATURE,
    benchmark_variants,
    not_to_recommend_rule,
)
from experiments.movielens.models import (
    DEFAULT_MODELS,
    QUICK,
    BenchmarkConfig,
    BenchmarkModel,
    benchmark_models,
    blind_twin,
    resolve_model,
)
from experiments.movielens.paired import (
    PAIRED_COLUMNS,
    PAIRED_METRICS,
    compare_twins,
    mean_difference_ci,
    paired_differences,
    paired_view,
    per_user_score,
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
from experiments.movielens.throughput import benchmark_throughput
from recommenders.evaluation.held_out import (
    BenchmarkMetrics,
    evaluate_held_out,
    held_out_metrics,
    rank_held_out,
)
from recommenders.evaluation.leave_one_out import (
    N_HOLDOUT,
    HeldOut,
    LeaveOneOut,
    leave_one_out,
    sample_users,
)
from recommenders.evaluation.metrics import (
    disliked_creator_share,
    disliked_target_in_top,
    mean_defined,
    ndcg_at,
    recall_at,
)

__all__ = [
    "ALL_POSITIVE",
    "COLUMNS",
    "DEFAULT_MODELS",
    "NEGATIVE_WEIGHT",
    "N_HOLDOUT",
    "PAIRED_COLUMNS",
    "PAIRED_METRICS",
    "QUICK",
    "RATING_FEATURE",
    "REUSE_IGNORED",
    "BenchmarkConfig",
    "BenchmarkMetrics",
    "BenchmarkModel",
    "HeldOut",
    "LeaveOneOut",
    "benchmark_models",
    "benchmark_table",
    "benchmark_throughput",
    "benchmark_variants",
    "blind_twin",
    "checkpoint_ranks",
    "compare_twins",
    "device_name",
    "disliked_creator_share",
    "disliked_target_in_top",
    "evaluate_held_out",
    "held_out_metrics",
    "leave_one_out",
    "markdown",
    "mean_defined",
    "mean_difference_ci",
    "ndcg_at",
    "not_to_recommend_rule",
    "paired_differences",
    "paired_view",
    "per_user_score",
    "plot_paired",
    "rank_held_out",
    "recall_at",
    "resolve_model",
    "reuse_model",
    "run_model",
    "sample_users",
    "write_table",
]
