"""What every run writes beside its results: versions, no silent overwrite, markdown tables.

Each output module (:mod:`simulator.responsiveness.output`,
:mod:`simulator.live_ab.output`) and each study records
:func:`package_versions` (and :func:`project_record`, this project's version and
git commit) in its ``run.json`` and raises
:class:`OutputExistsError` rather than replace earlier results unasked.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from recommenders.atomic import atomic_write_text

PACKAGES = ("numpy", "torch", "simpy", "pandas", "scipy", "matplotlib", "tqdm")
"""The third-party packages whose versions a run records."""


class OutputExistsError(ValueError):
    """The output folder already holds results and overwriting was not asked for."""


def check_writable(out: Path) -> None:
    """A one-line ValueError, before any work, when ``out`` cannot become a results folder:
    it is an existing file, or the nearest existing folder on its path is not writable."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder")
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"cannot create {out}: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write into {existing}: permission denied")


def check_output_dir(out: Path, overwrite: bool, result_files: tuple[str, ...]) -> None:
    """Refuse to overwrite earlier results silently: a one-line :class:`OutputExistsError`
    when ``out`` holds any of ``result_files`` and ``overwrite`` is False; and check, before
    any work, that ``out`` can be written (:func:`check_writable`)."""
    check_writable(out)
    existing = [name for name in result_files if (Path(out) / name).exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{out} already holds {', '.join(existing)}; pass --overwrite or choose another --out"
        )


def package_versions() -> dict[str, str]:
    """``{"python": ..., package: version or "not installed"}`` for :data:`PACKAGES`."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


PROJECT = "responsiveness"
"""This project's distribution name (pyproject.toml)."""

ROOT = Path(__file__).resolve().parents[1]
"""The folder the packages were imported from: a source checkout, or site-packages."""

NOT_A_CHECKOUT = "not a git checkout"


def _git(root: Path, *args: str) -> str | None:
    """``git -C root ARGS`` output (stripped), or None when git is missing, fails or hangs."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def project_commit(root: Path = ROOT) -> str:
    """``git rev-parse HEAD`` of the checkout at ``root``, suffixed ``+dirty`` when tracked
    files have uncommitted changes; :data:`NOT_A_CHECKOUT` when git is missing or ``root``
    is not the top of a git checkout (an installed copy inside some other repository's
    folder does not take that repository's commit)."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != Path(root).resolve():
        return NOT_A_CHECKOUT
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    if not commit or status is None:
        return NOT_A_CHECKOUT
    return commit + ("+dirty" if status else "")


def project_version(root: Path = ROOT) -> str:
    """The version in the checkout's pyproject.toml, else the installed distribution's."""
    pyproject = Path(root) / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text()
        if re.search(rf'^name\s*=\s*"{PROJECT}"', text, re.M):
            found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
            if found:
                return found.group(1)
    try:
        return metadata.version(PROJECT)
    except metadata.PackageNotFoundError:
        return "unknown"


def project_record(root: Path = ROOT) -> dict[str, str]:
    """``{"name", "version", "commit"}`` of this project, as every run record holds it
    beside its :func:`package_versions`."""
    return {"name": PROJECT, "version": project_version(root), "commit": project_commit(root)}


def md_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table of ``frame`` (values already formatted as text)."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def world_record(world) -> dict:
    """A world as run records name it: fingerprint and config, and for a fitted world its
    kind, the data set it was fitted to and the fitted effects."""
    record = {"fingerprint": world.fingerprint, "config": world.config.to_dict()}
    if world.kind != "synthetic":
        record.update(kind=world.kind, data=world.header["data"], fit=world.header["fit"])
    return record


def begin_results(out: Path, manifest: str) -> None:
    """Start writing a run's results into ``out``: its manifest goes first, so that a folder
    whose writing is interrupted never shows a manifest over a mix of old and new files."""
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / manifest).unlink(missing_ok=True)


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def finish_results(out: Path, manifest: str, record: dict, files: list[Path]) -> Path:
    """Write the manifest last: ``record`` plus ``files`` (path relative to ``out``, in
    POSIX form -> SHA-256 of each file written). Its presence means the folder is
    complete; :func:`check_results` verifies. A file in a sub-folder that has a manifest
    of its own is listed by that manifest, which is enough: it covers the rest."""
    root = Path(out).absolute()
    if "versions" in record and "project" not in record:
        record = {**record, "project": project_record()}  # beside the package versions
    record = {
        **record,
        "files": {Path(p).absolute().relative_to(root).as_posix(): file_digest(p) for p in files},
    }
    path = Path(out) / manifest
    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n")
    return path


def check_results(out: Path, manifest: str) -> dict:
    """The manifest of a finished run in ``out``; a one-line ValueError when it is missing
    (the run did not finish) or a file it lists is missing or changed (a mix). A listed
    file in a sub-folder that is a manifest itself (a JSON object with ``files``) is
    checked in turn, so one check covers a study and the runs inside it."""
    path = Path(out) / manifest
    if not path.is_file():
        raise ValueError(f"{out} holds no {manifest}: its run did not finish")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path} is not valid JSON (a damaged manifest)") from None
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        raise ValueError(f"{out}: {manifest} lists no files (written by an older version?)")
    for name, digest in record["files"].items():
        listed = Path(out) / name
        if not listed.is_file() or file_digest(listed) != digest:
            raise ValueError(f"{out}: {name} is not the file {manifest} lists (a mixed folder)")
        if "/" in name and name.endswith(".json"):
            nested = json.loads(listed.read_text())
            if isinstance(nested, dict) and isinstance(nested.get("files"), dict):
                check_results(listed.parent, listed.name)
    return record
