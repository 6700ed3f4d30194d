"""Offline evaluation: ranking metrics, full ranking of held-out targets, leave-one-out splits.

* :mod:`~recommenders.evaluation.metrics`: Recall@K, NDCG@K and the
  negative-target metrics, from target ranks (numpy);
* :mod:`~recommenders.evaluation.ranking`: target ranks and top-k lists over
  the whole catalogue, consumed items excluded (torch);
* :mod:`~recommenders.evaluation.leave_one_out`: the leave-one-out split by position;
* :mod:`~recommenders.evaluation.held_out`: ranking every held-out target of a split.
"""
