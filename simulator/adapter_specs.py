"""Adapters by name, as the command line names them, for a simulated world or a real data set.

One grammar, one parser, two tables of built-ins::

    SPEC := BUILTIN                 a name in the context's table (below)
          | filter:SPEC             FeedbackFilter around SPEC: drop creators the user disliked
          | filter-cluster:SPEC     the same for content clusters
          | checkpoint:PATH         a trained model (recommenders.load_adapter), checked
                                    against the context's fingerprint
          | package.module:Class    a RecommenderAdapter subclass, built as Class(corpus)

A :class:`SpecContext` is what a spec is built against: the catalogue every
adapter receives, the fingerprint a checkpoint must carry and the built-ins.

* :data:`WORLD_BUILTINS` (simulated worlds, :func:`world_context`): ``random``,
  ``popularity``, and ``itemknn``, fitted on logs that
  :func:`simulator.logs.simulate_histories` draws from the world with a random
  logging recommender and utility-driven users (always :class:`ItemKNNLogs`'
  2,000 users x 100 steps, the world's population extended when it has fewer);
* :data:`DATA_BUILTINS` (real data sets, :func:`data_context`): ``popularity``,
  ranked by the share of log rows per item (one global order, so its
  responsiveness is exactly 0), and ``random``, a hash of the history (each
  branch gets an independent uniform slate: a noise reference). The catalogue is
  a :class:`recommenders.datasets.DataCorpus`, in which an item of unknown
  director or genre is its own group.

Adding a built-in is one entry in one of the two tables.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from recommenders import (
    FeedbackFilter,
    ItemKNNAdapter,
    PopularityAdapter,
    RandomAdapter,
    RecommenderAdapter,
)
from recommenders.adapter import CorpusLike
from recommenders.datasets import DataCorpus, InteractionData
from recommenders.devices import DEFAULT_CACHE_BYTES
from simulator.logs import simulate_histories
from simulator.world import AnyWorld


class AdapterSpecError(ValueError):
    """An adapter spec names nothing that can be built."""


@dataclass(frozen=True)
class ItemKNNLogs:
    """How the built-in ``itemknn`` gets its co-occurrence logs."""

    n_users: int = 2000
    n_steps: int = 100
    seed: int = 12345


def _itemknn(world: AnyWorld, logs: ItemKNNLogs = ItemKNNLogs()) -> ItemKNNAdapter:
    # Always the same logs: the world's users 0..n_users-1 (the population extended
    # if the world has fewer), so the model measured never depends on a run's size.
    logger = RandomAdapter(world.corpus, seed=logs.seed)
    population = world if world.n_users == logs.n_users else world.with_users(logs.n_users)
    histories = simulate_histories(population, logger, logs.n_users, logs.n_steps, seed=logs.seed)
    return ItemKNNAdapter.fit(world.corpus, histories)


WORLD_BUILTINS: dict[str, Callable[[AnyWorld], RecommenderAdapter]] = {
    "random": lambda world: RandomAdapter(world.corpus),
    "popularity": lambda world: PopularityAdapter(world.corpus),
    "itemknn": _itemknn,
}
"""Built-in adapters for a simulated world, by name."""

DATA_BUILTINS: dict[str, Callable[[InteractionData, DataCorpus], RecommenderAdapter]] = {
    "popularity": lambda data, corpus: PopularityAdapter(corpus),
    "random": lambda data, corpus: RandomAdapter(corpus),
}
"""Built-in adapters for a real data set, by name."""

WRAPPERS = {"filter": "creator", "filter-cluster": "cluster"}
"""Spec prefixes that put :class:`recommenders.FeedbackFilter` around a spec, and what it drops."""


@dataclass(frozen=True)
class SpecContext:
    """What specs are built against.

    Attributes:
        corpus: the catalogue every adapter is built with (``Class(corpus)``).
        fingerprints: what a checkpoint's fingerprint may be, each with what it
            names (a fitted world accepts its own and its data set's).
        builtins: name -> factory of no arguments.
        device: the torch device checkpoints are loaded onto and score on.
        cache_bytes: bound of each checkpoint's prefix state cache; None recomputes
            every history.
    """

    corpus: CorpusLike
    fingerprints: Mapping[str, str]
    builtins: Mapping[str, Callable[[], RecommenderAdapter]]
    device: str = "cpu"
    cache_bytes: int | None = DEFAULT_CACHE_BYTES


def world_context(
    world: AnyWorld, device: str = "cpu", cache_bytes: int | None = DEFAULT_CACHE_BYTES
) -> SpecContext:
    """Specs built for a simulated world (:data:`WORLD_BUILTINS`); checkpoints on ``device``
    with a state cache of ``cache_bytes``."""
    builtins = {name: (lambda make=make: make(world)) for name, make in WORLD_BUILTINS.items()}
    fingerprints = {world.fingerprint: "this world"}
    if world.kind == "fitted":
        # A model trained on the data set scores the same items in the same order: the
        # data fingerprint covers the item ids, their order and their metadata.
        fingerprints[world.data_fingerprint] = f"the data set it was fitted to ({world.data_name})"
    return SpecContext(world.corpus, fingerprints, builtins, device, cache_bytes)


def data_context(
    data: InteractionData,
    corpus: DataCorpus | None = None,
    device: str = "cpu",
    cache_bytes: int | None = DEFAULT_CACHE_BYTES,
) -> SpecContext:
    """Specs built for a real data set (:data:`DATA_BUILTINS`); ``corpus`` defaults to
    ``DataCorpus.of(data)`` (pass one to share it between many specs); checkpoints on
    ``device``."""
    corpus = DataCorpus.of(data) if corpus is None else corpus
    builtins = {
        name: (lambda make=make: make(data, corpus)) for name, make in DATA_BUILTINS.items()
    }
    fingerprints = {data.fingerprint: f"this data set ({data.name})"}
    return SpecContext(corpus, fingerprints, builtins, device, cache_bytes)


def build(spec: str, context: SpecContext) -> RecommenderAdapter:
    """The adapter ``spec`` names in ``context``; a one-line :class:`AdapterSpecError` if none."""
    spec = spec.strip()
    head, sep, rest = spec.partition(":")
    if sep and head in WRAPPERS:
        return FeedbackFilter(build(rest, context), context.corpus, by=WRAPPERS[head])
    if sep and head == "checkpoint":
        # Imported here: torch loads only when a checkpoint is asked for.
        from recommenders.checkpoint import load_adapter

        return load_adapter(
            rest,
            corpus=context.corpus,
            fingerprint=context.fingerprints,
            device=context.device,
            cache_bytes=context.cache_bytes,
        )
    if spec in context.builtins:
        return context.builtins[spec]()
    if not sep or not head or not rest:
        raise AdapterSpecError(
            f"unknown adapter {spec!r}: use one of {sorted(context.builtins)}, "
            "filter:SPEC, filter-cluster:SPEC, checkpoint:PATH, or package.module:Class"
        )
    return _import_adapter(head, rest, context.corpus)


def build_adapter(
    spec: str,
    world: AnyWorld,
    device: str = "cpu",
    cache_bytes: int | None = DEFAULT_CACHE_BYTES,
) -> RecommenderAdapter:
    """The adapter ``spec`` names, built for a simulated ``world`` (checkpoints on ``device``
    with a state cache of ``cache_bytes``)."""
    return build(spec, world_context(world, device, cache_bytes))


def build_real_adapter(
    spec: str,
    data: InteractionData,
    corpus: DataCorpus | None = None,
    device: str = "cpu",
    cache_bytes: int | None = DEFAULT_CACHE_BYTES,
) -> RecommenderAdapter:
    """The adapter ``spec`` names, built for the real data set ``data`` (checkpoints on
    ``device`` with a state cache of ``cache_bytes``)."""
    return build(spec, data_context(data, corpus, device, cache_bytes))


def _import_adapter(module_name: str, class_name: str, corpus: CorpusLike) -> RecommenderAdapter:
    spec = f"{module_name}:{class_name}"
    # An absolute dotted name, as importlib.import_module takes it without a package:
    # ".mod" (relative) or "pkg..mod" would otherwise raise a TypeError or a bare
    # "Empty module name".
    if not all(part.isidentifier() for part in module_name.split(".")):
        raise AdapterSpecError(
            f"adapter {spec!r}: {module_name!r} is not a module name "
            "(dotted identifiers such as package.module)"
        )
    if not class_name.isidentifier():
        raise AdapterSpecError(f"adapter {spec!r}: {class_name!r} is not a class name")
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
        return cls(corpus)
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
    return named_specs(specs, checkpoints, build)[0]


def named_specs(
    specs: list[str], checkpoints: list, build: Callable[[str], RecommenderAdapter]
) -> tuple[dict[str, RecommenderAdapter], dict[str, str]]:
    """:func:`build_named`'s adapters, and the spec each name was built from (what a
    worker process needs to build the same adapter)."""
    models = {spec: build(spec) for spec in specs}
    built = {spec: spec for spec in specs}
    for path in checkpoints:
        spec = f"checkpoint:{path}"
        adapter = build(spec)
        models[adapter.name] = adapter
        built[adapter.name] = spec
    if len(models) != len(specs) + len(checkpoints):
        raise ValueError("each --adapter / --checkpoint may be named only once")
    return models, built
