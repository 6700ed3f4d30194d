"""Offline evaluation: ranking metrics, full ranking of held-out targets, leave-one-out splits.

* :mod:`~recommenders.evaluation.metrics`: Recall@K, NDCG@K and the
  negative-target metrics, from target ranks (numpy);
* :mod:`~recommenders.evaluation.ranking`: target ranks and top-k lists over
  the whole catalogue, consumed items excluded (torch), and the validation
  metrics of a training run;
* :mod:`~recommenders.evaluation.leave_one_out`: the leave-one-out split by position;
* :mod:`~recommenders.evaluation.held_out`: ranking every held-out target of a split.
"""

from recommenders.evaluation.leave_one_out import (
    N_HOLDOUT,
    HeldOut,
    LeaveOneOut,
    leave_one_out,
    sample_users,
)
from recommenders.evaluation.metrics import (
    PER_EVENT,
    disliked_creator_share,
    disliked_target_in_top,
    hits_at,
    mean_defined,
    ndcg_at,
    ndcg_gains,
    recall_at,
)

__all__ = [
    "N_HOLDOUT",
    "PER_EVENT",
    "HeldOut",
    "LeaveOneOut",
    "disliked_creator_share",
    "disliked_target_in_top",
    "hits_at",
    "leave_one_out",
    "mean_defined",
    "ndcg_at",
    "ndcg_gains",
    "recall_at",
    "sample_users",
]
