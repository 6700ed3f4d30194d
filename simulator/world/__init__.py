"""A world: the item corpus (catalogue) plus a user population and response model, in one file.

Two kinds share one file format family and one interface (``n_users``,
``corpus``, ``user_model(seed)``, ``item_attributes()``, ``fingerprint``,
``save``): the synthetic :class:`World` (generated from a seed) and the
:class:`FittedWorld` (a data set's catalogue with users fitted to its log).
:func:`load_world` reads either.
"""

from pathlib import Path

from simulator.world.corpus import Corpus, CorpusConfig
from simulator.world.fitted import (
    FITTED_FORMAT,
    FittedCorpus,
    FittedWorld,
    FittedWorldConfig,
    fit_world,
)
from simulator.world.world import (
    WORLD_FORMAT,
    WORLD_VERSION,
    World,
    WorldConfig,
    WorldFileError,
    check_version,
    override_world_config,
    read_header,
    world_parameters,
)

WORLD_KINDS = {WORLD_FORMAT: World, FITTED_FORMAT: FittedWorld}
"""File format name -> world class; a new kind of world is one entry here."""

AnyWorld = World | FittedWorld


def load_world(path: str | Path) -> AnyWorld:
    """The world in ``path``, synthetic or fitted; a one-line :class:`WorldFileError` if none."""
    header, data = read_header(path)
    kind = WORLD_KINDS.get(header.get("format"))
    if kind is None:
        raise WorldFileError(
            f"world file {path} is not a world file (format {header.get('format')!r}; "
            f"known: {sorted(WORLD_KINDS)})"
        )
    check_version(path, header, kind.VERSION)
    return kind.from_archive(path, header, data)


__all__ = [
    "FITTED_FORMAT",
    "WORLD_FORMAT",
    "WORLD_KINDS",
    "WORLD_VERSION",
    "AnyWorld",
    "Corpus",
    "CorpusConfig",
    "FittedCorpus",
    "FittedWorld",
    "FittedWorldConfig",
    "World",
    "WorldConfig",
    "WorldFileError",
    "fit_world",
    "load_world",
    "override_world_config",
    "world_parameters",
]
