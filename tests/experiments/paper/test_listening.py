"""The listening study's parts: every arm is a valid configuration, the report section."""

import numpy as np
import pandas as pd
import pytest

from experiments.paper.listening import (
    ARMS,
    SECTION_END,
    SECTION_START,
    ListeningConfig,
    ListeningResult,
    _paired_cell,
    paired_ndcg,
    reach_table,
    section_of,
    splice_section,
)
from experiments.paper.study import StudyError
from recommenders.models import ModelConfig
from recommenders.variants import ACTION_EMBEDDING
from simulator.logs import LogConfig


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
    # The checks every study on synthetic worlds shares (TrainedWorldsConfig).
    with pytest.raises(StudyError, match=r"ListeningConfig\.seeds has duplicates"):
        ListeningConfig(seeds=(1, 1))
    with pytest.raises(StudyError, match=r"measure\.n_users 2000 exceeds world_users 100"):
        ListeningConfig(world_users=100, logs=LogConfig(n_users=100))
    with pytest.raises(StudyError, match=r"logs\.n_users 5000 exceeds"):
        ListeningConfig(world_users=100)
    with pytest.raises(StudyError, match=r"unknown world parameter 'response\.nope'"):
        ListeningConfig(world_overrides=(("response.nope", 1.0),))


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


def test_the_reach_table_lays_out_levels_and_attention_per_arm():
    def rows(model, gaps, attention):
        out = [(model, "state_gap", level, value) for level, value in gaps]
        for layer, (a, b) in enumerate(attention, 1):
            out += [
                (model, "attention_on_x_k_a", f"layer {layer}", a),
                (model, "attention_on_x_k_b", f"layer {layer}", b),
            ]
        return out

    probe = pd.DataFrame(
        rows("gru", [("input", 1.0), ("layer 1", 0.5), ("state", 0.4)], [])
        + rows(
            "sasrec",
            [("input", 2.0), ("layer 1", 0.6), ("layer 2", 0.3), ("state", 0.2)],
            [(0.2, 0.1), (0.02, 0.03)],
        )
        # a second seed: the table shows the mean over seeds
        + rows(
            "sasrec",
            [("input", 4.0), ("layer 1", 0.6), ("layer 2", 0.3), ("state", 0.2)],
            [(0.4, 0.1), (0.02, 0.03)],
        ),
        columns=["model", "quantity", "level", "mean"],
    )
    result = ListeningResult(pd.DataFrame(), probe, pd.DataFrame(), {})
    table = reach_table(result, ("gru", "sasrec")).set_index("arm")
    assert list(table.columns) == [
        "gap input",
        "gap layer 1",
        "gap layer 2",
        "gap state",
        "attention on x_k, layer 1",
        "attention on x_k, layer 2",
    ]
    assert table.loc["gru", "gap layer 2"] == "-"
    assert table.loc["gru", "attention on x_k, layer 1"] == "-"
    assert table.loc["sasrec", "gap input"] == "3.000"
    assert table.loc["sasrec", "attention on x_k, layer 1"] == "0.300 -> 0.100"
    assert table.loc["gru", "gap state"] == "0.400"


def test_held_out_ndcg_is_paired_by_user_with_the_plain_sasrec_of_the_same_variant():
    rng = np.random.default_rng(0)

    def seed_gains(n):
        base = rng.random(n)
        return pd.concat(
            [
                pd.DataFrame({"arm": "sasrec-treatment", "user": np.arange(n), "gain": base}),
                # one user without positive held-out events in this arm: left out of the pair
                pd.DataFrame(
                    {"arm": "sasrec-no-positions", "user": np.arange(1, n), "gain": base[1:] + 0.01}
                ),
                pd.DataFrame({"arm": "sasrec-feature", "user": np.arange(n), "gain": base}),
                pd.DataFrame({"arm": "gru-feature", "user": np.arange(n), "gain": base - 0.05}),
            ],
            ignore_index=True,
        )

    gains = {0: seed_gains(50), 1: seed_gains(30)}
    arms = ("sasrec-treatment", "sasrec-no-positions", "gru-feature")
    table = paired_ndcg(gains, arms).set_index(["seed", "arm"])
    assert table.loc[("0", "sasrec-no-positions"), "reference"] == "sasrec-treatment"
    assert table.loc[("0", "gru-feature"), "reference"] == "sasrec-feature"
    assert table.loc[("0", "sasrec-no-positions"), "n"] == 49
    pooled = table.loc[("pooled", "sasrec-no-positions")]
    assert pooled["n"] == 49 + 29
    assert pooled["difference"] == pytest.approx(0.01)
    assert pooled["ci_low"] <= 0.01 + 1e-12 and pooled["ci_high"] >= 0.01 - 1e-12
    assert table.loc[("pooled", "gru-feature"), "difference"] == pytest.approx(-0.05)
    cells = paired_ndcg(gains, arms)
    assert _paired_cell(cells, "sasrec-treatment") == "reference"
    assert _paired_cell(cells, "gru-feature").startswith("-0.0500 [")
    assert _paired_cell(cells, "sasrec-len20") == "n/a"
