"""Tiny models and HistoryBatch -> tensor conversion for the model tests."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from recommenders import History, HistoryBatch
from recommenders.models import MODELS, FeatureConfig, ModelConfig, build_model

N_ITEMS = 23
NO_FEATURES = FeatureConfig()
ALL_FEATURES = [
    FeatureConfig(dislike=d, dwell_buckets=b, feedback_type=f)
    for d, b, f in itertools.product((False, True), (0, 4), (False, True))
]


def tensors(batch: HistoryBatch) -> tuple[torch.Tensor, ...]:
    """(items, feedback, dwell, lengths) of a batch as torch tensors (copies)."""
    return (
        torch.tensor(np.array(batch.items), dtype=torch.long),
        torch.tensor(np.array(batch.feedback), dtype=torch.long),
        torch.tensor(np.array(batch.dwell), dtype=torch.float32),
        torch.tensor(np.array(batch.lengths), dtype=torch.long),
    )


def tiny_config(kind: str, features: FeatureConfig = NO_FEATURES, **overrides) -> ModelConfig:
    base = {"kind": kind, "dim": 8, "max_len": 12, "n_heads": 2, "dropout": 0.1}
    return ModelConfig(**{**base, **overrides}, features=features)


_CACHE: dict = {}


def tiny_model(kind: str, features: FeatureConfig = NO_FEATURES, **overrides):
    """A seeded model over N_ITEMS items, in eval mode, cached: tests must not train it."""
    key = (kind, features, tuple(sorted(overrides.items())))
    if key not in _CACHE:
        torch.manual_seed(0)
        model = build_model(tiny_config(kind, features, **overrides), N_ITEMS)
        _CACHE[key] = with_random_bias(model).eval()
    return _CACHE[key]


def with_random_bias(model):
    """``model`` with its relative position bias (if any) drawn at random: it starts
    at zero, where it would be invisible to a test."""
    if getattr(model, "distance_bias", None) is not None:
        with torch.no_grad():
            model.distance_bias.normal_()
    return model


def crossed_model(
    kind: str, features: FeatureConfig, seed: int = 0, cross: str = "diagonal", **overrides
):
    """A model with the last-event cross, in eval mode, its tables random: they start at
    zero, where the cross would be invisible to a test."""
    torch.manual_seed(seed)
    config = tiny_config(kind, features, last_event_cross=True, last_event_map=cross, **overrides)
    model = build_model(config, N_ITEMS)
    with torch.no_grad():
        for table in model.last_event.tables:
            table.weight.normal_()
    return with_random_bias(model).eval()


def _feature_id(f: FeatureConfig) -> str:
    flags = {"dislike": f.dislike, "dwell": f.dwell_buckets, "type": f.feedback_type}
    return "+".join(name for name, on in flags.items() if on) or "none"


@pytest.fixture(scope="session", params=tuple(MODELS))
def kind(request) -> str:
    """Every registered model kind, so a new kind meets every model test."""
    return request.param


@pytest.fixture(scope="session", params=ALL_FEATURES, ids=_feature_id)
def features(request) -> FeatureConfig:
    return request.param


@pytest.fixture(scope="session")
def to_tensors():
    return tensors


@pytest.fixture(scope="session")
def make_model():
    return tiny_model


@pytest.fixture(scope="session")
def make_config():
    return tiny_config


def random_batch(seed: int, n_rows: int, max_len: int = 12) -> HistoryBatch:
    """``n_rows`` random histories of 0..``max_len`` events (items, feedback codes 0-4, dwell)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_rows):
        t = int(rng.integers(0, max_len + 1))
        rows.append(History(rng.integers(0, N_ITEMS, t), rng.integers(0, 5, t), rng.random(t)))
    return HistoryBatch.of(rows)
