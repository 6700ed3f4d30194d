"""The Fig. 3b study's seeds on worker processes give the files of the one-process study."""

from experiments.paper.fig3b import run_fig3b_study
from experiments.paper.presets import QUICK_WORLD
from experiments.paper.study import StudyConfig
from recommenders.models import ModelConfig
from recommenders.training.loop import TrainConfig
from simulator.executors import ProcessExecutor
from simulator.logs import LogConfig
from simulator.responsiveness.simulated import ResponsivenessConfig

TINY = StudyConfig(
    seeds=(0, 1),
    world_users=300,
    world_overrides=QUICK_WORLD,
    logs=LogConfig(n_users=300, n_steps=20),
    model=ModelConfig(dim=16),
    train=TrainConfig(epochs=1, patience=1, batch_size=64),
    variants=("baseline", "dislike_feature", "dislike_feature_label"),
    measure=ResponsivenessConfig(n_users=100, k=8, n_resamples=200),
    filter_baseline=False,
)
FILES = ("fig3b.csv", "checks.csv", "seed-0/per_user.csv.gz", "seed-1/responsiveness.csv")


def test_seeds_on_processes_write_the_same_files(tmp_path):
    local = run_fig3b_study(TINY, tmp_path / "local")
    spread = run_fig3b_study(TINY, tmp_path / "processes", executor=ProcessExecutor(2))
    assert list(spread.table["seed"].unique()) == list(local.table["seed"].unique())
    for name in FILES:
        assert (tmp_path / "processes" / name).read_bytes() == (
            tmp_path / "local" / name
        ).read_bytes(), name


def test_sensitivity_points_on_processes_write_the_same_table(tmp_path):
    from experiments.paper.sensitivity import run_sensitivity

    # Two points at the default value share the folder out/default: it is trained once.
    sweep = {"response.dislike_averse": (0.2, 0.5), "response.dislike_base": (0.02,)}
    local = run_sensitivity(TINY, sweep, tmp_path / "local")
    spread = run_sensitivity(TINY, sweep, tmp_path / "processes", executor=ProcessExecutor(2))
    assert spread.equals(local)
    assert (tmp_path / "processes" / "sensitivity.csv").read_bytes() == (
        tmp_path / "local" / "sensitivity.csv"
    ).read_bytes()
    assert sorted(p.name for p in (tmp_path / "processes").iterdir() if p.is_dir()) == [
        "default",
        "response.dislike_averse=0.2",
    ]
