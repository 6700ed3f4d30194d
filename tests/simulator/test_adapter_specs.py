"""One spec grammar for simulated worlds and real data sets, with a table of built-ins each."""

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
