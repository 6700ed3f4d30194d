"""simulator.responsiveness.output: the console table."""

import math

import pandas as pd

from simulator.responsiveness.output import format_table


def test_an_undefined_change_reads_undefined_not_nan_percent():
    table = pd.DataFrame(
        {
            "model": ["m", "m"],
            "branch": ["b", "b"],
            "kind": ["content", "creator"],
            "step": [51, 51],
            "mean_a": [0.5, math.nan],
            "mean_b": [0.25, math.nan],
            "relative_change": [-0.5, math.nan],
            "ci_low": [-0.6, math.nan],
            "ci_high": [-0.4, math.nan],
            "n": [10, 0],
        }
    )
    lines = format_table(table).splitlines()
    assert "-50.0%" in lines[1] and "[-60.0%, -40.0%]" in lines[1]
    assert "nan" not in lines[2] and lines[2].count("undefined") == 4
