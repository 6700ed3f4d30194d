"""Dotted overrides of a world's parameters (simulator.world.override_world_config)."""

import pytest

from simulator.world import World, WorldConfig, override_world_config, world_parameters


def test_overrides_replace_fields_and_keep_the_rest():
    base = WorldConfig(seed=4)
    config = override_world_config(
        base, {"corpus.n_items": 900.0, "response.dislike_averse": 1, "population.n_users": 7}
    )
    assert config.seed == 4 and config.corpus.n_items == 900
    assert isinstance(config.corpus.n_items, int) and config.response.dislike_averse == 1.0
    assert config.population.n_users == 7 and config.corpus.dim == base.corpus.dim
    assert override_world_config(base, [("corpus.dim", 8), ("corpus.dim", 4)]).corpus.dim == 4
    assert override_world_config(base, {}) == base
    assert "response.momentum_window" in world_parameters()


def test_bad_overrides_are_one_line_errors():
    for overrides, message in (
        ({"corpus.nope": 1}, "unknown world parameter 'corpus.nope'; known: corpus.n_items"),
        ({"seed": 1}, "unknown world parameter 'seed'"),
        ({"corpus.n_items": 2.5}, "corpus.n_items takes a whole number"),
        ({"corpus.n_items": True}, "takes a whole number"),
        ({"response.like_rate": "x"}, "takes a number"),
        ({"response.like_rate": 2.0}, r"like_rate must be in \[0, 1\]"),
    ):
        with pytest.raises(ValueError, match=message) as error:
            override_world_config(WorldConfig(), overrides)
        assert "\n" not in str(error.value)


def test_default_world_takes_overrides():
    world = World.default(0, 10, {"corpus.n_items": 600, "corpus.n_creators": 50})
    assert world.corpus.n_items == 600 and world.n_users == 10
    assert world.config.corpus.n_creators == 50
    assert World.default(0, 10).config == World.default(0, 10, {}).config
