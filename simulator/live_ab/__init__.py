"""A simulated live A/B test (Wang et al. 2023, section 3): simulation, metrics, output, plots."""

from simulator.live_ab.metrics import (
    COUNTERS,
    METRIC_NAMES,
    METRICS,
    USER_DAY_COLUMNS,
    DayValue,
    EventCount,
    Metric,
    compare_arms,
)
from simulator.live_ab.simulation import LiveABConfig, LiveABResult, run_live_ab

__all__ = [
    "COUNTERS",
    "METRICS",
    "METRIC_NAMES",
    "USER_DAY_COLUMNS",
    "DayValue",
    "EventCount",
    "LiveABConfig",
    "LiveABResult",
    "Metric",
    "compare_arms",
    "run_live_ab",
]
