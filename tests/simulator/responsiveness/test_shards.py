"""A run measured in user shards gives the rows and summary of one unsharded run,
whatever the shard count or the executor; finished shards are kept on a rerun."""

import json

import numpy as np
import pandas as pd
import pytest

from simulator import ResponsivenessConfig, World, measure_responsiveness
from simulator.adapter_specs import build_adapter
from simulator.executors import LocalExecutor, ProcessExecutor, RayExecutor
from simulator.responsiveness.shards import measure_in_shards, merge_shards
from simulator.shards import ShardPlan, ShardPlanError, read_shard

SPECS = {"popularity": "popularity", "filter:itemknn": "filter:itemknn"}


@pytest.fixture(scope="module")
def world():
    return World.default(3, 60)


@pytest.fixture(scope="module")
def config():
    return ResponsivenessConfig(n_users=60, k=6, seed=5, n_resamples=300)


@pytest.fixture(scope="module")
def unsharded(world, config):
    return [
        measure_responsiveness(world, build_adapter(spec, world), config, name)
        for name, spec in SPECS.items()
    ]


def shard_files(folder):
    """Each shard file's rows and counters, less its timings (which vary run to run)."""
    contents = {}
    for path in sorted(folder.glob("shard-*.npz")):
        frame, meta, _ = read_shard(path)
        counts = {
            model: {k: v for k, v in m.items() if not k.endswith("_seconds")}
            for model, m in meta.items()
        }
        contents[path.name] = (frame.to_csv(index=False), counts)
    return contents


@pytest.mark.parametrize("n_shards", [1, 4, 7])
def test_sharded_run_equals_unsharded(tmp_path, world, config, unsharded, n_shards):
    done = measure_in_shards(world, SPECS, config, tmp_path / "shards", n_shards, LocalExecutor())
    assert done.measured == list(range(n_shards))
    assert done.kept == []
    assert [run.model for run in done.runs] == list(SPECS)
    for merged, whole in zip(done.runs, unsharded, strict=True):
        pd.testing.assert_frame_equal(merged.per_user, whole.per_user)
        pd.testing.assert_frame_equal(merged.summary, whole.summary)
        assert merged.user_steps == whole.user_steps
        assert merged.service.calls == whole.service.calls * n_shards


def test_one_shard_then_the_rest_resumes(tmp_path, world, config, unsharded):
    folder = tmp_path / "shards"
    first = measure_in_shards(world, SPECS, config, folder, 3, LocalExecutor(), only=1)
    assert (first.measured, first.kept, first.runs) == ([1], [], None)
    written = folder / ShardPlan(60, 3).file_name(1)
    stamp = (written.stat().st_ino, written.stat().st_mtime_ns)
    rest = measure_in_shards(world, SPECS, config, folder, 3, LocalExecutor())
    assert (rest.measured, rest.kept) == ([0, 2], [1])
    assert (written.stat().st_ino, written.stat().st_mtime_ns) == stamp
    pd.testing.assert_frame_equal(rest.runs[0].per_user, unsharded[0].per_user)
    again = measure_in_shards(world, SPECS, config, folder, 3, LocalExecutor())
    assert (again.measured, again.kept) == ([], [0, 1, 2])


def test_a_folder_of_another_plan_is_refused(tmp_path, world, config):
    folder = tmp_path / "shards"
    measure_in_shards(world, SPECS, config, folder, 2, LocalExecutor(), only=0)
    other = ResponsivenessConfig(n_users=60, k=7, seed=5, n_resamples=300)
    with pytest.raises(ShardPlanError, match=r"another run \(it differs in: config\)"):
        measure_in_shards(world, SPECS, other, folder, 2, LocalExecutor())
    with pytest.raises(ShardPlanError, match="differs in: n_shards"):
        measure_in_shards(world, SPECS, config, folder, 3, LocalExecutor())
    done = measure_in_shards(world, SPECS, other, folder, 2, LocalExecutor(), overwrite=True)
    assert done.kept == [] and done.measured == [0, 1]
    assert json.loads((folder / "plan.json").read_text())["config"]["k"] == 7


def test_a_folder_without_a_plan_is_refused(tmp_path, world, config):
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ShardPlanError, match=r"without plan\.json"):
        measure_in_shards(world, SPECS, config, folder, 2, LocalExecutor())
    assert (folder / "notes.txt").read_text() == "mine"


def test_merge_names_the_missing_shards(tmp_path, world, config):
    folder = tmp_path / "shards"
    measure_in_shards(world, SPECS, config, folder, 4, LocalExecutor(), only=2)
    with pytest.raises(ShardPlanError, match=r"shard\(s\) \[1, 2, 4\] of 4 are not finished"):
        merge_shards(folder, ShardPlan(60, 4), config, list(SPECS))


def test_shard_files_read_back_without_pickle(tmp_path, world, config, unsharded):
    folder = tmp_path / "shards"
    measure_in_shards(world, SPECS, config, folder, 1, LocalExecutor())
    frame, meta, _ = read_shard(folder / ShardPlan(60, 1).file_name(0))
    whole = pd.concat([run.per_user for run in unsharded], ignore_index=True)
    pd.testing.assert_frame_equal(frame, whole)
    assert meta["popularity"]["user_steps"] == unsharded[0].user_steps
    with np.load(folder / ShardPlan(60, 1).file_name(0), allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_processes_write_the_same_shard_files(tmp_path, world, config):
    local = tmp_path / "local"
    measure_in_shards(world, SPECS, config, local, 3, LocalExecutor())
    spread = tmp_path / "processes"
    done = measure_in_shards(world, SPECS, config, spread, 3, ProcessExecutor(2))
    assert shard_files(spread) == shard_files(local)
    assert (spread / "world.npz").exists()  # what the workers loaded
    assert done.runs is not None


def test_ray_writes_the_same_shard_files(tmp_path, world, config):
    pytest.importorskip("ray")
    local = tmp_path / "local"
    measure_in_shards(world, SPECS, config, local, 4, LocalExecutor())
    spread = tmp_path / "ray"
    steps = []
    done = measure_in_shards(world, SPECS, config, spread, 4, RayExecutor(2), progress=steps.append)
    assert shard_files(spread) == shard_files(local)
    assert sorted(done.measured) == [0, 1, 2, 3]
    assert sum(steps) == 2 * config.n_users * (config.k + len(config.branches) * config.horizon)
