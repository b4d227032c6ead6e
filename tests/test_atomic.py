"""urbansound.atomic: a write either lands whole under its final name or leaves nothing."""

from __future__ import annotations

import os

import pytest

from urbansound import atomic
from urbansound.exceptions import WorkspaceError


def _siblings(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_path_writes_beside_the_target_under_a_hidden_tmp_name_then_renames(tmp_path):
    target = tmp_path / "out.parquet"
    with atomic.atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.startswith(".") and tmp.name.endswith(".tmp") and target.name in tmp.name
        tmp.write_bytes(b"whole")
        assert not target.exists()  # nothing under the final name until the block ends
    assert target.read_bytes() == b"whole"
    assert _siblings(tmp_path) == ["out.parquet"]


def test_a_failing_block_leaves_neither_the_file_nor_its_temporary(tmp_path):
    target = tmp_path / "cv.json"
    with pytest.raises(RuntimeError, match="crash"):
        with atomic.atomic_path(target) as tmp:
            tmp.write_bytes(b"half a fi")
            raise RuntimeError("crash")
    assert _siblings(tmp_path) == []


def test_a_failing_block_keeps_the_previous_file_intact(tmp_path):
    target = atomic.write_text(tmp_path / "cv.json", "old, complete")
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("new, incompl")
            raise KeyboardInterrupt
    assert target.read_text() == "old, complete"
    assert _siblings(tmp_path) == ["cv.json"]


def test_a_failing_rename_removes_the_temporary(tmp_path, monkeypatch):
    def no_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", no_rename)
    with pytest.raises(OSError, match="No space"):
        atomic.write_bytes(tmp_path / "model.skops", b"x" * 100)
    assert _siblings(tmp_path) == []


def test_missing_parent_folders_are_created(tmp_path):
    target = tmp_path / "reports" / "ds" / "runs" / "00001.json"
    assert atomic.write_bytes(target, b"{}") == target
    assert target.read_bytes() == b"{}"


def test_write_text_is_utf8_and_replaces_the_whole_file(tmp_path):
    target = tmp_path / "cv.md"
    atomic.write_text(target, "a much longer first version " * 10)
    returned = atomic.write_text(target, "λ ± η")
    assert returned == target and isinstance(returned, os.PathLike)
    assert target.read_bytes() == "λ ± η".encode("utf-8")


def test_write_accepts_a_string_path_and_returns_a_path(tmp_path):
    returned = atomic.write_bytes(str(tmp_path / "s.bin"), b"\x00\x01")
    assert returned == tmp_path / "s.bin" and (tmp_path / "s.bin").read_bytes() == b"\x00\x01"


def test_a_planted_symlink_is_replaced_never_followed(tmp_path):
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("precious")
    link = tmp_path / "_failures.csv"
    link.symlink_to(victim)
    atomic.write_text(link, "clip_id,path,error\n")
    assert not link.is_symlink() and link.read_text() == "clip_id,path,error\n"
    assert victim.read_text() == "precious"


def test_two_writers_of_one_path_in_one_process_do_not_share_a_temporary(tmp_path):
    target = tmp_path / "cv.json"
    with atomic.atomic_path(target) as first:
        first.write_text("first, complete")
        with atomic.atomic_path(target) as second:
            assert second != first
            second.write_text("second")
    assert target.read_text() == "first, complete"


def test_check_writable_creates_the_folders_and_leaves_no_probe(tmp_path):
    a, b = tmp_path / "ws" / "models" / "x", tmp_path / "ws" / "reports" / "x"
    atomic.check_writable(a, b)
    assert a.is_dir() and b.is_dir()
    assert _siblings(a) == [] and _siblings(b) == []


def test_check_writable_refuses_naming_the_folder_and_what_to_do(tmp_path):
    blocker = tmp_path / "ws"
    blocker.write_text("a file where a folder should be")
    folder = blocker / "reports"
    with pytest.raises(WorkspaceError) as e:
        atomic.check_writable(tmp_path / "fine", folder)
    message = str(e.value)
    assert message.startswith(f"cannot write to {folder} (")
    assert "choose another --workspace" in message and "permissions" in message
    assert (tmp_path / "fine").is_dir()  # the folders before it were checked first
