"""experiments/branch_probe.py: per-level state gaps of checkpoints at the protocol's fork."""

import pandas as pd
import torch

from agents import PopulationConfig
from recommenders.checkpoint import save_checkpoint
from recommenders.models import ModelConfig, build_model
from recommenders.variants import get_variant
from simulator import CorpusConfig, World, WorldConfig
from simulator.records import check_results

from .conftest import load_cli

CLI = load_cli("branch_probe")


def _setup(tmp_path):
    world = World.generate(
        WorldConfig(
            seed=1,
            corpus=CorpusConfig(n_items=200, n_clusters=5, n_creators=20),
            population=PopulationConfig(n_users=40),
        )
    )
    world_file = world.save(tmp_path / "world.npz")
    paths = []
    for kind, variant in (("gru", "baseline"), ("sasrec", "dislike_feature")):
        torch.manual_seed(0)
        chosen = get_variant(variant)
        config = ModelConfig(kind=kind, dim=8, max_len=12, n_heads=2, features=chosen.features)
        model = build_model(config, world.corpus.n_items)
        paths.append(
            save_checkpoint(tmp_path / f"{kind}-{variant}", model, chosen, world.fingerprint)
        )
    return world_file, paths


def test_writes_the_table_plot_and_manifest_and_repeats_itself(tmp_path, capsys):
    world_file, paths = _setup(tmp_path)
    argv = ["--world", str(world_file), "--checkpoint", *map(str, paths), "--n-users", "30"]
    assert CLI.main([*argv, "--k", "5", "--out", str(tmp_path / "a")]) == 0
    assert "state_gap" in capsys.readouterr().out
    record = check_results(tmp_path / "a", "branch_probe.json")
    assert set(record["files"]) == {
        "branch_probe.csv", "branch_probe.md", "branch_probe.png", "branch_probe.pdf"
    }  # fmt: skip
    table = pd.read_csv(tmp_path / "a" / "branch_probe.csv")
    blind = table[table["model"] == "gru/baseline"]
    assert (blind["mean"] == 0).all()  # a feedback-blind model: no gap at any level
    seeing = table[
        (table["model"] == "sasrec/dislike_feature") & (table["quantity"] == "state_gap")
    ]
    assert (seeing["mean"] > 0).all()
    assert CLI.main([*argv, "--k", "5", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "branch_probe.csv").read_bytes() == (
        tmp_path / "b" / "branch_probe.csv"
    ).read_bytes()


def test_a_checkpoint_of_another_world_is_a_one_line_error(tmp_path, capsys):
    _, paths = _setup(tmp_path)
    other = World.generate(
        WorldConfig(
            seed=2,
            corpus=CorpusConfig(n_items=200, n_clusters=5, n_creators=20),
            population=PopulationConfig(n_users=40),
        )
    ).save(tmp_path / "other.npz")
    argv = ["--world", str(other), "--checkpoint", str(paths[0]), "--out", str(tmp_path / "o")]
    assert CLI.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "was trained on world" in err
