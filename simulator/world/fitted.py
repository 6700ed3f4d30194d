r"""A world fitted to an interaction log: the log's own catalogue, users fitted to it.

:func:`fit_world` turns a response model fitted to an
:class:`~recommenders.datasets.InteractionData`
(:func:`simulator.world.response_fit.fit_response`) into a world that every
protocol runs in, like a synthetic :class:`~simulator.world.world.World`:

* **Catalogue**: the data set's items in its order (dense id ``i`` is original
  id ``item_ids[i]``), their content clusters (the genre matrix; a multi-genre
  item is in each of its genres, the relation the real-history measurement
  uses), creators (-1 unknown) and popularity (share of log rows). Adapters
  receive a :class:`FittedCorpus`, shaped like
  :class:`recommenders.datasets.DataCorpus` (an item of unknown genre or
  creator is its own group) and with the same ``n_items``, so a model trained
  on the data set scores this world's items.
* **Users**: simulated user ``u`` is fitted user ``source_user[u]``, drawn
  uniformly with replacement from the users of the fit (a nonparametric
  bootstrap of the fitted population, from ``np.random.default_rng([seed,
  0xF177ED])``): each simulated user carries one real user's bias and factors.
  The fitted terms are penalised estimates (L2 priors), so the population's
  spread of tastes is, if anything, narrower than the data's.
* **Responses**: :class:`agents.FittedUserModel`, the fitted cumulative-logit
  model with its two sequential effects (a dislike of a creator, a liked
  genre just before) computed from the simulated history.

The file is an ``.npz`` like a synthetic world's (read with
``allow_pickle=False``) with format :data:`FITTED_FORMAT`: a JSON header (the
config, the fit's summary, the outcome scale, the data set's name and
fingerprint, the names of clusters and creators) and the arrays, the item-id
mapping among them. :attr:`FittedWorld.fingerprint` hashes both;
:attr:`FittedWorld.data_fingerprint` is the data set's, which checkpoints
trained on the data set carry.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents import FittedResponse, FittedUserModel
from recommenders.datasets import InteractionData
from recommenders.datasets.corpus import own_groups
from recommenders.history import Feedback
from simulator.similarity import ItemAttributes
from simulator.world.log_statistics import genre_weights
from simulator.world.world import (
    WorldFileError,
    archive_fingerprint,
    read_archive,
    write_archive,
)

if TYPE_CHECKING:  # the fit needs torch; loading and simulating a fitted world do not
    from simulator.world.response_fit import OrdinalResponseModel, Outcomes

FITTED_FORMAT = "responsiveness-fitted-world"
FITTED_VERSION = 1

_ITEM_ARRAYS = ("item_ids", "item_clusters", "item_creator", "popularity")
_MODEL_ARRAYS = (
    "user_bias",
    "user_factors",
    "item_bias",
    "item_factors",
    "cluster_effect",
    "creator_effect",
)


@dataclass(frozen=True)
class FittedWorldConfig:
    """How simulated users are drawn from a fit.

    Attributes:
        n_users: simulated users.
        seed: of the draw of fitted users behind the simulated ones.
        history_window: most recent events a response reads; longer than any
            protocol's history, so D ("disliked this creator before") sees
            the whole history as in the fit.
    """

    n_users: int = 2000
    seed: int = 0
    history_window: int = 1000

    def __post_init__(self) -> None:
        checks = [
            (self.n_users >= 1, f"n_users must be >= 1, got {self.n_users}"),
            (0 <= self.seed < 2**63, f"seed must be in [0, 2**63), got {self.seed}"),
            (self.history_window >= 1, f"history_window must be >= 1, got {self.history_window}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"FittedWorldConfig.{message}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class FittedCorpus:
    """The fitted world's catalogue as adapters see it (:class:`recommenders.CorpusLike`).

    Attributes:
        n_items: number of items.
        cluster: int64 (n_items,) primary genre as a group: an item with no
            genre is its own group ``n_genres + item`` (as in ``DataCorpus``).
        creator: int64 (n_items,) creator as a group: an unknown one is the
            item's own group ``n_known_creators + item``.
        popularity: float64 (n_items,) share of the log's rows, summing to 1.
        embedding: float64 (n_items, d) unit rows: the item's genre mix and its
            fitted factors, each normalised, concatenated and normalised
            again (a content feature for "more like this" logging policies).
        item_ids: int64 (n_items,) original item id of each dense id.
        clusters: bool (n_items, n_genres) genre matrix.
        primary_cluster: int64 (n_items,) first listed genre, -1 none.
        known_creator: int64 (n_items,) creator, -1 unknown.
        n_clusters, n_creators: the number of groups of ``cluster`` / ``creator``.
    """

    n_items: int
    cluster: np.ndarray
    creator: np.ndarray
    popularity: np.ndarray
    embedding: np.ndarray
    item_ids: np.ndarray
    clusters: np.ndarray
    primary_cluster: np.ndarray
    known_creator: np.ndarray
    n_clusters: int
    n_creators: int

    @classmethod
    def build(
        cls,
        item_ids: np.ndarray,
        clusters: np.ndarray,
        known_creator: np.ndarray,
        popularity: np.ndarray,
        item_factors: np.ndarray,
    ) -> FittedCorpus:
        n = len(item_ids)
        has_genre = clusters.any(axis=1)
        primary = np.where(has_genre, np.argmax(clusters, axis=1), -1).astype(np.int64)
        n_known = int(known_creator.max()) + 1 if (known_creator >= 0).any() else 0
        cluster = own_groups(primary, clusters.shape[1])
        creator = own_groups(known_creator, n_known)
        genre_mix = _unit_rows(clusters.astype(np.float64))
        parts = [genre_mix] + ([_unit_rows(item_factors)] if item_factors.shape[1] else [])
        embedding = _unit_rows(np.concatenate(parts, axis=1))
        arrays = (cluster, creator, popularity, embedding, item_ids, clusters, primary)
        for array in (*arrays, known_creator):
            array.flags.writeable = False  # shared by every adapter built from it
        return cls(
            n,
            cluster,
            creator,
            popularity,
            embedding,
            item_ids,
            clusters,
            primary,
            known_creator,
            int(cluster.max()) + 1 if n else 0,
            int(creator.max()) + 1 if n else 0,
        )


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


class FittedWorld:
    """A world whose catalogue is a data set's and whose users are fitted to its log."""

    kind = "fitted"
    FORMAT, VERSION = FITTED_FORMAT, FITTED_VERSION

    def __init__(self, config: FittedWorldConfig, header: dict, arrays: dict[str, np.ndarray]):
        self.config = config
        self.header = header
        self.arrays = arrays
        n_items = len(arrays["item_ids"])
        n_fitted = len(arrays["user_bias"])
        shapes = {
            "item_clusters": (n_items, len(header["cluster_names"])),
            "item_creator": (n_items,),
            "popularity": (n_items,),
            "item_bias": (n_items,),
            "item_factors": (n_items, header["n_factors"]),
            "user_factors": (n_fitted, header["n_factors"]),
            "cluster_effect": (len(header["cluster_names"]),),
            "source_user": (config.n_users,),
        }
        for name, shape in shapes.items():
            if arrays[name].shape != shape:
                raise ValueError(f"{name} has shape {arrays[name].shape}, expected {shape}")
        source = arrays["source_user"]
        if source.size and (source.min() < 0 or source.max() >= n_fitted):
            raise ValueError(f"source_user must lie in [0, {n_fitted})")
        creator = arrays["item_creator"]
        if creator.size and creator.max() >= len(arrays["creator_effect"]):
            raise ValueError("item_creator exceeds the fitted creator effects")
        self.corpus = FittedCorpus.build(
            arrays["item_ids"],
            arrays["item_clusters"],
            creator,
            arrays["popularity"],
            arrays["item_factors"],
        )
        known = creator >= 0
        creator_term = np.zeros(n_items)
        creator_term[known] = arrays["creator_effect"][creator[known]]
        weights = genre_weights(arrays["item_clusters"])
        self.response = FittedResponse(
            user_bias=arrays["user_bias"],
            user_factors=arrays["user_factors"],
            item_static=arrays["item_bias"] + weights @ arrays["cluster_effect"] + creator_term,
            item_factors=arrays["item_factors"],
            gamma=np.asarray(header["gamma"], np.float64),
            thresholds=np.asarray(header["thresholds"], np.float64),
            level_feedback=np.asarray(header["level_feedback"], np.int64),
            level_dwell=np.asarray(header["level_dwell"], np.float64),
            item_creator=creator,
            item_clusters=arrays["item_clusters"],
        )
        if np.any(np.diff(self.response.thresholds) <= 0):
            raise ValueError("thresholds must increase")

    # -- what every world offers ----------------------------------------------------

    @property
    def n_users(self) -> int:
        return self.config.n_users

    @property
    def data_fingerprint(self) -> str:
        """Fingerprint of the data set the world was fitted to."""
        return self.header["data"]["fingerprint"]

    @property
    def data_name(self) -> str:
        return self.header["data"]["name"]

    def user_model(self, seed: int) -> FittedUserModel:
        """Response model whose outcome draws are keyed by the run ``seed``."""
        return FittedUserModel(
            self.response,
            self.arrays["source_user"],
            self.corpus.cluster,
            self.corpus.creator,
            self.config.history_window,
            seed=seed,
        )

    def item_attributes(self) -> ItemAttributes:
        """Genres as clusters (``shares a genre`` with x_k), creators with -1 unknown:
        the relations of the real-history measurement."""
        c = self.corpus
        return ItemAttributes(
            cluster=c.primary_cluster, creator=c.known_creator, clusters=c.clusters
        )

    def _header(self) -> dict:
        return {
            "format": FITTED_FORMAT,
            "version": FITTED_VERSION,
            "config": self.config.to_dict(),
            **self.header,
        }

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex, first 16 chars) of the header and every array (see
        :func:`simulator.world.world.archive_fingerprint`)."""
        return archive_fingerprint(self._header(), self.arrays)

    def save(self, path) -> object:
        """Write the world to ``path`` (``.npz``) atomically; returns the path."""
        return write_archive(path, self._header(), self.arrays)

    @classmethod
    def load(cls, path) -> FittedWorld:
        """Read a fitted world; :class:`WorldFileError` (one line) on any problem."""
        header, data = read_archive(path, FITTED_FORMAT, FITTED_VERSION)
        return cls.from_archive(path, header, data)

    @staticmethod
    def expected_shapes(header: dict) -> dict[str, tuple[int, ...]]:
        """The shapes the header implies: the users' arrays, the genre effects and the
        population (the item count is the item-id array's, checked against the rest
        when the world is built)."""
        n_fitted, factors = int(header["data"]["n_users"]), int(header["n_factors"])
        return {
            "user_bias": (n_fitted,),
            "user_factors": (n_fitted, factors),
            "cluster_effect": (len(header["cluster_names"]),),
            "source_user": (int(header["config"]["n_users"]),),
        }

    @classmethod
    def from_archive(cls, path, header: dict, data: dict[str, np.ndarray]) -> FittedWorld:
        missing = [n for n in (*_ITEM_ARRAYS, *_MODEL_ARRAYS, "source_user") if n not in data]
        if missing:
            raise WorldFileError(f"world file {path} lacks arrays {missing}")
        try:
            config = FittedWorldConfig(**header["config"])
            header = {k: v for k, v in header.items() if k not in ("format", "version", "config")}
            arrays = {name: data[name] for name in (*_ITEM_ARRAYS, *_MODEL_ARRAYS, "source_user")}
            return cls(config, header, arrays)
        except (KeyError, TypeError, ValueError) as error:
            raise WorldFileError(f"world file {path} is inconsistent: {error}") from None

    def with_users(self, n_users: int, seed: int | None = None) -> FittedWorld:
        """The same fit with ``n_users`` users (and another draw with ``seed``); under the
        same seed, users ``0..min(n, n_users)-1`` are the same users (one draw per row)."""
        config = FittedWorldConfig(
            n_users, self.config.seed if seed is None else seed, self.config.history_window
        )
        n_fitted = len(self.arrays["user_bias"])
        arrays = {**self.arrays, "source_user": draw_users(n_fitted, config)}
        return FittedWorld(config, self.header, arrays)


def draw_users(n_fitted: int, config: FittedWorldConfig) -> np.ndarray:
    """int64 (n_users,): the fitted user behind each simulated user (uniform, with replacement)."""
    rng = np.random.default_rng([config.seed, 0xF177ED])
    return rng.integers(0, n_fitted, size=config.n_users).astype(np.int64)


def level_codes(data: InteractionData, outcomes: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    """(feedback code, dwell) of each outcome level: the data set's own rule and logged dwell.

    With ratings, a level is logged as the :class:`~recommenders.datasets.RatingRule`
    code of its rating (the code models trained on the data set saw); without,
    as DISLIKE, SKIP or POSITIVE (its class). Dwell: the median logged dwell of
    the level's events (1.0 in MovieLens), or the median of all events for a
    level the log never shows.
    """
    from simulator.world.outcome_simulation import CLASS_FEEDBACK

    if outcomes.rating_values is not None:
        codes = data.rule.table()
    else:
        codes = CLASS_FEEDBACK[outcomes.feedback_class]
    levels = outcomes.levels(data)
    dwell = data.log["dwell"].to_numpy(np.float64)
    overall = float(np.median(dwell)) if len(dwell) else 1.0
    level_dwell = np.array(
        [
            float(np.median(dwell[levels == k])) if (levels == k).any() else overall
            for k in range(outcomes.n_levels)
        ]
    )
    return codes.astype(np.int64), level_dwell


def fit_world(
    data: InteractionData, model: OrdinalResponseModel, config: FittedWorldConfig | None = None
) -> FittedWorld:
    """The world of ``data``'s catalogue whose users follow the fitted ``model``.

    Raises a one-line ValueError when no item has a content cluster (the
    protocols' content similarity needs one).
    """
    from simulator.world.response_fit import Outcomes

    config = config or FittedWorldConfig()
    if not data.cluster_matrix.any():
        raise ValueError(
            f"{data.name}: no item has a content cluster; a world needs them "
            "(give the item table's cluster column)"
        )
    outcomes = Outcomes.of(data)
    codes, dwell = level_codes(data, outcomes)
    p = {name: tensor.detach().numpy().copy() for name, tensor in model.params.items()}
    n_creators = data.n_creators
    creator_effect = np.zeros(n_creators)
    creator_effect[: len(p["creator"])] = p["creator"]
    summary = model.summary()
    header = {
        "data": {
            "name": data.name,
            "fingerprint": data.fingerprint,
            "n_users": data.n_users,
            "n_events": len(data.log),
        },
        "fit": {**model.config.to_dict(), **summary},
        "outcome_labels": list(outcomes.labels),
        "level_feedback": codes.tolist(),
        "level_feedback_names": [Feedback(int(c)).name for c in codes],
        "level_dwell": dwell.tolist(),
        "thresholds": model.thresholds().detach().numpy().tolist(),
        "gamma": p["gamma"].tolist(),
        "n_factors": int(p["user_factors"].shape[1]),
        "cluster_names": list(data.cluster_names),
        "creator_names": list(data.creator_names),
    }
    _check_finite(header, data.name)
    arrays = {
        "item_ids": np.asarray(data.item_ids, np.int64),
        "item_clusters": np.asarray(data.cluster_matrix, bool),
        "item_creator": np.asarray(data.creator, np.int64),
        "popularity": np.asarray(data.popularity, np.float64),
        "user_bias": p["user_bias"],
        "user_factors": p["user_factors"],
        "item_bias": p["item_bias"],
        "item_factors": p["item_factors"],
        "cluster_effect": p["cluster"],
        "creator_effect": creator_effect,
        "source_user": draw_users(data.n_users, config),
    }
    return FittedWorld(config, header, arrays)


def _check_finite(header: dict, name: str) -> None:
    values = [*header["thresholds"], *header["gamma"]]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name}: the fit diverged (non-finite thresholds or effects)")
