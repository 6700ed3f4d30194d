"""A live A/B test run in user shards is the one-process test: same rows, histories,
comparisons, whatever the shard count or executor; finished shards are kept."""

import numpy as np
import pandas as pd
import pytest

from recommenders import FeedbackFilter, PopularityAdapter
from simulator.executors import LocalExecutor, ProcessExecutor
from simulator.live_ab.shards import live_ab_in_shards
from simulator.live_ab.simulation import LiveABConfig, run_live_ab, simulate_arm
from simulator.shards import ShardPlanError

CONFIG = LiveABConfig(n_users=50, n_days=3, max_session=8, slate_size=5, n_resamples=200)
ARMS = {"baseline": "popularity", "filter": "filter:popularity"}


@pytest.fixture(scope="module")
def whole(small_world):
    arms = {
        "baseline": PopularityAdapter(small_world.corpus),
        "filter": FeedbackFilter(PopularityAdapter(small_world.corpus), small_world.corpus),
    }
    return run_live_ab(small_world, arms, CONFIG, progress=False)


def assert_same_result(result, whole):
    assert result.arms == whole.arms
    pd.testing.assert_frame_equal(result.users, whole.users)
    pd.testing.assert_frame_equal(result.daily, whole.daily)
    pd.testing.assert_frame_equal(result.summary, whole.summary)
    assert result.adapter_names == whole.adapter_names
    for arm in whole.arms:
        a, b = result.histories[arm], whole.histories[arm]
        np.testing.assert_array_equal(a.lengths, b.lengths)
        for part in ("items", "feedback", "dwell"):
            np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
        assert result.service[arm].histories == whole.service[arm].histories


@pytest.mark.parametrize("n_shards", [1, 3, 50])
def test_sharded_test_equals_one_process(tmp_path, small_world, whole, n_shards):
    done = live_ab_in_shards(small_world, ARMS, CONFIG, tmp_path / "s", n_shards, LocalExecutor())
    assert done.measured == list(range(n_shards))
    assert_same_result(done.runs, whole)


def test_processes_give_the_same_test(tmp_path, small_world, whole):
    done = live_ab_in_shards(small_world, ARMS, CONFIG, tmp_path / "s", 4, ProcessExecutor(2))
    assert_same_result(done.runs, whole)


def test_a_rerun_keeps_finished_shards(tmp_path, small_world, whole):
    folder = tmp_path / "s"
    first = live_ab_in_shards(small_world, ARMS, CONFIG, folder, 4, LocalExecutor(), only=2)
    assert first.runs is None and first.measured == [2]
    rest = live_ab_in_shards(small_world, ARMS, CONFIG, folder, 4, LocalExecutor())
    assert (rest.measured, rest.kept) == ([0, 1, 3], [2])
    assert_same_result(rest.runs, whole)
    other = LiveABConfig(**{**CONFIG.to_dict(), "n_days": 2})
    with pytest.raises(ShardPlanError, match="differs in: config"):
        live_ab_in_shards(small_world, ARMS, other, folder, 4, LocalExecutor())


def test_simulate_arm_refuses_users_outside_the_test(small_world):
    adapter = PopularityAdapter(small_world.corpus)
    with pytest.raises(ValueError, match=r"users must be a range within \[0, 50\)"):
        simulate_arm(small_world, adapter, CONFIG, range(40, 60))
