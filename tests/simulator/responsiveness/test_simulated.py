"""Branches share history and random numbers and differ only in the action."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommenders import FeedbackFilter, PopularityAdapter, RandomAdapter
from simulator import BranchAction, ResponsivenessConfig, measure_responsiveness

BRANCH_SETS = [
    ("long_dwell", "long_dwell+dislike"),
    ("long_dwell", "skip"),
    ("long_dwell", "long_dwell+dislike", "skip+dislike", "long_dwell+like"),
]


def _trace(world, adapter, config):
    events = []

    def keep(event):
        events.append(
            (
                event.users.copy(),
                event.step,
                event.branch,
                np.array(event.histories.items),
                np.array(event.histories.feedback),
                np.array(event.histories.dwell),
                event.slates.copy(),
            )
        )

    run = measure_responsiveness(world, adapter, config, summary=False, on_slate=keep)
    return run, events


def _per_user(events, n_users, n_branches, k, horizon):
    """histories[b][step][user] -> (items, feedback, dwell); slates likewise."""
    hist = {}
    slates = {}
    for users, step, branch, items, feedback, dwell, slate in events:
        if branch is None:
            continue
        for row, user in enumerate(users):
            hist[branch, step, user] = (items[row], feedback[row], dwell[row])
            slates[branch, step, user] = slate[row]
    return hist, slates


settings_ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@given(
    k=st.integers(1, 6),
    horizon=st.integers(1, 3),
    n_users=st.integers(1, 40),
    cohort_size=st.integers(1, 40),
    stagger=st.sampled_from([0.0, 0.3]),
    window=st.sampled_from([0.0, 0.5]),
    branches=st.sampled_from(BRANCH_SETS),
    seed=st.integers(0, 2**31),
    filtered=st.booleans(),
    static=st.booleans(),
)
@settings_
def test_branches_differ_only_in_the_action(
    small_world,
    static_world,
    k,
    horizon,
    n_users,
    cohort_size,
    stagger,
    window,
    branches,
    seed,
    filtered,
    static,
):
    # With session momentum a branch's user state differs after the fork (x_k was
    # enjoyed in one branch, disliked in another), so the same draws may give
    # different responses; static users isolate the draws themselves.
    small_world = static_world if static else small_world
    corpus = small_world.corpus
    adapter = PopularityAdapter(corpus)
    if filtered:
        adapter = FeedbackFilter(adapter, corpus)
    config = ResponsivenessConfig(
        n_users=n_users,
        k=k,
        slate_size=5,
        horizon=horizon,
        branches=branches,
        seed=seed,
        cohort_size=cohort_size,
        cohort_stagger=stagger,
        batch_window=window,
        n_resamples=100,
    )
    _, events = _trace(small_world, adapter, config)
    hist, slates = _per_user(events, n_users, len(branches), k, horizon)
    actions = [BranchAction.parse(b) for b in branches]
    for user in range(n_users):
        items0, fb0, dw0 = hist[0, k + 1, user]
        for b, action in enumerate(actions):
            items, fb, dw = hist[b, k + 1, user]
            # Identical history up to k-1, and the same x_k.
            assert np.array_equal(items, items0)
            assert np.array_equal(fb[: k - 1], fb0[: k - 1])
            assert np.array_equal(dw[: k - 1], dw0[: k - 1])
            # The action, and only the action, at position k.
            assert fb[k - 1] == action.feedback and dw[k - 1] == action.dwell
        # Identical random numbers after the fork: where two branches got the
        # same slate, the user consumed the same item (the random trajectory's
        # draw), and for static users with the same response too.
        for step in range(k + 1, k + horizon):
            for b in range(1, len(actions)):
                if np.array_equal(slates[0, step, user], slates[b, step, user]):
                    nxt0 = [a[step - 1] for a in hist[0, step + 1, user]]
                    nxtb = [a[step - 1] for a in hist[b, step + 1, user]]
                    assert nxt0[0] == nxtb[0]
                    if static:
                        assert nxt0 == nxtb


@given(seed=st.integers(0, 2**31), cohort_size=st.integers(1, 25))
@settings_
def test_feedback_blind_adapter_has_zero_responsiveness(small_world, seed, cohort_size):
    config = ResponsivenessConfig(
        n_users=25,
        k=4,
        slate_size=5,
        horizon=2,
        seed=seed,
        cohort_size=cohort_size,
        n_resamples=100,
    )
    run = measure_responsiveness(small_world, RandomAdapter(small_world.corpus, seed=1), config)
    table = run.per_user.pivot_table(
        index=["user", "step"], columns="branch", values=["content", "creator"]
    )
    # RandomAdapter keys its draw on the whole history (feedback included), so
    # slates may differ; popularity must not.
    run = measure_responsiveness(small_world, PopularityAdapter(small_world.corpus), config)
    table = run.per_user.pivot_table(
        index=["user", "step"], columns="branch", values=["content", "creator"]
    )
    for kind in ("content", "creator"):
        assert np.array_equal(table[kind]["long_dwell"], table[kind]["long_dwell+dislike"])
    assert (run.summary["relative_change"].fillna(0) == 0).all()


def test_results_do_not_depend_on_cohorts_or_batching(small_world):
    base = dict(n_users=40, k=5, slate_size=5, horizon=2, seed=9, n_resamples=200)
    adapter = FeedbackFilter(PopularityAdapter(small_world.corpus), small_world.corpus)
    reference = measure_responsiveness(small_world, adapter, ResponsivenessConfig(**base))
    for extra in (
        {"cohort_size": 7},
        {"cohort_size": 3, "cohort_stagger": 0.5, "batch_window": 0.7},
    ):
        other = measure_responsiveness(small_world, adapter, ResponsivenessConfig(**base, **extra))
        assert reference.per_user.equals(other.per_user)
        assert reference.summary.equals(other.summary)


def test_every_bootstrap_interval_reports_progress(small_world):
    """With many resamples the intervals take minutes: each one ticks the caller's bar."""
    from simulator import interval_count

    config = ResponsivenessConfig(
        n_users=40, k=4, horizon=2, branches=BRANCH_SETS[2], n_resamples=100
    )
    ticks = []
    run = measure_responsiveness(
        small_world,
        PopularityAdapter(small_world.corpus),
        config,
        on_interval=lambda: ticks.append(1),
    )
    assert len(ticks) == interval_count(config) == len(run.summary) == 3 * 2 * 2
