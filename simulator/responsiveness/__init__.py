"""Counterfactual responsiveness (Wang et al. 2023, section 4), simulated and on real histories.

* :mod:`~simulator.responsiveness.branches`: what the user does with x_k in each branch;
* :mod:`~simulator.responsiveness.simulated`: the protocol on simulated users;
* :mod:`~simulator.responsiveness.real_histories` and :mod:`~simulator.responsiveness.real`:
  the protocol on real users' histories, and its measurement;
* :mod:`~simulator.responsiveness.output` and :mod:`~simulator.responsiveness.plots`:
  files and Fig. 3b-style figures.
"""

from simulator.responsiveness.branches import DEFAULT_BRANCHES, BranchAction, parse_branches
from simulator.responsiveness.simulated import (
    ResponsivenessConfig,
    ResponsivenessRun,
    SlateEvent,
    compare,
    interval_count,
    measure_responsiveness,
    summarize,
    summarize_branches,
    total_user_steps,
)

__all__ = [
    "DEFAULT_BRANCHES",
    "BranchAction",
    "ResponsivenessConfig",
    "ResponsivenessRun",
    "SlateEvent",
    "compare",
    "interval_count",
    "measure_responsiveness",
    "parse_branches",
    "summarize",
    "summarize_branches",
    "total_user_steps",
]
