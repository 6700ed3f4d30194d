import numpy as np
import pytest

from agents import PopulationConfig, ResponseConfig
from agents import response as response_module
from recommenders import Feedback


def test_feedback_codes_agree_with_recommenders():
    for name in ("POSITIVE", "SKIP", "DISLIKE", "LIKE", "DISMISS"):
        assert getattr(response_module, name) == Feedback[name]


def test_respond_is_keyed_and_well_formed(user_model):
    users = np.arange(500)
    items = np.arange(500) % 400
    a = user_model.respond(users, items, step=4)
    b = user_model.respond(users[::-1], items[::-1], step=4)
    assert np.array_equal(a.feedback, b.feedback[::-1])
    assert np.array_equal(a.dwell, b.dwell[::-1])
    assert ((a.dwell > 0) & (a.dwell < 1)).all()
    assert set(np.unique(a.feedback)) <= {int(f) for f in Feedback}
    skipped = a.feedback == Feedback.SKIP
    assert (a.dwell[skipped] < user_model.config.skip_threshold).all()


def test_aversion_persists_and_drives_dislikes(user_model):
    # Every user consumes every item once: dislike rate on averse items must
    # be about dislike_averse and far above the rate on other items.
    users = np.repeat(np.arange(200), 400)
    items = np.tile(np.arange(400), 200)
    averse = user_model.averse(users, items)
    assert np.array_equal(averse, user_model.averse(users, items))  # persistent
    # Draws are keyed by (user, step): one consumption per (user, step), as in the simulator.
    steps = np.tile(np.arange(400), 200)
    one_step = user_model.respond(users, items, steps).feedback == Feedback.DISLIKE
    rate_averse = one_step[averse].mean()
    rate_other = one_step[~averse].mean()
    assert abs(rate_averse - user_model.config.dislike_averse) < 0.03
    assert rate_other < 2 * user_model.config.dislike_base
    assert rate_averse > 10 * rate_other


def test_utility_lower_for_averse_items(user_model):
    users = np.repeat(np.arange(200), 400)
    items = np.tile(np.arange(400), 200)
    mu = user_model.utility(users, items)
    averse = user_model.averse(users, items)
    assert mu[averse].mean() < mu[~averse].mean() - 1.0


@pytest.mark.parametrize(
    "kwargs", [{"skip_threshold": 1.5}, {"dislike_averse": -0.1}, {"dislike_base": 0.6}]
)
def test_bad_response_config(kwargs):
    with pytest.raises(ValueError, match="ResponseConfig"):
        ResponseConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"n_users": 0}, {"creator_aversion_rate": 2.0}, {"cluster_sd": -1}]
)
def test_bad_population_config(kwargs):
    with pytest.raises(ValueError, match="PopulationConfig"):
        PopulationConfig(**kwargs)


def test_session_momentum_follows_enjoyed_recent_clusters(user_model):
    from agents import Recent

    users = np.zeros(3, np.int64)
    item = 5
    cluster = user_model.item_cluster[item]
    same = np.nonzero(user_model.item_cluster == cluster)[0]
    other = np.nonzero(user_model.item_cluster != cluster)[0][0]
    enjoyed = Recent(
        np.array([[same[1], other], [other, same[1]], [same[1], other]]),
        np.array([[0, 0], [0, 0], [2, 0]]),
    )
    base = user_model.utility(users, np.full(3, item))
    boosted = user_model.utility(users, np.full(3, item), enjoyed)
    c = user_model.config
    # Most recent enjoyed event of the cluster: + w; one step older: + w * decay;
    # a disliked event raises nothing.
    assert np.allclose(boosted - base, [c.momentum_weight, c.momentum_weight * c.momentum_decay, 0])
    none = Recent(np.full((3, 2), -1), np.full((3, 2), -1))
    assert np.array_equal(user_model.utility(users, np.full(3, item), none), base)
