"""The benchmark's models as data: architecture, positive loss, variant and published anchors.

Hyper-parameters (:class:`BenchmarkConfig`) follow the gSASRec reference
configuration for ML-1M (embedding 128, input length 200, 2 transformer blocks,
1 head, batch 128, Adam lr 1e-3) with the SASRec paper's ML-1M dropout of 0.2
(the gSASRec README uses 0.5 for runs of hundreds of epochs; a time-boxed run
converges faster with less). The GRU has one layer of the same width.
:data:`QUICK` is a smoke-test setting, not a benchmark.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from experiments.published import ML1M_RECALL10_NDCG10 as ANCHORS
from recommenders.evaluation.leave_one_out import N_HOLDOUT
from recommenders.models import MODELS, ModelConfig
from recommenders.training.loop import TrainConfig
from recommenders.variants import RATING_NEGATIVE_WEIGHT as NEGATIVE_WEIGHT
from recommenders.variants import Variant, rating_variants

NAN = math.nan


@dataclass(frozen=True)
class BenchmarkModel:
    """One row of the benchmark table.

    Attributes:
        name: row and checkpoint-folder name.
        kind: a model kind (:data:`recommenders.models.MODELS`): "sasrec" or "gru".
        positive_loss: a name in :data:`recommenders.losses.POSITIVE_LOSSES`.
        variant: input features and labels (:func:`recommenders.variants.rating_variants`).
        n_negatives / gbce_t: gBCE's negatives per position and calibration t.
        published_recall10 / published_ndcg10: test Recall@10 / NDCG@10 published for
            this model on the same data and protocol (NaN when there is none).
        model: :class:`recommenders.models.ModelConfig` fields this model sets beyond the
            run's shared architecture (e.g. ``(("feedback_entry", "latent_cross"),)``).
    """

    name: str
    kind: str
    positive_loss: str
    variant: Variant
    n_negatives: int = 1
    gbce_t: float = 0.0
    published_recall10: float = NAN
    published_ndcg10: float = NAN
    description: str = ""
    model: tuple[tuple[str, object], ...] = ()

    def without_anchors(self) -> BenchmarkModel:
        """This model with no published anchors (for a data set they were not measured on)."""
        return replace(self, published_recall10=NAN, published_ndcg10=NAN)

    def to_dict(self) -> dict:
        """JSON-ready: a missing anchor is None, not NaN (which strict JSON lacks)."""
        data = asdict(self)
        for key in ("published_recall10", "published_ndcg10"):
            if math.isnan(data[key]):
                data[key] = None
        return data


PATHWAYS: dict[str, tuple[str, tuple[tuple[str, object], ...]]] = {
    "input-cross": ("latent cross at the input", (("feedback_entry", "latent_cross"),)),
    "cross": ("last-event cross", (("last_event_cross", True),)),
    "nopos": ("no position embeddings", (("position_embeddings", False),)),
    "relpos": (
        "relative position bias instead of position embeddings",
        (("position_embeddings", False), ("position_bias", True)),
    ),
}
"""Name suffix -> (description, ModelConfig overrides) of the feedback pathways that
``sasrec-ce-feature[-ntr]-SUFFIX`` adds to the plain feedback-aware SASRec."""


def benchmark_models(negative_weight: float = NEGATIVE_WEIGHT) -> dict[str, BenchmarkModel]:
    """Every model the benchmark knows, by name; :data:`DEFAULT_MODELS` are run by default.

    Anchors: :data:`experiments.published.ML1M_RECALL10_NDCG10`.
    """
    v = rating_variants(negative_weight)
    blind, feature, ntr = v["all_positive"], v["rating_feature"], v["rating_feature_ntr"]
    models = (
        BenchmarkModel(
            name="sasrec-bce",
            kind="sasrec",
            positive_loss="bce",
            variant=blind,
            published_recall10=ANCHORS["sasrec-bce"][0],
            published_ndcg10=ANCHORS["sasrec-bce"][1],
            description="original SASRec: BCE, one uniform negative per position",
        ),
        BenchmarkModel(
            name="gsasrec",
            kind="sasrec",
            positive_loss="gbce",
            variant=blind,
            n_negatives=256,
            gbce_t=0.75,
            published_recall10=ANCHORS["gsasrec"][0],
            published_ndcg10=ANCHORS["gsasrec"][1],
            description="gSASRec: gBCE, 256 uniform negatives per position, t = 0.75",
        ),
        BenchmarkModel(
            name="sasrec-ce",
            kind="sasrec",
            positive_loss="softmax_ce",
            variant=blind,
            published_recall10=ANCHORS["sasrec-ce"][0],
            published_ndcg10=ANCHORS["sasrec-ce"][1],
            description="SASRec, full softmax cross-entropy",
        ),
        BenchmarkModel(
            name="gru-ce",
            kind="gru",
            positive_loss="softmax_ce",
            variant=blind,
            description="GRU, full softmax cross-entropy",
        ),
    )
    # The benchmark's design, not every registered kind: BenchmarkConfig has settings for
    # these two architectures only, and this order is the order of `--models all`.
    for kind, label in (("sasrec", "SASRec"), ("gru", "GRU")):
        models += (
            BenchmarkModel(
                name=f"{kind}-ce-feature",
                kind=kind,
                positive_loss="softmax_ce",
                variant=feature,
                description=f"{label} full CE + rating-class input feature",
            ),
            BenchmarkModel(
                name=f"{kind}-ce-feature-ntr",
                kind=kind,
                positive_loss="softmax_ce",
                variant=ntr,
                description=f"{label} full CE + rating feature + not-to-recommend on dislikes",
            ),
        )
    # The transformer changes of docs/results.md, section 10, on the rating feature.
    for suffix, (label, model) in PATHWAYS.items():
        models += (
            BenchmarkModel(
                name=f"sasrec-ce-feature-{suffix}",
                kind="sasrec",
                positive_loss="softmax_ce",
                variant=feature,
                model=model,
                description=f"SASRec full CE + rating feature + {label}",
            ),
            BenchmarkModel(
                name=f"sasrec-ce-feature-ntr-{suffix}",
                kind="sasrec",
                positive_loss="softmax_ce",
                variant=ntr,
                model=model,
                description=f"SASRec full CE + rating feature + not-to-recommend + {label}",
            ),
        )
    return {m.name: m for m in models}


def resolve_model(name: str, negative_weight: float = NEGATIVE_WEIGHT) -> BenchmarkModel:
    """The model called ``name``: a :func:`benchmark_models` name, or a not-to-recommend
    model with its own weight, ``NAME-wW`` (e.g. ``sasrec-ce-feature-ntr-w10``: w = 10,
    ``sasrec-ce-feature-ntr-cross-w10``).

    Raises ValueError naming the known models for anything else.
    """
    known = benchmark_models(negative_weight)
    if name in known:
        return known[name]
    base, sep, weight = name.rpartition("-w")
    if sep and base in known and "-ntr" in base:
        try:
            w = float(weight)
        except ValueError:
            w = math.nan
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"model {name!r}: the weight after -w must be a number >= 0")
        return replace(benchmark_models(w)[base], name=name)
    raise ValueError(
        f"unknown model {name!r}; known: {', '.join(known)} or all, and NAME-wW "
        "(e.g. sasrec-ce-feature-ntr-w10) for a not-to-recommend model of weight W"
    )


def blind_twin(name: str) -> str | None:
    """The feedback-blind model a feedback-aware one is compared with, or None.

    ``sasrec-ce-feature``, ``sasrec-ce-feature-ntr`` and ``sasrec-ce-feature-ntr-wW``
    are twins of ``sasrec-ce`` (same architecture, loss and budget; only the rating
    feature and the labels differ); likewise ``gru-ce-feature*`` of ``gru-ce``, and
    ``KIND-ce-feature*`` of ``KIND-ce`` for any kind in :data:`recommenders.models.MODELS`.
    """
    for kind in MODELS:
        if name.startswith(f"{kind}-ce-feature"):
            return f"{kind}-ce"
    return None


def pathway_twin(name: str) -> str | None:
    """The same feedback-aware model without its :data:`PATHWAYS` change, or None:
    ``sasrec-ce-feature-ntr-cross`` -> ``sasrec-ce-feature-ntr``, and
    ``sasrec-ce-feature-ntr-cross-w10`` -> ``sasrec-ce-feature-ntr-w10``. The pair isolates
    the pathway: same data, loss, labels and budget."""
    base, weight = name, ""
    head, sep, tail = name.rpartition("-w")
    if sep and "-ntr" in head:
        base, weight = head, sep + tail
    # longest suffix first: "-input-cross" also ends with "-cross"
    for suffix in sorted(PATHWAYS, key=len, reverse=True):
        if base.startswith("sasrec-ce-feature") and base.endswith(f"-{suffix}"):
            return base[: -len(suffix) - 1] + weight
    return None


DEFAULT_MODELS = (
    "sasrec-bce",
    "gsasrec",
    "sasrec-ce",
    "gru-ce",
    "sasrec-ce-feature",
    "sasrec-ce-feature-ntr",
)
"""The models a plain run trains: the published baselines, the GRU, and the
feedback-aware SASRec pair (the GRU's pair is available by name)."""


@dataclass(frozen=True)
class BenchmarkConfig:
    """Architecture and optimisation shared by every model of a run (see the module docstring).

    ``max_seconds``: wall-time budget per model (training and validation), None for
    none; ``patience`` counts epochs without a better validation NDCG@10.
    """

    dim: int = 128
    max_len: int = 200
    sasrec_blocks: int = 2
    sasrec_heads: int = 1
    gru_layers: int = 1
    dropout: float = 0.2
    batch_size: int = 128
    lr: float = 1e-3
    epochs: int = 200
    patience: int = 20
    max_seconds: float | None = None
    seed: int = 0
    device: str = "cpu"
    eval_batch_size: int = 512

    def model_config(self, model: BenchmarkModel) -> ModelConfig:
        sasrec = model.kind == "sasrec"
        config = ModelConfig(
            kind=model.kind,
            dim=self.dim,
            max_len=self.max_len,
            n_layers=self.sasrec_blocks if sasrec else self.gru_layers,
            n_heads=self.sasrec_heads if sasrec else 1,
            dropout=self.dropout,
            features=model.variant.features,
        )
        return replace(config, **dict(model.model))

    def train_config(self, model: BenchmarkModel) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            patience=self.patience,
            n_holdout=N_HOLDOUT,
            seed=self.seed,
            device=self.device,
            positive_loss=model.positive_loss,
            n_negatives=model.n_negatives,
            gbce_t=model.gbce_t,
            max_seconds=self.max_seconds,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> BenchmarkConfig:
        return replace(self, **changes)


QUICK = BenchmarkConfig(dim=32, max_len=50, sasrec_blocks=1, epochs=2, patience=2)
"""Smoke-test setting for ``--quick`` (with a subset of users): tiny models, 2 epochs."""
