"""One spec grammar for simulated worlds and real data sets, with a table of built-ins each."""

import json
import re

import pytest

from recommenders import FeedbackFilter, ItemKNNAdapter, PopularityAdapter, RandomAdapter
from recommenders.datasets import DataCorpus
from simulator.adapter_specs import (
    DATA_BUILTINS,
    WORLD_BUILTINS,
    AdapterSpecError,
    build,
    build_adapter,
    build_named,
    build_real_adapter,
    data_context,
    measured_specs,
    named_specs,
    split_named,
    world_context,
)
from tests.simulator.responsiveness.test_real import tiny_data

BUILT = {"random": RandomAdapter, "popularity": PopularityAdapter, "itemknn": ItemKNNAdapter}


class _Custom(PopularityAdapter):
    """A user's adapter, built as Class(corpus); keeps the corpus it was given."""

    def __init__(self, corpus):
        super().__init__(corpus)
        self.corpus = corpus


class _Broken(PopularityAdapter):
    def __init__(self, corpus):
        raise RuntimeError("no weights here")


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture(scope="module")
def contexts(small_world, data):
    return {"world": world_context(small_world), "data": data_context(data)}


def test_every_builtin_of_each_context_builds(small_world, data):
    for name in WORLD_BUILTINS:
        assert isinstance(build_adapter(name, small_world), BUILT[name]), name
    for name in DATA_BUILTINS:
        assert isinstance(build_real_adapter(name, data), BUILT[name]), name


@pytest.mark.parametrize("kind", ["world", "data"])
def test_one_grammar_in_both_contexts(contexts, kind):
    context = contexts[kind]
    creator = build(" filter:popularity ", context)
    assert isinstance(creator, FeedbackFilter) and creator.by == "creator"
    cluster = build("filter-cluster:filter:random", context)
    assert cluster.by == "cluster" and isinstance(cluster.inner, FeedbackFilter)
    assert isinstance(build(f"{__name__}:_Custom", context), _Custom)
    builtins = sorted(context.builtins)
    for spec, message in [
        ("nonsense", f"unknown adapter 'nonsense': use one of {builtins}"),
        (":Thing", "unknown adapter ':Thing'"),
        ("module:", "unknown adapter 'module:'"),
        ("no_such_module:X", "adapter 'no_such_module:X': cannot import 'no_such_module'"),
        # Relative or empty module parts used to raise TypeError / "Empty module name".
        (".mod:X", "'.mod' is not a module name (dotted identifiers such as package.module)"),
        ("package.:X", "'package.' is not a module name"),
        ("pkg..mod:X", "'pkg..mod' is not a module name"),
        ("pkg.mod:a-b", "'a-b' is not a class name"),
        (f"{__name__}:Nope", f"module '{__name__}' has no 'Nope'"),
        (f"{__name__}:DataCorpus", "is not a RecommenderAdapter subclass"),
        (f"{__name__}:_Broken", "_Broken(corpus) failed: RuntimeError: no weights here"),
    ]:
        with pytest.raises(AdapterSpecError, match=re.escape(message)) as error:
            build(spec, context)
        assert "\n" not in str(error.value)


def test_builtins_differ_by_context(contexts):
    assert "itemknn" in contexts["world"].builtins
    with pytest.raises(AdapterSpecError, match="unknown adapter 'itemknn'"):
        build("itemknn", contexts["data"])


def test_adapters_get_the_context_corpus(small_world, data):
    assert build_adapter(f"{__name__}:_Custom", small_world).corpus is small_world.corpus
    corpus = DataCorpus.of(data)
    assert build_real_adapter(f"{__name__}:_Custom", data, corpus).corpus is corpus
    assert isinstance(build_real_adapter(f"{__name__}:_Custom", data).corpus, DataCorpus)


def test_build_named_refuses_two_adapters_of_one_name(small_world):
    models = build_named(["popularity", "random"], [], lambda s: build_adapter(s, small_world))
    assert list(models) == ["popularity", "random"]
    with pytest.raises(ValueError, match="may be named only once"):
        build_named(["random", "random"], [], lambda s: build_adapter(s, small_world))
    with pytest.raises(ValueError, match="may be named only once"):
        build_named(["a=random", "a=popularity"], [], lambda s: build_adapter(s, small_world))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("blind=popularity", ("blind", "popularity")),
        ("prod = http://127.0.0.1:8080/recommend", ("prod", "http://127.0.0.1:8080/recommend")),
        ("v1.2=filter:checkpoint:runs/m", ("v1.2", "filter:checkpoint:runs/m")),
        # Specs whose text holds "=" are never read as names.
        (
            "http://h/recommend?model=a",
            ("http://h/recommend?model=a", "http://h/recommend?model=a"),
        ),
        ("checkpoint:runs/w=3", ("checkpoint:runs/w=3", "checkpoint:runs/w=3")),
        ("popularity", ("popularity", "popularity")),
        ("name=", ("name=", "name=")),
    ],
)
def test_a_spec_may_be_named(text, named):
    assert split_named(text) == named


def test_named_specs_measure_under_the_given_name(small_world):
    models, specs = named_specs(
        ["blind=popularity", "random"], [], lambda s: build_adapter(s, small_world)
    )
    assert list(models) == ["blind", "random"]
    assert specs == {"blind": "popularity", "random": "random"}
    assert isinstance(models["blind"], PopularityAdapter)
    # --adapter-arg keys on the spec, so the measured list drops the names.
    assert measured_specs(["blind=popularity", "random"], ["runs/m"]) == [
        "popularity",
        "random",
        "checkpoint:runs/m",
    ]


def test_itemknn_does_not_depend_on_the_population_size():
    """The built-in itemknn used to be fitted on logs of min(2000, n_users) users, so
    --n-users 300 measured another model than --n-users 2000; now both fit the same logs."""
    import numpy as np

    from recommenders import HistoryBatch
    from simulator import World

    small, large = World.default(0, 300), World.default(0, 2000)
    a, b = build_adapter("itemknn", small), build_adapter("itemknn", large)
    rng = np.random.default_rng(0)
    items = rng.integers(0, small.corpus.n_items, size=(50, 8))
    batch = HistoryBatch(items, np.zeros_like(items), np.ones(items.shape), np.full(50, 8))
    np.testing.assert_array_equal(a.recommend(batch, 10), b.recommend(batch, 10))


KEYWORD = "tests.experiments.keyword_adapter"


@pytest.mark.parametrize("kind", ["world", "data"])
def test_keyword_arguments_reach_the_constructor(contexts, kind):
    context = contexts[kind]
    kwargs = {"offset": 2, "label": "wide", "weights": [1, 2.5]}
    adapter = build(f"{KEYWORD}:Shifted", context, kwargs)
    assert (adapter.offset, adapter.label, adapter.weights) == (2, "wide", [1, 2.5])
    assert build(f"{KEYWORD}:Shifted", context).offset == 0  # none: the defaults
    assert build("random", context, {"seed": 7}).seed == 7
    assert build("random", context).seed == 0
    assert build("popularity", context, {"exclude_consumed": False}).exclude_consumed is False
    # A filter hands its keyword arguments to what it wraps.
    filtered = build("filter:random", context, {"seed": 5})
    assert isinstance(filtered, FeedbackFilter) and filtered.inner.seed == 5
    url = "http://127.0.0.1:9/recommend"
    served = build(url, context, {"timeout": 2, "batch_size": 64})
    assert (served.url, served.timeout, served.batch_size) == (url, 2.0, 64)
    assert served.n_items == context.corpus.n_items


def test_an_http_spec_builds_an_http_adapter(contexts):
    from recommenders import HttpAdapter

    for spec in ("http://127.0.0.1:8123/recommend", " https://example.org/v1/slates "):
        adapter = build(spec, contexts["world"])
        assert isinstance(adapter, HttpAdapter) and adapter.url == spec.strip()
        assert (adapter.timeout, adapter.retries, adapter.batch_size) == (10.0, 3, None)
    wrapped = build("filter-cluster:http://127.0.0.1:8123/recommend", contexts["world"])
    assert isinstance(wrapped.inner, HttpAdapter) and wrapped.by == "cluster"


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        (
            f"{KEYWORD}:Shifted",
            {"foo": 1},
            f"adapter '{KEYWORD}:Shifted' takes no argument 'foo' (it takes: offset, label, "
            "weights)",
        ),
        (
            f"{KEYWORD}:Shifted",
            {"corpus": 1},
            f"adapter '{KEYWORD}:Shifted' takes no argument 'corpus'",
        ),
        (
            "random",
            {"sede": 3},
            "adapter 'random' takes no argument 'sede' (it takes: seed, exclude_consumed)",
        ),
        ("itemknn", {"k": 3}, "adapter 'itemknn' takes no argument 'k' (it takes none)"),
        ("checkpoint:runs/x", {"k": 3}, "adapter 'checkpoint:runs/x' takes no argument 'k'"),
        ("filter:random", {"by": "cluster"}, "adapter 'random' takes no argument 'by'"),
        (
            "http://127.0.0.1:9/recommend",
            {"retry": 1},
            "adapter 'http://127.0.0.1:9/recommend' takes no argument 'retry' (it takes: "
            "timeout, retries, backoff, max_concurrency, batch_size)",
        ),
        (
            f"{KEYWORD}:NeedsPath",
            {},
            f"adapter '{KEYWORD}:NeedsPath' needs argument 'path' "
            f"(--adapter-arg {KEYWORD}:NeedsPath path=VALUE)",
        ),
        # Constructors raising TypeError / ValueError: the spec, the call, the error.
        (
            f"{KEYWORD}:Shifted",
            {"offset": -1},
            f"adapter '{KEYWORD}:Shifted': Shifted(corpus, offset=-1) failed: ValueError: "
            "offset must be a whole number >= 0, got -1",
        ),
        (
            "random",
            {"seed": "x"},
            "adapter 'random' with seed='x' failed: ValueError: invalid literal for int()",
        ),
        (
            "popularity",
            {"counts": [1, 2]},
            "adapter 'popularity' with counts=[1, 2] failed: ValueError: PopularityAdapter: "
            "counts must have shape",
        ),
        (
            "http://127.0.0.1:9/recommend",
            {"timeout": -1},
            "adapter 'http://127.0.0.1:9/recommend': HttpAdapter(corpus, URL, timeout=-1) "
            "failed: ValueError: HttpAdapter: timeout must be a finite number > 0 (seconds)",
        ),
        ("http://", {}, "adapter 'http://': HttpAdapter(corpus, URL) failed"),
    ],
)
def test_bad_keyword_arguments_are_one_line_naming_the_spec(contexts, spec, kwargs, message):
    with pytest.raises(AdapterSpecError, match=re.escape(message)) as error:
        build(spec, contexts["world"], kwargs)
    assert "\n" not in str(error.value)


def test_adapter_arguments_parse_values_as_json_else_strings(tmp_path):
    from simulator.adapter_specs import AdapterArguments, parse_value

    assert [parse_value(t) for t in ("3", "0.5", "true", "null", "[1, 2]", '"3"', "abc")] == [
        3,
        0.5,
        True,
        None,
        [1, 2],
        "3",
        "abc",
    ]
    assert parse_value("NaN") == "NaN" and parse_value("-Infinity") == "-Infinity"
    assert parse_value("a=b") == "a=b" and parse_value("") == ""
    file = tmp_path / "args.json"
    file.write_text(json.dumps({"random": {"seed": 1, "exclude_consumed": False}, " x:Y ": {}}))
    arguments = AdapterArguments.parse(
        [(" random ", "seed=4"), ("pkg.mod:C", "name = a=b"), ("pkg.mod:C", "w=[1,2]")], file
    )
    # The command line's value of a key replaces the file's; the file's other keys stay.
    assert arguments.of("random") == {"seed": 4, "exclude_consumed": False}
    assert arguments.of("pkg.mod:C") == {"name": " a=b", "w": [1, 2]}
    assert arguments.of("popularity") == {} and arguments.of("x:Y") == {}
    assert arguments.to_dict() == {
        "random": {"seed": 4, "exclude_consumed": False},
        "x:Y": {},
        "pkg.mod:C": {"name": " a=b", "w": [1, 2]},
    }
    assert arguments and not AdapterArguments.parse([], None)
    arguments.check_measured(["random", "pkg.mod:C", "x:Y", "popularity"])
    with pytest.raises(AdapterSpecError) as error:
        arguments.check_measured(["random", "popularity"])
    assert str(error.value) == (
        "--adapter-arg for adapter 'x:Y', which is not measured (measured: random, popularity)"
    )


@pytest.mark.parametrize(
    ("assignment", "file_text", "message"),
    [
        ("seed3", None, "adapter 'random': --adapter-arg 'seed3' is not key=value"),
        ("=3", None, "adapter 'random': --adapter-arg '=3' is not key=value"),
        ("a-b=3", None, "adapter 'random': --adapter-arg 'a-b=3' is not key=value"),
        (None, "{", "--adapter-args {file} is not JSON (Expecting property name"),
        (None, "[1]", "--adapter-args {file} must be a JSON object of spec -> {{key: value}}"),
        (None, '{"random": 3}', "--adapter-args {file}: the arguments of adapter 'random' must"),
        (None, '{"random": {"a b": 1}}', "--adapter-args {file}: adapter 'random' has argument"),
        (None, '{"random": {"seed": NaN}}', "--adapter-args {file} is not JSON (NaN is not JSON)"),
        (None, "missing", "--adapter-args {file}: cannot read it"),
    ],
)
def test_malformed_adapter_arguments_are_one_line(tmp_path, assignment, file_text, message):
    from simulator.adapter_specs import AdapterArguments

    file = tmp_path / "args.json"
    if file_text not in (None, "missing"):
        file.write_text(file_text)
    with pytest.raises(AdapterSpecError) as error:
        AdapterArguments.parse(
            [("random", assignment)] if assignment else [],
            file if file_text is not None else None,
        )
    assert str(error.value).startswith(message.format(file=file)), str(error.value)
    assert "\n" not in str(error.value)
