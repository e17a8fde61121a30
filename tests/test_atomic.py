"""workvec.runtime.atomic: a write is all or nothing, and a failed one leaves no file and no temporary file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from workvec.runtime import atomic
from workvec.runtime.atomic import atomic_folder, atomic_path, atomic_write_bytes, atomic_write_text


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_and_replaces_leaving_only_the_target(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    atomic_write_text(target, "old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and _names(tmp_path) == ["a.json"]


def test_a_failing_write_leaves_no_file_and_no_temporary_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "a.bin") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert _names(tmp_path) == []


def test_a_failing_write_keeps_the_old_version(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("new")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and _names(tmp_path) == ["a.txt"]


def test_a_failing_rename_removes_the_temporary_file(tmp_path: Path, monkeypatch) -> None:
    def refuse(src, dst):
        raise PermissionError(f"cannot rename {src}")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_write_bytes(tmp_path / "a.bin", b"data")
    assert _names(tmp_path) == []


def test_temporary_names_keep_the_suffix_for_libraries(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "v.npy") as tmp:
        assert tmp.name.startswith(".v.npy.") and tmp.suffix == ".npy" and tmp.parent == tmp_path
        np.save(tmp, np.arange(3))  # numpy would append .npy to any other name
    assert _names(tmp_path) == ["v.npy"] and np.load(tmp_path / "v.npy").tolist() == [0, 1, 2]


def test_a_folder_replaces_the_old_one_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with atomic_folder(target) as scratch:
        (scratch / "old.npy").write_bytes(b"1")
    with pytest.raises(RuntimeError), atomic_folder(target) as scratch:
        (scratch / "new.npy").write_bytes(b"2")
        raise RuntimeError("interrupted")
    assert _names(tmp_path) == ["index"] and _names(target) == ["old.npy"]
    with atomic_folder(target) as scratch:
        (scratch / "new.npy").write_bytes(b"2")
    assert _names(tmp_path) == ["index"] and _names(target) == ["new.npy"]


def test_the_fsync_rule_data_before_the_rename_folder_after(tmp_path: Path, monkeypatch) -> None:
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: events.append("rename") or real_replace(a, b))
    atomic_write_bytes(tmp_path / "a.bin", b"data")
    assert events[:2] == ["fsync file", "rename"]
    assert events[2:] == (["fsync folder"] if os.name == "posix" else [])
