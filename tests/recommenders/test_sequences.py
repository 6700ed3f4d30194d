import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import Feedback, HistoryBatch
from recommenders.sequences import (
    LogError,
    Sequences,
    drop_events,
    holdout_contexts,
    log_from_histories,
    read_log,
    training_windows,
    validate_log,
)


def _log(**overrides):
    frame = pd.DataFrame(
        {
            "user": [0, 0, 0, 1, 1, 0],
            "position": [0, 1, 2, 0, 1, 3],
            "item": [5, 6, 7, 8, 9, 10],
            "feedback": [0, 2, 0, 1, 0, 0],
            "dwell": [1.0, 0.5, 0.2, 0.1, 1.0, 1.0],
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def test_sequences_are_ordered_by_position():
    seqs = Sequences.from_log(validate_log(_log(), 20))
    assert seqs.users.tolist() == [0, 1]
    assert seqs.items.tolist() == [[5, 6, 7, 10], [8, 9, -1, -1]]
    assert seqs.lengths.tolist() == [4, 2]


@pytest.mark.parametrize(
    "frame, match",
    [
        (_log().drop(columns="dwell"), r"missing columns \['dwell'\]"),
        (_log(item=[5, 6, 7, 8, 9, 20]), "item 20 in row 5 is not in"),
        (_log(item=[5, 6, -1, 8, 9, 10]), "item -1 in row 2"),
        (_log(feedback=[0, 0, 0, 9, 0, 0]), "feedback 9 in row 3"),
        (_log(position=[0, 1, 1, 0, 1, 3]), r"duplicate \(user, position\) = \(0, 1\) in row 2"),
        (_log(dwell=[1.0, 2.0, 0, 0, 0, 0]), "dwell 2.0 in row 1 is outside"),
        (_log(item=[5.0, 6, 7, 8, 9, 10]), "column 'item' must be integer"),
    ],
)
def test_bad_logs(frame, match):
    with pytest.raises(LogError, match=match):
        validate_log(frame, 20)


def test_read_log_round_trip(tmp_path):
    path = tmp_path / "log.csv.gz"
    _log().to_csv(path, index=False)
    assert read_log(path, 20).equals(validate_log(_log(), 20))
    with pytest.raises(LogError, match="does not exist"):
        read_log(tmp_path / "missing.csv", 20)


def test_windows_and_holdout():
    seqs = Sequences.from_log(validate_log(_log(), 20))
    windows = training_windows(seqs, 3)
    assert windows.items.tolist() == [[6, 7, 10], [5, -1, -1], [8, 9, -1]]
    contexts = holdout_contexts(seqs, 2, 3)
    assert contexts.target_item.tolist() == [7, 10, 8, 9]
    assert contexts.items.tolist() == [[5, 6, -1], [5, 6, 7], [-1, -1, -1], [8, -1, -1]]
    train, full = seqs.split_last(2)
    assert train.lengths.tolist() == [2, 0] and full is seqs


@given(st.lists(st.lists(st.integers(0, 4), min_size=0, max_size=12), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_drop_events_keeps_order(feedback_rows):
    width = max(len(r) for r in feedback_rows)
    n = len(feedback_rows)
    items = np.full((n, width), -1)
    feedback = np.full((n, width), -1)
    dwell = np.full((n, width), np.nan)
    lengths = np.array([len(r) for r in feedback_rows])
    for i, row in enumerate(feedback_rows):
        items[i, : len(row)] = np.arange(len(row)) + 100 * i
        feedback[i, : len(row)] = row
        dwell[i, : len(row)] = 0.5
    new_items, new_fb, _, new_lengths = drop_events(
        items, feedback, dwell, lengths, Feedback.DISLIKE
    )
    for i, row in enumerate(feedback_rows):
        expected = [100 * i + t for t, f in enumerate(row) if f != Feedback.DISLIKE]
        assert new_items[i, : new_lengths[i]].tolist() == expected
        assert (new_fb[i, : new_lengths[i]] != Feedback.DISLIKE).all()


def test_log_from_histories_round_trip():
    batch = HistoryBatch(
        np.array([[3, 4], [5, -1]]),
        np.array([[0, 2], [1, -1]]),
        np.array([[1.0, 0.5], [0.1, np.nan]]),
        np.array([2, 1]),
    )
    log = log_from_histories(batch, users=np.array([7, 9]))
    assert log.to_dict("list") == {
        "user": [7, 7, 9],
        "position": [0, 1, 0],
        "item": [3, 4, 5],
        "feedback": [0, 2, 1],
        "dwell": [1.0, 0.5, 0.1],
    }


def test_unreadable_log_files_are_one_line_errors(tmp_path):
    """A truncated .csv.gz used to end in EOFError, an empty or non-UTF-8 file in a parser
    traceback that did not name it."""
    import gzip

    from recommenders.sequences import LogError, read_log

    data = gzip.compress(b"user,position,item,feedback,dwell\n" + b"0,0,1,0,1.0\n" * 2000)
    cases = {
        "cut.csv.gz": (data[: len(data) // 2], "cannot be read (EOFError"),
        "empty.csv": (b"", "is empty: no header and no rows"),
        "latin.csv": ("user,item\n\xe9,1\n".encode("latin-1"), "is not UTF-8 text"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(LogError, match=re.escape(message)) as error:
            read_log(path, 10)
        assert str(path) in str(error.value) and "\n" not in str(error.value)
