"""User shards: ranges that partition the users, ``I/N`` parsing, shard files."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.shards import ShardPlan, ShardPlanError, parse_shard, read_shard, write_shard


@given(st.integers(1, 500), st.integers(1, 500))
def test_shards_partition_the_users_in_order(n_users, n_shards):
    if n_shards > n_users:
        with pytest.raises(ShardPlanError, match="shards must be in"):
            ShardPlan(n_users, n_shards)
        return
    plan = ShardPlan(n_users, n_shards)
    ranges = [plan.users(i) for i in range(n_shards)]
    assert [u for r in ranges for u in r] == list(range(n_users))
    sizes = [len(r) for r in ranges]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(
    ("text", "expected"), [("1/1", (0, 1)), ("3/10", (2, 10)), ("10/10", (9, 10))]
)
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/2/3"])
def test_parse_shard_refuses(text):
    with pytest.raises(ShardPlanError, match="--shard"):
        parse_shard(text)


def test_shard_files_round_trip_frames_meta_and_arrays(tmp_path):
    frame = pd.DataFrame({"user": np.arange(3), "branch": ["a", "b", "c"], "x": [0.5, 1.0, 2.0]})
    path = tmp_path / "shard.npz"
    write_shard(path, frame, {"m": {"calls": 2}}, {"h": np.eye(2)})
    back, meta, arrays = read_shard(path)
    pd.testing.assert_frame_equal(back, frame)
    assert meta == {"m": {"calls": 2}}
    np.testing.assert_array_equal(arrays["h"], np.eye(2))
    assert [p.name for p in tmp_path.iterdir()] == ["shard.npz"]  # no temporary file left
