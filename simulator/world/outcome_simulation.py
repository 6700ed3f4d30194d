r"""Outcomes drawn from a fitted response model on the real item sequences.

The posterior-predictive check of :mod:`simulator.world.response_fit`: keep
every user's real sequence of items, replace the outcomes of the selected
events by draws from the fitted cumulative-logit model, and compare the
statistics of the simulated log with the real one
(:mod:`simulator.world.log_statistics`). A model that reproduces the real
repeat-dislike lift has learnt the sequential structure, not only the marginal
rates (posterior predictive assessment, Gelman, Meng & Stern 1996; here the
plug-in version: draws at the point estimate, without parameter uncertainty).

The sequential covariates depend on the outcomes, so the draws are
sequential: at position t of every user (all users at once), D and L are
computed from the outcomes at positions < t, real for events not selected and
drawn for selected ones, and the event's level is drawn from

.. math::

    P(y \le k) = \sigma(\theta_k - \eta_{uit}), \qquad
    \eta_{uit} = \eta^{\text{static}}_{ui} + \gamma_D D_{uit} + \gamma_L L_{uit},

by inversion: :math:`y = \#\{k : P(y \le k) < U_{uit}\}` with
:math:`U_{uit} \sim \text{Uniform}(0, 1)`. One uniform per log row is drawn
up front from ``np.random.default_rng(seed)``, so an event's draw depends only
on the seed, its row and its covariates: the same seed gives the same levels.

A drawn level of feedback class 0 counts as a dislike (``Feedback.DISLIKE``)
for a later D, class 2 as positive for a later L, exactly as the real codes do
in :func:`~simulator.world.response_fit.sequential_covariates`.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch
from scipy.special import expit

from recommenders.datasets import InteractionData
from recommenders.history import Feedback
from simulator.world.log_statistics import shares_cluster_with_previous
from simulator.world.response_fit import OrdinalResponseModel, Outcomes

CLASS_FEEDBACK = np.array([int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)])
"""The Feedback code a simulated level of feedback class 0, 1, 2 is logged as."""

_POSITIVE = (int(Feedback.POSITIVE), int(Feedback.LIKE))


def simulate_outcomes(
    model: OrdinalResponseModel, data: InteractionData, events: np.ndarray, seed: int
) -> np.ndarray:
    """int64 (n_events,): a drawn outcome level of each selected event, -1 elsewhere.

    Args:
        model: a fitted (or hand-set) response model of ``data``'s users,
            items and outcome scale.
        data: the log whose item sequences are kept; its feedback is the past
            of the events not selected.
        events: bool (n_events,): the rows of ``data.log`` to simulate.
        seed: of ``np.random.default_rng``.

    Runs one vectorised step per position (the longest user's length), each
    over the users that have that position; memory is O(n_events).
    """
    log = data.log
    n = len(log)
    events = np.asarray(events)
    if events.dtype != bool or events.shape != (n,):
        raise ValueError(
            f"events must be a bool mask of the log's {n} rows, "
            f"got dtype {events.dtype} and shape {events.shape}"
        )
    outcomes = Outcomes.of(data)
    sizes = (model.params["user_bias"].numel(), model.params["item_bias"].numel(), model.n_levels)
    if sizes != (data.n_users, data.n_items, outcomes.n_levels):
        raise ValueError(
            f"the model has (users, items, levels) = {sizes}, {data.name} has "
            f"{(data.n_users, data.n_items, outcomes.n_levels)}"
        )
    users = log["user"].to_numpy(np.int64)
    items = log["item"].to_numpy(np.int64)
    positions = log["position"].to_numpy(np.int64)
    feedback = log["feedback"].to_numpy(np.int64)
    uniforms = np.random.default_rng(seed).random(n)

    with torch.no_grad():
        # torch.tensor copies: the log's arrays may be read-only views.
        static = model.static_eta(torch.tensor(users), torch.tensor(items)).numpy()
        theta = model.thresholds().numpy()
        gamma_d, gamma_l = (float(g) for g in model.params["gamma"])
    level_class = outcomes.feedback_class

    # The outcome-independent parts of D and L: the previous row of the same
    # (user, known creator), and whether the previous row of the user shares a
    # cluster with this one (positions are 0..len-1, so that row is row - 1).
    previous_same_creator = _previous_same_creator(users, items, data.creator)
    shares_previous = shares_cluster_with_previous(users, items, data.cluster_matrix)

    # Per row, filled in position order: is it a dislike / a positive (real or
    # drawn), and has the user disliked this creator at this row or before.
    disliked = feedback == int(Feedback.DISLIKE)
    positive = np.isin(feedback, _POSITIVE)
    creator_disliked_through = np.zeros(n, bool)
    levels = np.full(n, -1, np.int64)

    by_position = np.argsort(positions, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(positions))])
    for start, stop in itertools.pairwise(bounds):
        rows = by_position[start:stop]
        earlier = previous_same_creator[rows]
        d = (earlier >= 0) & creator_disliked_through[np.maximum(earlier, 0)]
        lik = shares_previous[rows] & positive[np.maximum(rows - 1, 0)]
        on = events[rows]
        drawn = rows[on]
        if drawn.size:
            eta = static[drawn] + gamma_d * d[on] + gamma_l * lik[on]
            cumulative = expit(theta[None, :] - eta[:, None])  # P(y <= k), (rows, K-1)
            level = (uniforms[drawn, None] > cumulative).sum(axis=1)
            levels[drawn] = level
            disliked[drawn] = level_class[level] == 0
            positive[drawn] = level_class[level] == 2
        creator_disliked_through[rows] = d | disliked[rows]
    return levels


def _previous_same_creator(users: np.ndarray, items: np.ndarray, creator: np.ndarray) -> np.ndarray:
    """int64 (n_events,): the user's previous row with the same known creator, -1 if none."""
    creators = creator[items]
    rows = np.flatnonzero(creators >= 0)
    # Sorted by (user, creator, row): consecutive rows of one pair are successive visits.
    order = rows[np.lexsort((rows, creators[rows], users[rows]))]
    previous = np.full(len(users), -1, np.int64)
    same = (users[order[1:]] == users[order[:-1]]) & (creators[order[1:]] == creators[order[:-1]])
    previous[order[1:][same]] = order[:-1][same]
    return previous


def simulated_log(data: InteractionData, levels: np.ndarray) -> pd.DataFrame:
    """A copy of ``data.log`` whose simulated rows (``levels >= 0``) carry the drawn outcome.

    ``feedback`` becomes the level's class as DISLIKE, SKIP or POSITIVE
    (:data:`CLASS_FEEDBACK`); with ratings, ``rating`` becomes the level's
    rating. Rows with level -1 keep their real values. Dwell is left as logged.
    """
    levels = np.asarray(levels, np.int64)
    if levels.shape != (len(data.log),):
        raise ValueError(f"levels has shape {levels.shape}, the log has {len(data.log)} rows")
    outcomes = Outcomes.of(data)
    log = data.log.copy()
    drawn = levels >= 0
    feedback = log["feedback"].to_numpy(np.int64).copy()
    feedback[drawn] = CLASS_FEEDBACK[outcomes.feedback_class[levels[drawn]]]
    log["feedback"] = feedback
    if outcomes.rating_values is not None:
        # In the log's own dtype: int64 whole stars, float64 half stars.
        ratings = log["rating"].to_numpy().copy()
        ratings[drawn] = outcomes.rating_values[levels[drawn]].astype(ratings.dtype)
        log["rating"] = ratings
    return log
