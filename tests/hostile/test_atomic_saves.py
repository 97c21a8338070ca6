"""Atomic saves keep the file's permissions, name their temp files, and clean up after
an interrupted save of the same target (and nothing else)."""

from __future__ import annotations

import os
import stat

import pytest

from workbench.core import atomic
from workbench.core.atomic import atomic_write_bytes, atomic_write_text, temp_name_pattern
from workbench.core.graph import Graph
from workbench.core.project import Project, load_project, save_project

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_group_writable_project_stays_group_writable(tmp_path, umask_022):
    path = tmp_path / "shared.wbproj"
    save_project(Project("shared", Graph()), path)
    os.chmod(path, 0o664)
    save_project(load_project(path), path)
    assert mode(path) == 0o664
    os.chmod(path, 0o600)  # a private file stays private too
    atomic_write_text(path, "x")
    assert mode(path) == 0o600


def test_a_new_file_gets_the_umask_default(tmp_path, umask_022):
    atomic_write_bytes(tmp_path / "new.pt", b"123")
    assert mode(tmp_path / "new.pt") == 0o644
    os.umask(0o077)
    atomic_write_bytes(tmp_path / "private.pt", b"123")
    assert mode(tmp_path / "private.pt") == 0o600


def test_stale_temp_files_of_the_same_target_are_removed_and_nothing_else(tmp_path):
    target = tmp_path / "p.wbproj"
    stale = [tmp_path / ".p.wbproj.0123456789abcdef.tmp", tmp_path / ".p.wbproj.k2j_x9qa.tmp"]  # ours, mkstemp's
    keep = {
        ".q.wbproj.0123456789abcdef.tmp": b"another target's temp",
        ".p.wbproj.0123456789abcdef.tmp.bak": b"not the pattern",
        "p.wbproj.0123456789abcdef.tmp": b"no leading dot",
        ".p.wbproj.notes.tmp": b"user file, not a random part",
        ".p.wbproj.x.0123456789abcdef.tmp": b"the target p.wbproj.x's temp",
        "data.csv": b"a,b\n",
    }
    for path in stale:
        path.write_bytes(b"half a save")
    for name, content in keep.items():
        (tmp_path / name).write_bytes(content)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    link = tmp_path / ".p.wbproj.fedcba9876543210.tmp"
    link.symlink_to(outside)  # matches the pattern but is not a regular file
    folder = tmp_path / ".p.wbproj.aaaaaaaaaaaaaaaa.tmp"
    folder.mkdir()
    atomic_write_text(target, "saved")
    assert target.read_text() == "saved"
    assert not any(p.exists() for p in stale)
    for name, content in keep.items():
        assert (tmp_path / name).read_bytes() == content
    assert link.is_symlink() and outside.read_bytes() == b"precious" and folder.is_dir()
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"p.wbproj", "outside.txt", link.name, folder.name, *keep}  # no temp of this save left


def test_temp_files_are_named_after_the_target_in_its_folder(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.fspath(src), mode(src)))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    target = tmp_path / "model.pt"
    atomic_write_bytes(target, b"1")
    (src, _), = seen
    assert os.path.dirname(src) == str(tmp_path)
    assert temp_name_pattern(target).fullmatch(os.path.basename(src))


def test_a_write_failing_midway_keeps_the_previous_content_and_mode(tmp_path, monkeypatch):
    target = tmp_path / "p.wbproj"
    atomic_write_text(target, "version 1")
    os.chmod(target, 0o664)
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    atomic_write_text(target, "version 2")
    assert target.read_text() == "version 2" and len(synced) == 2  # the file, then its folder

    real_fdopen = os.fdopen

    class FillsUp:
        """The temp file's handle: the first bytes land, then the disk is full."""

        def __init__(self, fd, *args, **kwargs):
            self.handle = real_fdopen(fd, *args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def fileno(self):
            return self.handle.fileno()

        def write(self, data):
            self.handle.write(data[:3])
            self.handle.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fdopen", FillsUp)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_text(target, "version 3, much longer")
    assert target.read_text() == "version 2" and mode(target) == 0o664
    assert [p.name for p in tmp_path.iterdir()] == ["p.wbproj"]


def test_a_failed_write_names_the_target_not_the_temp_file(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError) as info:
        atomic_write_text(tmp_path / "evaluation.json", "{}")
    assert info.value.errno == 28 and info.value.filename == str(tmp_path / "evaluation.json")
    assert list(tmp_path.iterdir()) == []
