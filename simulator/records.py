"""What every run writes beside its results: the versions it ran with, and no silent overwrite.

Each output module (:mod:`simulator.responsiveness.output`,
:mod:`simulator.live_ab.output`) and each study records
:func:`package_versions` in its ``run.json`` and raises
:class:`OutputExistsError` rather than replace earlier results unasked.
"""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("numpy", "torch", "simpy", "pandas", "scipy", "matplotlib", "tqdm")
"""The third-party packages whose versions a run records."""


class OutputExistsError(ValueError):
    """The output folder already holds results and overwriting was not asked for."""


def package_versions() -> dict[str, str]:
    """``{"python": ..., package: version or "not installed"}`` for :data:`PACKAGES`."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
