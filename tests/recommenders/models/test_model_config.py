import dataclasses
import json
import re

import pytest

from recommenders.models import (
    MODELS,
    FeatureConfig,
    GRURecommender,
    ModelConfig,
    SASRecRecommender,
    build_model,
)


def test_every_kind_validates_and_builds(kind):
    model = build_model(ModelConfig(kind=kind), 7)
    assert type(model) is MODELS[kind] and model.config.kind == kind


def test_unknown_kind_lists_the_table():
    with pytest.raises(ValueError, match=re.escape(f"kind must be one of {tuple(MODELS)}")):
        ModelConfig(kind="lstm")


def test_defaults():
    config = ModelConfig()
    assert (config.kind, config.dim, config.max_len, config.n_layers) == ("gru", 64, 50, 1)
    assert config.features == FeatureConfig()
    assert not config.features.uses_feedback


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(),
        ModelConfig(
            kind="sasrec",
            dim=32,
            max_len=7,
            n_layers=2,
            n_heads=4,
            dropout=0.0,
            features=FeatureConfig(dislike=True, dwell_buckets=5, feedback_type=True),
        ),
    ],
)
def test_json_round_trip(config):
    text = json.dumps(config.to_dict())
    assert json.loads(text)["features"] == dataclasses.asdict(config.features)
    assert ModelConfig.from_dict(json.loads(text)) == config


def test_from_dict_partial_and_typed_features():
    assert ModelConfig.from_dict({"dim": 8}) == ModelConfig(dim=8)
    features = FeatureConfig(dislike=True)
    assert ModelConfig.from_dict({"features": features}).features == features


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ModelConfig().dim = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("d", "match"),
    [
        ({"layers": 2}, r"ModelConfig: unknown keys \['layers'\]"),
        ({"features": {"skip": True}}, r"FeatureConfig: unknown keys \['skip'\]"),
    ],
)
def test_from_dict_unknown_keys(d, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig.from_dict(d)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "lstm"}, "kind must be one of"),
        ({"dim": 0}, "dim must be positive"),
        ({"dim": -4}, "dim must be positive"),
        ({"dim": 8.0}, "dim must be int"),
        ({"dim": True}, "dim must be int"),
        ({"max_len": 0}, "max_len must be positive"),
        ({"n_layers": 0}, "n_layers must be positive"),
        ({"n_heads": 0}, "n_heads must be positive"),
        ({"kind": "sasrec", "dim": 6, "n_heads": 4}, r"dim \(6\) must be divisible by n_heads"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\)"),
        ({"dropout": "0.1"}, "dropout must be a float"),
        ({"features": {"dislike": True}}, "features must be a FeatureConfig"),
    ],
)
def test_model_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dwell_buckets": -1}, "dwell_buckets must be >= 0"),
        ({"dwell_buckets": 2.0}, "dwell_buckets must be int"),
        ({"dislike": 1}, "dislike must be bool"),
        ({"feedback_type": "yes"}, "feedback_type must be bool"),
    ],
)
def test_feature_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeatureConfig(**kwargs)


def test_validation_messages_are_one_line():
    with pytest.raises(ValueError) as info:
        ModelConfig(kind="sasrec", dim=6, n_heads=4)
    assert "\n" not in str(info.value)


def test_heads_only_constrain_sasrec():
    ModelConfig(kind="gru", dim=6, n_heads=4)


def test_build_model_dispatches_on_kind():
    assert type(build_model(ModelConfig(kind="gru", dim=4), 5)) is GRURecommender
    assert type(build_model(ModelConfig(kind="sasrec", dim=4), 5)) is SASRecRecommender


def test_model_rejects_other_kind_and_empty_catalogue():
    with pytest.raises(ValueError, match="GRURecommender needs kind='gru'"):
        GRURecommender(ModelConfig(kind="sasrec", dim=4), 5)
    with pytest.raises(ValueError, match="n_items must be positive"):
        build_model(ModelConfig(dim=4), 0)


def test_a_model_too_large_for_the_machine_is_refused_before_allocating():
    """--dim 1000000 used to end in a MemoryError or a torch allocator traceback."""
    import re

    from recommenders.models import build_model, parameter_bytes

    config = ModelConfig(kind="gru", dim=1_000_000)
    assert parameter_bytes(config, 100) > 2**40
    with pytest.raises(ValueError, match=re.escape("a gru model of dim 1000000")) as error:
        build_model(config, 100)
    assert "(parameters and training state) needs about" in str(error.value)
    assert "GiB; this machine's cpu has" in str(error.value)
