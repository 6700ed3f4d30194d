"""The listening study's parts: every arm is a valid configuration, the report section."""

import pytest

from experiments.paper.listening import (
    ARMS,
    SECTION_END,
    SECTION_START,
    ListeningConfig,
    section_of,
    splice_section,
)
from experiments.paper.study import StudyError
from recommenders.models import ModelConfig
from recommenders.variants import ACTION_EMBEDDING


@pytest.mark.parametrize("arm", ARMS, ids=lambda a: a.name)
def test_every_arm_is_a_model_and_variant_the_library_accepts(arm):
    base = ModelConfig(dim=64)
    config = arm.model_config(base)
    variant = arm.training_variant()
    assert config.kind == arm.kind and config.features == variant.features
    assert config.n_layers == (1 if arm.kind == "gru" else 2)
    for key, value in arm.model:
        assert getattr(config, key) == value
    if arm.negative_weight is not None:
        assert variant.labels.negative_weight == arm.negative_weight
    if arm.action_embedding:
        assert variant.features == ACTION_EMBEDDING


def test_arm_names_are_unique_and_each_differs_from_the_plain_sasrec():
    names = [a.name for a in ARMS]
    assert len(names) == len(set(names))
    plain = next(a for a in ARMS if a.name == "sasrec-treatment")
    base = ModelConfig()
    for arm in ARMS:
        if arm.kind == "sasrec" and arm.name != "sasrec-treatment":
            same = (
                arm.model_config(base) == plain.model_config(base)
                and arm.training_variant() == plain.training_variant()
            )
            assert not same, arm.name


def test_bad_configs_are_refused():
    with pytest.raises(StudyError, match="unknown arm"):
        ListeningConfig(arms=("sasrec-bogus",))
    with pytest.raises(StudyError, match="compares long_dwell"):
        from simulator.responsiveness.simulated import ResponsivenessConfig

        ListeningConfig(measure=ResponsivenessConfig(branches=("long_dwell", "skip")))


def test_the_section_replaces_only_itself():
    report = f"# R\n\nbefore\n\n{SECTION_START}\nold\n{SECTION_END}\n\nafter\n"
    section = f"{SECTION_START}\nnew\n{SECTION_END}\n"
    spliced = splice_section(report, section)
    assert spliced == f"# R\n\nbefore\n\n{SECTION_START}\nnew\n{SECTION_END}\n\nafter\n"
    assert splice_section(spliced, section) == spliced
    assert splice_section("# R\n", section) == f"# R\n\n{section}"
    assert section_of(spliced) == section and section_of("# R\n") is None
    with pytest.raises(StudyError, match="start marker but not its end"):
        splice_section(f"# R\n{SECTION_START}\nold\n", section)
