"""What every command line shares: one-line usage errors and checked seed arguments.

:class:`Parser` is an :class:`argparse.ArgumentParser` whose errors are one
line, ``error: argument --NAME: ...`` on stderr with exit code 2, the form
every other error of the commands takes (argparse's own adds the usage text
first). :func:`seed` is the ``type`` of every ``--*seed`` option: an integer in
[0, 2**63), the range the keyed random numbers accept; :func:`number` of every
real-valued option (finite: NaN and infinities are refused where they are typed,
not carried into a run or a JSON record); :func:`threads` of every ``--threads``;
:func:`device` of the measuring commands' ``--device``, which
:func:`add_serving_arguments` adds with the state cache options;
:func:`add_adapter_arg_options` adds ``--adapter-arg`` / ``--adapter-args``
(constructor keyword arguments of the adapters built from specs), read back with
:func:`adapter_kwargs`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path

SEED_LIMIT = 2**63


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``--help`` is unchanged)."""

    @classmethod
    def from_doc(cls, doc: str, *, epilog_from: int = 1, show_defaults: bool = True) -> Parser:
        """A parser for a CLI module whose docstring is its help: the first paragraph is
        the description, paragraphs ``epilog_from`` onwards the epilog (kept as written);
        ``show_defaults`` appends each option's default to its help."""
        formatter = (
            argparse.ArgumentDefaultsHelpFormatter
            if show_defaults
            else argparse.RawDescriptionHelpFormatter
        )
        paragraphs = doc.split("\n\n", epilog_from)
        return cls(
            description=paragraphs[0], formatter_class=formatter, epilog=paragraphs[epilog_from]
        )

    def error(self, message: str):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def seed(text: str) -> int:
    """An integer seed in [0, 2**63)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**63), got {value}")
    return value


def number(text: str) -> float:
    """A finite real number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


THREADS_PER_CORE = 4
"""The most torch threads a command takes per core: more only slows a run down, and
a huge count makes the OpenMP runtime abort while allocating its thread pool."""


def threads(text: str) -> int:
    """A torch thread count in [1, :data:`THREADS_PER_CORE` x this machine's cores]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    cores = os.cpu_count() or 1
    limit = THREADS_PER_CORE * cores
    if not 1 <= value <= limit:
        raise argparse.ArgumentTypeError(
            f"must be in [1, {limit}] ({THREADS_PER_CORE} per core of this machine's "
            f"{cores}), got {value}"
        )
    return value


def device(text: str) -> str:
    """A torch device this machine has (``recommenders.devices.check_device``)."""
    from recommenders.devices import check_device

    try:
        return check_device(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def mebibytes(text: str) -> int:
    """A positive whole number of MiB (``--cache-mib``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of MiB, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 MiB, got {value}")
    return value


def add_serving_arguments(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--cache-mib`` and ``--no-cache``: where checkpoints score, and their
    prefix state cache (read back with :func:`cache_bytes`)."""
    from recommenders.devices import DEFAULT_CACHE_BYTES

    parser.add_argument(
        "--device",
        type=device,
        default="cpu",
        help="torch device the checkpoints score on: cpu (default), cuda or cuda:N",
    )
    parser.add_argument(
        "--cache-mib",
        type=mebibytes,
        default=DEFAULT_CACHE_BYTES // 2**20,
        help="memory bound of each checkpoint's prefix state cache, which computes a history "
        "from its cached prefix one event at a time",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute every history in full at every step (the reference the cache equals)",
    )


def cache_bytes(args: argparse.Namespace) -> int | None:
    """The state cache bound :func:`add_serving_arguments` parsed; None for ``--no-cache``."""
    return None if args.no_cache else args.cache_mib * 2**20


def positive(text: str) -> int:
    """A whole number >= 1 (a count of shards or workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def shard(text: str) -> str:
    """``I/N``, the I-th of N shards (1-based); checked here, parsed by ``shard_count``."""
    from simulator.shards import ShardPlanError, parse_shard

    try:
        parse_shard(text)
    except ShardPlanError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--shard ")) from None
    return text


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``Terminated(143)`` (a ``SystemExit``), so that a killed run
    unwinds like Ctrl-C: temporary files are removed and worker processes or a local
    Ray are stopped. An adapter's own ``sys.exit`` is its failure; this one is not."""
    import signal

    from recommenders.validation import Terminated

    def stop(signum, frame):
        raise Terminated(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def add_executor_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """``--executor``, ``--workers``, ``--cpus-per-worker``, ``--ray-address``: where the
    run's ``what`` (its independent parts) run (simulator.executors)."""
    parser.add_argument(
        "--executor",
        choices=("local", "processes", "ray"),
        default="local",
        help=f"where {what} run: this process, --workers local processes, or Ray tasks "
        "(pip install -e '.[ray]')",
    )
    parser.add_argument(
        "--workers", type=positive, default=1, help="parallel workers of --executor processes/ray"
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="a running Ray cluster (e.g. ray://head:10001 or auto); default: a local Ray "
        "for --workers workers, started and stopped by the command",
    )
    parser.add_argument(
        "--cpus-per-worker",
        type=positive,
        metavar="C",
        help="CPUs (torch threads) of each worker, and what a Ray task asks its scheduler "
        "for; default: this machine's cores / --workers, or 1 on a --ray-address cluster",
    )


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    """``--shards``, ``--shard``, ``--executor``, ``--workers``, ``--ray-address``: a run
    split into user shards (simulator.responsiveness.shards), resumable, on an executor
    (simulator.executors)."""
    parser.add_argument(
        "--shards",
        type=positive,
        metavar="N",
        help="split the users into N contiguous shards, each written to --out/shards/ when "
        "it finishes; a rerun measures only the missing shards, then merges (the results "
        "of one unsharded run). Default: 1, or 4 per worker with --executor processes/ray",
    )
    parser.add_argument(
        "--shard",
        type=shard,
        metavar="I/N",
        help="measure only shard I of N (1-based), e.g. on one machine of several; the "
        "results are written when all N are in --out/shards/",
    )
    add_executor_arguments(parser, "shards")


def is_sharded(args: argparse.Namespace) -> bool:
    """Whether the run goes through shards: more than one, one of several, or any
    executor option (so that a misplaced ``--workers`` is an error, not ignored)."""
    return (
        shard_count(args) > 1
        or args.shard is not None
        or args.executor != "local"
        or args.workers != 1
        or args.ray_address is not None
        or args.cpus_per_worker is not None
    )


def shard_count(args: argparse.Namespace) -> int:
    """The run's shard count: ``--shard I/N``'s N, ``--shards``, or its default."""
    if args.shard is not None:
        return int(args.shard.partition("/")[2])
    if args.shards is not None:
        return args.shards
    return 1 if args.executor == "local" else max(1, min(4 * args.workers, args.n_users))


def executor_of(args: argparse.Namespace):
    """The executor of :func:`add_executor_arguments`' options (simulator.executors)."""
    from simulator.executors import make_executor

    return make_executor(args.executor, args.workers, args.ray_address, args.cpus_per_worker)


def shard_record(args: argparse.Namespace) -> dict:
    """What a manifest records of a sharded run: shard count, executor, workers and
    each worker's CPUs."""
    return {
        "n_shards": shard_count(args),
        "executor": args.executor,
        "workers": args.workers,
        "cpus_per_worker": executor_of(args).threads,
    }


def shard_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of a sharded run (``measure_in_shards``,
    ``live_ab_in_shards``) from the command line: shard count, executor, ``--shard``,
    world file, device, cache and ``--overwrite``; one-line errors for bad ones."""
    from simulator.shards import parse_shard

    return {
        "n_shards": shard_count(args),
        "executor": executor_of(args),
        "only": parse_shard(args.shard)[0] if args.shard else None,
        "world_file": args.world,
        "device": args.device,
        "cache_bytes": cache_bytes(args),
        "overwrite": args.overwrite,
    }


def report_shards(done, args: argparse.Namespace) -> None:
    """One stderr line: shards measured now, kept from an earlier run, where, how long."""
    print(
        f"shards: {len(done.measured)} measured, {len(done.kept)} kept from an earlier run "
        f"({args.executor}, {args.workers} worker(s), {done.wall_seconds:.1f} s)",
        file=sys.stderr,
    )


def world_param(text: str) -> tuple[str, object]:
    """``section.field=VALUE`` (``--world-param``): VALUE read as a JSON number or
    boolean, else as a string; the key and the value's type checked against
    :class:`simulator.world.WorldConfig` (ranges when the world is made)."""
    import json

    from simulator.world.world import world_parameter_value

    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"must be section.field=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if not isinstance(value, bool | int | float):
        value = raw
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {raw!r}")
    try:
        return key.strip(), world_parameter_value(key.strip(), value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_world_param_argument(parser: argparse.ArgumentParser) -> None:
    """``--world-param section.field=VALUE`` (repeatable): parameters of the world the
    command generates from its seed, read back with :func:`world_params`."""
    parser.add_argument(
        "--world-param",
        action="append",
        type=world_param,
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the generated world: a dotted path into "
        "simulator.world.WorldConfig (corpus.*, population.*, response.*), e.g. "
        "corpus.n_items=20000 or response.dislike_averse=0.3; VALUE is a JSON number or "
        "true/false. Repeatable; an unknown KEY lists the known ones; recorded in run.json "
        "with the world's config",
    )


def world_params(args: argparse.Namespace) -> dict[str, object]:
    """The ``--world-param`` overrides of ``args`` (last one per key wins); a one-line
    ValueError when they are given with ``--world`` (a world file is not generated)."""
    overrides = dict(args.world_param)
    if overrides and getattr(args, "world", None) is not None:
        raise ValueError("--world-param applies to a generated world, not to a --world file")
    return overrides


CONFIG_DEPTH = 8
"""How deeply ``--config`` files may name further ``--config`` files."""


def parse_with_config(
    parser: argparse.ArgumentParser, argv: list[str] | None = None
) -> argparse.Namespace:
    """``parser.parse_args(argv)`` with ``--config FILE``: the options of FILE, then
    those given after it (which override them; a repeatable option given again
    replaces the file's values). FILE is an earlier run's ``run.json`` (its recorded
    ``command`` minus the interpreter and script) or a JSON/YAML mapping
    ``{option: value}`` (names without dashes, ``_`` or ``-``; a list for a repeatable
    option or one taking several values; true for a flag). Errors are one line naming
    the file. Without ``--config`` this is ``parser.parse_args(argv)``."""
    if not any(action.dest == "config" for action in parser._actions):
        parser.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help="rerun with the options of FILE: an earlier run's run.json (its recorded "
            "command line) or a JSON/YAML mapping {option: value}; options after it override",
        )
    # The command line a run records (run.json "command", which --config reads back):
    # the arguments given, also when main(argv) is called from Python.
    command = list(sys.argv) if argv is None else [parser.prog, *argv]
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(token == "--config" or token.startswith("--config=") for token in argv):
        args = parser.parse_args(argv)
        if args.config is not None:
            parser.error("argument --config: write --config in full")
    else:
        given: dict = {}
        for source, tokens in _config_layers(parser, argv, None, 0):
            _merge_layer(parser, given, _explicit_options(parser, tokens, source))
        args = _namespace(parser, given)
    args.command = command
    return args


def _config_layers(parser, argv: list[str], source: str | None, depth: int) -> list:
    """``argv`` as ``(source, tokens)`` layers, each ``--config FILE`` replaced by the
    layers of FILE, in command-line order (later layers override earlier ones)."""
    layers, current, tokens = [], [], list(argv)
    while tokens:
        token = tokens.pop(0)
        if token != "--config" and not token.startswith("--config="):
            current.append(token)
            continue
        if token == "--config":
            if not tokens or tokens[0].startswith("-"):
                parser.error("argument --config: expected one argument")
            name = tokens.pop(0)
        else:
            name = token.partition("=")[2]
        if depth >= CONFIG_DEPTH:
            parser.error(f"{name}: --config files nest deeper than {CONFIG_DEPTH}")
        layers.append((source, current))
        layers += _config_layers(parser, _config_tokens(parser, Path(name)), name, depth + 1)
        current = []
    layers.append((source, current))
    return [(where, part) for where, part in layers if part]


RUN_RECORD_KEYS = ("versions", "files", "config")
"""Keys by which a JSON file is an earlier run's record rather than a mapping of options."""


def _config_tokens(parser, path: Path) -> list[str]:
    """The command-line tokens of one ``--config`` file."""
    import json

    if not path.is_file():
        parser.error(f"argument --config: {path}: no such file")
    text = path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            import yaml
        except ImportError:
            parser.error(f"{path}: not JSON, and reading YAML needs PyYAML (pip install pyyaml)")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            first = str(error).splitlines()[0] if str(error) else "invalid"
            parser.error(f"{path}: not valid JSON or YAML ({first})")
    if not isinstance(data, dict):
        parser.error(f"{path}: neither a run.json nor a mapping of options")
    if "command" in data:
        command = data["command"]
        if not isinstance(command, list) or not all(isinstance(t, str) for t in command):
            parser.error(f'{path}: its "command" is not a list of strings')
        return _recorded_arguments(command)
    if path.name == "run.json" or any(key in data for key in RUN_RECORD_KEYS):
        parser.error(f'{path}: this run record holds no "command" to rerun')
    return _mapping_tokens(parser, data, path)


def _recorded_arguments(command: list[str]) -> list[str]:
    """A recorded command line without its interpreter (``python3``, ``-m MODULE``) and
    script (``experiments/NAME.py`` or an installed command)."""
    rest = list(command)
    while rest and Path(rest[0]).name.startswith("python"):
        rest.pop(0)
        if rest[:1] == ["-m"]:
            return rest[2:]
    return rest[1:]


def _mapping_tokens(parser, mapping: dict, path: Path) -> list[str]:
    """The command-line tokens of a ``{option: value}`` mapping."""
    options = parser._option_string_actions
    tokens: list[str] = []
    for key, value in mapping.items():
        name = "--" + str(key).lstrip("-").replace("_", "-")
        action = options.get(name)
        if action is None or isinstance(action, argparse._HelpAction):
            parser.error(f"{path}: unknown option {key!r}")
        if action.nargs == 0:
            if not isinstance(value, bool):
                parser.error(f"{path}: option {key!r} is a flag: give true or false")
            tokens += [name] if value else []
        elif value is None:
            continue
        elif isinstance(action, argparse._AppendAction) and isinstance(value, list):
            for item in value:
                items = item if isinstance(item, list) else [item]
                tokens += (
                    [name, *map(_option_text, items)]
                    if action.nargs
                    else [f"{name}={_option_text(item)}"]
                )
        elif isinstance(value, list):
            tokens += [name, *map(_option_text, value)]
        elif action.nargs is None:
            tokens.append(f"{name}={_option_text(value)}")
        else:
            tokens += [name, _option_text(value)]
    return tokens


def _option_text(value) -> str:
    """A mapping's value as a command-line token (true/false for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _explicit_options(parser, tokens: list[str], source: str | None) -> dict:
    """The options ``tokens`` give, parsed and checked by ``parser`` but without its
    defaults and required options; errors name ``source`` (a file) when it is given."""
    saved = [(action, action.default, action.required) for action in parser._actions]
    groups = [(group, group.required) for group in parser._mutually_exclusive_groups]
    defaults = dict(parser._defaults)
    error = parser.error
    try:
        for action, _, _ in saved:
            action.default, action.required = argparse.SUPPRESS, False
        for group, _ in groups:
            group.required = False
        parser._defaults.clear()
        if source is not None:
            parser.error = lambda message: error(f"{source}: {message}")
        return vars(parser.parse_args(tokens))
    finally:
        for action, default, required in saved:
            action.default, action.required = default, required
        for group, required in groups:
            group.required = required
        parser._defaults.update(defaults)
        if source is not None:
            del parser.error


def _merge_layer(parser, given: dict, layer: dict) -> None:
    """Options of a later layer over ``given``'s; one of a mutually exclusive group also
    drops the others of its group."""
    for group in parser._mutually_exclusive_groups:
        members = {action.dest for action in group._group_actions}
        if members & layer.keys():
            for dest in members - layer.keys():
                given.pop(dest, None)
    given.update(layer)


def _namespace(parser, given: dict) -> argparse.Namespace:
    """The parsed arguments: ``given`` over the parser's defaults; usage errors for the
    required options none of the layers gave."""
    missing = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if action.required and action.dest not in given
    ]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    for group in parser._mutually_exclusive_groups:
        if group.required and not any(a.dest in given for a in group._group_actions):
            names = " ".join(a.option_strings[0] for a in group._group_actions)
            parser.error(f"one of the arguments {names} is required")
    saved = [(action, action.required) for action in parser._actions]
    groups = [(group, group.required) for group in parser._mutually_exclusive_groups]
    try:
        for action, _ in saved:
            action.required = False
        for group, _ in groups:
            group.required = False
        return parser.parse_args([], namespace=argparse.Namespace(**given))
    finally:
        for action, required in saved:
            action.required = required
        for group, required in groups:
            group.required = required


def add_adapter_arg_options(parser: argparse.ArgumentParser) -> None:
    """``--adapter-arg SPEC key=value`` (repeatable) and ``--adapter-args FILE``: keyword
    arguments of the adapters' constructors (simulator.adapter_specs.AdapterArguments),
    read back with :func:`adapter_kwargs`."""
    parser.add_argument(
        "--adapter-arg",
        action="append",
        nargs=2,
        metavar=("SPEC", "KEY=VALUE"),
        default=[],
        help="a keyword argument of the adapter SPEC's constructor (Class(corpus, key=value), "
        "a built-in's options such as random's seed, an http:// adapter's timeout); VALUE is "
        "read as JSON when it is JSON (3, 0.5, true, null, [1, 2]), else as a string. "
        "Repeatable; overrides --adapter-args",
    )
    parser.add_argument(
        "--adapter-args",
        type=Path,
        metavar="FILE",
        help='a JSON object of adapter spec -> {key: value}, e.g. {"random": {"seed": 3}}',
    )


def adapter_kwargs(args: argparse.Namespace, measured=None) -> dict[str, dict]:
    """The ``--adapter-arg`` / ``--adapter-args`` of ``args``: stripped spec -> keyword
    arguments of its constructor (specs without any left out), for
    ``simulator.adapter_specs.build(spec, context, kwargs.get(spec.strip(), {}))``.
    Checked against the ``measured`` specs when given (checkpoints as
    ``checkpoint:PATH``); a one-line ValueError otherwise."""
    from simulator.adapter_specs import AdapterArguments

    arguments = AdapterArguments.parse(args.adapter_arg, args.adapter_args)
    if measured is not None:
        arguments.check_measured(measured)
    return {spec: kwargs for spec, kwargs in arguments.to_dict().items() if kwargs}


def model_arguments(specs: Mapping[str, str], arguments: Mapping[str, dict]) -> dict[str, dict]:
    """:func:`adapter_kwargs`'s spec -> keyword arguments as model name -> keyword
    arguments, for sharded runs (whose workers build each model's adapter by name)."""
    return {name: dict(arguments.get(spec.strip(), {})) for name, spec in specs.items()}


def seed_list(text: str) -> tuple[int, ...]:
    """``--seeds 0,1,2`` as a tuple of ints; a one-line ValueError otherwise."""
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {text!r}") from None
