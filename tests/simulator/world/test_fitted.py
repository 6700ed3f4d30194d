"""The fitted world: the same model as the fit, a world file like any other, every protocol."""

import numpy as np
import pytest
import torch

from agents import Recent
from recommenders import PAD, PopularityAdapter
from recommenders.checkpoint import CheckpointError, save_checkpoint
from recommenders.models import ModelConfig, build_model
from recommenders.variants import VARIANTS
from simulator import ResponsivenessConfig, World, measure_responsiveness
from simulator.adapter_specs import build_adapter
from simulator.live_ab.simulation import LiveABConfig, run_live_ab
from simulator.logs import LogConfig, make_logs
from simulator.world import FittedWorld, FittedWorldConfig, WorldFileError, fit_world, load_world
from simulator.world.response_fit import sequential_covariates
from tests.simulator.world.test_outcome_simulation import load, synthetic_tables, true_model

GAMMA = (-1.0, 0.5)


@pytest.fixture(scope="module")
def data():
    interactions, items = synthetic_tables(n_users=60, n_events=30, n_items=120, seed=5)
    codes = np.random.default_rng(6).choice(["DISLIKE", "SKIP", "POSITIVE"], len(interactions))
    interactions = interactions.assign(feedback=codes)
    return load(interactions, items)


@pytest.fixture(scope="module")
def truth(data):
    return true_model(data, GAMMA, seed=7)


@pytest.fixture(scope="module")
def world(data, truth):
    return fit_world(data, truth, FittedWorldConfig(n_users=200, seed=3))


def identity_users(world: FittedWorld) -> FittedWorld:
    """The world with simulated user u = fitted user u."""
    n = len(world.arrays["user_bias"])
    config = FittedWorldConfig(n, 0, world.config.history_window)
    return FittedWorld(config, world.header, {**world.arrays, "source_user": np.arange(n)})


def recent_of_log(data, rows: np.ndarray, window: int) -> Recent:
    """Each row's earlier events of its user, most recent first, as the engine hands them."""
    log = data.log
    users, items, feedback = (log[c].to_numpy() for c in ("user", "item", "feedback"))
    out_items = np.full((len(rows), window), PAD)
    out_feedback = np.full((len(rows), window), PAD)
    for r, row in enumerate(rows):
        start = np.flatnonzero(users == users[row])[0]
        past = np.arange(row - 1, start - 1, -1)[:window]
        out_items[r, : len(past)] = items[past]
        out_feedback[r, : len(past)] = feedback[past]
    return Recent(out_items, out_feedback)


def test_the_user_model_is_the_fitted_model(data, truth, world):
    """On the log's own events (real past as the history), the world's outcome
    probabilities equal the torch model's at the log's covariates D and L."""
    model = identity_users(world).user_model(seed=0)
    rows = np.arange(0, len(data.log), 7)
    users, items = data.log["user"].to_numpy()[rows], data.log["item"].to_numpy()[rows]
    recent = recent_of_log(data, rows, window=40)
    d, lik = model.covariates(items, recent)
    x = sequential_covariates(data)[rows]
    assert d.sum() > 0 and lik.sum() > 0, "the sample exercises both covariates"
    np.testing.assert_array_equal(np.stack([d, lik], axis=1), x)
    mine = model.level_probabilities(model.utility(users, items, recent))
    np.testing.assert_allclose(mine, truth.level_probabilities(users, items, x), atol=1e-12)


def test_responses_follow_the_level_probabilities(world):
    """10,000 users consume one item with no history: the levels' shares match P(y = k)
    within 4.5 binomial standard errors; the codes are the data's (DISLIKE, SKIP, POSITIVE)."""
    big = world.with_users(10_000, seed=1)
    model = big.user_model(seed=2)
    users = np.arange(big.n_users)
    items = np.full(big.n_users, 5)
    response = model.respond(users, items, step=0)
    p = model.level_probabilities(model.utility(users, items)).mean(axis=0)
    codes = np.asarray(big.header["level_feedback"])
    shares = np.array([(response.feedback == c).mean() for c in codes])
    se = np.sqrt(p * (1 - p) / len(users))
    assert np.all(np.abs(shares - p) < 4.5 * se), (shares, p)
    assert list(big.header["level_feedback_names"]) == ["DISLIKE", "SKIP", "POSITIVE"]
    # Keyed: the same (seed, user, step) gives the same outcome whatever else is asked.
    again = model.respond(users[::3], items[::3], step=0)
    np.testing.assert_array_equal(again.feedback, response.feedback[::3])


def test_a_dislike_of_the_creator_lowers_the_next_outcome(world):
    """gamma_D = -1: after a DISLIKE of the same creator the utility falls by exactly 1."""
    model = world.user_model(seed=0)
    creator = world.corpus.known_creator
    item, other = np.flatnonzero(creator == creator[np.flatnonzero(creator >= 0)[0]])[:2]
    users = np.array([0])
    disliked = Recent(np.array([[item], [item]]), np.array([[2], [0]]))  # DISLIKE, POSITIVE
    d, _ = model.covariates(np.array([other, other]), disliked)
    np.testing.assert_array_equal(d, [1.0, 0.0])
    no_history = model.utility(users[:1], np.array([other]))
    after = model.utility(users[:1], np.array([other]), Recent(np.array([[item]]), np.array([[2]])))
    # The earlier event is a DISLIKE, so L ("liked just before") is 0: only gamma_D acts.
    assert after[0] - no_history[0] == pytest.approx(GAMMA[0])


def test_saved_and_loaded_the_world_is_the_same(world, tmp_path):
    path = world.save(tmp_path / "fitted.npz")
    again = load_world(path)
    assert isinstance(again, FittedWorld)
    assert again.fingerprint == world.fingerprint
    assert again.data_fingerprint == world.header["data"]["fingerprint"]
    np.testing.assert_array_equal(again.corpus.item_ids, world.corpus.item_ids)
    np.testing.assert_array_equal(again.arrays["source_user"], world.arrays["source_user"])
    # A synthetic world through the same loader.
    synthetic = World.default(0, 10).save(tmp_path / "synthetic.npz")
    assert isinstance(load_world(synthetic), World)
    with pytest.raises(WorldFileError, match="is not a responsiveness-world file"):
        World.load(path)


def test_a_damaged_fitted_world_is_a_one_line_error(world, tmp_path):
    arrays = {**world.arrays, "item_bias": world.arrays["item_bias"].copy()}
    arrays["item_bias"][3] = np.nan
    bad = FittedWorld.__new__(FittedWorld)
    bad.config, bad.header, bad.arrays = world.config, world.header, arrays
    path = bad.save(tmp_path / "nan.npz")
    with pytest.raises(
        WorldFileError, match=r"inconsistent: arrays \['item_bias'\] hold NaN or inf"
    ):
        load_world(path)
    short = {**world.arrays, "popularity": world.arrays["popularity"][:-1]}
    bad.arrays = short
    path = bad.save(tmp_path / "short.npz")
    with pytest.raises(WorldFileError, match="popularity has shape") as error:
        load_world(path)
    assert "\n" not in str(error.value)


def test_feedback_blind_adapter_gives_exactly_zero(world):
    config = ResponsivenessConfig(n_users=200, k=20, n_resamples=200)
    run = measure_responsiveness(world, PopularityAdapter(world.corpus), config)
    summary = run.summary.set_index("kind")
    for kind in ("content", "creator"):
        row = summary.loc[kind]
        assert row["relative_change"] == 0.0 and row["ci_low"] == 0.0 and row["ci_high"] == 0.0
    # Content is "shares a genre with x_k" on the genre matrix, as on real histories.
    per_user = run.per_user
    assert per_user["content"].notna().all()
    assert set(per_user["x_k_creator"]) <= set(world.corpus.known_creator)


def test_branches_differ_only_in_the_forked_event(world):
    """Horizon 3: the branch histories share every event up to x_k, and x_k's feedback
    differs; later events follow each branch's own slates from identical draws."""
    seen = {}

    def keep(event):
        if event.branch is not None and event.step == 21:
            seen[event.branch] = (event.histories.items.copy(), event.histories.feedback.copy())

    config = ResponsivenessConfig(n_users=50, k=20, horizon=3, n_resamples=200)
    measure_responsiveness(world, PopularityAdapter(world.corpus), config, on_slate=keep)
    (items_a, feedback_a), (items_b, feedback_b) = seen[0], seen[1]
    np.testing.assert_array_equal(items_a, items_b)
    np.testing.assert_array_equal(feedback_a[:, :-1], feedback_b[:, :-1])
    assert (feedback_a[:, -1] == 0).all() and (feedback_b[:, -1] == 2).all()


def test_live_ab_and_logs_run_on_a_fitted_world(world):
    config = LiveABConfig(n_users=40, n_days=2, max_session=5, n_resamples=200)
    arms = {"baseline": PopularityAdapter(world.corpus), "same": PopularityAdapter(world.corpus)}
    result = run_live_ab(world, arms, config, progress=False)
    same = result.summary[result.summary["arm"] == "same"]
    assert (same["relative_change"].fillna(0) == 0).all()
    log = make_logs(world, LogConfig(n_users=30, n_steps=10, seed=2))
    assert len(log) == 300 and log["item"].between(0, world.corpus.n_items - 1).all()


def _checkpoint(tmp_path, n_items: int, fingerprint: str, name: str):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="gru", dim=8, max_len=20), n_items)
    return save_checkpoint(tmp_path / name, model, VARIANTS["dislike_feature"], fingerprint)


def test_checkpoints_of_the_data_set_are_accepted_others_refused(world, data, tmp_path):
    """A model trained on the data set (its fingerprint) or on logs of this world loads;
    one of another catalogue (another item count, or another data fingerprint) does not."""
    n = world.corpus.n_items
    for name, fingerprint in [("data", data.fingerprint), ("logs", world.fingerprint)]:
        adapter = build_adapter(f"checkpoint:{_checkpoint(tmp_path, n, fingerprint, name)}", world)
        assert adapter.name == name
    other = _checkpoint(tmp_path, n, "0123456789abcdef", "other")
    with pytest.raises(CheckpointError, match=r"not on this world .* or the data set") as error:
        build_adapter(f"checkpoint:{other}", world)
    assert "synthetic" in str(error.value) and "\n" not in str(error.value)
    smaller = _checkpoint(tmp_path, n - 1, data.fingerprint, "smaller")
    with pytest.raises(CheckpointError, match=f"scores {n - 1} items; the corpus has {n}"):
        build_adapter(f"checkpoint:{smaller}", world)


def test_a_catalogue_without_clusters_is_refused(data, truth):
    import dataclasses

    items = data.items.assign(clusters=[()] * data.n_items, primary_cluster=-1)
    bare = dataclasses.replace(data, items=items)
    with pytest.raises(ValueError, match="no item has a content cluster"):
        fit_world(bare, truth)
