import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommenders import Feedback, FeedbackFilter, PopularityAdapter, RecommenderAdapter
from recommenders.datasets import DataCorpus, InteractionData, RatingRule, load_interactions
from simulator.adapter_specs import build_real_adapter
from simulator.responsiveness.real import (
    compare_real,
    measure_real_responsiveness,
    summarize_real,
)
from simulator.responsiveness.real_histories import (
    SUMMARY_COLUMNS,
    RealHistories,
    RealHistoryConfig,
    branch_feedback,
    select_users,
)
from simulator.responsiveness.simulated import ResponsivenessConfig, summarize

P, S, D = int(Feedback.POSITIVE), int(Feedback.SKIP), int(Feedback.DISLIKE)
GENRES = ("Action", "Comedy", "Drama", "Horror")
N_ITEMS = 80
FAST = {"n_resamples": 200}


def tiny_data(seed: int = 0, n_users: int = 30) -> InteractionData:
    """Hand-made ratings: 80 movies, 1-3 genres each, 8 directors (every 7th unknown)."""
    rng = np.random.default_rng(seed)
    items = pd.DataFrame(
        {
            "item": np.arange(1, N_ITEMS + 1),
            "genres": [
                "|".join(rng.choice(GENRES, size=rng.integers(1, 4), replace=False))
                for _ in range(N_ITEMS)
            ],
            "director": [None if i % 7 == 3 else f"d{i % 8}" for i in range(N_ITEMS)],
        }
    )
    rows = []
    # Skewed popularity and mostly good ratings (20% dislikes), as in MovieLens.
    weights = np.linspace(2.0, 1.0, N_ITEMS)
    stars = [0.1, 0.1, 0.2, 0.3, 0.3]
    for user in range(n_users):
        length = int(rng.integers(6, 13))
        seen = rng.choice(N_ITEMS, size=length, replace=False, p=weights / weights.sum()) + 1
        for position, item in enumerate(seen):
            rows.append((user + 100, position, int(item), int(rng.choice(5, p=stars)) + 1))
    ratings = pd.DataFrame(rows, columns=["user", "position", "item", "rating"])
    return load_interactions(
        ratings,
        rating="rating",
        items=items,
        item_id="item",
        clusters="genres",
        creator="director",
        name="tiny",
    )


@pytest.fixture(scope="module")
def data() -> InteractionData:
    return tiny_data()


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be an integer >= 1 or None"),
        ({"k": True}, "k must be an integer >= 1 or None"),
        ({"k": 2.5}, "k must be an integer >= 1 or None"),
        ({"n_users": 0}, "n_users must be an integer >= 1 or None"),
        ({"slate_size": 0}, "slate_size must be an integer >= 1"),
        ({"ratings": (5,)}, "ratings must be >= 2 numbers"),
        ({"ratings": (5, float("nan"))}, "ratings must be >= 2 numbers"),
        ({"ratings": (5, True)}, "ratings must be >= 2 numbers"),
        ({"ratings": (5, 5)}, "ratings must be distinct"),
        ({"content_rule": "all"}, "content_rule must be one of"),
        ({"seed": -1}, "seed must be an integer in"),
        ({"confidence": 1.0}, "confidence must be in"),
        ({"n_resamples": 10}, "n_resamples must be an integer in \\[100, 1,000,000\\]"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1"),
    ],
)
def test_config_rejects_bad_values_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        RealHistoryConfig(**kwargs)
    assert "\n" not in str(error.value)


def test_config_branches_and_step():
    config = RealHistoryConfig(k=7, ratings=[5, 3, 1])
    assert config.ratings == (5, 3, 1)
    assert config.branches == ("rating=5", "rating=3", "rating=1")
    assert config.step == 8
    assert RealHistoryConfig(k=None).step == 0


def test_ratings_map_through_the_data_sets_rule():
    config = RealHistoryConfig()
    assert branch_feedback(config, RatingRule()) == (P, D)
    assert branch_feedback(config, None) == (P, D)  # feedback-coded data: the default rule
    assert branch_feedback(RealHistoryConfig(ratings=(5, 3)), RatingRule()) == (P, S)
    like = RatingRule(like_min=5)
    assert branch_feedback(config, like) == (int(Feedback.LIKE), D)
    with pytest.raises(ValueError, match=r"same feedback \(5 -> POSITIVE, 4 -> POSITIVE\)"):
        branch_feedback(RealHistoryConfig(ratings=(5, 4)), RatingRule())
    with pytest.raises(ValueError, match="rating 6 is outside"):
        branch_feedback(RealHistoryConfig(ratings=(6, 1)), RatingRule())


def test_half_star_ratings_map_through_a_half_star_rule():
    config = RealHistoryConfig(ratings=(4.5, 0.5))
    assert config.branches == ("rating=4.5", "rating=0.5")
    assert RealHistoryConfig(ratings=(5.0, 1.0)).branches == ("rating=5", "rating=1")
    assert branch_feedback(config, RatingRule(min_rating=0.5, step=0.5)) == (P, D)
    with pytest.raises(ValueError, match=r"rating 4\.5 at index 0 is not on the rule's scale"):
        branch_feedback(RealHistoryConfig(ratings=(4.5, 1)), RatingRule())


# --- forking real histories -------------------------------------------------------------


@st.composite
def logs_and_k(draw):
    n_users = draw(st.integers(1, 5))
    rows = []
    for user in range(n_users):
        length = draw(st.integers(1, 8))
        items = draw(st.lists(st.integers(0, 11), min_size=length, max_size=length, unique=True))
        for position, item in enumerate(items):
            rows.append((user, position, item, draw(st.integers(1, 5))))
    k = draw(st.none() | st.integers(1, 9))
    codes = draw(st.lists(st.sampled_from(list(Feedback)), min_size=2, max_size=3, unique=True))
    return pd.DataFrame(rows, columns=["user", "position", "item", "rating"]), k, codes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs_and_k())
def test_branches_differ_only_in_the_action_on_x_k(case):
    frame, k, codes = case
    data = load_interactions(frame, rating="rating")
    histories = RealHistories(data)
    users = histories.eligible(k)
    lengths = np.bincount(data.log["user"], minlength=data.n_users)
    assert users.tolist() == [u for u in range(data.n_users) if lengths[u] >= (k or 1)]
    fork = histories.fork(users, k, tuple(int(c) for c in codes))
    first = fork.branches[0]
    last = fork.lengths - 1
    rows = np.arange(len(users))
    for code, batch in zip(codes, fork.branches, strict=True):
        np.testing.assert_array_equal(batch.items, first.items)
        np.testing.assert_array_equal(batch.dwell, first.dwell)
        np.testing.assert_array_equal(batch.lengths, first.lengths)
        assert (batch.feedback[rows, last] == int(code)).all()
        other = batch.feedback.copy()
        other[rows, last] = first.feedback[rows, last]
        np.testing.assert_array_equal(other, first.feedback)
    # The shared part is the user's real log: events 1..k-1 and the item x_k.
    log = data.log
    for row, user in enumerate(users):
        events = log[log["user"] == user].iloc[: fork.lengths[row]]
        history = first[row]
        np.testing.assert_array_equal(history.items, events["item"])
        np.testing.assert_array_equal(history.feedback[:-1], events["feedback"].iloc[:-1])
        np.testing.assert_array_equal(history.dwell, events["dwell"])
        assert fork.x_k[row] == events["item"].iloc[-1]
        assert fork.lengths[row] == (len(log[log["user"] == user]) if k is None else k)


def test_fork_refuses_a_user_shorter_than_k(data):
    histories = RealHistories(data)
    short = int(np.argmin(histories.count))
    with pytest.raises(ValueError, match=f"fewer than k = {histories.count[short] + 1}"):
        histories.fork(np.array([short]), int(histories.count[short]) + 1, (P, D))


def test_select_users_caps_with_the_seed_and_counts_the_left_out(data):
    histories = RealHistories(data)
    config = RealHistoryConfig(k=10, n_users=5, seed=3)
    chosen = select_users(histories, config)
    assert chosen.n_eligible == int((histories.count >= 10).sum())
    assert chosen.n_too_short == data.n_users - chosen.n_eligible
    assert len(chosen.users) == 5 and np.all(np.diff(chosen.users) > 0)
    assert np.all(histories.count[chosen.users] >= 10)
    again = select_users(histories, config)
    np.testing.assert_array_equal(chosen.users, again.users)
    everyone = select_users(histories, RealHistoryConfig(k=None))
    assert len(everyone.users) == data.n_users and everyone.n_too_short == 0
    with pytest.raises(ValueError, match="no user has k = 99 events"):
        select_users(histories, RealHistoryConfig(k=99))


# --- measurements -----------------------------------------------------------------------


def test_popularity_is_exactly_zero_with_a_zero_interval(data):
    config = RealHistoryConfig(k=6, **FAST)
    run = measure_real_responsiveness(data, build_real_adapter("popularity", data), config)
    assert list(run.summary.columns) == list(SUMMARY_COLUMNS)
    for row in run.summary.itertuples():
        assert (row.relative_change, row.ci_low, row.ci_high) == (0.0, 0.0, 0.0)
        assert row.method == "degenerate: identical branches"
        assert row.step == 7 and row.branch == "rating=1" and row.reference == "rating=5"
    assert (run.per_user["repeats"] == 0).all()  # slates exclude the history
    assert run.recommend_calls == 2


def test_filter_removes_the_disliked_director_entirely(data):
    config = RealHistoryConfig(k=6, **FAST)
    run = measure_real_responsiveness(data, build_real_adapter("filter:popularity", data), config)
    creator = run.summary.set_index("kind").loc["creator"]
    assert creator.mean_a > 0 and creator.mean_b == 0.0
    assert creator.relative_change == -1.0
    assert (creator.ci_low, creator.ci_high) == (-1.0, -1.0)
    # Users whose x_k has no known director are left out of the creator kind only.
    per_user = run.per_user[run.per_user["branch"] == "rating=5"]
    unknown = per_user["x_k_creator"] < 0
    assert unknown.any(), "the tiny data set should have an x_k of unknown director"
    assert per_user.loc[unknown, "creator"].isna().all()
    assert creator.n == int((~unknown).sum())
    assert run.summary.set_index("kind").loc["content", "n"] == len(per_user)


def test_chunks_and_users_do_not_change_the_result(data):
    adapter = FeedbackFilter(PopularityAdapter(DataCorpus.of(data)), DataCorpus.of(data))
    whole = measure_real_responsiveness(data, adapter, RealHistoryConfig(k=None, **FAST))
    chunked = measure_real_responsiveness(
        data, adapter, RealHistoryConfig(k=None, chunk_size=7, **FAST)
    )
    pd.testing.assert_frame_equal(whole.per_user, chunked.per_user)
    pd.testing.assert_frame_equal(whole.summary, chunked.summary)
    # k=None: each user forks at their own last event, so steps vary per user.
    lengths = np.bincount(data.log["user"], minlength=data.n_users)
    steps = whole.per_user.drop_duplicates("user").set_index("user")["step"]
    np.testing.assert_array_equal(steps.to_numpy(), lengths[steps.index] + 1)
    assert (whole.summary["step"] == 0).all()


def test_slates_that_repeat_history_items_are_counted(data):
    repeat = PopularityAdapter(DataCorpus.of(data), exclude_consumed=False)
    run = measure_real_responsiveness(data, repeat, RealHistoryConfig(k=6, **FAST))
    top = set(repeat.order[:10])
    histories = RealHistories(data)
    expected = [
        len(top & set(histories.fork([u], 6, (P,)).branches[0][0].items))
        for u in run.per_user["user"]
    ]
    assert run.per_user["repeats"].tolist() == expected
    assert run.per_user["repeats"].sum() > 0


def test_summary_is_the_simulators_summary_where_both_are_defined(data):
    config = RealHistoryConfig(k=6, **FAST)
    run = measure_real_responsiveness(data, build_real_adapter("random", data), config)
    # simulator.summarize needs every similarity defined: keep x_k of known director.
    known = run.per_user[run.per_user["x_k_creator"] >= 0]
    names = {"rating=5": "long_dwell", "rating=1": "long_dwell+dislike"}
    sim = summarize(
        known.assign(branch=known["branch"].map(names)),
        ResponsivenessConfig(branches=tuple(names.values()), n_resamples=200),
    )
    ours = summarize_real(known, config)
    assert list(ours.columns) == list(sim.columns) == list(SUMMARY_COLUMNS)
    numbers = ["kind", "step", "mean_a", "mean_b", "relative_change", "ci_low", "ci_high", "n"]
    pd.testing.assert_frame_equal(ours[numbers], sim[numbers])


def test_fewer_than_two_defined_users_gives_an_undefined_row(data):
    config = RealHistoryConfig(k=6, **FAST)
    run = measure_real_responsiveness(data, build_real_adapter("popularity", data), config)
    one = run.per_user[run.per_user["user"] == run.per_user["user"].iloc[0]]
    row = summarize_real(one, config).set_index("kind").loc["content"]
    assert np.isnan(row.relative_change) and row.n == 1
    assert row.method == "undefined: 1 user(s) with a defined content similarity"


def test_compare_real_shares_users_across_adapters(data):
    adapters = {
        "popularity": build_real_adapter("popularity", data),
        "filter:popularity": build_real_adapter("filter:popularity", data),
    }
    runs = compare_real(data, adapters, RealHistoryConfig(k=8, n_users=10, **FAST))
    assert [run.model for run in runs] == list(adapters)
    users = [run.per_user["user"].tolist() for run in runs]
    assert users[0] == users[1] and len(set(users[0])) == 10


# --- adapters by name -------------------------------------------------------------------


class _Custom(RecommenderAdapter):
    def __init__(self, corpus):
        self.inner = PopularityAdapter(corpus)

    def recommend(self, histories, slate_size):
        return self.inner.recommend(histories, slate_size)


def test_data_corpus_gives_unknown_groups_their_own_ids(data):
    corpus = DataCorpus.of(data)
    unknown = data.creator < 0
    assert (corpus.creator >= 0).all()
    np.testing.assert_array_equal(corpus.creator[~unknown], data.creator[~unknown])
    assert len(set(corpus.creator[unknown])) == unknown.sum()
    assert set(corpus.creator[unknown]).isdisjoint(data.creator[~unknown])
    assert corpus.n_items == data.n_items


# --- trained models ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(data, tmp_path_factory):
    """Two tiny GRU checkpoints for the tiny data: feedback-blind and with the dislike feature.

    The weights are seeded random ones, not trained: blindness to feedback is
    structural (the baseline's input has no feedback feature), so it holds for
    any weights, and fit_variant would cost about 9 s here (Adam imports
    torch._dynamo; the learning-curve plots). The dislike table is drawn with
    std 1 instead of the initial 0.02 so that the feature visibly moves slates.
    """
    torch = pytest.importorskip("torch")
    from recommenders.checkpoint import save_checkpoint
    from recommenders.models import ModelConfig, build_model
    from recommenders.variants import get_variant

    out = tmp_path_factory.mktemp("models")
    paths = {}
    for name in ("baseline", "dislike_feature"):
        variant = get_variant(name)
        torch.manual_seed(0)
        model = build_model(ModelConfig(dim=8, max_len=12, features=variant.features), N_ITEMS)
        if model.events.dislike is not None:
            with torch.no_grad():  # a feature strong enough to move the top 10 of 80 items
                model.events.dislike.weight.normal_(std=1.0)
        paths[name] = save_checkpoint(out / name, model, variant, data.fingerprint)
    return paths


def test_feedback_blind_model_is_exactly_zero_and_the_dislike_feature_is_not(data, checkpoints):
    config = RealHistoryConfig(k=None, **FAST)
    blind = build_real_adapter(f"checkpoint:{checkpoints['baseline']}", data)
    run = measure_real_responsiveness(data, blind, config)
    assert (run.summary["relative_change"] == 0.0).all()
    assert (run.summary["method"] == "degenerate: identical branches").all()
    assert (run.per_user["repeats"] == 0).all()
    seeing = build_real_adapter(f"checkpoint:{checkpoints['dislike_feature']}", data)
    run = measure_real_responsiveness(data, seeing, config)
    a = run.per_user[run.per_user["branch"] == "rating=5"][["content", "creator"]].to_numpy()
    b = run.per_user[run.per_user["branch"] == "rating=1"][["content", "creator"]].to_numpy()
    assert not np.array_equal(a, b, equal_nan=True)


def test_checkpoint_of_another_data_set_is_refused(checkpoints):
    other = tiny_data(seed=1)
    with pytest.raises(ValueError, match="was trained on world"):
        build_real_adapter(f"checkpoint:{checkpoints['baseline']}", other)


def test_every_real_bootstrap_interval_reports_progress(data):
    """The progress bar's total (``interval_count``) is what the summaries compute."""
    from simulator import interval_count

    config = RealHistoryConfig(k=6, ratings=(5, 3, 1), **FAST)
    adapters = {s: build_real_adapter(s, data) for s in ("popularity", "filter:popularity")}
    ticks = []
    runs = compare_real(data, adapters, config, on_interval=lambda: ticks.append(1))
    assert len(ticks) == interval_count(config) * len(adapters) == 2 * 2 * 2
    assert len(ticks) == sum(len(run.summary) for run in runs)
