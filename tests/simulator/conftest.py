import dataclasses

import pytest

from agents import PopulationConfig
from simulator import CorpusConfig, World, WorldConfig, similarity
from simulator.responsiveness import plots
from simulator.similarity import SimilarityKind, same_content, same_creator, share_of

SMALL = WorldConfig(
    seed=3,
    corpus=CorpusConfig(n_items=300, n_clusters=6, n_creators=30),
    population=PopulationConfig(n_users=60),
)


@pytest.fixture(scope="session")
def small_world() -> World:
    """A world small enough for property tests (300 items, 60 users)."""
    return World.generate(SMALL)


@pytest.fixture(scope="session")
def static_world() -> World:
    """The small world with static users (no session momentum)."""
    response = dataclasses.replace(SMALL.response, momentum_weight=0.0)
    return World.generate(dataclasses.replace(SMALL, response=response))


@pytest.fixture
def extra_kind(monkeypatch):
    """One more similarity kind, registered for one test as an entry of simulator.similarity is."""
    kind = SimilarityKind(
        "creator_or_content",
        share_of(same_creator, same_content),
        "#55A868",
        "share of the slate by x_k's creator or in a content cluster of x_k",
    )
    monkeypatch.setitem(similarity._REGISTRY, kind.name, kind)
    return kind


@pytest.fixture
def captured(monkeypatch):
    """Record the Figure each plot function saves, still writing the files."""
    figures: list = []
    save = plots.save_figure

    def recording_save(fig, path_stem, dpi=plots.DPI):
        figures.append(fig)
        return save(fig, path_stem, dpi=dpi)

    monkeypatch.setattr(plots, "save_figure", recording_save)
    return figures
