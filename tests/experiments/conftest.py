import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def load_cli(name: str):
    """Import experiments/NAME.py as a module (experiments/ is not a package).

    A usage error leaves ``main`` through ``SystemExit(2)`` (argparse's way, with
    the one-line message of ``experiments.arguments.Parser``); here ``main`` returns
    that code instead, so every test compares exit codes alike. ``--help``
    (``SystemExit(0)``) still raises.
    """
    spec = importlib.util.spec_from_file_location(f"cli_{name}", EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    main = module.main

    def exit_code(argv=None):
        try:
            return main(argv)
        except SystemExit as done:
            if done.code in (0, None):
                raise
            return done.code

    module.main = exit_code
    return module


@pytest.fixture(scope="session")
def responsiveness_cli():
    return load_cli("responsiveness")


def write_ml1m_ratings(
    path: Path,
    rng: np.random.Generator,
    n_users: int,
    n_movies: int,
    lengths: tuple[int, int],
    weights: np.ndarray | None = None,
) -> None:
    """``path/interactions.csv.gz`` in the ML-1M folder format: each of ``n_users`` users
    rates ``lengths[0]`` to ``lengths[1] - 1`` distinct movies (drawn with probabilities
    ``weights``, uniform if None) from 1 to 5 stars, skewed towards 4 and 5 as in ML-1M."""
    rows = []
    for user in range(1, n_users + 1):
        length = int(rng.integers(*lengths))
        movies = rng.choice(n_movies, size=length, replace=False, p=weights) + 1
        for position, movie in enumerate(movies):
            rating = int(rng.choice(5, p=[0.1, 0.1, 0.2, 0.3, 0.3])) + 1
            rows.append((user, position, int(movie), rating, ""))
    pd.DataFrame(rows, columns=["user_id", "position", "movie_id", "rating", "timestamp"]).to_csv(
        path / "interactions.csv.gz", index=False
    )
