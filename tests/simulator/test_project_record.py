"""Every run record names this project's version and git commit (simulator.records)."""

import json
import re
import shutil
import subprocess

import pytest

from simulator.records import (
    NOT_A_CHECKOUT,
    ROOT,
    finish_results,
    project_commit,
    project_record,
)

GIT = shutil.which("git")


def test_record_names_version_and_commit_of_this_checkout():
    record = project_record()
    assert record["name"] == "responsiveness"
    text = (ROOT / "pyproject.toml").read_text()
    assert record["version"] == re.search(r'^version = "([^"]+)"', text, re.M).group(1)
    if GIT is None or project_commit() == NOT_A_CHECKOUT:
        pytest.skip("not run from a git checkout")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert record["commit"].removesuffix("+dirty") == head


@pytest.mark.skipif(GIT is None, reason="needs git")
def test_commit_is_dirty_when_tracked_files_change(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    assert project_commit(tmp_path) == NOT_A_CHECKOUT
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    (tmp_path / "a.txt").write_text("a")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "a")
    clean = project_commit(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}", clean)
    (tmp_path / "untracked.txt").write_text("u")
    assert project_commit(tmp_path) == clean  # untracked files do not count
    (tmp_path / "a.txt").write_text("b")
    assert project_commit(tmp_path) == clean + "+dirty"
    inner = tmp_path / "inner"
    inner.mkdir()
    assert project_commit(inner) == NOT_A_CHECKOUT  # another repository's folder


def test_missing_git_is_not_a_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert project_commit() == NOT_A_CHECKOUT


def test_manifests_with_versions_record_the_project(tmp_path):
    finish_results(tmp_path, "run.json", {"versions": {"python": "3"}}, [])
    assert json.loads((tmp_path / "run.json").read_text())["project"] == project_record()
    finish_results(tmp_path, "logs.json", {"rows": 1}, [])
    assert "project" not in json.loads((tmp_path / "logs.json").read_text())
