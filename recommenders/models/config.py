"""Typed, frozen model configurations with a JSON round trip."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


def _check_type(owner: str, name: str, value, kind: type) -> None:
    # bool is an int subclass; a flag must be a bool and a count must not be one.
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if not ok:
        raise ValueError(f"{owner}.{name} must be {kind.__name__}, got {value!r}")


@dataclass(frozen=True)
class FeatureConfig:
    """Which feedback features each input event carries, besides its item.

    Attributes:
        dislike: binary "this event was disliked" feature
            (``feedback == Feedback.DISLIKE``), as in Wang et al. §2.
        dwell_buckets: 0 for no dwell feature; else the dwell (fraction in
            [0, 1]) is cut into this many equal-width buckets and embedded.
            Skips are short dwells, so they land in the lowest buckets.
        feedback_type: an embedding of the event's :class:`Feedback` code
            (Nekrasov's "action embedding").
    """

    dislike: bool = False
    dwell_buckets: int = 0
    feedback_type: bool = False

    def __post_init__(self) -> None:
        _check_type("FeatureConfig", "dislike", self.dislike, bool)
        _check_type("FeatureConfig", "feedback_type", self.feedback_type, bool)
        _check_type("FeatureConfig", "dwell_buckets", self.dwell_buckets, int)
        if self.dwell_buckets < 0:
            raise ValueError(f"FeatureConfig.dwell_buckets must be >= 0, got {self.dwell_buckets}")

    @property
    def uses_feedback(self) -> bool:
        """True when some feedback feature is on (the model can respond to feedback)."""
        return self.dislike or self.dwell_buckets > 0 or self.feedback_type


FEEDBACK_ENTRIES = ("add", "concat", "latent_cross")
"""How an event's feedback features enter its input vector (:class:`EventEncoder`)."""


@dataclass(frozen=True)
class ModelConfig:
    """A sequential recommender's architecture.

    Attributes:
        kind: a key of :data:`recommenders.models.MODELS`: "gru" (Wang et al.'s RNN
            retrieval model) or "sasrec" (causal transformer, as in SASRec / gSASRec).
        dim: width of embeddings and user states.
        max_len: most events a forward pass accepts; callers keep the most
            recent ones with :meth:`SequentialRecommender.truncate`.
        n_layers: GRU or transformer layers.
        n_heads: attention heads (sasrec only; must divide ``dim``).
        dropout: dropout probability in [0, 1).
        features: feedback features of the input events.
        feedback_entry: how the features enter each event's vector, one of
            :data:`FEEDBACK_ENTRIES`: ``"add"`` (summed with the item embedding),
            ``"concat"`` (item and feature embeddings concatenated, then a learned
            linear map back to ``dim``) or ``"latent_cross"`` (the item embedding is
            also scaled element-wise by ``1 + w_feedback``, the multiplicative context
            of Beutel et al., WSDM 2018, the paper's reference [2]).
        position_embeddings: learned position embeddings added to a transformer's inputs
            (sasrec only; False leaves order to the causal mask alone). A GRU reads order
            from its recurrence and has none to switch off.
        position_bias: a learned relative position bias in every attention layer
            (sasrec only): the logit of query i on key j gains ``b_h[i - j]``, one scalar
            per head and distance (Shaw et al., 2018; T5's bias without buckets). Order
            then reaches the attention weights without entering the event vectors;
            the bias starts at zero.
        last_event_cross: a feedback-aware pathway from the last event to the state,
            ``s' = s + c(f_t) * v_{x_t}`` (:class:`recommenders.models.features.LastEventCross`);
            needs a feedback feature.
        last_event_map: the cross's map of the last item, ``"diagonal"`` (``c(f) * v``,
            one vector per feedback value) or ``"matrix"`` (``M(f) v``, one dim x dim
            matrix per value, which can send a disliked item to any direction, such as
            away from its neighbours, not only rescale its own coordinates).
    """

    kind: str = "gru"
    dim: int = 64
    max_len: int = 50
    n_layers: int = 1
    n_heads: int = 1
    dropout: float = 0.1
    features: FeatureConfig = field(default_factory=FeatureConfig)
    feedback_entry: str = "add"
    position_embeddings: bool = True
    position_bias: bool = False
    last_event_cross: bool = False
    last_event_map: str = "diagonal"

    def __post_init__(self) -> None:
        # Imported here: the model classes in that table import this module.
        from recommenders.models.registry import MODELS

        if self.kind not in MODELS:
            kinds = tuple(MODELS)
            raise ValueError(f"ModelConfig.kind must be one of {kinds}, got {self.kind!r}")
        for name in ("dim", "max_len", "n_layers", "n_heads"):
            value = getattr(self, name)
            _check_type("ModelConfig", name, value, int)
            if value <= 0:
                raise ValueError(f"ModelConfig.{name} must be positive, got {value}")
        if self.kind == "sasrec" and self.dim % self.n_heads:
            raise ValueError(
                f"ModelConfig.dim ({self.dim}) must be divisible by n_heads ({self.n_heads})"
            )
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise ValueError(f"ModelConfig.dropout must be a float, got {self.dropout!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModelConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.feedback_entry not in FEEDBACK_ENTRIES:
            raise ValueError(
                f"ModelConfig.feedback_entry must be one of {FEEDBACK_ENTRIES}, "
                f"got {self.feedback_entry!r}"
            )
        if not isinstance(self.features, FeatureConfig):
            raise ValueError(
                f"ModelConfig.features must be a FeatureConfig, got {type(self.features).__name__}"
            )
        _check_type("ModelConfig", "position_embeddings", self.position_embeddings, bool)
        _check_type("ModelConfig", "position_bias", self.position_bias, bool)
        _check_type("ModelConfig", "last_event_cross", self.last_event_cross, bool)
        if not self.position_embeddings and self.kind != "sasrec":
            raise ValueError(
                f"ModelConfig.position_embeddings=False applies to sasrec only, not {self.kind!r}"
            )
        if self.position_bias and self.kind != "sasrec":
            raise ValueError(
                f"ModelConfig.position_bias=True applies to sasrec only, not {self.kind!r}"
            )
        # Imported here for the same reason as MODELS: features imports this module.
        from recommenders.models.features import LAST_EVENT_CROSSES

        if self.last_event_map not in LAST_EVENT_CROSSES:
            raise ValueError(
                f"ModelConfig.last_event_map must be one of {LAST_EVENT_CROSSES}, "
                f"got {self.last_event_map!r}"
            )
        if self.last_event_cross and not self.features.uses_feedback:
            raise ValueError(
                "ModelConfig.last_event_cross needs a feedback feature (features has none)"
            )

    def to_dict(self) -> dict:
        """Plain, JSON-serialisable dict (``features`` nested)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        d = dict(d)
        features = d.pop("features", {})
        if not isinstance(features, FeatureConfig):
            _check_keys(FeatureConfig, features)
            features = FeatureConfig(**features)
        _check_keys(cls, d)
        return cls(**d, features=features)


def _check_keys(cls: type, d: dict) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {unknown}; known keys are {sorted(known)}")
