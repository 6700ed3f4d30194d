"""TableSchema: a data set's columns and rating rule as data, read from JSON or YAML."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recommenders.datasets import DataError, RatingRule, TableSchema, read_schema
from recommenders.history import Feedback


def test_round_trip_through_a_record():
    schema = TableSchema(
        user="uid",
        rating="stars",
        creator="director",
        sep="\t",
        rule=RatingRule(min_rating=0.5, step=0.5, neutral=Feedback.DISMISS),
    )
    record = json.loads(json.dumps(schema.to_dict()))
    assert TableSchema.from_mapping(record) == schema


@given(
    st.sampled_from([0.5, 1]),
    st.sampled_from([None, "uid", "user_id"]),
    st.sampled_from([None, 1.5, 2]),
)
def test_options_override_only_what_they_name(step, user, dislike_max):
    base = TableSchema(user="u0", rating="r", rule=RatingRule(min_rating=step, step=step))
    changed = base.with_options(user=user, rule_dislike_max=dislike_max, item=None)
    assert changed.user == (user or "u0") and changed.item == base.item
    assert changed.rule.step == base.rule.step
    assert changed.rule.dislike_max == (
        base.rule.dislike_max if dislike_max is None else dislike_max
    )


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"rating": "r", "usr": "u"}, "schema: unknown schema key 'usr'"),
        ({"rating": 3}, "TableSchema.rating must be a string, got 3"),
        ({"rating": "r", "order_kind": "time"}, "order_kind must be 'position' or 'timestamp'"),
        ({}, "needs a rating or a feedback column"),
        ({"rating": "r", "user": None}, "TableSchema.user must be a string, got None"),
        ({"rating": "r", "rule": {"step": 0.3}}, "rule: RatingRule.step 0.3 does not divide"),
        ({"rating": "r", "rule": {"neutral": "meh"}}, "neutral 'meh' is not a Feedback name"),
        ({"rating": "r", "rule": 5}, "rule must be a mapping of RatingRule fields"),
    ],
)
def test_bad_schemas_are_one_line_errors(mapping, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        TableSchema.from_mapping(mapping)
    assert "\n" not in str(error.value)


def test_schema_file_paths_are_relative_to_it_and_load(tmp_path):
    pd.DataFrame({"u": [1, 1, 2], "i": [5, 6, 5], "t": [2, 1, 1], "s": [4.5, 1.0, 3.0]}).to_csv(
        tmp_path / "log.tsv", sep="\t", index=False
    )
    spec = {"interactions": "log.tsv", "user": "u", "item": "i", "order": "t",
            "order_kind": "timestamp", "rating": "s", "sep": "\t",
            "rule": {"min_rating": 0.5, "step": 0.5}}  # fmt: skip
    (tmp_path / "data.json").write_text(json.dumps(spec))
    read = read_schema(tmp_path / "data.json")
    assert read.interactions == tmp_path / "log.tsv" and read.items is None
    data = read.schema.load(read.interactions)
    # User 1's events are ordered by timestamp: item 6 (t=1) before item 5 (t=2).
    assert data.log["item"].tolist() == [1, 0, 0]
    assert data.log["rating"].tolist() == [1.0, 4.5, 3.0]
    assert data.log["feedback"].tolist() == [Feedback.DISLIKE, Feedback.POSITIVE, Feedback.SKIP]
    assert data.name == "log.tsv"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.json", "{", "not valid JSON"),
        ("s.json", "[1]", "a schema is a mapping of options, got list"),
        ("s.txt", "{}", "a schema file ends in .json, .yaml or .yml"),
        ("s.json", '{"rating": "r", "interactions": ["a"]}', "'interactions' must be a path"),
    ],
)
def test_bad_schema_files(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=message) as error:
        read_schema(tmp_path / name)
    assert "\n" not in str(error.value) and str(tmp_path / name) in str(error.value)


def test_missing_schema_file(tmp_path):
    with pytest.raises(DataError, match="schema file not found"):
        read_schema(tmp_path / "none.json")


def test_unnamed_columns_are_never_read_and_named_empty_ones_are_errors(tmp_path):
    # ml-latest-small style: trailing empty columns after the four it has.
    (tmp_path / "r.csv").write_text(
        "userId,movieId,rating,timestamp,,\n1,2,2.5,10,,\n1,3,5.0,11,,\n"
    )
    schema = TableSchema(
        user="userId",
        item="movieId",
        order="timestamp",
        order_kind="timestamp",
        rating="rating",
        rule=RatingRule(min_rating=0.5, step=0.5),
    )
    assert schema.load(tmp_path / "r.csv").log["rating"].tolist() == [2.5, 5.0]
    (tmp_path / "d.csv").write_text("u,i,r,t,d\n1,2,4,10,\n")
    with pytest.raises(DataError, match="column 'd' is empty in row 0"):
        TableSchema(user="u", item="i", order="t", rating="r", dwell="d").load(tmp_path / "d.csv")
    assert np.isfinite(schema.load(tmp_path / "r.csv").log["dwell"]).all()
