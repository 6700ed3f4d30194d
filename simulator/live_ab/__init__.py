"""A simulated live A/B test (Wang et al. 2023, section 3): simulation, metrics, output, plots."""

from simulator.live_ab.metrics import METRIC_NAMES, METRICS, Metric, compare_arms
from simulator.live_ab.simulation import LiveABConfig, LiveABResult, run_live_ab

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "LiveABConfig",
    "LiveABResult",
    "Metric",
    "compare_arms",
    "run_live_ab",
]
