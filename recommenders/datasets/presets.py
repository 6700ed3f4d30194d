"""Data set presets: a one-word name for a known folder layout and its loader.

Adding a preset is one entry in :data:`PRESETS`: the folder name under the
data root (``shared/data`` beside a checkout, or ``RESP_DATA_DIR``; see
:func:`data_root`) and a loader that reads that folder into an
:class:`~recommenders.datasets.InteractionData`. Nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recommenders.datasets.interactions import InteractionData
from recommenders.datasets.movielens import load_ml1m, load_ml100k


@dataclass(frozen=True)
class Preset:
    """A known data set: its folder name under the data root, loader and description."""

    name: str
    folder: str
    load: Callable[[Path], InteractionData]
    description: str


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "ml1m",
            "ml-1m",
            load_ml1m,
            "MovieLens 1M, sequential version: 6,040 users, 3,416 movies, genres and directors",
        ),
        Preset("ml100k", "ml-100k", load_ml100k, "MovieLens 100K: 943 users, 1,682 movies, genres"),
    )
}


def data_root(checkout: Path | None = None) -> Path:
    """Where preset folders live: ``$RESP_DATA_DIR`` if set, else ``shared/data`` beside
    the checkout ``checkout`` (default: the one this package was imported from)."""
    if os.environ.get("RESP_DATA_DIR"):
        return Path(os.environ["RESP_DATA_DIR"])
    checkout = Path(__file__).resolve().parents[2] if checkout is None else checkout
    return checkout.parent / "shared" / "data"


def preset_folder(name: str) -> Path:
    """The default folder of preset ``name`` (one-line ValueError for an unknown name)."""
    if name not in PRESETS:
        raise ValueError(f"unknown data set {name!r}: choose from {sorted(PRESETS)}")
    return data_root() / PRESETS[name].folder


def load_preset(name: str, folder: str | Path | None = None) -> InteractionData:
    """Load preset ``name`` from ``folder`` (default :func:`preset_folder`)."""
    path = preset_folder(name) if folder is None else Path(folder)
    return PRESETS[name].load(path)
