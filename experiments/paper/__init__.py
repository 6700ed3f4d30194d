"""The paper's studies in simulation (Wang et al. 2023): Fig. 3b over world seeds, the
sensitivity sweep, the simulated live A/B test of the variants, the loss-gradient
study, and the results report (docs/results.md) built from their files.

``experiments/results.py`` is the command line.
"""
