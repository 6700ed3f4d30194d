r"""Counterfactual responsiveness on *real* user histories (issue 5, item 4).

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
   k+1) and score it against x_k:

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
columns of :func:`simulator.responsiveness.summarize`, so
:func:`simulator.plots.plot_responsiveness` draws it (Fig. 3b style).

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

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recommenders import PAD, Feedback, HistoryBatch, RecommenderAdapter, validate_slates
from recommenders.atomic import atomic_write_csv, atomic_write_text
from recommenders.datasets import InteractionData, RatingRule
from simulator.bootstrap import relative_change_ci
from simulator.plots import plot_responsiveness
from simulator.report import FLOAT_FORMAT, package_versions
from simulator.responsiveness import SIMILARITY_KINDS

CONTENT_RULES = ("any", "primary")
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
            (default rule: 5 -> POSITIVE, 1 -> DISLIKE, 3 -> SKIP). Two ratings
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
    ratings: tuple[int, ...] = (5, 1)
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
                ratings is not None and len(ratings) >= 2 and all(_is_int(r) for r in ratings),
                f"ratings must be >= 2 integers (reference first), got {self.ratings!r}",
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
                _is_int(self.n_resamples) and self.n_resamples >= 100,
                f"n_resamples must be an integer >= 100, got {self.n_resamples!r}",
            ),
            (
                _is_int(self.chunk_size) and self.chunk_size >= 1,
                f"chunk_size must be an integer >= 1, got {self.chunk_size!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        object.__setattr__(self, "ratings", tuple(int(r) for r in ratings))

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
        self.rating = (
            log["rating"].to_numpy(np.int64)
            if "rating" in log.columns
            else np.full(len(log), -1, np.int64)
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


def shares_genre(slates: np.ndarray, x_k: np.ndarray, cluster_matrix: np.ndarray) -> np.ndarray:
    """Share of each slate's items sharing >= 1 genre with the row's x_k; NaN if x_k has none.

    ``slates`` (n, S) item ids, ``x_k`` (n,), ``cluster_matrix`` bool
    (n_items, n_genres). Returns float64 (n,) in [0, 1].
    """
    anchor = cluster_matrix[x_k]  # (n, G)
    similar = (cluster_matrix[slates] & anchor[:, None, :]).any(axis=2)
    share = similar.mean(axis=1)
    return np.where(anchor.any(axis=1), share, np.nan)


def same_attribute(slates: np.ndarray, x_k: np.ndarray, attribute: np.ndarray) -> np.ndarray:
    """Share of each slate's items whose ``attribute`` equals x_k's; NaN where x_k's is -1.

    For the creator (director) and the primary genre, where -1 means unknown:
    such an x_k has no defined similarity, and an unknown slate item never
    matches a known x_k.
    """
    anchor = attribute[x_k]
    share = (attribute[slates] == anchor[:, None]).mean(axis=1)
    return np.where(anchor >= 0, share, np.nan)


def slate_similarity(
    slates: np.ndarray, x_k: np.ndarray, data: InteractionData, content_rule: str = "any"
) -> dict[str, np.ndarray]:
    """``{"content": ..., "creator": ...}`` shares for each slate against its x_k."""
    if content_rule == "any":
        content = shares_genre(slates, x_k, data.cluster_matrix)
    elif content_rule == "primary":
        content = same_attribute(slates, x_k, data.cluster)
    else:
        raise ValueError(f"content_rule must be one of {CONTENT_RULES}, got {content_rule!r}")
    return {"content": content, "creator": same_attribute(slates, x_k, data.creator)}


def _repeats(batch: HistoryBatch, slates: np.ndarray, n_items: int) -> np.ndarray:
    """Per row, how many slate items are already in the row's history."""
    # A (rows, n_items) bool table costs n_items bytes a row (3.4 kB on ML-1M) and
    # is several times faster than np.isin on row-offset keys for long histories.
    rows, cols = np.nonzero(batch.mask)
    seen = np.zeros((len(slates), n_items), bool)
    seen[rows, batch.items[rows, cols]] = True
    return np.take_along_axis(seen, slates, axis=1).sum(axis=1)


@dataclass
class RealHistoryRun:
    """One adapter's measurement on real histories.

    Attributes:
        model: the adapter's label in the tables.
        per_user: one row per (user, branch): ``model, user`` (dense id),
            ``user_id`` (the data set's), ``branch, step`` (k + 1: the slate
            after x_k), ``x_k, x_k_item_id, x_k_rating`` (the real rating),
            ``x_k_cluster`` (primary genre), ``x_k_creator`` (-1 unknown),
            ``content, creator`` (shares in [0, 1], NaN where undefined) and
            ``repeats`` (slate items already in the history; 0 expected).
        summary: :func:`summarize_real` of ``per_user``.
        selection: the measured users and those left out.
        wall_seconds: forking, serving and scoring, bootstrap excluded.
        recommend_seconds: time inside ``adapter.recommend``.
        recommend_calls: ``recommend`` calls (chunks x branches).
    """

    model: str
    per_user: pd.DataFrame
    summary: pd.DataFrame
    selection: UserSelection
    wall_seconds: float
    recommend_seconds: float
    recommend_calls: int


def measure_real_responsiveness(
    data: InteractionData,
    adapter: RecommenderAdapter,
    config: RealHistoryConfig,
    name: str | None = None,
    progress: Callable[[int], object] | None = None,
    histories: RealHistories | None = None,
    selection: UserSelection | None = None,
) -> RealHistoryRun:
    """Fork every selected user's real history at x_k and score each branch's next slate.

    ``progress`` receives the number of user-branch slates served after each
    call. ``histories`` and ``selection`` may be passed to share them between
    adapters (see :func:`compare_real`). Slates are checked against the
    adapter contract (:func:`recommenders.validate_slates`).
    """
    name = name or adapter.name
    histories = RealHistories(data) if histories is None else histories
    selection = select_users(histories, config) if selection is None else selection
    codes = branch_feedback(config, data.rule)
    users = selection.users
    n, n_b = len(users), len(codes)
    sims = {kind: np.full((n_b, n), np.nan) for kind in SIMILARITY_KINDS}
    repeats = np.zeros((n_b, n), np.int64)
    lengths = np.zeros(n, np.int64)
    x_k = np.zeros(n, np.int64)
    start = time.perf_counter()
    recommend_seconds, calls = 0.0, 0
    # Chunks of users of similar length: with k=None, ML-1M histories run from 20 to
    # 2,277 events, and a chunk is padded to its longest. Adapters are pure functions
    # of each row's history, so the grouping does not change any slate.
    order = np.argsort(histories.lengths(users, config.k), kind="stable")
    for first in range(0, n, config.chunk_size):
        rows = order[first : first + config.chunk_size]
        fork = histories.fork(users[rows], config.k, codes)
        lengths[rows], x_k[rows] = fork.lengths, fork.x_k
        for b, batch in enumerate(fork.branches):
            tick = time.perf_counter()
            slates = adapter.recommend(batch, config.slate_size)
            recommend_seconds += time.perf_counter() - tick
            calls += 1
            slates = validate_slates(slates, len(batch), config.slate_size, data.n_items, name)
            for kind, values in slate_similarity(
                slates, fork.x_k, data, config.content_rule
            ).items():
                sims[kind][b, rows] = values
            repeats[b, rows] = _repeats(batch, slates, data.n_items)
            if progress is not None:
                progress(len(batch))
    wall = time.perf_counter() - start
    per_user = pd.DataFrame(
        {
            "model": name,
            "user": np.tile(users, n_b),
            "user_id": np.tile(data.user_ids[users], n_b),
            "branch": np.repeat(np.array(config.branches), n),
            "step": np.tile(lengths + 1, n_b),
            "x_k": np.tile(x_k, n_b),
            "x_k_item_id": np.tile(data.item_ids[x_k], n_b),
            "x_k_rating": np.tile(histories.x_k_rating(users, config.k), n_b),
            "x_k_cluster": np.tile(data.cluster[x_k], n_b),
            "x_k_creator": np.tile(data.creator[x_k], n_b),
            **{kind: values.ravel() for kind, values in sims.items()},
            "repeats": repeats.ravel(),
        }
    )
    summary = summarize_real(per_user, config)
    return RealHistoryRun(name, per_user, summary, selection, wall, recommend_seconds, calls)


def summarize_real(per_user: pd.DataFrame, config: RealHistoryConfig) -> pd.DataFrame:
    """Responsiveness with paired CIs per model, non-reference branch and kind.

    Columns as :func:`simulator.responsiveness.summarize`. For each kind only
    users with a defined similarity enter (NaN is undefined: x_k without a
    genre, or of unknown director); ``n`` counts them. With fewer than 2 such
    users the row is NaN with ``method`` saying why.
    """
    reference = config.branches[0]
    rows = []
    for model, model_rows in per_user.groupby("model", sort=False):
        by_branch = {b: g.sort_values("user") for b, g in model_rows.groupby("branch")}
        for branch in config.branches[1:]:
            for kind in SIMILARITY_KINDS:
                a = by_branch[reference][kind].to_numpy()
                b = by_branch[branch][kind].to_numpy()
                # Definedness depends on x_k only, which both branches share.
                defined = ~np.isnan(a) & ~np.isnan(b)
                a, b = a[defined], b[defined]
                if len(a) >= 2:
                    result = asdict(
                        relative_change_ci(
                            a,
                            b,
                            confidence=config.confidence,
                            n_resamples=config.n_resamples,
                            seed=config.seed,
                        )
                    )
                else:
                    nan = float("nan")
                    result = {
                        "mean_a": float(a.mean()) if len(a) else nan,
                        "mean_b": float(b.mean()) if len(b) else nan,
                        "relative_change": nan,
                        "ci_low": nan,
                        "ci_high": nan,
                        "n": len(a),
                        "method": f"undefined: {len(a)} user(s) with a defined {kind} similarity",
                    }
                rows.append(
                    {
                        "model": model,
                        "reference": reference,
                        "branch": branch,
                        "kind": kind,
                        "step": config.step,
                        **result,
                    }
                )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def compare_real(
    data: InteractionData,
    adapters: Mapping[str, RecommenderAdapter],
    config: RealHistoryConfig,
    progress: Callable[[int], object] | None = None,
    selection: UserSelection | None = None,
) -> list[RealHistoryRun]:
    """Measure several adapters on the same users and branches."""
    histories = RealHistories(data)
    selection = select_users(histories, config) if selection is None else selection
    return [
        measure_real_responsiveness(
            data, adapter, config, name, progress, histories=histories, selection=selection
        )
        for name, adapter in adapters.items()
    ]


def write_real_run(
    out: str | Path,
    runs: list[RealHistoryRun],
    config: RealHistoryConfig,
    data: InteractionData,
    extra: dict | None = None,
) -> dict[str, Path]:
    """Write responsiveness.csv, per_user.csv.gz, run.json and the plot; name -> path.

    Each file is written atomically. ``run.json`` records the config, the
    data set (name, fingerprint, sizes, rating rule), how many users were
    left out and why (too short; per kind, undefined similarity), the branch
    feedback codes, package versions and per-model wall times.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = pd.concat([run.summary for run in runs], ignore_index=True)
    per_user = pd.concat([run.per_user for run in runs], ignore_index=True)
    paths = {"responsiveness.csv": out / "responsiveness.csv"}
    atomic_write_csv(paths["responsiveness.csv"], table, FLOAT_FORMAT)
    paths["per_user.csv.gz"] = out / "per_user.csv.gz"
    atomic_write_csv(paths["per_user.csv.gz"], per_user, FLOAT_FORMAT)
    codes = branch_feedback(config, data.rule)
    selection = runs[0].selection
    first = runs[0].per_user
    reference = first[first["branch"] == config.branches[0]]
    record = {
        "command": sys.argv,
        "config": config.to_dict(),
        "data": data.summary(),
        "users": {
            **selection.to_dict(),
            "undefined": {kind: int(reference[kind].isna().sum()) for kind in SIMILARITY_KINDS},
        },
        "branches": {b: Feedback(c).name for b, c in zip(config.branches, codes, strict=True)},
        "seed": config.seed,
        "versions": package_versions(),
        "models": {
            run.model: {
                "wall_seconds": run.wall_seconds,
                "recommend_seconds": run.recommend_seconds,
                "recommend_calls": run.recommend_calls,
                "slate_items_already_in_history": int(run.per_user["repeats"].sum()),
            }
            for run in runs
        },
        **(extra or {}),
    }
    paths["run.json"] = out / "run.json"
    atomic_write_text(paths["run.json"], json.dumps(record, indent=2, default=str) + "\n")
    k = "last event" if config.k is None else config.k
    title = (
        f"Real histories ({data.name}): {config.branches[1]} vs {config.branches[0]}\n"
        f"k={k}, n={len(selection.users)} users"
    )
    for path in plot_responsiveness(table, out / "responsiveness", title=title):
        paths[path.name] = path
    return paths


__all__ = [
    "CONTENT_RULES",
    "Fork",
    "RealHistories",
    "RealHistoryConfig",
    "RealHistoryRun",
    "UserSelection",
    "branch_feedback",
    "compare_real",
    "measure_real_responsiveness",
    "same_attribute",
    "select_users",
    "shares_genre",
    "slate_similarity",
    "summarize_real",
    "write_real_run",
]
