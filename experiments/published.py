"""Published numbers the studies compare against, each with its source.

Values are fractions (``-0.227`` is 22.7 % fewer) or metric values in their own
unit, exactly as the sources print them. Nothing here is computed: a study
reads these only to put its own results beside them.
"""

from __future__ import annotations

FIG3B: dict[tuple[str, str], float] = {
    ("baseline", "content"): 0.0,
    ("baseline", "creator"): 0.0,
    ("dislike_feature", "content"): -0.227,
    ("dislike_feature", "creator"): -0.228,
    ("dislike_feature_label", "content"): -0.608,
    ("dislike_feature_label", "creator"): -0.641,
}
"""Responsiveness by (variant, similarity kind): Wang et al., "Learning from Negative User
Feedback and Measuring Responsiveness for Sequential Recommenders", RecSys 2023
(arXiv 2308.12256), Fig. 3b (2,000 simulated users, k = 50, dislike vs long dwell)."""

LIVE_AB: dict[tuple[str, str], float] = {
    ("dislike_feature_label", "dislike_rate"): -0.0244,
    ("dislike_feature", "dislike_rate"): -0.0034,
    ("exclude_disliked", "dislike_rate"): -0.0084,
    ("dislike_feature_label", "repeat_dislike_rate"): -0.0960,
    ("skip_label", "enjoyment"): 0.0040,
    ("skip_label", "diversity"): 0.0088,
    ("skip_label", "repeat_skip_rate"): -0.0144,
}
"""Live-experiment changes against the baseline by (arm, metric): Wang et al. 2023,
section 3 (homepage experiment for dislikes, immersive feed for skips). Keyed by the
variant names of :mod:`recommenders.variants` and the metrics of
:mod:`simulator.live_ab.metrics`."""

ML1M_RECALL10_NDCG10: dict[str, tuple[float, float]] = {
    "sasrec-bce": (0.247, 0.131),
    "gsasrec": (0.300, 0.176),
    "sasrec-ce": (0.315, 0.182),
}
"""Test Recall@10 / NDCG@10 on MovieLens-1M, leave-one-out, full ranking (shared/data
README): SASRec with BCE and gSASRec (gBCE, 256 negatives, t = 0.75) from Petrov &
Macdonald, "gSASRec: Reducing Overconfidence in Sequential Recommendation Trained with
Negative Sampling", RecSys 2023; SASRec with full softmax cross-entropy from Klenitskiy
& Vasilev, "Turning Dross Into Gold Loss: is BERT4Rec really better than SASRec?",
RecSys 2023 (about 0.315 / 0.182)."""

GSASREC_NDCG10 = ML1M_RECALL10_NDCG10["gsasrec"][1]
"""The gSASRec anchor the ML-1M study is checked against (Petrov & Macdonald 2023)."""
