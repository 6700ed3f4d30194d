r"""Is a model better or worse than its twin beyond noise? Paired bootstrap over users.

Two models ranked the same held-out target of every user, so their per-user
scores are paired. For a per-user score :math:`m_u` (hit@K = 1[r_u < K], or
NDCG@K = 1[r_u < K] / \log_2(r_u + 2)) the difference of the two models' means
over a set of users :math:`U`,

.. math::

    \Delta = \frac{1}{|U|} \sum_{u \in U} \left(m^B_u - m^A_u\right),

is in the metric's own unit (e.g. ``-0.009`` Recall@10 is 0.9 points lower).
Its 95% interval is the BCa bootstrap of the mean of the per-user differences
(``scipy.stats.bootstrap``), which keeps each user's two scores together. The
interval covers *which users were sampled* (the test-set noise); it does not
cover training noise (another seed), which must be judged from repeated runs.

Rows (:data:`PAIRED_METRICS`): Recall@10, NDCG@10 and Recall@1 over all users;
Recall@10 and NDCG@10 over users whose target was *not* disliked (the items the
user went on to like or find neutral); and "disliked target in top 10", the
hit rate over users whose target *was* disliked (lower is better).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommenders.evaluation.metrics import PER_EVENT
from simulator.bootstrap import mean_difference_ci

PAIRED_METRICS = (
    ("recall10", "all", 10, "hit"),
    ("ndcg10", "all", 10, "ndcg"),
    ("recall1", "all", 1, "hit"),
    ("recall10", "not_disliked", 10, "hit"),
    ("ndcg10", "not_disliked", 10, "ndcg"),
    ("disliked_in_top10", "disliked", 10, "hit"),
)
"""(metric, users, K, per-user score in :data:`recommenders.evaluation.metrics.PER_EVENT`)
of each row of :func:`paired_differences`."""

PAIRED_COLUMNS = (
    "model",
    "twin",
    "metric",
    "users",
    "twin_value",
    "model_value",
    "difference",
    "ci_low",
    "ci_high",
    "beyond_noise",
    "n",
)


def paired_differences(
    model: str,
    twin: str,
    model_ranks: np.ndarray,
    twin_ranks: np.ndarray,
    disliked: np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per :data:`PAIRED_METRICS` entry: ``model`` minus ``twin`` with its CI.

    ``model_ranks`` / ``twin_ranks``: int (n_users,) 0-based target ranks of the same
    users in the same order; ``disliked``: bool (n_users,), the target was disliked.
    ``beyond_noise`` is True when the interval excludes 0.
    """
    model_ranks, twin_ranks = np.asarray(model_ranks), np.asarray(twin_ranks)
    disliked = np.asarray(disliked, bool)
    if not model_ranks.shape == twin_ranks.shape == disliked.shape or model_ranks.ndim != 1:
        raise ValueError(
            f"paired_differences: ranks and disliked must be 1-D of one length, got "
            f"{model_ranks.shape}, {twin_ranks.shape}, {disliked.shape}"
        )
    masks = {"all": np.ones_like(disliked), "not_disliked": ~disliked, "disliked": disliked}
    rows = []
    for metric, users, k, score in PAIRED_METRICS:
        mask = masks[users]
        a = PER_EVENT[score](twin_ranks[mask], k)
        b = PER_EVENT[score](model_ranks[mask], k)
        diff, low, high = mean_difference_ci(b - a, confidence, n_resamples, seed)
        rows.append(
            {
                "model": model,
                "twin": twin,
                "metric": metric,
                "users": users,
                "twin_value": float(a.mean()) if a.size else float("nan"),
                "model_value": float(b.mean()) if b.size else float("nan"),
                "difference": diff,
                "ci_low": low,
                "ci_high": high,
                "beyond_noise": bool(low > 0 or high < 0),
                "n": int(mask.sum()),
            }
        )
    return pd.DataFrame(rows, columns=list(PAIRED_COLUMNS))


def compare_twins(
    names: list[str],
    ranks: dict[str, np.ndarray],
    disliked: np.ndarray,
    twin_of,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`paired_differences` of every model in ``names`` whose twin (``twin_of(name)``,
    e.g. :func:`~experiments.movielens.models.blind_twin`) is also in ``ranks``;
    an empty table with :data:`PAIRED_COLUMNS` when there is no such pair."""
    tables = [
        paired_differences(
            name,
            twin_of(name),
            ranks[name],
            ranks[twin_of(name)],
            disliked,
            confidence,
            n_resamples,
            seed,
        )
        for name in names
        if twin_of(name) in ranks and name in ranks
    ]
    if not tables:
        return pd.DataFrame(columns=list(PAIRED_COLUMNS))
    return pd.concat(tables, ignore_index=True)


def paired_view(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`paired_differences` table for printing: 4 decimals, the CI in brackets."""
    view = table[["model", "twin", "metric", "users", "n"]].copy()
    view["twin_value"] = table["twin_value"].map("{:.4f}".format)
    view["model_value"] = table["model_value"].map("{:.4f}".format)
    view["difference"] = table["difference"].map("{:+.4f}".format)
    view["95% CI"] = [
        f"[{low:+.4f}, {high:+.4f}]"
        for low, high in zip(table["ci_low"], table["ci_high"], strict=True)
    ]
    view["beyond noise"] = table["beyond_noise"].map({True: "yes", False: "no"})
    return view
