"""Response model: what a user does with an item once it is consumed.

Utility of item i for user u (utility units, unbounded)::

    mu(u, i) = a[u, cluster(i)] + b(u, creator(i)) + quality_weight * q[i]
               - creator_aversion_penalty * averse_creator(u, creator(i))
               - cluster_aversion_penalty * averse_cluster(u, cluster(i))
               + momentum_weight * sum_{j=1..W} momentum_decay^(j-1)
                     * 1[cluster(r_j) = cluster(i)] * 1[r_j was POSITIVE or LIKE]

where r_1 is the user's most recent event, r_2 the one before, over the last
W = ``momentum_window`` events. This *session momentum* is the short-term
interest dynamic of the simulated users in Yao et al. (2021), the simulation
framework the paper builds on: enjoying an item raises interest in its
cluster for the next few steps, while a skipped or disliked item raises
nothing. Without it, preferences are static, the order of a history carries
no information, and a sequential recommender has nothing sequential to learn
(see docs/world.md). ``momentum_weight = 0`` gives static users.

Given a consumed item the user draws, from the keyed streams of (user, step):

* dwell, as a fraction of the item's length in (0, 1):
  ``dwell = sigmoid(mu + dwell_offset + dwell_noise_sd * eps)``, eps ~ N(0, 1);
* skip: ``dwell < skip_threshold`` (a skip *is* a short dwell);
* dislike with probability ``dislike_averse`` when the user is averse to the
  item's creator or cluster, else ``dislike_base * 2 * sigmoid(-mu)``
  (at most 2 * dislike_base, for very bad items);
* like, when not disliked, with probability ``like_rate * sigmoid(mu)``.

The feedback code follows :class:`recommenders.Feedback` precedence: DISLIKE,
then LIKE, then SKIP (short dwell), else POSITIVE.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from agents.keyed_random import KeyedRandom, Purpose
from agents.population import Population
from recommenders.history import Feedback

# Plain ints of the contract's codes, for numpy comparisons on hot paths.
POSITIVE, SKIP, DISLIKE, LIKE, DISMISS = (
    int(Feedback[name]) for name in ("POSITIVE", "SKIP", "DISLIKE", "LIKE", "DISMISS")
)


@dataclass(frozen=True)
class ResponseConfig:
    """Parameters of the response model (see the module docstring for the formulas)."""

    quality_weight: float = 1.0
    creator_aversion_penalty: float = 3.0
    cluster_aversion_penalty: float = 2.0
    dwell_offset: float = 0.5
    dwell_noise_sd: float = 1.0
    skip_threshold: float = 0.2
    dislike_base: float = 0.02
    dislike_averse: float = 0.5
    like_rate: float = 0.15
    momentum_weight: float = 1.5
    momentum_decay: float = 0.6
    momentum_window: int = 5

    def __post_init__(self) -> None:
        for name in ("skip_threshold", "dislike_base", "dislike_averse", "like_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"ResponseConfig.{name} must be in [0, 1], got {value}")
        if not 2 * self.dislike_base <= 1:
            raise ValueError(
                "ResponseConfig.dislike_base must be <= 0.5 (2 * base is a probability)"
            )
        if self.momentum_window < 0 or not 0 <= self.momentum_decay <= 1:
            raise ValueError("ResponseConfig: momentum_window must be >= 0, decay in [0, 1]")
        if not self.dwell_noise_sd >= 0:
            raise ValueError(
                f"ResponseConfig.dwell_noise_sd must be >= 0, got {self.dwell_noise_sd}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Recent:
    """A user's last events, most recent first: ``items`` / ``feedback`` (n, W), -1 = none."""

    items: np.ndarray
    feedback: np.ndarray


@dataclass(frozen=True)
class Response:
    """Outcome of consuming one item per user (arrays of shape (n,))."""

    feedback: np.ndarray
    dwell: np.ndarray
    utility: np.ndarray


def per_row(array: np.ndarray, n_rows: int) -> np.ndarray:
    """``array`` as (n_rows, -1), also for no rows (where numpy cannot infer the -1)."""
    return array.reshape(n_rows, array.size // n_rows if n_rows else 0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-x), as 0.5 (1 + tanh(x / 2)): no overflow warning."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class UserModel:
    """Binds a population to the items' attributes; computes utilities and responses."""

    def __init__(
        self,
        population: Population,
        item_cluster: np.ndarray,
        item_creator: np.ndarray,
        item_quality: np.ndarray,
        config: ResponseConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.population = population
        self.item_cluster = np.asarray(item_cluster, np.int64)
        self.item_creator = np.asarray(item_creator, np.int64)
        self.item_quality = np.asarray(item_quality, np.float64)
        self.config = config or ResponseConfig()
        self.keys = KeyedRandom(seed)

    history_spans_sessions = False
    """Session momentum reads only the current session (a new day is a new session)."""

    @property
    def history_window(self) -> int:
        """Most recent events a response reads: the momentum window."""
        return self.config.momentum_window

    def utility(
        self, users: np.ndarray, items: np.ndarray, recent: Recent | None = None
    ) -> np.ndarray:
        """mu(u, i); ``users`` broadcasts against ``items`` (e.g. (n, 1) vs (n, S)).

        ``recent`` (one row per user, like ``users``' first axis) adds the
        session momentum; None means no recent events.
        """
        c = self.config
        pop = self.population
        users, items = np.broadcast_arrays(np.asarray(users), np.asarray(items))
        clusters = self.item_cluster[items]
        creators = self.item_creator[items]
        mu = pop.cluster_affinity[users, clusters] + pop.creator_affinity(users, creators)
        mu = mu + c.quality_weight * self.item_quality[items]
        mu = mu - c.creator_aversion_penalty * pop.creator_averse(users, creators)
        mu = mu - c.cluster_aversion_penalty * pop.cluster_averse(users, clusters)
        if recent is not None and c.momentum_weight and c.momentum_window:
            mu = mu + c.momentum_weight * self._momentum(recent, clusters)
        return mu

    def _momentum(self, recent: Recent, clusters: np.ndarray) -> np.ndarray:
        """sum_j decay^(j-1) [cluster(r_j) = cluster(i)] [r_j enjoyed], shaped like ``clusters``."""
        w = min(self.config.momentum_window, recent.items.shape[1])
        items = recent.items[:, :w]
        enjoyed = (items >= 0) & np.isin(recent.feedback[:, :w], (POSITIVE, LIKE))
        recent_clusters = np.where(enjoyed, self.item_cluster[np.maximum(items, 0)], -1)
        decay = self.config.momentum_decay ** np.arange(w)
        flat = per_row(clusters, len(items))
        match = flat[:, :, None] == recent_clusters[:, None, :]
        return (match * decay).sum(axis=2).reshape(clusters.shape)

    def averse(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """True where the user persistently dislikes the item's creator or cluster."""
        pop = self.population
        return pop.creator_averse(users, self.item_creator[items]) | pop.cluster_averse(
            users, self.item_cluster[items]
        )

    def respond(
        self, users: np.ndarray, items: np.ndarray, step, recent: Recent | None = None
    ) -> Response:
        """Draw dwell and feedback for ``users[r]`` consuming ``items[r]`` at ``step``."""
        c = self.config
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        mu = self.utility(users, items, recent)
        eps = self.keys.normal(users, step, Purpose.DWELL)[:, 0]
        dwell = sigmoid(mu + c.dwell_offset + c.dwell_noise_sd * eps)
        p_dislike = np.where(
            self.averse(users, items), c.dislike_averse, c.dislike_base * 2.0 * sigmoid(-mu)
        )
        disliked = self.keys.uniform(users, step, Purpose.DISLIKE)[:, 0] < p_dislike
        liked = self.keys.uniform(users, step, Purpose.LIKE)[:, 0] < c.like_rate * sigmoid(mu)
        feedback = np.where(
            disliked,
            DISLIKE,
            np.where(liked, LIKE, np.where(dwell < c.skip_threshold, SKIP, POSITIVE)),
        )
        return Response(feedback=feedback.astype(np.int64), dwell=dwell, utility=mu)
