r"""How well a response model predicts held-out behaviour, beside baselines.

**Split.** Each user's last events are held out (:func:`holdout_events`): a
share ``holdout`` of them, at least one, while every user keeps at least one
training event. A per-user split by time is the question a simulator asks of
its users (how will this user react to the next items?) and keeps every user
in the fit, whose user terms a split by user could not estimate for the
held-out users. The sequential covariates of a held-out event come from the
user's real past, as they would at serving time.

**Models** (:data:`BASELINES` and the fitted one), each scored on the same
held-out events:

* ``fitted``: :func:`simulator.world.response_fit.fit_response` with the given
  config (user, item, cluster, creator, factor and sequential terms);
* ``bias-only``: the same ordinal model with user and item biases only
  (popularity and each user's own level);
* ``default world``: the response rule of the default synthetic world
  (:class:`agents.ResponseConfig`, :class:`agents.PopulationConfig`) mapped onto
  the catalogue with its own parameters and no fitting: a user is averse to a
  creator with prior probability ``creator_aversion_rate``, updated by Bayes'
  rule from the user's earlier dislikes and non-dislikes of that creator (an
  averse user dislikes with probability ``dislike_averse``, another with
  ``dislike_base``), and to a cluster with ``cluster_aversion_rate``; P(dislike)
  mixes the two rates. It predicts dislikes only;
* ``svd``: scikit-surprise's SVD (Funk SVD with biases; Hug 2020) on the
  training ratings, when that optional package is installed and the data has
  ratings. It predicts ratings only.

**Metrics** (one row per model and metric in ``fidelity.csv``):
``dislike_log_loss`` (nats per event, binary: dislike or not; predictions are
clipped to [1e-12, 1 - 1e-12] inside the logarithm only), ``dislike_auc``
(rank-based, ties averaged), ``class_log_loss`` (nats, three classes: dislike,
neutral, positive), ``level_log_loss`` (nats, every rating level),
``rating_rmse`` (rating units; the expected rating of an ordinal model), and
``dislike_rate`` (observed and mean predicted). Reliability per class
(:func:`reliability`): predicted probability in ten equal-width bins against
the observed share.

**Simulated against real statistics** (:func:`statistics_table`, computed by
:func:`simulator.world.log_statistics.log_statistics` the same way on every
log): the real log; outcomes drawn from the fitted model on the real item
sequences (:func:`simulator.world.outcome_simulation.simulate_outcomes`); the
same with the creator effect ``gamma_D`` set to 0, which shows how much of the
repeat-dislike lift the sequential term carries; and the logs of the default
synthetic world (2,000 users x 100 steps of :func:`simulator.logs.make_logs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from agents import PopulationConfig, ResponseConfig
from recommenders.datasets import InteractionData
from recommenders.history import Feedback
from simulator.logs import LogConfig, make_logs
from simulator.world.effect_bootstrap import EffectInterval, bootstrap_effects
from simulator.world.log_statistics import log_statistics, user_creator_groups
from simulator.world.outcome_simulation import simulate_outcomes, simulated_log
from simulator.world.response_fit import (
    OrdinalResponseModel,
    Outcomes,
    ResponseFitConfig,
    fit_response,
    sequential_covariates,
)

CLASSES = ("dislike", "neutral", "positive")
_EPS = 1e-12


def holdout_events(data: InteractionData, share: float) -> np.ndarray:
    """bool (n_events,): each user's last ``ceil(share * n_u)`` events (>= 1, <= n_u - 1)."""
    if not (isinstance(share, float | int) and 0.0 < float(share) < 1.0):
        raise ValueError(f"holdout share must be in (0, 1), got {share!r}")
    users = data.log["user"].to_numpy(np.int64)
    lengths = np.bincount(users, minlength=data.n_users)
    held = np.minimum(np.maximum(np.ceil(share * lengths), 1), np.maximum(lengths - 1, 0))
    position = data.log["position"].to_numpy(np.int64)
    return position >= (lengths - held)[users]


@dataclass
class Prediction:
    """What one model says about the held-out events.

    Attributes:
        model: its name in the tables.
        p_dislike: float (n,) probability of the dislike class, or None.
        classes: float (n, 3) probabilities of dislike / neutral / positive, or None.
        levels: float (n, K) probabilities of every outcome level, or None.
        rating: float (n,) predicted (expected) rating, or None.
    """

    model: str
    p_dislike: np.ndarray | None = None
    classes: np.ndarray | None = None
    levels: np.ndarray | None = None
    rating: np.ndarray | None = None


def ordinal_prediction(
    name: str,
    model: OrdinalResponseModel,
    data: InteractionData,
    held: np.ndarray,
    covariates: np.ndarray,
) -> Prediction:
    """Level, class and rating predictions of a fitted ordinal model on the held-out events."""
    outcomes = Outcomes.of(data)
    log = data.log[held]
    levels = model.level_probabilities(
        log["user"].to_numpy(), log["item"].to_numpy(), covariates[held]
    )
    classes = np.stack(
        [levels[:, outcomes.feedback_class == c].sum(axis=1) for c in range(3)], axis=1
    )
    rating = None if outcomes.rating_values is None else levels @ outcomes.rating_values
    return Prediction(name, classes[:, 0], classes, levels, rating)


def default_world_prediction(
    data: InteractionData,
    held: np.ndarray,
    response: ResponseConfig | None = None,
    population: PopulationConfig | None = None,
) -> Prediction:
    """P(dislike) of the held-out events under the default world's response rule (module
    docstring), from each user's real earlier events of the item's creator."""
    response = response or ResponseConfig()
    population = population or PopulationConfig()
    log = data.log
    users = log["user"].to_numpy(np.int64)
    creator = data.creator[log["item"].to_numpy(np.int64)]
    disliked = (log["feedback"].to_numpy(np.int64) == int(Feedback.DISLIKE)).astype(np.int64)
    known = creator >= 0
    key = user_creator_groups(users, creator)
    earlier = pd.DataFrame({"key": key, "d": disliked, "one": 1}).groupby("key").cumsum()
    n_dis = earlier["d"].to_numpy() - disliked
    n_not = earlier["one"].to_numpy() - 1 - n_dis
    a, b = response.dislike_averse, response.dislike_base
    rho = population.creator_aversion_rate
    # Bayes on the creator aversion: likelihood a^d (1-a)^n against b^d (1-b)^n.
    log_averse = np.log(rho) + n_dis * np.log(a) + n_not * np.log1p(-a)
    log_not = np.log1p(-rho) + n_dis * np.log(b) + n_not * np.log1p(-b)
    post = 1.0 / (1.0 + np.exp(log_not - log_averse))
    post = np.where(known, post, rho)
    averse = 1.0 - (1.0 - post) * (1.0 - population.cluster_aversion_rate)
    p = averse * a + (1.0 - averse) * b
    return Prediction("default world", p_dislike=p[held])


def svd_prediction(data: InteractionData, held: np.ndarray, seed: int) -> Prediction | None:
    """scikit-surprise SVD's ratings of the held-out events; None without ratings or package."""
    if "rating" not in data.log.columns or data.rule is None:
        return None
    try:
        from surprise import SVD, Dataset, Reader
    except ImportError:
        return None
    log = data.log
    train = log[~held][["user", "item", "rating"]]
    reader = Reader(rating_scale=(data.rule.min_rating, data.rule.max_rating))
    trainset = Dataset.load_from_df(train, reader).build_full_trainset()
    algo = SVD(random_state=seed)
    algo.fit(trainset)
    test = log[held]
    rating = np.array(
        [algo.predict(u, i).est for u, i in zip(test["user"], test["item"], strict=True)]
    )
    return Prediction("svd", rating=rating)


def _auc(scores: np.ndarray, positive: np.ndarray) -> float:
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _binary_log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))


def score(prediction: Prediction, data: InteractionData, held: np.ndarray) -> pd.DataFrame:
    """One row per metric the prediction supports: ``model, metric, value, n``."""
    outcomes = Outcomes.of(data)
    level = outcomes.levels(data)[held]
    klass = outcomes.feedback_class[level]
    y = klass == 0
    rows: list[tuple[str, float]] = [("observed_dislike_rate", float(y.mean()))]
    if prediction.p_dislike is not None:
        p = prediction.p_dislike
        rows += [
            ("predicted_dislike_rate", float(p.mean())),
            ("dislike_log_loss", _binary_log_loss(p, y)),
            ("dislike_auc", _auc(p, y)),
        ]
    if prediction.classes is not None:
        picked = prediction.classes[np.arange(len(klass)), klass]
        rows.append(("class_log_loss", float(-np.mean(np.log(np.clip(picked, _EPS, 1))))))
    if prediction.levels is not None and outcomes.rating_values is not None:
        picked = prediction.levels[np.arange(len(level)), level]
        rows.append(("level_log_loss", float(-np.mean(np.log(np.clip(picked, _EPS, 1))))))
    if prediction.rating is not None and outcomes.rating_values is not None:
        truth = outcomes.rating_values[level]
        rows.append(("rating_rmse", float(np.sqrt(np.mean((prediction.rating - truth) ** 2)))))
    return pd.DataFrame(
        [(prediction.model, m, v, int(held.sum())) for m, v in rows],
        columns=["model", "metric", "value", "n"],
    )


def reliability(
    prediction: Prediction, data: InteractionData, held: np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """Per class, predicted probability in equal-width bins against the observed share:
    ``model, class, bin_low, bin_high, mean_predicted, observed, n`` (empty bins left out)."""
    if prediction.classes is None and prediction.p_dislike is None:
        return pd.DataFrame()
    outcomes = Outcomes.of(data)
    klass = outcomes.feedback_class[outcomes.levels(data)[held]]
    probs = prediction.classes if prediction.classes is not None else prediction.p_dislike[:, None]
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for c in range(probs.shape[1]):
        p = probs[:, c]
        which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        for b in range(bins):
            inside = which == b
            if inside.any():
                rows.append(
                    (
                        prediction.model,
                        CLASSES[c],
                        edges[b],
                        edges[b + 1],
                        float(p[inside].mean()),
                        float((klass[inside] == c).mean()),
                        int(inside.sum()),
                    )
                )
    columns = ["model", "class", "bin_low", "bin_high", "mean_predicted", "observed", "n"]
    return pd.DataFrame(rows, columns=columns)


BIAS_ONLY = ResponseFitConfig(n_factors=0, sequential=False, attributes=False)
"""The bias baseline: user and item biases (popularity and each user's own level) only."""

BASELINES: dict[str, Callable[..., Prediction | None]] = {
    "bias-only": lambda data, held, x, config, seed: ordinal_prediction(
        "bias-only",
        fit_response(data, ~held, ResponseFitConfig(**{**BIAS_ONLY.to_dict(), "seed": seed})),
        data,
        held,
        x,
    ),
    "default world": lambda data, held, x, config, seed: default_world_prediction(data, held),
    "svd": lambda data, held, x, config, seed: svd_prediction(data, held, seed),
}
"""Baselines by name: ``(data, held, covariates, config, seed) -> Prediction or None``
(None: not applicable to this data set or its package is not installed)."""


def statistics_table(
    data: InteractionData, model: OrdinalResponseModel, seed: int, world_users: int = 2000
) -> pd.DataFrame:
    """One row per statistic, one column per log (module docstring): ``real``, ``fitted``,
    ``fitted, gamma_D = 0`` and ``default world``."""
    from simulator.world.world import World  # the synthetic world, only for its logs

    everything = np.ones(len(data.log), bool)
    columns = {"real": log_statistics(data.log, data.creator, data.cluster_matrix, data.n_items)}
    drawn = simulate_outcomes(model, data, everything, seed)
    columns["fitted"] = log_statistics(
        simulated_log(data, drawn), data.creator, data.cluster_matrix, data.n_items
    )
    gamma = model.params["gamma"]
    try:
        model.params["gamma"] = gamma.clone()
        model.params["gamma"][0] = 0.0
        drawn = simulate_outcomes(model, data, everything, seed)
    finally:
        model.params["gamma"] = gamma
    columns["fitted, gamma_D = 0"] = log_statistics(
        simulated_log(data, drawn), data.creator, data.cluster_matrix, data.n_items
    )
    world = World.default(0, world_users)
    # make_logs.py --n-users 2000 with its defaults: the logs the default world is known by.
    log = make_logs(world, LogConfig(n_users=world_users))
    corpus = world.corpus
    one_hot = np.zeros((corpus.n_items, corpus.n_clusters), bool)
    one_hot[np.arange(corpus.n_items), corpus.cluster] = True
    columns["default world"] = log_statistics(log, corpus.creator, one_hot, corpus.n_items)
    table = pd.DataFrame(columns)
    return table.rename_axis("statistic").reset_index()


WORLD_LOG_COLUMN = "fitted world, simulated choices"
"""The statistics column of logs drawn from the fitted world itself (:func:`with_world_logs`)."""


def with_world_logs(
    table: pd.DataFrame, world, world_users: int = 2000, seed: int = 1
) -> pd.DataFrame:
    """``table`` with a column of the same statistics on logs of the fitted ``world``.

    Here the simulator also chooses the items: ``world_users`` simulated users
    (at most the world's) take 100 steps each (fewer when the catalogue has
    fewer than 110 items) from the slates of
    :func:`simulator.logs.make_logs`'s default logging recommender (a mixture
    of "more like this", popularity and random), choosing by the logit on the
    fitted utility and responding from the fitted model. Genre continuation,
    the popularity of what is consumed and the per-user dislike rates then
    test the choice model too, which the log cannot fit (it has no
    impressions). Inserted before ``default world``.
    """
    n = min(world_users, world.n_users)
    config = LogConfig(n_users=n, seed=seed)
    # Slates exclude consumed items: a small catalogue allows fewer steps.
    steps = min(config.n_steps, world.corpus.n_items - config.slate_size)
    if steps < 1:
        raise ValueError(
            f"the catalogue has {world.corpus.n_items} items: too few for logs with slates of "
            f"{config.slate_size}"
        )
    log = make_logs(world, replace(config, n_steps=steps))
    attributes = world.item_attributes()
    column = log_statistics(log, attributes.creator, attributes.clusters, world.corpus.n_items)
    out = table.copy()
    at = list(out.columns).index("default world") if "default world" in out else len(out.columns)
    out.insert(at, WORLD_LOG_COLUMN, out["statistic"].map(column))
    return out


@dataclass
class FidelityResult:
    """A fitted model and how it and the baselines did on the held-out events."""

    model: OrdinalResponseModel
    held: np.ndarray
    metrics: pd.DataFrame
    calibration: pd.DataFrame
    skipped: dict[str, str]
    statistics: pd.DataFrame | None = None
    effect_intervals: list[EffectInterval] | None = None


def evaluate_fidelity(
    data: InteractionData,
    holdout: float = 0.2,
    config: ResponseFitConfig | None = None,
    seed: int = 0,
    baselines: tuple[str, ...] = tuple(BASELINES),
    progress: Callable[[str], object] = lambda _: None,
    statistics: bool = True,
    bootstrap: int = 0,
) -> FidelityResult:
    """Fit on each user's earlier events, score the fitted model and the baselines on the
    last ``holdout`` share of them (see the module docstring); with ``bootstrap`` B >= 2,
    also the parametric-bootstrap interval of the sequential effects
    (:func:`simulator.world.effect_bootstrap.bootstrap_effects`, B refits)."""
    if bootstrap == 1 or bootstrap < 0:
        raise ValueError(f"bootstrap must be 0 (off) or >= 2 refits, got {bootstrap}")
    config = config or ResponseFitConfig(seed=seed)
    held = holdout_events(data, holdout)
    x = sequential_covariates(data)
    progress("fitting the response model")
    model = fit_response(data, ~held, config, covariates=x)
    predictions = [ordinal_prediction("fitted", model, data, held, x)]
    skipped = {}
    for name in baselines:
        progress(f"baseline: {name}")
        prediction = BASELINES[name](data, held, x, config, seed)
        if prediction is None:
            skipped[name] = "not applicable (no ratings, or scikit-surprise not installed)"
        else:
            predictions.append(prediction)
    metrics = pd.concat([score(p, data, held) for p in predictions], ignore_index=True)
    calibration = pd.concat([reliability(p, data, held) for p in predictions], ignore_index=True)
    table = None
    if statistics:
        progress("statistics of real and simulated logs")
        table = statistics_table(data, model, seed)
    intervals = None
    if bootstrap:
        progress(f"parametric bootstrap of the sequential effects: {bootstrap} refits")
        intervals = bootstrap_effects(
            data,
            model,
            ~held,
            n_resamples=bootstrap,
            seed=seed,
            progress=lambda b: progress(f"  refit {b}/{bootstrap}"),
        )
    return FidelityResult(model, held, metrics, calibration, skipped, table, intervals)
