"""The manifest of a run's results: written last, listing each file's SHA-256."""

import json

import pytest

from simulator.records import begin_results, check_results, finish_results


def test_a_changed_or_missing_file_is_told_apart(tmp_path):
    begin_results(tmp_path, "run.json")
    (tmp_path / "a.csv").write_text("1\n")
    finish_results(tmp_path, "run.json", {"x": 1}, [tmp_path / "a.csv"])
    assert check_results(tmp_path, "run.json")["x"] == 1
    (tmp_path / "a.csv").write_text("2\n")
    with pytest.raises(
        ValueError, match=r"a.csv is not the file run.json lists \(a mixed folder\)"
    ):
        check_results(tmp_path, "run.json")
    begin_results(tmp_path, "run.json")
    with pytest.raises(ValueError, match=r"holds no run\.json: its run did not finish"):
        check_results(tmp_path, "run.json")


def test_a_nested_manifest_is_checked_in_turn(tmp_path):
    """A study's manifest lists the manifests of the runs inside it; a file changed deep
    inside is found from the top."""
    inner = tmp_path / "responsiveness"
    begin_results(inner, "run.json")
    (inner / "table.csv").write_text("1\n")
    nested = finish_results(inner, "run.json", {}, [inner / "table.csv"])
    begin_results(tmp_path, "study.json")
    finish_results(tmp_path, "study.json", {"y": 2}, [nested])
    record = json.loads((tmp_path / "study.json").read_text())
    assert record["files"].keys() == {"responsiveness/run.json"}
    assert check_results(tmp_path, "study.json")["y"] == 2
    (inner / "table.csv").write_text("2\n")
    with pytest.raises(ValueError, match=r"table\.csv is not the file run\.json lists"):
        check_results(tmp_path, "study.json")


def test_a_damaged_manifest_is_a_one_line_error(tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"run\.json is not valid JSON \(a damaged manifest\)"):
        check_results(tmp_path, "run.json")
