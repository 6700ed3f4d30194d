import importlib.util
from pathlib import Path

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
