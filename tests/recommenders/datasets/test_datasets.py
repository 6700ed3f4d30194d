from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommenders import Feedback
from recommenders.datasets import (
    DataError,
    InteractionData,
    RatingRule,
    data_root,
    load_interactions,
    load_ml1m,
    load_ml100k,
)
from recommenders.sequences import LogError, validate_log

D, S, P, L = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE), int(Feedback.LIKE)


def _ratings(**overrides) -> pd.DataFrame:
    """Two users with original ids 7 and 3; positions with a gap; rows out of order."""
    frame = pd.DataFrame(
        {
            "user": [7, 7, 3, 7, 3],
            "position": [5, 0, 1, 2, 0],
            "item": [30, 10, 10, 20, 40],
            "rating": [1, 2, 3, 4, 5],
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def _items(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "item": [40, 10, 20, 30, 50],
            "title": ["d", "a", "b", "c", "e"],
            "genres": ["Drama", "Comedy|Drama", "Action|Comedy", None, "Drama|Action"],
            "director": ["x", "y", None, "x", "z"],
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def _load(frame=None, **kwargs) -> InteractionData:
    kwargs.setdefault("rating", "rating")
    return load_interactions(_ratings() if frame is None else frame, **kwargs)


# --- RatingRule ------------------------------------------------------------------------


def test_default_rule_maps_low_to_dislike_three_to_skip_high_to_positive():
    assert RatingRule().feedback(np.array([1, 2, 3, 4, 5])).tolist() == [D, D, S, P, P]


def test_rule_is_configurable():
    rule = RatingRule(dislike_max=1, positive_min=3, like_min=5, neutral=Feedback.DISMISS)
    assert rule.feedback(np.array([1, 2, 3, 4, 5])).tolist() == [D, 4, P, P, L]
    # No neutral band: every rating is a dislike or a positive.
    assert RatingRule(positive_min=3).feedback(np.array([2, 3])).tolist() == [D, P]
    assert RatingRule(neutral=0).neutral is Feedback.POSITIVE
    assert RatingRule(like_min=5).to_dict()["neutral"] == "SKIP"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dislike_max": 4, "positive_min": 4}, "dislike_max < positive_min"),
        ({"dislike_max": 0}, "min_rating <= dislike_max"),
        ({"positive_min": 6}, "positive_min <= max_rating"),
        ({"like_min": 3}, r"like_min must be in \[positive_min, max_rating\] = \[4, 5\]"),
        ({"neutral": 9}, "neutral must be a Feedback code"),
        ({"dislike_max": "2"}, "dislike_max must be a number"),
        ({"step": 0}, "step must be > 0"),
        ({"step": 0.75}, r"step 0.75 does not divide the scale \[1, 5\]"),
        ({"max_rating": float("inf")}, "max_rating must be finite"),
    ],
)
def test_inconsistent_rules_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RatingRule(**kwargs)


def test_rule_refuses_ratings_outside_its_range():
    with pytest.raises(
        ValueError, match=r"rating 6 at index 1 is outside the rule's range \[1, 5\]"
    ):
        RatingRule().feedback(np.array([5, 6]))


def test_half_star_rule_compares_numbers_and_refuses_ratings_between_its_steps():
    rule = RatingRule(min_rating=0.5, step=0.5)
    assert rule.n_levels == 10
    assert rule.values().tolist() == [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]
    ratings = np.array([0.5, 2, 2.5, 3.5, 4, 5])
    assert rule.feedback(ratings).tolist() == [D, D, S, S, P, P]
    assert rule.levels(ratings).tolist() == [0, 3, 4, 6, 7, 9]
    # Thresholds are numbers too: 3.5 and up is positive.
    assert RatingRule(min_rating=0.5, step=0.5, positive_min=3.5).feedback([3.5]).tolist() == [P]
    with pytest.raises(ValueError, match=r"rating 2.5 at index 1 is not on the rule's scale"):
        RatingRule().feedback(np.array([2, 2.5]))
    # Whole numbers stay ints in records (4, not 4.0).
    assert RatingRule(positive_min=4.0).to_dict()["positive_min"] == 4
    assert RatingRule().to_dict()["step"] == 1


# --- the generic loader: ids, order, feedback, dwell ------------------------------------


def test_log_passes_validate_log_with_dense_ids_and_positions():
    data = _load()
    assert (data.n_users, data.n_items) == (2, 4)
    assert data.user_ids.tolist() == [3, 7] and data.item_ids.tolist() == [10, 20, 30, 40]
    log = data.log
    pd.testing.assert_frame_equal(validate_log(log, data.n_items), log)
    assert log.columns.tolist() == ["user", "position", "item", "feedback", "dwell", "rating"]
    # User 3: positions 0, 1; user 7: positions 0, 2, 5 renumbered 0, 1, 2.
    assert log["user"].tolist() == [0, 0, 1, 1, 1]
    assert log["position"].tolist() == [0, 1, 0, 1, 2]
    assert log["rating"].tolist() == [5, 3, 2, 4, 1]
    assert log["feedback"].tolist() == [P, S, D, P, D]


def test_dense_ids_round_trip_to_the_original_ids():
    frame = _ratings()
    data = _load(frame)
    log = data.log
    back = pd.DataFrame(
        {
            "user": data.user_ids[log["user"]],
            "item": data.item_ids[log["item"]],
            "rating": log["rating"],
        }
    )
    key = ["user", "item", "rating"]
    pd.testing.assert_frame_equal(
        back.sort_values(key).reset_index(drop=True),
        frame[key].sort_values(key).reset_index(drop=True),
    )
    assert data.item_index([40, 10]).tolist() == [3, 0]
    assert data.user_index([7]).tolist() == [1]
    with pytest.raises(DataError, match=r"item id 99 \(index 1\) is not in the data set"):
        data.item_index([10, 99])


def test_timestamps_order_events_and_ties_keep_input_order():
    frame = pd.DataFrame(
        {
            "user": [1, 1, 1, 1, 2],
            "ts": [300.0, 100.0, 200.0, 100.0, 5.0],
            "item": [1, 2, 3, 4, 5],
            "rating": [4, 4, 4, 4, 4],
        }
    )
    data = _load(frame, order="ts", order_kind="timestamp")
    # Items 2 and 4 share t = 100: 2 comes first because it comes first in the input.
    assert data.item_ids[data.log["item"]].tolist() == [2, 4, 3, 1, 5]
    assert data.log["position"].tolist() == [0, 1, 2, 3, 0]
    dated = frame.assign(ts=pd.to_datetime(frame["ts"], unit="s", utc=True))
    again = _load(dated, order="ts", order_kind="timestamp")
    pd.testing.assert_frame_equal(again.log, data.log)


def test_dwell_defaults_to_one_and_is_kept_when_given():
    assert (_load().log["dwell"] == 1.0).all()
    data = _load(_ratings(watched=[0.1, 0.2, 0.3, 0.4, 1.0]), dwell="watched")
    assert data.log["dwell"].tolist() == [1.0, 0.3, 0.2, 0.4, 0.1]


def test_half_star_ratings_load_with_a_half_star_rule_and_keep_their_values():
    frame = _ratings(rating=[0.5, 3.0, 2.5, 4.5, 1.0])
    data = _load(frame, rule=RatingRule(min_rating=0.5, step=0.5))
    assert data.log["rating"].dtype == np.float64
    assert data.log["rating"].tolist() == [1.0, 2.5, 3.0, 4.5, 0.5]  # sorted by user, position
    assert data.log["feedback"].tolist() == [D, S, S, P, D]
    # Whole-number ratings given as floats are stored as ints: same log as integer input.
    whole = _load(_ratings(rating=[1.0, 2.0, 3.0, 4.0, 5.0]))
    assert whole.log["rating"].dtype == np.int64
    assert whole.fingerprint == _load().fingerprint


def test_explicit_feedback_by_code_or_name_without_ratings():
    frame = _ratings(fb=["dislike", "SKIP", "Positive", "like", "dismiss"]).drop(columns="rating")
    data = load_interactions(frame, feedback="fb")
    assert data.rule is None and "rating" not in data.log.columns
    assert data.log["feedback"].tolist() == [4, 0, 1, 3, 2]
    codes = load_interactions(_ratings(fb=[2, 1, 0, 3, 4]), feedback="fb", rating="rating")
    assert codes.log["feedback"].tolist() == [4, 0, 1, 3, 2]
    assert codes.log["rating"].tolist() == [5, 3, 2, 4, 1]  # rides along, not mapped


def test_a_rule_changes_feedback_and_fingerprint():
    default = _load()
    liked = _load(rule=RatingRule(like_min=5))
    assert liked.log["feedback"].tolist() == [L, S, D, P, D]
    assert liked.rule == RatingRule(like_min=5)
    assert liked.fingerprint != default.fingerprint
    assert _load().fingerprint == default.fingerprint and len(default.fingerprint) == 16


# --- item tables -----------------------------------------------------------------------


def _with_items(items=None, **kwargs) -> InteractionData:
    kwargs = {"clusters": "genres", "creator": "director", "title": "title"} | kwargs
    return _load(items=_items() if items is None else items, **kwargs)


def test_multi_valued_genres_keep_listed_order_and_the_first_is_primary():
    data = _with_items()
    assert data.cluster_names == ("Action", "Comedy", "Drama")
    items = data.items
    assert items.index.name == "item"
    assert items["original_id"].tolist() == [10, 20, 30, 40, 50]  # the catalogue: 50 unrated
    assert items["title"].tolist() == ["a", "b", "c", "d", "e"]
    assert items["clusters"].tolist() == [(1, 2), (0, 1), (), (2,), (2, 0)]
    assert items["primary_cluster"].tolist() == [1, 0, -1, 2, 2]
    assert data.cluster.tolist() == [1, 0, -1, 2, 2]
    expected = [[0, 1, 1], [1, 1, 0], [0, 0, 0], [0, 0, 1], [1, 0, 1]]
    assert data.cluster_matrix.astype(int).tolist() == expected
    assert not data.cluster_matrix.flags.writeable


def test_clusters_as_lists_or_one_integer_per_item():
    lists = _items(genres=[["Drama"], ["Comedy", "Drama"], ["Action", "Comedy"], [], ["Drama"]])
    data = _with_items(lists)
    assert data.items["clusters"].tolist() == [(1, 2), (0, 1), (), (2,), (2,)]
    ints = _with_items(_items(genres=[3, 10, 3, 2, 10]))
    assert ints.cluster_names == ("2", "3", "10")  # numeric order, not text order
    assert ints.items["clusters"].tolist() == [(2,), (1,), (0,), (1,), (2,)]


def test_creators_are_dense_with_minus_one_for_unknown_and_named():
    data = _with_items(creator_name="name", items=_items(name=["X", "Y", None, "X", "Z"]))
    assert data.creator.tolist() == [1, -1, 0, 0, 2]
    assert data.creator_names == ("X", "Y", "Z")
    assert _with_items().creator_names == ("x", "y", "z")
    assert _with_items(creator=None).creator.tolist() == [-1] * 5
    floats = _with_items(items=_items(director=[12.0, None, 3.0, 12.0, 3.0]))
    assert floats.creator_names == ("3", "12")


def test_without_an_item_table_the_catalogue_is_the_items_seen():
    data = _load()
    assert data.n_clusters == 0 and data.cluster_matrix.shape == (4, 0)
    assert data.creator.tolist() == [-1] * 4 and data.cluster.tolist() == [-1] * 4
    assert data.popularity.tolist() == [0.4, 0.2, 0.2, 0.2]


# --- errors: one line, naming the source, the column and the first bad row -------------


@pytest.mark.parametrize(
    "frame, kwargs, match",
    [
        (
            _ratings().drop(columns="item"),
            {},
            r"interactions table: missing column\(s\) \['item'\]",
        ),
        (
            _ratings(user=["7", "7", "x", "7", "3"]),
            {},
            "'user' must hold integers, got 'x' in row 2",
        ),
        (
            _ratings(item=[30, 10, np.nan, 20, 40]),
            {},
            "'item' must hold integers, got nan in row 2",
        ),
        (
            _ratings(item=[30.0, 10, 10, 20, 40]),
            {},
            "'item' must have an integer dtype, got float64",
        ),
        (
            _ratings(rating=[1, 2, 3.5, 4, 5]),
            {},
            r"'rating' has 3.5 in row 2, not on the rating rule's scale 1..5 in steps of 1",
        ),
        (_ratings(rating=[1, 2, "x", 4, 5]), {}, "'rating' must be numeric, got 'x' in row 2"),
        (_ratings(rating=[1, 2, 3, 0, 5]), {}, r"'rating' has 0 in row 3, outside \[1, 5\]"),
        (
            _ratings(position=[5, 0, 1, 0, 0]),
            {},
            r"duplicate \(user, position\) = \(7, 0\) in row 3",
        ),
        (
            _ratings(d=[0, 0, 1.5, 0, 0]),
            {"dwell": "d"},
            r"'d' has 1.5 in row 2, outside \[0.0, 1.0\]",
        ),
        (_ratings(d=[0, 0, None, 0, 0]), {"dwell": "d"}, "'d' is empty in row 2"),
        (_ratings(d=["0", "a", 1, 0, 0]), {"dwell": "d"}, "'d' must be numeric, got 'a' in row 1"),
        (_ratings(f=[0, 9, 0, 0, 0]), {"feedback": "f"}, r"'f' has 9 in row 1, outside \[0, 4\]"),
        (_ratings(f=["skip", "meh", 0, 0, 0]), {"feedback": "f"}, "'f' has 'meh' in row 1"),
        (
            _ratings(t=[1.0, np.nan, 2, 3, 4]),
            {"order": "t", "order_kind": "timestamp"},
            "'t' is empty in row 1",
        ),
    ],
)
def test_bad_interactions(frame, kwargs, match):
    with pytest.raises(DataError, match=match) as error:
        _load(frame, **kwargs)
    assert "\n" not in str(error.value)
    assert isinstance(error.value, LogError) and isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    "items, kwargs, match",
    [
        (_items().iloc[1:], {}, "'item' has item 40 in row 4, which is not in the item table"),
        (_items(item=[40, 10, 20, 30, 10]), {}, "item id 10 appears twice, in rows 1 and 4"),
        (_items(), {"clusters": "genre"}, r"items table: missing column\(s\) \['genre'\]"),
        (_items(genres=["A", "B||C", "A", "A", "A"]), {}, "empty cluster name in row 1"),
        (_items(genres=["A", "B|B", "A", "A", "A"]), {}, "lists a cluster twice in row 1"),
        (_items(genres=["A", 1.5, "A", "A", "A"]), {}, "'genres' has 1.5 in row 1"),
        (
            _items(name=["X", "Y", "W", "Q", "Z"]),
            {"creator_name": "name"},
            "creator 'x' has more than one name",
        ),
    ],
)
def test_bad_item_tables(items, kwargs, match):
    with pytest.raises(DataError, match=match):
        _with_items(items, **kwargs)


def test_an_empty_table_is_an_error(tmp_path):
    _ratings().iloc[:0].to_csv(tmp_path / "empty.csv", index=False)
    with pytest.raises(DataError, match=r"empty\.csv: no interactions"):
        load_interactions(tmp_path / "empty.csv", rating="rating")


def test_caller_errors_are_plain_value_errors():
    with pytest.raises(ValueError, match="needs rating= or feedback="):
        load_interactions(_ratings())
    with pytest.raises(ValueError, match="order_kind must be 'position' or 'timestamp'"):
        _load(order_kind="time")


# --- files ------------------------------------------------------------------------------


def test_csv_and_gzip_files_load_like_the_frame(tmp_path):
    _ratings().assign(extra="ignored").to_csv(tmp_path / "log.csv.gz", index=False)
    _items().to_csv(tmp_path / "items.csv", index=False)
    data = load_interactions(
        tmp_path / "log.csv.gz",
        rating="rating",
        items=tmp_path / "items.csv",
        clusters="genres",
        creator="director",
    )
    assert data.name == "log"
    assert data.fingerprint == _with_items(title=None).fingerprint
    with pytest.raises(DataError, match=r"log.csv.gz: missing column\(s\) \['pos'\] \(it has"):
        load_interactions(tmp_path / "log.csv.gz", rating="rating", order="pos")
    with pytest.raises(DataError, match=r"nope\.csv not found"):
        load_interactions(tmp_path / "nope.csv", rating="rating")
    _ratings(rating=[1, 2, 3, 7, 5]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=r"bad.csv: column 'rating' has 7 in row 3"):
        load_interactions(tmp_path / "bad.csv", rating="rating")


def test_parquet_files(tmp_path):
    pytest.importorskip("pyarrow", reason="parquet needs pyarrow, an optional dependency")
    _ratings().to_parquet(tmp_path / "log.parquet")
    assert load_interactions(tmp_path / "log.parquet", rating="rating").fingerprint == (
        _load().fingerprint
    )


# --- the MovieLens presets on small hand-made folders -----------------------------------


def test_ml1m_preset_reads_the_folder(tmp_path):
    pd.DataFrame(
        {
            "user_id": [2, 2, 1],
            "position": [1, 0, 0],
            "movie_id": [5, 6, 5],
            "rating": [1, 4, 3],
            "timestamp": [np.nan, 10.0, 5.0],  # ignored: the order is the position
        }
    ).to_csv(tmp_path / "interactions.csv.gz", index=False)
    pd.DataFrame(
        {
            "movie_id": [5, 6],
            "title": ["five", "six"],
            "genres": ["War|Drama", "Drama"],
            "director_id": ["d_a", None],
            "director_name": ["D. A", None],
        }
    ).to_csv(tmp_path / "items.csv", index=False)
    data = load_ml1m(tmp_path)
    assert data.name == "ml-1m"
    assert data.item_ids[data.log["item"]].tolist() == [5, 6, 5]
    assert data.log["feedback"].tolist() == [S, P, D]
    assert data.cluster_names == ("Drama", "War")
    assert data.items["primary_cluster"].tolist() == [1, 0]
    assert data.creator.tolist() == [0, -1] and data.creator_names == ("D. A",)


def _write_ml100k(folder: Path) -> None:
    folder.mkdir()
    (folder / "u.data").write_text("1\t2\t5\t100\n2\t1\t1\t50\n1\t1\t3\t100\n1\t2\t4\t90\n")
    genres = ["unknown", "Action", *[f"g{i}" for i in range(2, 19)]]
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(genres)) + "\n")
    flags = [[0] * 19, [0] * 19]
    flags[0][5] = flags[0][1] = 1
    lines = [
        f"{i + 1}|{title}|01-Jan-1995||http://x|" + "|".join(map(str, f))
        for i, (title, f) in enumerate(zip(["Café (1995)", "B (1996)"], flags, strict=True))
    ]
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


def test_ml100k_preset_orders_by_timestamp_with_file_order_ties(tmp_path):
    _write_ml100k(tmp_path / "ml-100k")
    data = load_ml100k(tmp_path / "ml-100k")
    # User 1: t = 90 (item 2), then two events at t = 100 in file order: item 2, item 1.
    assert data.item_ids[data.log["item"]].tolist() == [2, 2, 1, 1]
    assert data.log["rating"].tolist() == [4, 5, 3, 1]
    assert data.items["title"].tolist() == ["Café (1995)", "B (1996)"]
    assert data.items["clusters"].tolist() == [(1, 5), ()]
    assert data.cluster.tolist() == [1, -1]  # lowest genre id
    assert data.cluster_names[:2] == ("unknown", "Action") and data.n_clusters == 19
    assert data.creator.tolist() == [-1, -1] and data.creator_names == ()


def test_presets_say_which_folder_to_pass(tmp_path):
    with pytest.raises(
        DataError, match=r"not found: pass the folder that holds interactions\.csv\.gz"
    ):
        load_ml1m(tmp_path / "absent")
    (tmp_path / "items.csv").write_text("movie_id\n")
    with pytest.raises(DataError, match=r"interactions.csv.gz not found: pass the folder"):
        load_ml1m(tmp_path)
    with pytest.raises(
        DataError, match=r"u\.data not found: pass the folder that holds u\.data, u\.item"
    ):
        load_ml100k(tmp_path)


# --- the real data sets (../shared/data, or $RESP_DATA_DIR) -----------------------------

DATA_DIR = data_root()


def _real(name: str) -> Path:
    folder = DATA_DIR / name
    if not folder.is_dir():
        pytest.skip(
            f"{folder} is absent (MovieLens is not shipped; set RESP_DATA_DIR to its folder)"
        )
    return folder


@pytest.fixture(scope="module")
def ml1m() -> InteractionData:
    return load_ml1m(_real("ml-1m"))


@pytest.fixture(scope="module")
def ml100k() -> InteractionData:
    return load_ml100k(_real("ml-100k"))


def _positions_are_ranks(log: pd.DataFrame) -> bool:
    counts = np.bincount(log["user"].to_numpy())
    expected = np.arange(len(log)) - np.repeat(np.cumsum(counts) - counts, counts)
    return bool(np.array_equal(log["position"].to_numpy(), expected))


def test_ml1m_real(ml1m):
    log = ml1m.log
    assert (len(log), ml1m.n_users, ml1m.n_items) == (999_611, 6_040, 3_416)
    assert round(float((log["feedback"] == Feedback.DISLIKE).mean()), 3) == 0.164
    assert _positions_are_ranks(log)
    assert validate_log(log, ml1m.n_items) is not log  # passes (returns a sorted copy)
    assert ml1m.n_clusters == 18 and (ml1m.cluster >= 0).all()
    assert ml1m.n_creators == 1_709 and (ml1m.creator == -1).sum() == 54
    # The first events of user 5988, as in the file (ordered by position).
    user = log[log["user"] == ml1m.user_index([5988])[0]]
    assert ml1m.item_ids[user["item"].to_numpy()[:4]].tolist() == [1198, 3552, 356, 1197]


def test_ml100k_real(ml100k):
    log = ml100k.log
    assert (len(log), ml100k.n_users, ml100k.n_items) == (100_000, 943, 1_682)
    assert _positions_are_ranks(log)
    assert ml100k.n_clusters == 19 and (ml100k.creator == -1).all()
    raw = pd.read_csv(_real("ml-100k") / "u.data", sep="\t", names=["u", "i", "r", "t"])
    raw = raw.sort_values("t", kind="stable").sort_values("u", kind="stable")
    assert np.array_equal(ml100k.item_ids[log["item"].to_numpy()], raw["i"].to_numpy())


@pytest.mark.parametrize(
    "row, message",
    [
        ("18446744073709551615,1,0,POSITIVE", "column 'user' has 18446744073709551615 in row 1"),
        ("2,1,9223372036854775808,POSITIVE", "column 'position' has 9223372036854775808 in row 1"),
    ],
)
def test_ids_beyond_int64_are_refused_not_wrapped(tmp_path, row, message):
    """Such ids used to wrap to negative int64 (user -1; a position sorted first)."""
    path = tmp_path / "big.csv"
    path.write_text(f"user,item,position,feedback\n1,1,0,POSITIVE\n{row}\n")
    with pytest.raises(DataError, match=message):
        load_interactions(path, feedback="feedback")
