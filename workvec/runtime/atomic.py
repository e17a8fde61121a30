"""Atomic writes: a reader of the target sees the old version or the new one, never a torn one.

The one fsync rule, for files and folders alike: the new data is written under a temporary name beside the target
(rename is atomic only within one file system), fsynced (a folder: every file in it, then the folder itself),
renamed over the target, and then the target's folder is fsynced where the OS can open a folder (not on Windows).
So a crash at any moment leaves the old or the new version, and a finished write survives a power cut. A failed
write removes its temporary file or folder and leaves the target as it was.

Temporary names are hidden (``.NAME.<random>.tmp<suffix>``) and keep the target's suffix, for libraries that pick
the format by it (numpy's .npy, matplotlib's .png).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["atomic_folder", "atomic_path", "atomic_write_bytes", "atomic_write_text", "commit", "temp_path"]


def temp_path(final: Path) -> Path:
    """A fresh hidden temporary name beside `final`."""
    return final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.tmp{final.suffix}")


def _fsync(path: Path, folder: bool = False) -> None:
    """fsync a file (errors raise) or a folder (skipped where folders cannot be opened or synced)."""
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0))
    except OSError:
        if folder:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not folder:
            raise
    finally:
        os.close(fd)


def _sync_tree(path: Path) -> None:
    if not path.is_dir():
        _fsync(path)
        return
    for parent, _, files in os.walk(path):
        for name in files:
            _fsync(Path(parent) / name)
        _fsync(Path(parent), folder=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _replace_folder(tmp: Path, final: Path) -> None:
    """Rename folder `tmp` to `final`, an existing `final` moved aside first (then removed, or put back on failure)."""
    old = temp_path(final) if final.exists() else None
    if old is not None:
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except OSError:
        if old is not None:
            with suppress(OSError):
                os.replace(old, final)
        raise
    finally:
        if old is not None:
            _remove(old)


def commit(tmp: Path, final: Path) -> None:
    """Make the finished file or folder `tmp` the new `final` under the module's fsync rule; on failure `tmp` is
    removed, `final` is left as it was and the error is raised."""
    try:
        _sync_tree(tmp)
        if tmp.is_dir():
            _replace_folder(tmp, final)
        else:
            os.replace(tmp, final)
    except BaseException:
        _remove(tmp)
        raise
    _fsync(final.parent, folder=True)


@contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `final` for code or a library to write a file to; it becomes `final` when the
    block ends without error and is removed when it raises."""
    final = Path(final)
    tmp = temp_path(final)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    commit(tmp, final)


@contextmanager
def atomic_folder(final: str | os.PathLike) -> Iterator[Path]:
    """A new empty folder beside `final` to fill; it replaces `final` (a folder) when the block ends without error
    and is removed when it raises."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(final) as tmp:
        tmp.mkdir()
        yield tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode(encoding))
