r"""Counterfactual responsiveness on *real* user histories (docs/results.md, section 7).

Wang et al. (RecSys 2023, section 4) could measure responsiveness only on
simulated users, because a logged user cannot be asked twice. A sequential
recommender, however, is a function of the history it is shown, so a real
history can be forked exactly as a simulated one is:

1. take user u's real events 1..k-1, oldest first (item, feedback from the
   real rating through the data set's :class:`~recommenders.datasets.RatingRule`,
   dwell as logged: 1.0 in MovieLens);
2. append the user's real k-th item x_k once per branch, each time with the
   feedback of a *counterfactual* rating (default: 5 for the reference branch A,
   1 for the treatment branch B) and x_k's logged dwell. The branches are
   identical except for the feedback code of that last event;
3. ask the recommender for the next slate of each branch (the slate for step
   k+1) and score it against x_k by every kind of :data:`simulator.similarity.SIMILARITY_KINDS`
   (computed on :meth:`simulator.similarity.ItemAttributes.from_interactions`):

   * ``content``: share of the slate's items that share at least one genre
     with x_k (rule ``"any"``: item j is similar when
     ``cluster_matrix[j] & cluster_matrix[x_k]`` is not all False; MovieLens
     lists up to 6 genres per movie), or, with rule ``"primary"``, whose first
     listed genre equals x_k's. Undefined (NaN) when x_k has no genre;
   * ``creator``: share of the slate's items by x_k's director. Undefined
     (NaN) when x_k's director is unknown (-1): such users are left out of the
     creator kind and counted. An item of unknown director is never similar.

   Both are unitless shares in [0, 1] of a slate of ``slate_size`` items.

Responsiveness of branch B against A, per model and kind, over the users u
whose similarity is defined::

    R = (mean_u S_B(u) - mean_u S_A(u)) / mean_u S_A(u)

a fraction (x100 for percent), with the paired BCa bootstrap CI of
:func:`simulator.bootstrap.relative_change_ci`. The summary table has the
columns of :func:`simulator.responsiveness.simulated.summarize`, so
:func:`simulator.responsiveness.plots.plot_responsiveness` draws it (Fig. 3b style).

Which users: with ``k`` an integer (default 50, the paper's), users with at
least k events; the others are left out and counted. Every history then has
exactly k events, so models are compared at one history length (and a model
with ``max_len`` 50 sees the whole history). With ``k=None`` x_k is each
user's *last* event and every user takes part: under the leave-one-out
protocol the trained models use (``TrainConfig.n_holdout = 2``), that event
was never a training input, so the fork is out of sample for every user.

Slates exclude items already in the history (the adapters do it; the number
of slate items found in the history is recorded per user as ``repeats`` and
expected to be 0). Each adapter is called once per branch per chunk of
``chunk_size`` users, on padded arrays: no per-user Python loop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from recommenders import PAD, Feedback, HistoryBatch
from recommenders.datasets import InteractionData, RatingRule
from simulator.bootstrap import MAX_RESAMPLES
from simulator.similarity import CONTENT_RULES

SUMMARY_COLUMNS = (
    "model",
    "reference",
    "branch",
    "kind",
    "step",
    "mean_a",
    "mean_b",
    "relative_change",
    "ci_low",
    "ci_high",
    "n",
    "method",
)


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value) -> bool:
    number = isinstance(value, int | float | np.integer | np.floating)
    return number and not isinstance(value, bool) and np.isfinite(value)


@dataclass(frozen=True)
class RealHistoryConfig:
    """Parameters of the real-history protocol (see the module docstring).

    Attributes:
        k: 1-based position of the forked item x_k in each user's history
            (history = real events 1..k-1, then x_k); users with fewer than k
            events are left out. ``None``: x_k is each user's last event.
        n_users: measure at most this many eligible users, drawn uniformly
            without replacement with ``seed`` (then sorted); None = all.
        slate_size: items per slate.
        ratings: counterfactual rating of x_k per branch, reference first;
            each becomes a Feedback code through the data set's rating rule
            (default rule: 5 -> POSITIVE, 1 -> DISLIKE, 3 -> SKIP; numbers, so a
            half-star data set takes e.g. 4.5 if its rule's scale has it). Two ratings
            with the same code would make identical branches and are refused.
        content_rule: ``"any"`` (shares at least one genre with x_k) or
            ``"primary"`` (same first-listed genre).
        seed: draws the users when capped, and seeds the bootstrap.
        confidence, n_resamples: of the bootstrap CI.
        chunk_size: users per ``recommend`` call (bounds memory: a scoring
            adapter holds chunk_size x n_items float64 scores).
    """

    k: int | None = 50
    n_users: int | None = None
    slate_size: int = 10
    ratings: tuple[float, ...] = (5, 1)
    content_rule: str = "any"
    seed: int = 0
    confidence: float = 0.95
    n_resamples: int = 2000
    chunk_size: int = 1024

    def __post_init__(self) -> None:
        ratings = tuple(self.ratings) if isinstance(self.ratings, list | tuple) else None
        checks = [
            (
                self.k is None or (_is_int(self.k) and self.k >= 1),
                f"k must be an integer >= 1 or None (each user's last event), got {self.k!r}",
            ),
            (
                self.n_users is None or (_is_int(self.n_users) and self.n_users >= 1),
                f"n_users must be an integer >= 1 or None (all eligible), got {self.n_users!r}",
            ),
            (
                _is_int(self.slate_size) and self.slate_size >= 1,
                f"slate_size must be an integer >= 1, got {self.slate_size!r}",
            ),
            (
                ratings is not None and len(ratings) >= 2 and all(_is_number(r) for r in ratings),
                f"ratings must be >= 2 numbers (reference first), got {self.ratings!r}",
            ),
            (
                ratings is None or len(set(ratings)) == len(ratings),
                f"ratings must be distinct, got {self.ratings!r}",
            ),
            (
                self.content_rule in CONTENT_RULES,
                f"content_rule must be one of {CONTENT_RULES}, got {self.content_rule!r}",
            ),
            (
                _is_int(self.seed) and 0 <= self.seed < 2**63,
                f"seed must be an integer in [0, 2**63), got {self.seed!r}",
            ),
            (0 < self.confidence < 1, f"confidence must be in (0, 1), got {self.confidence}"),
            (
                _is_int(self.n_resamples) and 100 <= self.n_resamples <= MAX_RESAMPLES,
                f"n_resamples must be an integer in [100, {MAX_RESAMPLES:,}], "
                f"got {self.n_resamples!r}",
            ),
            (
                _is_int(self.chunk_size) and self.chunk_size >= 1,
                f"chunk_size must be an integer >= 1, got {self.chunk_size!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        # Whole ratings stay ints, so branch names read rating=5, not rating=5.0.
        plain = tuple(int(r) if float(r).is_integer() else float(r) for r in ratings)
        object.__setattr__(self, "ratings", plain)

    @property
    def branches(self) -> tuple[str, ...]:
        """Branch names, reference first: ``rating=5``, ``rating=1``."""
        return tuple(f"rating={r}" for r in self.ratings)

    @property
    def step(self) -> int:
        """The summary's ``step``: k + 1, the slate after x_k; 0 when k is None.

        With ``k=None`` every user forks at their own length, so there is no
        common step; per-user steps are in the per-user table.
        """
        return 0 if self.k is None else self.k + 1

    def to_dict(self) -> dict:
        return asdict(self)


def branch_feedback(config: RealHistoryConfig, rule: RatingRule | None) -> tuple[int, ...]:
    """Feedback code of x_k in each branch: ``rule.feedback(rating)`` per configured rating.

    ``rule`` None (a data set loaded with feedback codes, not ratings) reads
    as the default :class:`RatingRule`. One-line ValueError for a rating
    outside the rule's range or two ratings that give the same code.
    """
    rule = RatingRule() if rule is None else rule
    ratings = np.asarray(config.ratings)
    bad = (ratings < rule.min_rating) | (ratings > rule.max_rating)
    if bad.any():
        raise ValueError(
            f"rating {ratings[bad][0]} is outside the data set's rating range "
            f"[{rule.min_rating}, {rule.max_rating}]"
        )
    codes = tuple(int(c) for c in rule.feedback(ratings))
    if len(set(codes)) != len(codes):
        named = ", ".join(f"{r} -> {Feedback(c).name}" for r, c in zip(ratings, codes, strict=True))
        raise ValueError(f"two ratings give the same feedback ({named}): identical branches")
    return codes


@dataclass(frozen=True)
class Fork:
    """The branches of a set of users at their x_k.

    Attributes:
        users: dense user ids, one per row.
        lengths: events per history, x_k included (k, or the user's length).
        x_k: the forked item of each row.
        branches: one :class:`HistoryBatch` per branch code, rows as ``users``;
            ``items``, ``dwell`` and ``lengths`` are the same arrays in every
            branch and ``feedback`` differs only at column ``lengths - 1``.
    """

    users: np.ndarray
    lengths: np.ndarray
    x_k: np.ndarray
    branches: tuple[HistoryBatch, ...]


class RealHistories:
    """A data set's log as per-user slices, for forking real histories in bulk.

    The log is sorted by (user, position) with positions 0..T_u-1, so user
    u's events are the contiguous rows ``start[u] .. start[u] + count[u] - 1``.
    """

    def __init__(self, data: InteractionData) -> None:
        log = data.log
        self.n_users = data.n_users
        self.items = log["item"].to_numpy(np.int64)
        self.feedback = log["feedback"].to_numpy(np.int64)
        self.dwell = log["dwell"].to_numpy(np.float64)
        # A data set given as feedback codes has no ratings: -1 marks "not rated".
        # The log's own dtype: int64 whole stars, float64 half stars (never truncated).
        self.rating = (
            log["rating"].to_numpy() if "rating" in log.columns else np.full(len(log), -1, np.int64)
        )
        self.count = np.bincount(log["user"].to_numpy(), minlength=data.n_users).astype(np.int64)
        self.start = np.cumsum(self.count) - self.count

    def eligible(self, k: int | None) -> np.ndarray:
        """Dense ids of users with at least ``k`` events (every user when k is None)."""
        return np.flatnonzero(self.count >= (1 if k is None else k))

    def fork(self, users: np.ndarray, k: int | None, codes: tuple[int, ...]) -> Fork:
        """Real events 1..k-1 of each user, then their k-th item once per feedback code.

        Vectorised: one gather of (len(users), width) log rows, width = the
        longest history. Every user must have at least ``k`` events.
        """
        users = np.asarray(users, np.int64)
        lengths = self.lengths(users, k)
        if (lengths > self.count[users]).any():
            row = int(np.argmax(lengths > self.count[users]))
            raise ValueError(
                f"user {users[row]} has {self.count[users[row]]} events, fewer than k = {k}"
            )
        width = int(lengths.max()) if len(users) else 0
        cols = np.arange(width)
        valid = cols[None, :] < lengths[:, None]
        rows = np.where(valid, self.start[users][:, None] + cols, 0)
        items = np.where(valid, self.items[rows], PAD)
        dwell = np.where(valid, self.dwell[rows], np.nan)
        real = np.where(valid, self.feedback[rows], PAD)
        last = lengths - 1
        at = np.arange(len(users))
        branches = []
        for code in codes:
            feedback = real.copy()
            feedback[at, last] = code  # the only cell in which branches differ
            branches.append(HistoryBatch(items, feedback, dwell, lengths))
        x_k = items[at, last] if len(users) else np.zeros(0, np.int64)
        return Fork(users, lengths, x_k, tuple(branches))

    def lengths(self, users: np.ndarray, k: int | None) -> np.ndarray:
        """Events per forked history, x_k included: k, or each user's length when k is None."""
        users = np.asarray(users, np.int64)
        return self.count[users] if k is None else np.full(len(users), k, np.int64)

    def x_k_rating(self, users: np.ndarray, k: int | None) -> np.ndarray:
        """The real rating of each user's x_k (-1 when the data set has none)."""
        users = np.asarray(users, np.int64)
        return self.rating[self.start[users] + self.lengths(users, k) - 1]


@dataclass(frozen=True)
class UserSelection:
    """The measured users and how many were left out, for the run record."""

    users: np.ndarray
    n_total: int
    n_too_short: int
    n_eligible: int

    def to_dict(self) -> dict:
        return {
            "users_total": self.n_total,
            "users_too_short": self.n_too_short,
            "users_eligible": self.n_eligible,
            "users_measured": len(self.users),
        }


def select_users(histories: RealHistories, config: RealHistoryConfig) -> UserSelection:
    """Eligible users (>= k events), capped at ``n_users`` by a seeded uniform draw.

    One-line ValueError when no user is eligible.
    """
    eligible = histories.eligible(config.k)
    if not len(eligible):
        raise ValueError(
            f"no user has k = {config.k} events (the longest history has "
            f"{int(histories.count.max(initial=0))}); choose a smaller k"
        )
    users = eligible
    if config.n_users is not None and config.n_users < len(eligible):
        rng = np.random.default_rng(config.seed)
        users = np.sort(rng.choice(eligible, size=config.n_users, replace=False))
    return UserSelection(users, histories.n_users, histories.n_users - len(eligible), len(eligible))


__all__ = [
    "CONTENT_RULES",
    "SUMMARY_COLUMNS",
    "Fork",
    "RealHistories",
    "RealHistoryConfig",
    "UserSelection",
    "branch_feedback",
    "select_users",
]
