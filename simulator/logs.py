"""Interaction logs from a world: users served by a logging recommender.

Each user consumes ``n_steps`` items, one per step, choosing from the
logging adapter's slate with the utility-driven :class:`agents.LogitChoice`
(always consuming one item), with dwell and feedback from the response model.
The result is a :class:`recommenders.HistoryBatch`, from which co-occurrence
statistics (item-kNN) or training sequences are built.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

from agents import LogitChoice
from recommenders import (
    Feedback,
    HistoryBatch,
    PopularityAdapter,
    RandomAdapter,
    RecommenderAdapter,
)
from recommenders.adapters.mixture import MixtureAdapter
from recommenders.adapters.similar import SimilarItemsAdapter
from recommenders.sequences import LogError, log_from_histories, read_log
from simulator.engine.cohort import Cohort
from simulator.engine.service import RecommenderService
from simulator.records import check_results
from simulator.world import AnyWorld, load_world


def simulate_histories(
    world: AnyWorld,
    logging_adapter: RecommenderAdapter,
    n_users: int,
    n_steps: int,
    seed: int,
    slate_size: int = 10,
    temperature: float = 1.0,
) -> HistoryBatch:
    """Histories of users ``0..n_users-1`` after ``n_steps`` logged steps."""
    if not 1 <= n_users <= world.n_users:
        raise ValueError(f"n_users must be in [1, {world.n_users}], got {n_users}")
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    env = simpy.Environment()
    service = RecommenderService(env, logging_adapter, world.corpus.n_items, slate_size)
    model = world.user_model(seed)
    policy = LogitChoice(temperature=temperature, no_choice_utility=-np.inf)
    cohort = Cohort(np.arange(n_users), capacity=n_steps)

    def user_cohort():
        rows = np.arange(n_users)
        for step in range(n_steps):
            slates = yield service.request(cohort.histories())
            recent = cohort.recent(model.history_window)
            picks = policy.choose(model.keys, cohort.users, step, slates, model, recent)
            items = slates[rows, picks]
            response = model.respond(cohort.users, items, step, recent)
            cohort.append(items, response.feedback, response.dwell)
            yield env.timeout(1.0)

    env.process(user_cohort())
    env.run()
    return cohort.histories()


@dataclass(frozen=True)
class LogConfig:
    """How interaction logs are drawn from a world.

    ``logging``: ``random``, ``popularity``, ``similar`` (content-based "more
    like this" on the last items), or ``mixture``: at every step a history is
    served by ``similar`` with probability ``similar``, by uniform random with
    probability ``explore`` and by popularity otherwise. The personalised
    share stands for the production recommender that logged the paper's data:
    it keeps offering content like what the user just watched, so the logs
    hold both continuations after enjoyed items and repeated exposure after
    disliked ones.
    """

    n_users: int = 5000
    n_steps: int = 100
    logging: str = "mixture"
    explore: float = 0.25
    similar: float = 0.5
    slate_size: int = 10
    temperature: float = 1.0
    seed: int = 1

    def __post_init__(self) -> None:
        if self.logging not in LOGGING_POLICIES:
            raise ValueError(f"logging must be one of {LOGGING_POLICIES}, got {self.logging!r}")
        if not (
            0 <= self.explore <= 1 and 0 <= self.similar <= 1 and self.explore + self.similar <= 1
        ):
            raise ValueError(
                f"explore ({self.explore}) and similar ({self.similar}) must be shares in [0, 1] "
                "summing to at most 1"
            )
        if self.n_users < 1 or self.n_steps < 1 or self.slate_size < 1:
            raise ValueError("n_users, n_steps and slate_size must be >= 1")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    def to_dict(self) -> dict:
        return asdict(self)


LOGGING_POLICIES = ("random", "popularity", "similar", "mixture")

LOGS_FILES = ("world.npz", "interactions.csv.gz", "logs.json")
"""The files of a logs folder (experiments/make_logs.py, :func:`read_logs_folder`)."""


def logging_adapter(world: AnyWorld, config: LogConfig) -> RecommenderAdapter:
    """The logging recommender that ``config.logging`` names."""
    random = RandomAdapter(world.corpus, seed=config.seed)
    popularity = PopularityAdapter(world.corpus)
    if config.logging == "random":
        return random
    if config.logging == "popularity":
        return popularity
    similar = SimilarItemsAdapter(world.corpus)
    if config.logging == "similar":
        return similar
    weights = [config.similar, config.explore, 1 - config.similar - config.explore]
    return MixtureAdapter([similar, random, popularity], weights, seed=config.seed)


def check_logs(world: AnyWorld, config: LogConfig) -> None:
    """One-line errors, before any simulation, for logs the world cannot host."""
    if config.n_users > world.n_users:
        raise ValueError(f"n_users {config.n_users} exceeds the world's {world.n_users} users")
    needed = config.n_steps + config.slate_size - 1
    if needed > world.corpus.n_items:
        raise ValueError(
            f"n_steps + slate_size - 1 = {needed} exceeds the world's {world.corpus.n_items} "
            "items (slates exclude consumed items)"
        )


def make_logs(world: AnyWorld, config: LogConfig) -> pd.DataFrame:
    """Interaction log (user, position, item, feedback, dwell) of users 0..n_users-1."""
    check_logs(world, config)
    histories = simulate_histories(
        world,
        logging_adapter(world, config),
        config.n_users,
        config.n_steps,
        seed=config.seed,
        slate_size=config.slate_size,
        temperature=config.temperature,
    )
    return log_from_histories(histories)


def continuity(log: pd.DataFrame, world: AnyWorld) -> pd.DataFrame:
    """Per feedback code of an event: share of the user's next events in the same
    content cluster / by the same creator. The sequential signal a model can learn:
    how the next item depends on what the user did with the last one."""
    items = log["item"].to_numpy()
    users = log["user"].to_numpy()
    feedback = log["feedback"].to_numpy()
    follows = users[1:] == users[:-1]
    rows = []
    for code in np.unique(feedback):
        sel = follows & (feedback[:-1] == code)
        cluster = world.corpus.cluster[items]
        creator = world.corpus.creator[items]
        rows.append(
            {
                "feedback": Feedback(int(code)).name,
                "events": int(sel.sum()),
                "next_same_cluster": float((cluster[1:] == cluster[:-1])[sel].mean()),
                "next_same_creator": float((creator[1:] == creator[:-1])[sel].mean()),
            }
        )
    return pd.DataFrame(rows)


def recorded_world(record: dict) -> str | None:
    """The world fingerprint a logs folder's ``logs.json`` names (make_logs.py writes
    ``{"world": {"fingerprint": ...}}``, the paper's study ``{"world": "..."}``)."""
    world = record.get("world")
    return world if isinstance(world, str) else (world or {}).get("fingerprint")


def read_logs_folder(folder: str | Path) -> tuple[AnyWorld, pd.DataFrame]:
    """(world, validated log) of a logs folder: ``world.npz``, ``interactions.csv.gz`` and
    ``logs.json``, whose recorded world must be ``world.npz``'s.

    Raises a one-line :class:`recommenders.sequences.LogError` (or the world file's
    error) when a file is missing or corrupt, or when the logs were drawn from
    another world than the one beside them: a model trained on them would be
    stamped with the wrong world.
    """
    folder = Path(folder)
    record_path = folder / "logs.json"
    if not record_path.is_file():
        raise LogError(
            f"logs folder {folder} has no logs.json: its writing did not finish, or it is "
            "not a logs folder (logs.json shows which world drew the logs)"
        )
    try:
        record = json.loads(record_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise LogError(f"logs folder {folder}: logs.json is corrupt") from None
    if not isinstance(record, dict):
        raise LogError(f"logs folder {folder}: logs.json is not a JSON object")
    if "files" in record:
        # make_logs.py lists what it wrote; the paper study's folders predate the list.
        try:
            check_results(folder, "logs.json")
        except ValueError as error:
            raise LogError(str(error)) from None
    world = load_world(folder / "world.npz")
    named = recorded_world(record)
    if named != world.fingerprint:
        raise LogError(
            f"logs folder {folder}: logs.json names world {named}, but world.npz is world "
            f"{world.fingerprint}: the logs were drawn from another world"
        )
    return world, read_log(folder / "interactions.csv.gz", world.corpus.n_items)
