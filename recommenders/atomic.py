"""Atomic file writes: a reader sees either the old file or the complete new one.

Every helper writes to a temporary file in the *same directory* as the target
and then ``os.replace()``s it onto the target. ``os.replace`` is atomic on POSIX
and on Windows only within one file system, which is why the temporary file is
never put in ``/tmp``. On failure the temporary file is deleted and the old
target (if any) is left untouched.

Only single files are atomic: writing ``fig.png`` and then ``fig.pdf`` is two
independent replacements.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_csv", "atomic_write_text"]


def _read_umask() -> int:
    # os.umask can only be read by setting it; doing so once at import keeps the
    # race (another thread creating files in between) out of every write call.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable after a crash; directories cannot be
    # opened for fsync on Windows, and some file systems refuse it, so this is
    # best effort only.
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; replace ``path`` with it on success.

    The temporary file already exists (empty) when yielded, so its name cannot
    be taken by another process; the caller overwrites it by path, e.g.
    ``fig.savefig(tmp, format="png")``. Its name keeps the target's suffix
    (``.fig.png.<random>.tmp.png``) for tools that infer a format from it.

    On normal exit the file is fsynced and ``os.replace``d onto ``path``. Its
    permissions are those of the existing target, or ``0o666 & ~umask`` for a
    new one (``mkstemp`` alone would leave 0600). If the body raises (any
    ``BaseException``, including ``KeyboardInterrupt``), the temporary file is
    deleted, ``path`` is left as it was, and the exception propagates.

    Raises:
        FileNotFoundError: the parent directory of ``path`` does not exist.
    """
    target = Path(path)
    directory = target.parent
    fd, tmp_name = tempfile.mkstemp(
        dir=directory, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}"
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); return ``Path(path)``."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return ``Path(path)``.

    The text is encoded with ``encoding`` and written byte for byte: ``"\\n"``
    stays ``"\\n"`` on every platform, so outputs are identical across machines.
    """
    return atomic_write_bytes(path, text.encode(encoding))


FLOAT_FORMAT = "%.6f"
"""The float format of result tables: fixed, so the same numbers give the same bytes, and
six decimals, so shares and relative changes (fractions) keep a 1e-6 resolution."""


def atomic_write_csv(path: str | os.PathLike[str], frame, float_format: str = FLOAT_FORMAT) -> None:
    """Write a pandas DataFrame as CSV (gzip when ``path`` ends in .gz), atomically.

    The bytes depend only on the frame: fixed float format, ``\\n`` line ends,
    and a gzip header with mtime 0, so the same data gives byte-identical files.
    """
    text = frame.to_csv(index=False, float_format=float_format, lineterminator="\n").encode()
    if str(path).endswith(".gz"):
        text = gzip.compress(text, mtime=0)
    atomic_write_bytes(path, text)


def save_figure(fig, path_stem: str | os.PathLike[str], dpi: int = 130) -> list[Path]:
    """``fig`` as ``STEM.png`` and ``STEM.pdf`` (a ``.png``/``.pdf`` suffix on the stem is
    dropped), each written atomically; the PDF carries no timestamps, so the same
    figure gives byte-identical files. Returns [png, pdf]."""
    stem = Path(path_stem)
    if stem.suffix.lower() in (".png", ".pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, pdf = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".pdf")
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "ModDate": None})
    return [png, pdf]
