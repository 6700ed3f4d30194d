"""Adapters by name, as the command line names them, for a simulated world or a real data set.

One grammar, one parser, two tables of built-ins::

    SPEC := BUILTIN                 a name in the context's table (below)
          | filter:SPEC             FeedbackFilter around SPEC: drop creators the user disliked
          | filter-cluster:SPEC     the same for content clusters
          | checkpoint:PATH         a trained model (recommenders.load_adapter), checked
                                    against the context's fingerprint
          | http://HOST[:PORT]/PATH a recommender served over HTTP (docs/serving.md), built
          | https://HOST[:PORT]/PATH  as recommenders.adapters.http.HttpAdapter(corpus, URL)
          | package.module:Class    a RecommenderAdapter subclass, built as Class(corpus)

On the command line ``--adapter NAME=SPEC`` measures SPEC under the name NAME
(:func:`split_named`; a bare SPEC is named by itself).

Constructor keyword arguments reach a spec through ``build(spec, context, kwargs)``
(on the command line ``--adapter-arg SPEC key=value`` and ``--adapter-args FILE``,
parsed by :class:`AdapterArguments`): ``Class(corpus, **kwargs)``,
``HttpAdapter(corpus, URL, **kwargs)``, and for a built-in its adapter class's keyword
arguments (``random``: ``seed``, ``exclude_consumed``; ``popularity``: ``counts``,
``exclude_consumed``; ``itemknn`` takes none). ``filter:SPEC`` hands its keyword
arguments to SPEC (the filter has none of its own); ``checkpoint:PATH`` takes none
(``device`` and ``cache_bytes`` of the context configure it). A keyword the
constructor does not take, a missing required one, or a constructor that raises
``TypeError`` or ``ValueError`` is a one-line :class:`AdapterSpecError` naming the spec.

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
import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

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


def _adapter_of(
    cls: type[RecommenderAdapter], corpus_of: Callable[..., CorpusLike]
) -> Callable[..., RecommenderAdapter]:
    """A built-in's factory, ``make(*source, **kwargs) = cls(corpus_of(*source), **kwargs)``.

    Its signature is ``corpus_of``'s parameters, then ``cls``'s after the corpus as
    keyword-only ones: what :func:`build` checks keyword arguments against, so a built-in's
    options are its class's own, restated nowhere.
    """

    def make(*source, **kwargs) -> RecommenderAdapter:
        return cls(corpus_of(*source), **kwargs)

    options = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        else p
        for p in list(inspect.signature(cls).parameters.values())[1:]
    ]
    make.__signature__ = inspect.Signature(
        [*inspect.signature(corpus_of).parameters.values(), *options]
    )
    make.__name__ = make.__qualname__ = cls.__name__
    return make


WORLD_BUILTINS: dict[str, Callable[..., RecommenderAdapter]] = {
    "random": _adapter_of(RandomAdapter, lambda world: world.corpus),
    "popularity": _adapter_of(PopularityAdapter, lambda world: world.corpus),
    # No options: its logs are fixed (ItemKNNLogs), so every run measures the same model.
    "itemknn": lambda world: _itemknn(world),
}
"""Built-in adapters for a simulated world, by name: ``make(world, **kwargs)``."""

DATA_BUILTINS: dict[str, Callable[..., RecommenderAdapter]] = {
    "popularity": _adapter_of(PopularityAdapter, lambda data, corpus: corpus),
    "random": _adapter_of(RandomAdapter, lambda data, corpus: corpus),
}
"""Built-in adapters for a real data set, by name: ``make(data, corpus, **kwargs)``."""

HTTP_PREFIXES = ("http://", "https://")
"""Spec prefixes of a recommender served over HTTP (the spec is the URL)."""

WRAPPERS = {"filter": "creator", "filter-cluster": "cluster"}
"""Spec prefixes that put :class:`recommenders.FeedbackFilter` around a spec, and what it drops."""


@dataclass(frozen=True)
class SpecContext:
    """What specs are built against.

    Attributes:
        corpus: the catalogue every adapter is built with (``Class(corpus)``).
        fingerprints: what a checkpoint's fingerprint may be, each with what it
            names (a fitted world accepts its own and its data set's).
        builtins: name -> factory whose keyword arguments are the built-in's options
            (none for a factory of no arguments).
        device: the torch device checkpoints are loaded onto and score on.
        cache_bytes: bound of each checkpoint's prefix state cache; None recomputes
            every history.
    """

    corpus: CorpusLike
    fingerprints: Mapping[str, str]
    builtins: Mapping[str, Callable[..., RecommenderAdapter]]
    device: str = "cpu"
    cache_bytes: int | None = DEFAULT_CACHE_BYTES


def world_context(
    world: AnyWorld, device: str = "cpu", cache_bytes: int | None = DEFAULT_CACHE_BYTES
) -> SpecContext:
    """Specs built for a simulated world (:data:`WORLD_BUILTINS`); checkpoints on ``device``
    with a state cache of ``cache_bytes``."""
    # partial, not a lambda: its signature is the built-in's options (the world bound).
    builtins = {name: partial(make, world) for name, make in WORLD_BUILTINS.items()}
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
    builtins = {name: partial(make, data, corpus) for name, make in DATA_BUILTINS.items()}
    fingerprints = {data.fingerprint: f"this data set ({data.name})"}
    return SpecContext(corpus, fingerprints, builtins, device, cache_bytes)


def build(
    spec: str, context: SpecContext, kwargs: Mapping[str, object] | None = None
) -> RecommenderAdapter:
    """The adapter ``spec`` names in ``context``, its constructor given ``kwargs`` (keyword
    arguments, module docstring); a one-line :class:`AdapterSpecError` if none."""
    spec = spec.strip()
    kwargs = dict(kwargs or {})
    if spec.startswith(HTTP_PREFIXES):
        # Imported here: urllib loads only when a served recommender is asked for.
        from recommenders.adapters.http import HttpAdapter

        return _construct(
            spec, HttpAdapter, (context.corpus, spec), kwargs, "HttpAdapter(corpus, URL"
        )
    head, sep, rest = spec.partition(":")
    if sep and head in WRAPPERS:
        # The filter has no options of its own: its keyword arguments are the wrapped
        # adapter's (filter:random with seed=3 filters random with seed 3).
        return FeedbackFilter(build(rest, context, kwargs), context.corpus, by=WRAPPERS[head])
    if sep and head == "checkpoint":
        if kwargs:
            raise AdapterSpecError(
                f"adapter {spec!r} takes no argument {next(iter(kwargs))!r} (it takes none: "
                "a checkpoint is configured by its device and state cache options)"
            )
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
        return _construct(spec, context.builtins[spec], (), kwargs, None)
    if not sep or not head or not rest:
        raise AdapterSpecError(
            f"unknown adapter {spec!r}: use one of {sorted(context.builtins)}, "
            "filter:SPEC, filter-cluster:SPEC, checkpoint:PATH, http(s)://URL, "
            "or package.module:Class"
        )
    return _import_adapter(head, rest, context.corpus, kwargs)


def build_adapter(
    spec: str,
    world: AnyWorld,
    device: str = "cpu",
    cache_bytes: int | None = DEFAULT_CACHE_BYTES,
    kwargs: Mapping[str, object] | None = None,
) -> RecommenderAdapter:
    """The adapter ``spec`` names, built for a simulated ``world`` (checkpoints on ``device``
    with a state cache of ``cache_bytes``) with constructor keyword arguments ``kwargs``."""
    return build(spec, world_context(world, device, cache_bytes), kwargs)


def build_real_adapter(
    spec: str,
    data: InteractionData,
    corpus: DataCorpus | None = None,
    device: str = "cpu",
    cache_bytes: int | None = DEFAULT_CACHE_BYTES,
    kwargs: Mapping[str, object] | None = None,
) -> RecommenderAdapter:
    """The adapter ``spec`` names, built for the real data set ``data`` (checkpoints on
    ``device`` with a state cache of ``cache_bytes``) with constructor keyword arguments
    ``kwargs``."""
    return build(spec, data_context(data, corpus, device, cache_bytes), kwargs)


def _import_adapter(
    module_name: str, class_name: str, corpus: CorpusLike, kwargs: dict[str, object]
) -> RecommenderAdapter:
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
    # The user's constructor: whatever it raises is reported, never a deep traceback.
    return _construct(spec, cls, (corpus,), kwargs, f"{class_name}(corpus", catch=(Exception,))


def _construct(
    spec: str,
    make: Callable[..., RecommenderAdapter],
    positional: tuple,
    kwargs: dict[str, object],
    call: str | None,
    catch: tuple[type[BaseException], ...] = (TypeError, ValueError),
) -> RecommenderAdapter:
    """``make(*positional, **kwargs)``, its keyword arguments checked against its signature
    first. ``call`` names the call in an error, its positional arguments included
    (``Class(corpus``); None for a built-in, which its spec names."""
    _check_kwargs(spec, make, len(positional), kwargs)
    try:
        return make(*positional, **kwargs)
    except catch as error:
        shown = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        if call is None:
            what = f" with {shown}" if shown else ""
        else:
            what = f": {call}{', ' + shown if shown else ''})"
        raise AdapterSpecError(
            f"adapter {spec!r}{what} failed: {type(error).__name__}: {_one_line(error)}"
        ) from None


def _check_kwargs(
    spec: str, make: Callable[..., RecommenderAdapter], n_positional: int, kwargs: dict
) -> None:
    """One-line :class:`AdapterSpecError` for a keyword ``make`` does not take (after its
    first ``n_positional`` parameters, which the spec supplies) or a required one missing."""
    try:
        signature = inspect.signature(make)
    except (TypeError, ValueError):  # no signature to read: the call itself will tell
        return
    params = list(signature.parameters.values())[n_positional:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    takes = [p.name for p in params if p.kind in named]
    for key in kwargs:
        if key not in takes:
            listed = f"it takes: {', '.join(takes)}" if takes else "it takes none"
            raise AdapterSpecError(f"adapter {spec!r} takes no argument {key!r} ({listed})")
    missing = [
        p.name for p in params if p.kind in named and p.default is p.empty and p.name not in kwargs
    ]
    if missing:
        raise AdapterSpecError(
            f"adapter {spec!r} needs argument {missing[0]!r} "
            f"(--adapter-arg {spec} {missing[0]}=VALUE)"
        )


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def parse_value(text: str) -> object:
    """A keyword argument's value as the command line gives it: JSON when ``text`` parses
    as JSON (numbers, ``true``/``false``, ``null``, lists, objects, quoted strings), else
    ``text`` itself. ``seed=3`` is 3, ``name=abc`` is ``'abc'``, ``name='"3"'`` is ``'3'``;
    ``NaN`` and ``Infinity`` are not JSON, so they stay strings."""
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError:
        return text


def _not_json(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class AdapterArguments:
    """Constructor keyword arguments per adapter spec, as a command line gives them.

    Attributes:
        by_spec: spec (stripped, as measured) -> keyword -> value.
    """

    by_spec: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, assignments: Sequence[Sequence[str]] = (), file: Path | str | None = None
    ) -> AdapterArguments:
        """From ``file`` (``--adapter-args``: a JSON object of spec -> {key: value}), then
        each ``(SPEC, "key=value")`` of ``assignments`` (``--adapter-arg``; the value by
        :func:`parse_value`), a later value of a key replacing an earlier one. One-line
        :class:`AdapterSpecError` for an unreadable file or a malformed assignment."""
        by_spec: dict[str, dict[str, object]] = {}
        if file is not None:
            for spec, kwargs in _read_arguments(Path(file)).items():
                by_spec.setdefault(spec, {}).update(kwargs)
        for spec, assignment in assignments:
            spec = spec.strip()
            key, sep, value = assignment.partition("=")
            key = key.strip()
            if not sep or not key.isidentifier():
                raise AdapterSpecError(
                    f"adapter {spec!r}: --adapter-arg {assignment!r} is not key=value "
                    "(key a keyword name, e.g. seed=3)"
                )
            by_spec.setdefault(spec, {})[key] = parse_value(value)
        return cls(by_spec)

    def of(self, spec: str) -> dict[str, object]:
        """The keyword arguments of ``spec`` (none if it has none)."""
        return dict(self.by_spec.get(spec.strip(), {}))

    def check_measured(self, specs: Iterable[str]) -> None:
        """One-line :class:`AdapterSpecError` for arguments given to a spec that is not
        among ``specs`` (a typo would otherwise measure the adapter without them)."""
        measured = [spec.strip() for spec in specs]
        for spec in self.by_spec:
            if spec not in measured:
                raise AdapterSpecError(
                    f"--adapter-arg for adapter {spec!r}, which is not measured "
                    f"(measured: {', '.join(measured) or 'none'})"
                )

    def to_dict(self) -> dict[str, dict[str, object]]:
        """Plain dicts, for a run record."""
        return {spec: dict(kwargs) for spec, kwargs in self.by_spec.items()}

    def __bool__(self) -> bool:
        return any(self.by_spec.values())


def _read_arguments(path: Path) -> dict[str, dict[str, object]]:
    where = f"--adapter-args {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AdapterSpecError(f"{where}: cannot read it ({_one_line(error)})") from None
    try:
        table = json.loads(text, parse_constant=_not_json)
    except ValueError as error:
        raise AdapterSpecError(f"{where} is not JSON ({_one_line(error)})") from None
    if not isinstance(table, dict):
        raise AdapterSpecError(
            f"{where} must be a JSON object of spec -> {{key: value}}, got {type(table).__name__}"
        )
    parsed = {}
    for spec, kwargs in table.items():
        if not isinstance(kwargs, dict):
            raise AdapterSpecError(
                f"{where}: the arguments of adapter {spec!r} must be an object of key: value, "
                f"got {type(kwargs).__name__}"
            )
        bad = next((key for key in kwargs if not key.isidentifier()), None)
        if bad is not None:
            raise AdapterSpecError(
                f"{where}: adapter {spec!r} has argument {bad!r}, which is not a keyword name"
            )
        parsed[spec.strip()] = kwargs
    return parsed


def build_named(
    specs: list[str], checkpoints: list, build: Callable[[str], RecommenderAdapter]
) -> dict[str, RecommenderAdapter]:
    """Adapters by name, as a command line names them: each spec built by ``build``
    (named by itself, or NAME for ``NAME=SPEC``), then each checkpoint folder as
    ``checkpoint:PATH`` under the name it was saved with.

    Raises a one-line ValueError when two of them would share a name.
    """
    return named_specs(specs, checkpoints, build)[0]


_MODEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
"""What ``NAME`` of ``NAME=SPEC`` may be: no ``:``, ``/`` or ``=``, so that no spec
(``checkpoint:PATH``, a URL, ``package.module:Class``) reads as a name."""


def split_named(text: str) -> tuple[str, str]:
    """``NAME=SPEC`` -> ``(NAME, SPEC)``: the model is measured under NAME (a served
    recommender's URL makes a poor column heading); a bare ``SPEC`` is its own name."""
    head, sep, tail = text.partition("=")
    if sep and _MODEL_NAME.fullmatch(head.strip()) and tail.strip():
        return head.strip(), tail.strip()
    return text, text


def measured_specs(specs: list[str], checkpoints: list) -> list[str]:
    """The specs a command line measures, names dropped (``NAME=SPEC`` as SPEC), then each
    checkpoint folder as ``checkpoint:PATH``: what ``--adapter-arg`` keys are checked
    against (:meth:`AdapterArguments.check_measured`)."""
    return [*(split_named(text)[1] for text in specs), *(f"checkpoint:{p}" for p in checkpoints)]


def named_specs(
    specs: list[str], checkpoints: list, build: Callable[[str], RecommenderAdapter]
) -> tuple[dict[str, RecommenderAdapter], dict[str, str]]:
    """:func:`build_named`'s adapters, and the spec each name was built from (what a
    worker process needs to build the same adapter). A spec given as ``NAME=SPEC``
    is named NAME (:func:`split_named`)."""
    built = dict(split_named(text) for text in specs)
    models = {name: build(spec) for name, spec in built.items()}
    for path in checkpoints:
        spec = f"checkpoint:{path}"
        adapter = build(spec)
        models[adapter.name] = adapter
        built[adapter.name] = spec
    if len(models) != len(specs) + len(checkpoints):
        raise ValueError("each --adapter / --checkpoint may be named only once")
    return models, built
