"""Adapters by name, as the command line names them.

Specs:

* a built-in name: ``random``, ``popularity``, ``itemknn`` (fitted on logs
  that :func:`simulator.logs.simulate_histories` draws from the world with a
  random logging recommender and utility-driven users);
* ``filter:SPEC`` / ``filter-cluster:SPEC``: :class:`recommenders.FeedbackFilter`
  around SPEC, dropping creators (clusters) the user disliked;
* ``checkpoint:PATH``: a trained model (:func:`recommenders.load_adapter`), so
  ``filter:checkpoint:PATH`` puts the downstream heuristic around a model;
* ``package.module:Class``: any :class:`recommenders.RecommenderAdapter`
  subclass, constructed as ``Class(corpus)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from recommenders import (
    FeedbackFilter,
    ItemKNNAdapter,
    PopularityAdapter,
    RandomAdapter,
    RecommenderAdapter,
)
from simulator.logs import simulate_histories
from simulator.world.world import World


class AdapterSpecError(ValueError):
    """An adapter spec names nothing that can be built."""


@dataclass(frozen=True)
class ItemKNNLogs:
    """How the built-in ``itemknn`` gets its co-occurrence logs."""

    n_users: int = 2000
    n_steps: int = 100
    seed: int = 12345


def _itemknn(world: World, logs: ItemKNNLogs = ItemKNNLogs()) -> ItemKNNAdapter:
    logger = RandomAdapter(world.corpus, seed=logs.seed)
    histories = simulate_histories(
        world, logger, min(logs.n_users, world.n_users), logs.n_steps, seed=logs.seed
    )
    return ItemKNNAdapter.fit(world.corpus, histories)


BUILTIN: dict[str, Callable[[World], RecommenderAdapter]] = {
    "random": lambda world: RandomAdapter(world.corpus),
    "popularity": lambda world: PopularityAdapter(world.corpus),
    "itemknn": _itemknn,
}
_WRAPPERS = {"filter": "creator", "filter-cluster": "cluster"}


def build_adapter(spec: str, world: World) -> RecommenderAdapter:
    """The adapter a spec names, built for ``world``; one-line :class:`AdapterSpecError` if none."""
    spec = spec.strip()
    head, sep, rest = spec.partition(":")
    if sep and head in _WRAPPERS:
        return FeedbackFilter(build_adapter(rest, world), world.corpus, by=_WRAPPERS[head])
    if sep and head == "checkpoint":
        # Imported here: torch loads only when a checkpoint is asked for.
        from recommenders.checkpoint import load_adapter

        return load_adapter(rest, corpus=world.corpus, fingerprint=world.fingerprint)
    if spec in BUILTIN:
        return BUILTIN[spec](world)
    if not sep:
        raise AdapterSpecError(
            f"unknown adapter {spec!r}: use one of {sorted(BUILTIN)}, "
            "filter:SPEC, filter-cluster:SPEC, checkpoint:PATH, or package.module:Class"
        )
    return _import_adapter(head, rest, world)


def _import_adapter(module_name: str, class_name: str, world: World) -> RecommenderAdapter:
    spec = f"{module_name}:{class_name}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise AdapterSpecError(
            f"adapter {spec!r}: cannot import {module_name!r} ({error})"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise AdapterSpecError(f"adapter {spec!r}: module {module_name!r} has no {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, RecommenderAdapter)):
        raise AdapterSpecError(f"adapter {spec!r} is not a RecommenderAdapter subclass")
    try:
        return cls(world.corpus)
    except Exception as error:  # the user's constructor: report, never a deep traceback
        raise AdapterSpecError(
            f"adapter {spec!r}: {class_name}(corpus) failed: {type(error).__name__}: {error}"
        ) from None


def build_named(
    specs: list[str], checkpoints: list, build: Callable[[str], RecommenderAdapter]
) -> dict[str, RecommenderAdapter]:
    """Adapters by name, as a command line names them: each spec built by ``build``, then
    each checkpoint folder as ``checkpoint:PATH`` under the name it was saved with.

    Raises a one-line ValueError when two of them would share a name.
    """
    models = {spec: build(spec) for spec in specs}
    for path in checkpoints:
        adapter = build(f"checkpoint:{path}")
        models[adapter.name] = adapter
    if len(models) != len(specs) + len(checkpoints):
        raise ValueError("each --adapter / --checkpoint may be named only once")
    return models
