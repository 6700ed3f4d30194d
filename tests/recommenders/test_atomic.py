"""Tests of recommenders.atomic."""

from __future__ import annotations

import os
import stat

import pytest

from recommenders import atomic
from recommenders.atomic import atomic_path, atomic_write_bytes, atomic_write_text


def test_write_text_and_bytes(tmp_path):
    text_path = atomic_write_text(tmp_path / "a.txt", "héllo\nworld\n")
    assert text_path == tmp_path / "a.txt"
    # Written byte for byte: no newline translation, UTF-8 by default.
    assert text_path.read_bytes() == "héllo\nworld\n".encode()
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_overwrite_replaces_content(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_path_is_a_sibling_with_the_same_suffix(tmp_path):
    target = tmp_path / "fig.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".png"
        assert tmp != target and tmp.exists()
        assert not target.exists()  # nothing visible before success
        tmp.write_bytes(b"png")
    assert target.read_bytes() == b"png"
    assert list(tmp_path.iterdir()) == [target]


def test_failure_keeps_old_file_and_removes_temp(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half-writ")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_failure_without_old_file_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "new.txt"):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_failing_encode_leaves_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "é", encoding="ascii")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "no" / "such" / "dir.txt", "x")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_follow_umask_or_existing_file(tmp_path):
    # mkstemp alone would leave 0600; a new file gets what open() would give.
    fresh = atomic_write_text(tmp_path / "fresh.txt", "x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~atomic._UMASK
    existing = tmp_path / "existing.txt"
    existing.write_text("x")
    existing.chmod(0o640)
    atomic_write_text(existing, "y")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640
