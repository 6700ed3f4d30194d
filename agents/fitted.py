r"""Users fitted to an interaction log: the cumulative-logit response model as a user.

The parameters come from :func:`simulator.world.response_fit.fit_response`
(McCullagh's proportional-odds model; see that module for the estimation).
Simulated user ``u`` is a fitted user ``s(u)`` (the population's
``source_user``), and the log-odds of a higher outcome of item ``i`` at a
step with history ``h`` are

.. math::

    \eta(u, i, h) = b_{s(u)} + \beta_i + p_{s(u)} \cdot q_i
                    + \gamma_D D(h, i) + \gamma_L L(h, i),

where :math:`\beta_i = b_i + \bar a_{c(i)} + e_{r(i)}` gathers the item's
bias, the mean of its genres' effects and its creator's effect, and the two
sequential covariates are computed from the history exactly as on the log:

* :math:`D(h, i) = 1` when an earlier event of ``h`` on an item of i's (known)
  creator was a DISLIKE;
* :math:`L(h, i) = 1` when the last event of ``h`` was POSITIVE or LIKE and
  shares a content cluster with i.

The outcome level is drawn by inversion of
:math:`P(y \le k) = \sigma(\theta_k - \eta)` with one keyed uniform per
(user, step) (``Purpose.RATING``), so counterfactual branches share it; the
level is logged as the data set's feedback code of that level and a dwell of
that level (the median logged dwell; 1.0 in MovieLens).

**Choice** (:class:`agents.LogitChoice`, live A/B and logs) reads
:meth:`FittedUserModel.utility`, which is :math:`\eta` itself: a user is more
likely to pick what they would rate higher. The log has no impressions, so
this is an assumption, not a fit; the paper's responsiveness protocol uses
the uniform random trajectory and never reads it.

The model reads the whole history (``history_window`` events, every session):
D looks back to the first event, as in the fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.keyed_random import KeyedRandom, Purpose
from agents.response import Recent, Response, per_row, sigmoid
from recommenders.history import Feedback

_DISLIKE = int(Feedback.DISLIKE)
_POSITIVE = (int(Feedback.POSITIVE), int(Feedback.LIKE))


@dataclass(frozen=True)
class FittedResponse:
    """The fitted model's parameters as numpy arrays (float64 unless noted).

    Attributes:
        user_bias: (n_fitted_users,) :math:`b_s`.
        user_factors: (n_fitted_users, F) :math:`p_s`.
        item_static: (n_items,) :math:`\\beta_i` (bias + genre mean + creator effect).
        item_factors: (n_items, F) :math:`q_i`.
        gamma: (2,) :math:`(\\gamma_D, \\gamma_L)`.
        thresholds: (K-1,) increasing cut points :math:`\\theta_k`.
        level_feedback: int64 (K,) the Feedback code a level is logged as.
        level_dwell: (K,) the dwell a level is logged with.
        item_creator: int64 (n_items,) creator, -1 unknown (never matches).
        item_clusters: bool (n_items, n_clusters) content clusters of each item.
    """

    user_bias: np.ndarray
    user_factors: np.ndarray
    item_static: np.ndarray
    item_factors: np.ndarray
    gamma: np.ndarray
    thresholds: np.ndarray
    level_feedback: np.ndarray
    level_dwell: np.ndarray
    item_creator: np.ndarray
    item_clusters: np.ndarray

    @property
    def n_levels(self) -> int:
        return len(self.level_feedback)


class FittedUserModel:
    """Utilities and responses of fitted users; the interface of :class:`agents.UserModel`.

    Args:
        response: the fitted parameters.
        source_user: int64 (n_users,) fitted user behind each simulated user.
        item_cluster, item_creator: int64 (n_items,) non-negative groups the
            engine counts by (an unknown creator or genre is its own group).
        history_window: most recent events a response reads (every session).
        seed: keys the outcome draws.
    """

    history_spans_sessions = True
    """D and L read the whole history, across days (the log spans every session)."""

    def __init__(
        self,
        response: FittedResponse,
        source_user: np.ndarray,
        item_cluster: np.ndarray,
        item_creator: np.ndarray,
        history_window: int,
        seed: int = 0,
    ) -> None:
        self.response = response
        self.source_user = np.asarray(source_user, np.int64)
        self.item_cluster = np.asarray(item_cluster, np.int64)
        self.item_creator = np.asarray(item_creator, np.int64)
        self.history_window = int(history_window)
        self.keys = KeyedRandom(seed)

    def covariates(self, items: np.ndarray, recent: Recent | None) -> tuple[np.ndarray, np.ndarray]:
        """(D, L) as float64 arrays shaped like ``items`` (one row per user of ``recent``)."""
        r = self.response
        items = np.asarray(items, np.int64)
        if recent is None or recent.items.shape[1] == 0:
            zero = np.zeros(items.shape)
            return zero, zero
        flat = per_row(items, len(recent.items))
        past = recent.items
        valid = past >= 0
        # Trim the columns no row has reached: the window is an upper bound.
        width = int(valid.any(axis=0).sum())
        past, valid, feedback = past[:, :width], valid[:, :width], recent.feedback[:, :width]
        creators = r.item_creator[flat]
        disliked = np.where(valid & (feedback == _DISLIKE), r.item_creator[np.maximum(past, 0)], -1)
        d = (creators[:, :, None] == disliked[:, None, :]).any(axis=2) & (creators >= 0)
        last = past[:, 0] if width else np.full(len(flat), -1)
        liked = (last >= 0) & np.isin(feedback[:, 0] if width else last, _POSITIVE)
        shared = (r.item_clusters[flat] & r.item_clusters[np.maximum(last, 0)][:, None, :]).any(2)
        lik = shared & liked[:, None]
        return d.reshape(items.shape).astype(np.float64), lik.reshape(items.shape).astype(
            np.float64
        )

    def utility(
        self, users: np.ndarray, items: np.ndarray, recent: Recent | None = None
    ) -> np.ndarray:
        """eta(u, i, h) (log-odds of a higher outcome); ``users`` broadcasts against ``items``."""
        r = self.response
        users, items = np.broadcast_arrays(np.asarray(users), np.asarray(items))
        source = self.source_user[users]
        eta = (
            r.user_bias[source]
            + r.item_static[items]
            + np.einsum("...f,...f->...", r.user_factors[source], r.item_factors[items])
        )
        d, lik = self.covariates(items, recent)
        return eta + r.gamma[0] * d + r.gamma[1] * lik

    def level_probabilities(self, eta: np.ndarray) -> np.ndarray:
        """float64 (n, K): P(y = k | eta) of the cumulative-logit model."""
        cumulative = sigmoid(self.response.thresholds[None, :] - np.asarray(eta)[:, None])
        upper = np.concatenate([cumulative, np.ones((len(cumulative), 1))], axis=1)
        lower = np.concatenate([np.zeros((len(cumulative), 1)), cumulative], axis=1)
        return upper - lower

    def respond(
        self, users: np.ndarray, items: np.ndarray, step, recent: Recent | None = None
    ) -> Response:
        """Draw the outcome level of ``users[r]`` consuming ``items[r]`` at ``step``."""
        r = self.response
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        eta = self.utility(users, items, recent)
        u = self.keys.uniform(users, step, Purpose.RATING)[:, 0]
        cumulative = sigmoid(r.thresholds[None, :] - eta[:, None])
        level = (cumulative < u[:, None]).sum(axis=1)
        return Response(
            feedback=r.level_feedback[level].astype(np.int64),
            dwell=r.level_dwell[level].astype(np.float64),
            utility=eta,
        )
