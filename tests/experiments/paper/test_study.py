"""The Fig. 3b study's pieces: world overrides, ordering checks, checkpoint reuse, report text."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from experiments.paper.sensitivity import SweepPoint, point_config, point_folder, world_statistics
from experiments.paper.study import (
    StudyConfig,
    StudyError,
    checkpoint_is_current,
    ordering_checks,
    world_config,
)
from experiments.paper.tables import fig3b_verdicts, pct
from recommenders.models import ModelConfig
from recommenders.training.loop import TrainConfig
from recommenders.variants import get_variant
from simulator.records import md_table
from simulator.world.world import World, WorldConfig


def test_world_overrides_apply_and_fail_clearly():
    config = world_config(3, 100, (("response.dislike_averse", 0.25), ("corpus.n_items", 900)))
    assert config.seed == 3 and config.population.n_users == 100
    assert config.response.dislike_averse == 0.25
    assert config.corpus.n_items == 900 and isinstance(config.corpus.n_items, int)
    with pytest.raises(StudyError, match=r"unknown world parameter 'response\.nope'"):
        world_config(0, 10, (("response.nope", 1.0),))
    with pytest.raises(StudyError, match="dislike_averse must be in"):
        world_config(0, 10, (("response.dislike_averse", 2.0),))


def test_study_config_rejects_what_cannot_run():
    with pytest.raises(StudyError, match="duplicates"):
        StudyConfig(seeds=(0, 0))
    with pytest.raises(StudyError, match="needs the 'baseline' variant"):
        StudyConfig(variants=("dislike_feature",))
    with pytest.raises(ValueError, match="unknown variant"):
        StudyConfig(variants=("baseline", "nope"))
    with pytest.raises(StudyError, match="exceeds world_users"):
        StudyConfig(world_users=100)


def _row(seed, model, kind, value, low, high):
    return {
        "seed": seed,
        "model": model,
        "branch": "long_dwell+dislike",
        "kind": kind,
        "step": 51,
        "relative_change": value,
        "ci_low": low,
        "ci_high": high,
    }


def test_ordering_checks_each_condition():
    rows = []
    for kind, label_high in (("content", -0.31), ("creator", -0.29)):
        rows += [
            _row(0, "baseline", kind, 0.0, -0.01, 0.01),
            _row(0, "dislike_feature", kind, -0.25, -0.30, -0.20),
            _row(0, "dislike_feature_label", kind, -0.40, -0.45, label_high),
        ]
    rows.append(_row(1, "baseline", "content", 0.05, 0.01, 0.09))
    rows.append(_row(1, "dislike_feature", "content", -0.01, -0.03, 0.01))
    rows.append(_row(1, "dislike_feature_label", "content", -0.5, -0.6, -0.4))
    checks = ordering_checks(pd.DataFrame(rows)).set_index(["seed", "kind"])
    assert checks.loc[(0, "content"), "holds"]
    # Overlapping CIs (label's upper end -0.29 above feature's lower end -0.30).
    assert not checks.loc[(0, "creator"), "label_below_feature"]
    assert not checks.loc[(0, "creator"), "holds"]
    seed1 = checks.loc[(1, "content")]
    assert not seed1["baseline_contains_0"] and not seed1["feature_negative"]
    assert seed1["label_below_feature"] and not seed1["holds"]


def test_checkpoint_reuse_ignores_device_and_new_default_fields(tmp_path, small_world):
    import json

    model = ModelConfig(dim=8)
    train = TrainConfig(epochs=3)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    saved_train = {k: v for k, v in train.to_dict().items() if k != "n_negatives"}
    header = {"fingerprint": small_world.fingerprint, "model": model.to_dict()}
    header["train"] = {**saved_train, "device": "cuda"}
    (folder / "checkpoint.json").write_text(json.dumps(header))
    assert checkpoint_is_current(folder, small_world, model, train)
    assert not checkpoint_is_current(folder, small_world, model, TrainConfig(epochs=4))
    assert not checkpoint_is_current(folder, small_world, ModelConfig(dim=16), train)
    other = World.generate(small_world.config, seed=small_world.config.seed + 1)
    assert not checkpoint_is_current(folder, other, model, train)
    # With a variant: its features, labels and loss must be the saved ones too.
    treatment = get_variant("dislike_feature_label")
    header["variant"] = treatment.to_dict()
    (folder / "checkpoint.json").write_text(json.dumps(header))
    assert checkpoint_is_current(folder, small_world, model, train, treatment)
    other_weight = replace(treatment, labels=replace(treatment.labels, negative_weight=10.0))
    assert not checkpoint_is_current(folder, small_world, model, train, other_weight)


def test_default_sweep_points_share_one_folder(tmp_path):
    base = StudyConfig(seeds=(4, 5))
    default = SweepPoint("response.dislike_averse", WorldConfig().response.dislike_averse)
    changed = SweepPoint("response.dislike_averse", 0.2)
    assert point_folder(base, default, tmp_path) == tmp_path / "default"
    assert point_folder(base, changed, tmp_path) == tmp_path / "response.dislike_averse=0.2"
    config = point_config(base, changed)
    assert config.seeds == (4,) and config.measure.horizon == 1
    assert config.variants == ("baseline", "dislike_feature", "dislike_feature_label")


def test_world_statistics_on_a_hand_built_log(small_world):
    corpus = small_world.corpus
    creator_of = corpus.creator
    first = int(np.flatnonzero(creator_of == creator_of[0])[0])
    same = np.flatnonzero(creator_of == creator_of[first])
    other = int(np.flatnonzero(creator_of != creator_of[first])[0])
    assert len(same) >= 2, "the fixture world needs a creator with two items"
    # user 0: dislikes creator c, sees c again and dislikes again, then sees another creator.
    log = pd.DataFrame(
        {
            "user": [0, 0, 0, 1],
            "position": [0, 1, 2, 0],
            "item": [int(same[0]), int(same[1]), other, int(same[0])],
            "feedback": [2, 2, 0, 0],
            "dwell": [0.5, 0.5, 0.9, 0.9],
        }
    )
    stats = world_statistics(small_world, log)
    assert stats["dislike_rate"] == 0.5
    # Only the second event follows an earlier dislike of its creator, and it is a dislike.
    assert stats["p_dislike_after_creator_dislike"] == 1.0
    assert stats["p_dislike_otherwise"] == pytest.approx(1 / 3)


def test_report_formatting():
    assert pct(-0.2271) == "-22.7%" and pct(0.0) == "+0.0%" and pct(float("nan")) == "n/a"
    assert pct(float("-inf")) == "-inf"
    table = md_table(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert table.splitlines() == ["| a | b |", "|---|---|", "| 1 | x |", "| 2 | y |"]
    rows = pd.DataFrame(
        [
            {**_row("pooled", "dislike_feature", "content", -0.20, -0.22, -0.18)},
            {**_row("pooled", "dislike_feature_label", "content", -0.62, -0.66, -0.58)},
            {**_row("pooled", "baseline", "content", 0.01, 0.005, 0.02)},
        ]
    )
    lines = fig3b_verdicts(rows)
    assert "paper -22.7%: same sign, smaller in size." in lines[1]
    assert "matches (the paper's value is inside our CI)" in lines[2]
    assert lines[0].endswith("does not match.")
