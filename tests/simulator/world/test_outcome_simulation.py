import numpy as np
import pandas as pd
import pytest
import torch

from recommenders.datasets import InteractionData, load_interactions
from recommenders.history import Feedback
from simulator.world.outcome_simulation import simulate_outcomes, simulated_log
from simulator.world.response_fit import (
    OrdinalResponseModel,
    Outcomes,
    ResponseFitConfig,
    cluster_weights,
    sequential_covariates,
)

FEEDBACK_NAMES = np.array([f.name for f in Feedback])


def synthetic_tables(
    n_users: int = 300,
    n_events: int = 40,
    n_items: int = 200,
    n_creators: int = 20,
    n_clusters: int = 6,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(interactions, items): random item sequences (no repeats within a user), SKIP feedback.

    Each creator has a home genre; an item is in its creator's home genre and,
    half the time, a second random one, so items of one creator share genres
    (as directors' films do). About every seventh item has no creator.
    """
    rng = np.random.default_rng(seed)
    creator = rng.integers(0, n_creators, n_items)
    home = rng.integers(0, n_clusters, n_creators)[creator]
    second = rng.integers(0, n_clusters, n_items)
    genres = [
        f"g{h}" if s == h or rng.random() < 0.5 else f"g{h}|g{s}"
        for h, s in zip(home, second, strict=True)
    ]
    items = pd.DataFrame(
        {
            "item": np.arange(n_items),
            "genres": genres,
            "creator": [None if i % 7 == 3 else f"c{c}" for i, c in enumerate(creator)],
        }
    )
    sequences = np.stack([rng.choice(n_items, n_events, replace=False) for _ in range(n_users)])
    interactions = pd.DataFrame(
        {
            "user": np.repeat(np.arange(n_users), n_events),
            "position": np.tile(np.arange(n_events), n_users),
            "item": sequences.ravel(),
            "feedback": "SKIP",
        }
    )
    return interactions, items


def load(interactions: pd.DataFrame, items: pd.DataFrame) -> InteractionData:
    """The tables as InteractionData (feedback codes, or ratings when there is a rating column)."""
    outcome = {"rating": "rating"} if "rating" in interactions else {"feedback": "feedback"}
    return load_interactions(
        interactions, items=items, clusters="genres", creator="creator", name="synthetic", **outcome
    )


def with_drawn_feedback(
    interactions: pd.DataFrame, items: pd.DataFrame, data: InteractionData, levels: np.ndarray
) -> InteractionData:
    """The same sequences loaded again with the simulated outcomes as their feedback.

    The synthetic tables use dense ids already in (user, position) order, so
    row r of the table is row r of ``data.log``.
    """
    frame = interactions.copy()
    frame["feedback"] = FEEDBACK_NAMES[simulated_log(data, levels)["feedback"].to_numpy()]
    return load(frame, items)


def true_model(
    data: InteractionData, gamma: tuple[float, float], seed: int = 0, n_factors: int = 2
) -> OrdinalResponseModel:
    """A response model with chosen parameters: biases, genre and creator effects, factors.

    Thresholds -1.0 and 0.5: at eta = 0 the three classes have probabilities
    0.27, 0.35, 0.38; the user biases (sd 0.6) spread users' dislike rates.
    """
    rng = np.random.default_rng(seed)
    model = OrdinalResponseModel(
        data.n_users,
        data.n_items,
        Outcomes.of(data).n_levels,
        cluster_weights(data),
        data.creator,
        ResponseFitConfig(n_factors=n_factors),
    )
    p = model.params
    for name, sd in [
        ("user_bias", 0.6),
        ("item_bias", 0.5),
        ("cluster", 0.3),
        ("creator", 0.4),
        ("user_factors", 0.5),
        ("item_factors", 0.5),
    ]:
        p[name][:] = torch.as_tensor(rng.normal(0.0, sd, p[name].shape))
    p["gamma"][:] = torch.as_tensor(gamma, dtype=torch.float64)
    p["threshold0"][:] = -1.0
    # softplus(gap) = 1.5 between consecutive cut points.
    p["threshold_gaps"][:] = float(np.log(np.expm1(1.5)))
    return model


@pytest.fixture(scope="module")
def tables():
    return synthetic_tables(n_users=60, n_events=30, n_items=80, n_creators=8, seed=1)


@pytest.fixture(scope="module")
def mixed(tables):
    """Real feedback with dislikes and positives (the past of events not simulated)."""
    interactions, items = tables
    frame = interactions.copy()
    codes = np.random.default_rng(2).choice(["DISLIKE", "SKIP", "POSITIVE", "LIKE"], len(frame))
    frame["feedback"] = codes
    return frame, items, load(frame, items)


def test_same_seed_same_levels_and_unselected_rows_stay_minus_one(mixed):
    _, _, data = mixed
    model = true_model(data, (-1.0, 0.8))
    events = np.random.default_rng(3).random(len(data.log)) < 0.5
    levels = simulate_outcomes(model, data, events, seed=7)
    assert levels.dtype == np.int64 and levels.shape == (len(data.log),)
    assert (levels[~events] == -1).all()
    assert ((levels[events] >= 0) & (levels[events] < 3)).all()
    np.testing.assert_array_equal(levels, simulate_outcomes(model, data, events, seed=7))
    assert (levels != simulate_outcomes(model, data, events, seed=8))[events].mean() > 0.2


def test_levels_are_the_inverse_cdf_under_covariates_of_the_drawn_past(mixed):
    """Each level is the documented draw: #{k : P(y <= k) < U} with one uniform per row,
    where P comes from level_probabilities at D and L that sequential_covariates
    computes on the log carrying the drawn outcomes (real ones where not drawn)."""
    interactions, items, data = mixed
    model = true_model(data, (-2.0, 1.5))
    events = np.random.default_rng(4).random(len(data.log)) < 0.7
    levels = simulate_outcomes(model, data, events, seed=11)

    drawn = with_drawn_feedback(interactions, items, data, levels)
    x = sequential_covariates(drawn)
    log = data.log
    probabilities = model.level_probabilities(log["user"], log["item"], x)
    cumulative = np.cumsum(probabilities, axis=1)[:, :-1]
    uniforms = np.random.default_rng(11).random(len(log))
    expected = (uniforms[:, None] > cumulative).sum(axis=1)
    np.testing.assert_array_equal(levels[events], expected[events])
    # The drawn past matters: with the real past's covariates many draws would differ.
    real = sequential_covariates(data)
    assert (real[events] != x[events]).any(axis=1).mean() > 0.1


def test_a_drawn_dislike_of_a_creator_makes_every_later_selected_item_of_it_disliked(tables):
    """With gamma_D = -40 an event after a (drawn) dislike of its creator is class 0 for sure;
    the real log has no dislikes, so D = 1 can only come from drawn outcomes."""
    interactions, items = tables
    data = load(interactions, items)
    model = true_model(data, (-40.0, 0.0))
    levels = simulate_outcomes(model, data, np.ones(len(data.log), bool), seed=0)
    d = sequential_covariates(with_drawn_feedback(interactions, items, data, levels))[:, 0] > 0
    assert d.sum() > 100 and sequential_covariates(data)[:, 0].sum() == 0
    assert (levels[d] == 0).all()
    assert 0.1 < (levels[~d] == 0).mean() < 0.6


def test_without_sequential_effects_level_shares_match_level_probabilities():
    """gamma = 0: draws are independent with P = level_probabilities(x = 0), here on a
    5-level rating scale. Per level, the count minus its expectation over sqrt of the
    summed Bernoulli variances is ~N(0, 1) (a sum of independent indicators); |z| < 4
    fails by chance with probability about 6e-5 per level. Within deciles of P(y = 0)
    the dislike share tracks the mean probability (calibration) to within 4 sd as well."""
    interactions, items = synthetic_tables(n_users=200, n_events=40, seed=5)
    frame = interactions.drop(columns="feedback").assign(rating=3)
    data = load(frame, items)
    assert Outcomes.of(data).n_levels == 5
    model = true_model(data, (0.0, 0.0), seed=6)
    levels = simulate_outcomes(model, data, np.ones(len(data.log), bool), seed=1)
    log = data.log
    p = model.level_probabilities(log["user"], log["item"], np.zeros((len(log), 2)))
    hits = levels[:, None] == np.arange(5)[None, :]
    z = (hits.sum(0) - p.sum(0)) / np.sqrt((p * (1 - p)).sum(0))
    assert np.abs(z).max() < 4, z
    decile = np.minimum((np.argsort(np.argsort(p[:, 0])) * 10) // len(p), 9)
    for b in range(10):
        q = p[decile == b, 0]
        z_bin = (hits[decile == b, 0].sum() - q.sum()) / np.sqrt((q * (1 - q)).sum())
        assert abs(z_bin) < 4, (b, z_bin)


def test_simulated_log_carries_drawn_ratings_and_classes(tables):
    interactions, items = tables
    data = load(interactions.drop(columns="feedback").assign(rating=3), items)
    levels = np.full(len(data.log), -1)
    levels[:3] = [0, 2, 4]  # ratings 1, 3, 5 under the default rule: dislike, neutral, positive
    log = simulated_log(data, levels)
    assert log["rating"].tolist()[:4] == [1, 3, 5, 3]
    codes = [Feedback.DISLIKE, Feedback.SKIP, Feedback.POSITIVE, Feedback.SKIP]
    assert log["feedback"].tolist()[:4] == [int(c) for c in codes]
    pd.testing.assert_frame_equal(log.iloc[3:], data.log.iloc[3:])


def test_errors_name_the_problem(tables):
    interactions, items = tables
    data = load(interactions, items)
    model = true_model(data, (0.0, 0.0))
    n = len(data.log)
    with pytest.raises(ValueError, match="bool mask of the log's"):
        simulate_outcomes(model, data, np.ones(n - 1, bool), seed=0)
    with pytest.raises(ValueError, match="bool mask of the log's"):
        simulate_outcomes(model, data, np.ones(n, int), seed=0)
    other = load(*synthetic_tables(n_users=10, n_events=5, n_items=80, seed=3))
    with pytest.raises(ValueError, match=r"the model has \(users, items, levels\)"):
        simulate_outcomes(model, other, np.ones(len(other.log), bool), seed=0)
    with pytest.raises(ValueError, match="levels has shape"):
        simulated_log(data, np.zeros(3, int))
