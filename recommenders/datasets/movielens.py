"""Presets for the two MovieLens folders in ``shared/data`` (see its README).

Both map ratings with :class:`RatingRule` (default: 1-2 DISLIKE, 3 SKIP, 4-5
POSITIVE), set dwell = 1.0 on every row (MovieLens has no dwell) and use genres
as the content clusters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommenders.datasets.columns import in_range, integers, require_columns
from recommenders.datasets.errors import DataError
from recommenders.datasets.interactions import InteractionData
from recommenders.datasets.items import assemble_items
from recommenders.datasets.loader import assemble, load_interactions
from recommenders.datasets.rules import RatingRule

ML1M_FILES = ("interactions.csv.gz", "items.csv")
ML100K_FILES = ("u.data", "u.item", "u.genre")
N_ML100K_GENRES = 19


def load_ml1m(path: str | Path, *, rule: RatingRule | None = None) -> InteractionData:
    """MovieLens 1M, sequential benchmark version, from the folder that holds its files.

    ``interactions.csv.gz`` (user_id, position, movie_id, rating, timestamp):
    events are ordered by ``position``, never by ``timestamp`` (known for 57%
    of rows only); ``timestamp`` is not read. ``items.csv`` (movie_id, title,
    genres, director_id, director_name): clusters are the 18 genres, ids in
    alphabetical order of name; ``primary_cluster`` is the first genre listed
    for the movie; the creator is the director (-1 for the 1.6% of movies
    without one), ids in sorted order of ``director_id``, named by
    ``director_name``.
    """
    folder = _folder(path, ML1M_FILES)
    return load_interactions(
        folder / "interactions.csv.gz",
        user="user_id",
        order="position",
        item="movie_id",
        rating="rating",
        rule=rule,
        items=folder / "items.csv",
        item_id="movie_id",
        clusters="genres",
        creator="director_id",
        creator_name="director_name",
        title="title",
        name="ml-1m",
    )


def load_ml100k(path: str | Path, *, rule: RatingRule | None = None) -> InteractionData:
    """MovieLens 100K, unmodified, from the folder that holds u.data, u.item and u.genre.

    ``u.data`` (tab-separated user, item, rating, Unix timestamp; no header):
    events are ordered by timestamp, ties broken by the order of the lines in
    u.data (a stable sort), then numbered 0..len-1. ``u.item`` (latin-1,
    pipe-separated) gives titles and 19 binary genre columns, named and
    numbered by ``u.genre`` (0 = "unknown", 1 = Action, ...); as the flags have
    no order, ``primary_cluster`` is the genre of lowest id (-1 for a movie with
    no flag). There is no creator: ``creator`` is -1 everywhere.
    """
    folder = _folder(path, ML100K_FILES)
    source = str(folder / "u.data")
    ratings = pd.read_csv(
        folder / "u.data", sep="\t", header=None, names=["user", "item", "rating", "timestamp"]
    )
    genres = pd.read_csv(folder / "u.genre", sep="|", header=None, names=["name", "id"])
    genre_source = str(folder / "u.genre")
    ids = integers(genres, "id", genre_source)
    if not np.array_equal(ids, np.arange(N_ML100K_GENRES)):
        raise DataError(f"{genre_source}: expected genre ids 0..{N_ML100K_GENRES - 1} in order")
    item_source = str(folder / "u.item")
    item_frame = pd.read_csv(
        folder / "u.item",
        sep="|",
        header=None,
        encoding="latin-1",
        names=["item", "title", "release", "video_release", "url", *genres["name"]],
    )
    require_columns(item_frame, ["item", "title", *genres["name"]], item_source)
    flags = np.column_stack([integers(item_frame, g, item_source) for g in genres["name"]])
    for column, values in zip(genres["name"], flags.T, strict=True):
        in_range(values, 0, 1, column, item_source, " (genre flags)")
    # np.nonzero walks row-major: per movie, genres in ascending id, so the first is the lowest.
    rows, clusters = np.nonzero(flags)
    table = assemble_items(
        integers(item_frame, "item", item_source),
        rows,
        clusters,
        tuple(str(g) for g in genres["name"]),
        item_source,
        title=item_frame["title"],
    )
    return assemble(
        ratings,
        source,
        "ml-100k",
        table,
        user="user",
        order="timestamp",
        order_kind="timestamp",
        item="item",
        rating="rating",
        feedback=None,
        dwell=None,
        rule=rule,
    )


def _folder(path: str | Path, files: tuple[str, ...]) -> Path:
    folder = Path(path)
    hint = f"pass the folder that holds {', '.join(files[:-1])} and {files[-1]}"
    if not folder.is_dir():
        raise DataError(f"{folder} not found: {hint}")
    for name in files:
        if not (folder / name).is_file():
            raise DataError(f"{folder / name} not found: {hint}")
    return folder
