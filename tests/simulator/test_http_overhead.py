"""simulator.throughput.http_overhead: the served adapter gives the same run, and is timed."""

import pytest

from simulator import ResponsivenessConfig
from simulator.throughput import http_overhead


def test_the_served_adapter_runs_the_same_protocol(small_world):
    config = ResponsivenessConfig(n_users=30, k=4, n_resamples=100, cohort_size=30)
    timing = http_overhead(small_world, config, "popularity", pairs=2)
    assert timing.identical  # the same per-user table, served or not
    assert (timing.adapter, timing.n_users, timing.k, timing.pairs) == ("popularity", 30, 4, 2)
    assert timing.calls == 4 + 1  # a call per step of the cohort: k, then both branches in one
    assert 0 < timing.in_process_seconds < timing.served_seconds
    assert timing.ratio > 1 and timing.to_dict()["ratio"] == timing.ratio


def test_pairs_must_be_positive(small_world):
    with pytest.raises(ValueError, match="pairs must be >= 1, got 0"):
        http_overhead(small_world, ResponsivenessConfig(n_users=2, k=2), pairs=0)
