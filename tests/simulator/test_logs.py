import numpy as np
import pytest

from recommenders import Feedback
from recommenders.sequences import validate_log
from simulator.logs import LogConfig, make_logs


def test_logs_are_valid_and_repeatable(small_world):
    config = LogConfig(n_users=30, n_steps=12, seed=4)
    log = make_logs(small_world, config)
    assert len(log) == 30 * 12
    validated = validate_log(log, small_world.corpus.n_items)
    assert validated.equals(log)
    assert log.equals(make_logs(small_world, config))
    other = make_logs(small_world, LogConfig(n_users=30, n_steps=12, seed=5))
    assert not log.equals(other)
    # Logging recommenders exclude consumed items: no user sees an item twice.
    assert not log.duplicated(["user", "item"]).any()


def test_users_choose_what_they_like(small_world):
    """Utility-driven users pick averse items less often than a random choice would."""
    log = make_logs(small_world, LogConfig(n_users=60, n_steps=30, logging="random", seed=2))
    model = small_world.user_model(0)
    averse = model.averse(log["user"].to_numpy(), log["item"].to_numpy())
    rng = np.random.default_rng(0)
    random_items = rng.integers(0, small_world.corpus.n_items, len(log))
    base = model.averse(log["user"].to_numpy(), random_items)
    assert averse.mean() < 0.7 * base.mean()
    disliked = log["feedback"].to_numpy() == Feedback.DISLIKE
    assert disliked[averse].mean() > 5 * disliked[~averse].mean()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"logging": "bandit"}, "logging must be"),
        ({"explore": 1.5}, "explore"),
        ({"n_steps": 0}, ">= 1"),
        ({"temperature": 0}, "temperature"),
    ],
)
def test_bad_log_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LogConfig(**kwargs)
