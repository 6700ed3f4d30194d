"""experiments/fitted_ml1m.py: the full protocol on a fitted world for checkpoints of its data."""

import pandas as pd
import torch

from recommenders.checkpoint import save_checkpoint
from recommenders.models import ModelConfig, build_model
from recommenders.variants import VARIANTS, get_variant
from simulator.world import load_world
from tests.experiments.conftest import load_cli
from tests.experiments.test_fit_world_cli import FAST, write_tables

CLI = load_cli("fitted_ml1m")


def checkpoints(folder, world, names):
    """Small untrained GRUs of the world's data set (its fingerprint), one per variant, and
    the benchmark table ml1m.py would have written beside them."""
    for name, variant in names.items():
        torch.manual_seed(0)
        config = ModelConfig(kind="gru", dim=8, max_len=20, features=variant.features)
        model = build_model(config, world.corpus.n_items)
        save_checkpoint(folder / name, model, variant, world.data_fingerprint)
    rows = [
        {
            "model": n,
            "ndcg10": 0.0,
            "recall10": 0.0,
            "val_ndcg10": 0.0,
            "best_epoch": 1,
            "epochs": 1,
        }
        for n in names
    ]
    pd.DataFrame(rows).to_csv(folder / "benchmark.csv", index=False)


def test_the_study_runs_and_splices_its_section(tmp_path, capsys):
    fit = tmp_path / "fit"
    args = [*write_tables(tmp_path), *FAST, "--baselines", "none", "--n-users", "40"]
    assert load_cli("fit_world").main([*args, "--out", str(fit)]) == 0
    world = load_world(fit / "world.npz")
    ml1m = tmp_path / "ml1m"
    checkpoints(
        ml1m, world, {"blind": VARIANTS["baseline"], "aware": get_variant("dislike_feature")}
    )
    report = tmp_path / "report.md"
    report.write_text("# Report\n\ntext before\n")
    argv = [
        "--fit", str(fit), "--ml1m", str(ml1m), "--models", "blind,aware", "--n-users", "40",
        "--k", "3", "--horizon", "2", "--n-resamples", "200", "--live-users", "20",
        "--live-days", "2", "--live-max-session", "4", "--no-progress", "--into-report",
        str(report), "--out", str(tmp_path / "study"),
    ]  # fmt: skip
    capsys.readouterr()
    assert CLI.main(argv) == 0, capsys.readouterr().err
    table = pd.read_csv(tmp_path / "study" / "responsiveness" / "responsiveness.csv")
    assert set(table["model"]) == {"blind", "aware", "filter:blind", "popularity"}
    assert set(table["step"]) == {4, 5}
    for model in ("blind", "popularity"):  # feedback-blind: exactly 0 with CI [0, 0]
        rows = table[table["model"] == model]
        assert (rows[["relative_change", "ci_low", "ci_high"]].to_numpy() == 0).all()
    live = pd.read_csv(tmp_path / "study" / "live_ab" / "live_ab_summary.csv")
    assert set(live["arm"]) == {"aware", "filter:blind"}
    text = report.read_text()
    assert text.startswith("# Report\n\ntext before\n")
    assert "## 9. The full protocol on a world fitted to MovieLens-1M" in text
    assert "| blind | +0.0% [+0.0, +0.0]" in text
    # A second run replaces the block rather than adding another.
    assert CLI.main([*argv, "--overwrite"]) == 0
    assert report.read_text().count("## 9. The full protocol") == 1
    # Rendering again from the finished study changes nothing.
    before = report.read_text()
    assert CLI.main([*argv, "--render-only"]) == 0
    assert report.read_text() == before
    empty = ["--render-only", "--out", str(tmp_path / "none")]
    assert CLI.main(empty) == 2 and "holds no study.json" in capsys.readouterr().err


def test_a_checkpoint_of_another_catalogue_is_a_one_line_error(tmp_path, capsys):
    fit = tmp_path / "fit"
    args = [*write_tables(tmp_path), *FAST, "--baselines", "none", "--n-users", "40"]
    assert load_cli("fit_world").main([*args, "--out", str(fit)]) == 0
    ml1m = tmp_path / "ml1m"
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="gru", dim=8, max_len=20), 40)
    save_checkpoint(ml1m / "blind", model, VARIANTS["baseline"], "0123456789abcdef")
    capsys.readouterr()
    argv = [
        "--fit",
        str(fit),
        "--ml1m",
        str(ml1m),
        "--models",
        "blind",
        "--out",
        str(tmp_path / "s"),
    ]
    assert CLI.main(argv) == 2
    err = capsys.readouterr().err
    assert "was trained on world 0123456789abcdef, not on this world" in err
    assert "the data set it was fitted to (ratings)" in err and err.count("\n") == 1
