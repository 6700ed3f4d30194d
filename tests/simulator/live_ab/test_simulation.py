import math
import re

import numpy as np
import pandas as pd
import pytest

from agents import Recent, UserModel
from agents.response import DISLIKE, LIKE, POSITIVE, SKIP
from experiments.published import LIVE_AB
from recommenders import FeedbackFilter, PopularityAdapter, RandomAdapter, RecommenderAdapter
from simulator import World
from simulator.live_ab import metrics
from simulator.live_ab.metrics import (
    METRIC_NAMES,
    METRICS,
    USER_DAY_COLUMNS,
    EventCount,
    Metric,
    check_metrics,
    compare_arms,
    entropy_nats,
)
from simulator.live_ab.plots import plot_live_ab
from simulator.live_ab.simulation import LiveABConfig, _LiveUsers, run_live_ab

FAST = {"n_users": 60, "n_days": 3, "max_session": 10, "slate_size": 5, "n_resamples": 200}


def config(**overrides) -> LiveABConfig:
    return LiveABConfig(**{**FAST, **overrides})


@pytest.fixture(scope="module")
def pop_vs_filter(small_world):
    arms = {
        "baseline": PopularityAdapter(small_world.corpus),
        "filter": FeedbackFilter(PopularityAdapter(small_world.corpus), small_world.corpus),
    }
    return run_live_ab(small_world, arms, config(), progress=False)


def test_identical_arms_give_exactly_zero_change(small_world):
    arms = {
        "baseline": RandomAdapter(small_world.corpus, seed=5),
        "twin": RandomAdapter(small_world.corpus, seed=5),
    }
    result = run_live_ab(small_world, arms, config(), progress=False)
    users = result.users.drop(columns="arm")
    base, twin = (users[result.users["arm"] == a].reset_index(drop=True) for a in arms)
    pd.testing.assert_frame_equal(base, twin)
    for table in (result.daily, result.summary):
        defined = table[table["relative_change"].notna()]
        assert len(defined) > 0.5 * len(table)
        # The rest is undefined, not zero: no baseline user had any (e.g. repeated skips).
        assert (
            table.loc[table["relative_change"].isna(), "method"].str.startswith("undefined").all()
        )
        assert (defined["relative_change"] == 0).all()
        assert (defined["ci_low"] == 0).all() and (defined["ci_high"] == 0).all()
        assert not table["significant"].any()


def test_same_seed_same_tables_other_seed_other_users(small_world):
    def run(seed):
        arms = {
            "baseline": PopularityAdapter(small_world.corpus),
            "r": RandomAdapter(small_world.corpus),
        }
        return run_live_ab(small_world, arms, config(seed=seed), progress=False)

    a, b, c = run(7), run(7), run(8)
    for name in ("users", "daily", "summary"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.users["consumed"].equals(c.users["consumed"])


def test_common_random_numbers_until_the_first_dislike(pop_vs_filter, small_world):
    # Popularity and its filter serve the same slates until a user dislikes something;
    # with the same keyed draws every user's history must agree up to that event.
    base, filt = (pop_vs_filter.histories[a] for a in ("baseline", "filter"))
    diverged = 0
    for u in range(len(base)):
        disliked = np.flatnonzero(base.feedback[u, : base.lengths[u]] == DISLIKE)
        end = disliked[0] + 1 if disliked.size else base.lengths[u]
        if not disliked.size:  # the filter never acted: the whole history is the same
            assert filt.lengths[u] == base.lengths[u]
        assert filt.lengths[u] >= end
        for field in ("items", "feedback", "dwell"):
            np.testing.assert_array_equal(
                getattr(base, field)[u, :end], getattr(filt, field)[u, :end]
            )
        diverged += disliked.size and not np.array_equal(
            base.items[u, : base.lengths[u]], filt.items[u, : filt.lengths[u]]
        )
    assert diverged > 0  # the comparison is not vacuous


class FixedSlate(RecommenderAdapter):
    """The same slate for everyone, every time (repeats allowed by the contract's checks)."""

    def recommend(self, histories, slate_size):
        return np.tile(np.arange(slate_size), (len(histories), 1))


def test_draws_never_repeat_across_days(small_world):
    # Same slate and a fresh session every day: only the keyed draws can tell days
    # apart, so keys that repeated across days would replay day 1's session.
    cfg = config(return_bias=50.0)
    result = run_live_ab(small_world, {"baseline": FixedSlate(), "b": FixedSlate()}, cfg, False)
    h = result.histories["baseline"]
    users = result.users[result.users["arm"] == "baseline"]
    per_day = users.pivot(index="user", columns="day", values="consumed").to_numpy()
    assert (per_day[:, 0] != per_day[:, 1]).mean() > 0.5
    first_two = [
        h.items[u, : per_day[u, 0]].tolist()
        == h.items[u, per_day[u, 0] : per_day[u, :2].sum()].tolist()
        for u in range(len(h))
    ]
    assert sum(first_two) < len(h) / 2


def test_filter_removes_repeated_dislikes_of_a_creator(pop_vs_filter):
    users = pop_vs_filter.users
    assert users.loc[users["arm"] == "baseline", "repeat_dislikes"].sum() > 0
    assert users.loc[users["arm"] == "filter", "repeat_dislikes"].sum() == 0
    row = pop_vs_filter.summary.set_index("metric").loc["repeat_dislike_rate"]
    assert row["relative_change"] == -1.0 and row["mean_arm"] == 0.0


def test_user_day_counts_match_the_histories(pop_vs_filter, small_world):
    """Recount every per-user-day number from the final histories, one event at a time."""
    c = FAST["max_session"]
    creator, cluster = small_world.corpus.creator, small_world.corpus.cluster
    for arm, histories in pop_vs_filter.histories.items():
        table = pop_vs_filter.users[pop_vs_filter.users["arm"] == arm].set_index(["user", "day"])
        for u in range(len(histories)):
            disliked, skipped, pos = set(), set(), 0
            for day in range(1, FAST["n_days"] + 1):
                row = table.loc[(u, day)]
                n = int(row["consumed"])
                assert row["active"] or n == 0
                events = range(pos, pos + n)
                pos += n
                fb = histories.feedback[u, events]
                items = histories.items[u, events]
                repeat_d = repeat_s = 0
                for item, code in zip(items, fb, strict=True):
                    if code == DISLIKE:
                        repeat_d += creator[item] in disliked
                        disliked.add(creator[item])
                    if code == SKIP:
                        repeat_s += creator[item] in skipped
                        skipped.add(creator[item])
                enjoyed = np.isin(fb, (POSITIVE, LIKE))
                assert n <= c
                assert row["dislikes"] == (fb == DISLIKE).sum()
                assert row["skips"] == (fb == SKIP).sum()
                assert row["repeat_dislikes"] == repeat_d and row["repeat_skips"] == repeat_s
                assert row["enjoyment"] == pytest.approx(histories.dwell[u, events][enjoyed].sum())
                counts = np.bincount(cluster[items], minlength=small_world.corpus.n_clusters)
                assert row["diversity"] == pytest.approx(entropy_nats(counts[None])[0])
                if row["active"]:
                    expected = (enjoyed.sum() - (fb == DISLIKE).sum()) / max(n, 1)
                    assert row["satisfaction"] == pytest.approx(expected)
            assert pos == histories.lengths[u]


def test_only_users_in_session_are_asked(small_world):
    class Counting(PopularityAdapter):
        asked: list

        def recommend(self, histories, slate_size):
            self.asked.append(len(histories))
            return super().recommend(histories, slate_size)

    adapter = Counting(small_world.corpus)
    adapter.asked = []
    cfg = config(no_choice_utility=2.0)
    result = run_live_ab(
        small_world, {"baseline": adapter, "b": RandomAdapter(small_world.corpus)}, cfg, False
    )
    users = result.users[result.users["arm"] == "baseline"]
    # One request per consumed item, plus the slate a user left on (none after max_session).
    left = (users["active"] == 1) & (users["consumed"] < cfg.max_session)
    assert sum(adapter.asked) == users["consumed"].sum() + left.sum()
    assert result.service["baseline"].histories == sum(adapter.asked)
    assert max(adapter.asked) <= cfg.n_users and left.sum() > 0


def test_return_model_extremes_and_churn_bookkeeping(small_world):
    arms = {
        "baseline": PopularityAdapter(small_world.corpus),
        "r": RandomAdapter(small_world.corpus),
    }
    always = run_live_ab(small_world, arms, config(return_bias=50.0), progress=False)
    assert (always.users["active"] == 1).all() and (always.users["churned"] == 0).all()
    never = run_live_ab(small_world, arms, config(return_bias=-50.0), progress=False)
    assert (never.users["active"] == (never.users["day"] == 1)).all()
    assert never.daily_active_users().loc[1].tolist() == [60, 60]
    assert (never.users.loc[never.users["day"] == 2, "churned"] == 1).all()
    users = never.users.sort_values(["arm", "user", "day"])
    prev = users.groupby(["arm", "user"])["active"].shift(1, fill_value=0)
    assert (users["prev_active"] == prev).all()


def test_entropy_by_hand():
    got = entropy_nats(np.array([[2, 2, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1], [3, 1, 0]]))
    p = np.array([0.75, 0.25])
    want = [math.log(2), 0.0, 0.0, math.log(3), -(p * np.log(p)).sum()]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


def test_record_counts_repeats_across_days(small_world):
    model = UserModel(small_world.population, [0, 0, 1, 1], [0, 0, 1, 1], np.zeros(4))
    users = _LiveUsers(2, 8, model, n_clusters=2)
    rows = np.array([0, 1])
    users.record(rows, np.array([0, 2]), np.array([DISLIKE, SKIP]), np.array([0.9, 0.1]))
    users.record(rows, np.array([1, 3]), np.array([DISLIKE, LIKE]), np.array([0.5, 0.8]))
    assert users.counts["repeat_dislikes"].tolist() == [1, 0]
    assert users.counts["dislikes"].tolist() == [2, 0]
    assert users.counts["enjoyment"].tolist() == [0.0, 0.8]
    assert users.counts["skips"].tolist() == [0, 1] and users.counts["likes"].tolist() == [0, 1]
    np.testing.assert_allclose(users.satisfaction(), [-1.0, 0.5])
    users.start_day()  # the creator memory outlives the day; the counters do not
    users.record(np.array([0]), np.array([2]), np.array([DISLIKE]), np.array([0.3]))
    users.record(np.array([0]), np.array([3]), np.array([DISLIKE]), np.array([0.3]))
    assert users.counts["repeat_dislikes"].tolist() == [1, 0]
    assert users.lengths.tolist() == [4, 2]
    recent = users.recent(np.array([0, 1]), 3)
    # Today's session only, as wide as the longest one today (2 events), not the window.
    assert recent.items.tolist() == [[3, 2], [-1, -1]]
    # A model whose memory spans sessions (a fitted world's) reads every day.
    every_day = users.recent(np.array([0, 1]), 3, all_sessions=True)
    assert every_day.items.tolist() == [[3, 2, 1], [3, 2, -1]]
    assert every_day.feedback.tolist() == [[DISLIKE, DISLIKE, DISLIKE], [LIKE, SKIP, -1]]
    # User 1 skipped creator 1 (item 2) on day 1, so a skip of creator 1 today repeats;
    # a like (item 3, day 1) is remembered as a like only: a dislike there is no repeat.
    users.record(np.array([1]), np.array([3]), np.array([SKIP]), np.array([0.1]))
    users.record(np.array([1]), np.array([2]), np.array([DISLIKE]), np.array([0.1]))
    assert users.counts["repeat_skips"].tolist() == [0, 1]
    assert users.counts["repeat_dislikes"].tolist() == [1, 0]


def _hand_table(arm_name: str = "t") -> pd.DataFrame:
    # 3 users, 2 days; user 2 consumes nothing in the baseline, so it drops out of rates.
    base = {"dislikes": [1, 0, 0, 2, 0, 0], "consumed": [2, 4, 0, 2, 4, 0]}
    arm = {"dislikes": [0, 0, 1, 1, 0, 0], "consumed": [2, 4, 1, 2, 4, 0]}
    rows = []
    for name, data in (("baseline", base), (arm_name, arm)):
        for i in range(6):
            day, user = 1 + i // 3, i % 3
            consumed = data["consumed"][i]
            # Every counter column not set below is 0, whatever COUNTERS declares.
            row = dict.fromkeys(USER_DAY_COLUMNS, 0)
            row.update(
                arm=name,
                day=day,
                user=user,
                dislikes=data["dislikes"][i],
                consumed=consumed,
                active=1,
                prev_active=int(day > 1),
                has_items=int(consumed > 0),
                enjoyment=float(consumed),
                diversity=0.0,
            )
            rows.append(row)
    return pd.DataFrame(rows)


def test_compare_arms_by_hand():
    daily, summary = compare_arms(_hand_table(), "baseline", n_resamples=200)
    pooled = summary.set_index("metric").loc["dislike_rate"]
    # per-user ratio of totals: baseline (3/4, 0/8), arm (1/4, 0/8); user 2 undefined in baseline
    assert pooled["n"] == 2
    assert pooled["mean_baseline"] == pytest.approx(0.375)
    assert pooled["mean_arm"] == pytest.approx(0.125)
    assert pooled["relative_change"] == pytest.approx(-2 / 3)
    day1 = daily[(daily["metric"] == "dislike_rate") & (daily["day"] == 1)].iloc[0]
    assert day1["mean_baseline"] == pytest.approx(0.25) and day1["mean_arm"] == 0.0
    assert list(summary["metric"]) == list(METRIC_NAMES)
    assert summary["paper"].isna().all()  # arm "t" is no paper variant
    churn_day1 = daily[(daily["metric"] == "churn") & (daily["day"] == 1)].iloc[0]
    assert churn_day1["n"] == 0 and math.isnan(churn_day1["relative_change"])


def test_published_values_are_attached_by_arm_and_metric():
    table = _hand_table("dislike_feature_label")
    _, summary = compare_arms(table, "baseline", n_resamples=200, reference=LIVE_AB)
    paper = summary.set_index("metric")["paper"]
    assert paper["dislike_rate"] == LIVE_AB[("dislike_feature_label", "dislike_rate")] == -0.0244
    assert paper["repeat_dislike_rate"] == -0.0960
    assert paper.drop(["dislike_rate", "repeat_dislike_rate"]).isna().all()
    _, unreferenced = compare_arms(table, "baseline", n_resamples=200)
    assert unreferenced["paper"].isna().all()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_users", 1, "n_users must be >= 2"),
        ("n_days", 0, "n_days must be >= 1"),
        ("max_session", 0, "max_session must be >= 1"),
        ("slate_size", 0, "slate_size must be >= 1"),
        ("temperature", 0.0, "temperature must be > 0"),
        ("no_choice_utility", -math.inf, "no_choice_utility must be finite"),
        ("return_weight", -1.0, "return_weight must be finite and >= 0"),
        ("return_bias", math.nan, "return_bias must be finite"),
        ("confidence", 1.0, "confidence must be in (0, 1)"),
        ("n_resamples", 10, "n_resamples must be in [100, 1,000,000]"),
        ("seed", -1, "seed must be in"),
        ("baseline", "", "baseline must name an arm"),
    ],
)
def test_bad_config_is_a_one_line_error(field, value, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)) as e:
        LiveABConfig(**{field: value})
    assert "\n" not in str(e.value)


def test_bad_runs_are_one_line_errors(small_world):
    pop = PopularityAdapter(small_world.corpus)
    cases = [
        ({"baseline": pop}, config(), "need at least 2 arms"),
        ({"a": pop, "b": pop}, config(), "baseline arm 'baseline' is not among"),
        ({"baseline": pop, "b": pop}, config(n_users=61), "n_users 61 exceeds"),
        ({"baseline": pop, "b": pop}, config(n_days=30), "exceeds the world's 300 items"),
    ]
    for arms, cfg, message in cases:
        with pytest.raises(ValueError, match=message) as e:
            run_live_ab(small_world, arms, cfg, progress=False)
        assert "\n" not in str(e.value)


def test_plot_writes_png_and_pdf(pop_vs_filter, tmp_path):
    paths = plot_live_ab(pop_vs_filter.daily, tmp_path / "fig", metrics=("dislike_rate", "churn"))
    assert [p.name for p in paths] == ["fig.png", "fig.pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="lacks column"):
        plot_live_ab(pop_vs_filter.daily.drop(columns="ci_low"), tmp_path / "bad")


def test_table_columns_and_metrics_keep_their_order(pop_vs_filter):
    # The order of the runs already written; a column or metric added may go anywhere.
    columns = (
        *("arm", "day", "user", "active", "prev_active", "churned", "consumed", "has_items"),
        *("dislikes", "repeat_dislikes", "skips", "repeat_skips", "likes", "enjoyment"),
        *("diversity", "satisfaction"),
    )
    assert tuple(c for c in USER_DAY_COLUMNS if c in columns) == columns
    assert list(pop_vs_filter.users.columns) == list(USER_DAY_COLUMNS)
    metrics = (
        *("dislike_rate", "repeat_dislike_rate", "skip_rate", "repeat_skip_rate"),
        *("enjoyment", "diversity", "consumed", "active", "churn"),
    )
    assert tuple(m for m in METRIC_NAMES if m in metrics) == metrics
    assert "enjoyed" not in USER_DAY_COLUMNS  # counted for satisfaction, not a column


def test_a_metric_must_be_a_ratio_of_declared_columns():
    check_metrics(METRICS, USER_DAY_COLUMNS)
    bad = (*METRICS, Metric("watch_rate", "likes", "watched", "likes per watched item"))
    with pytest.raises(ValueError, match="'watch_rate': 'watched' is not a per-user-day column"):
        check_metrics(bad, USER_DAY_COLUMNS)
    with pytest.raises(ValueError, match="'enjoyed' is not a per-user-day column"):
        check_metrics((Metric("x", "enjoyed", None, ""),), USER_DAY_COLUMNS)
    with pytest.raises(ValueError, match="metric names repeat"):
        check_metrics((*METRICS, METRICS[0]), USER_DAY_COLUMNS)


def test_an_added_counter_and_metric_reach_the_tables(small_world, monkeypatch):
    """One EventCount and one Metric entry: a column, per-day and pooled rows, counted right."""
    counter = EventCount("long_dwells", lambda e: e.dwell >= 0.9, "events watched >= 90%")
    metric = Metric("long_dwell_rate", "long_dwells", "consumed", "per consumed item")
    monkeypatch.setattr(metrics, "COUNTERS", (*metrics.COUNTERS, counter))
    monkeypatch.setattr(metrics, "METRICS", (*metrics.METRICS, metric))
    arms = {
        "baseline": PopularityAdapter(small_world.corpus),
        "random": RandomAdapter(small_world.corpus),
    }
    result = run_live_ab(small_world, arms, config(), progress=False)
    assert list(result.users.columns) == [*USER_DAY_COLUMNS, "long_dwells"]
    for arm, histories in result.histories.items():
        counted = result.users[result.users["arm"] == arm].groupby("user")["long_dwells"].sum()
        dwell = np.where(histories.mask, histories.dwell, 0.0)
        np.testing.assert_array_equal(counted.to_numpy(), (dwell >= 0.9).sum(axis=1))
    assert result.summary["metric"].iloc[-1] == "long_dwell_rate"
    assert (result.daily["metric"] == "long_dwell_rate").sum() == FAST["n_days"]
    row = result.summary.set_index("metric").loc["long_dwell_rate"]
    assert 0 < row["mean_baseline"] < 1 and row["n"] > 0


def test_a_step_where_every_user_leaves_is_not_an_error():
    """30 users, 2 days (live_ab.py --n-users 30 --days 2): at some step every user still
    in session picks no-choice, so the response model is asked about no users; that
    used to fail with "cannot reshape array of size 0"."""
    world = World.default(0, 30)
    arms = {
        "baseline": PopularityAdapter(world.corpus),
        "filter": FeedbackFilter(PopularityAdapter(world.corpus), world.corpus),
    }
    result = run_live_ab(world, arms, LiveABConfig(n_users=30, n_days=2), progress=False)
    assert len(result.users) == 2 * 2 * 30
    empty = np.empty(0, np.int64)
    recent = Recent(np.empty((0, 5), np.int64), np.empty((0, 5), np.int64))
    response = world.user_model(0).respond(empty, empty, 0, recent)
    assert response.feedback.shape == (0,) and response.dwell.shape == (0,)


def test_every_live_ab_interval_reports_progress(pop_vs_filter):
    users = pop_vs_filter.users
    days = users["day"].nunique()
    ticks = []
    daily, summary = compare_arms(
        users, "baseline", n_resamples=100, on_interval=lambda: ticks.append(1)
    )
    assert len(ticks) == len(daily) + len(summary) == len(summary) * (days + 1)
