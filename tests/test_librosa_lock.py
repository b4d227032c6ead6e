"""urbansound._librosa: librosa imported under a file lock (issue 26, numba/numba#10128)."""

from __future__ import annotations

import fcntl
import os
import sys

import numpy as np
import pytest

from urbansound import _librosa


def _try_lock(path) -> bool:
    with open(path, "a+b") as other:  # a second open file description: flock conflicts with it
        try:
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        return True


def test_exports_librosa_with_its_gufunc_modules_loaded():
    import librosa

    assert _librosa.librosa is librosa
    for name in _librosa.GUFUNC_MODULES:
        assert name in sys.modules, name
    crossings = _librosa.librosa.zero_crossings(np.array([0.5, 1.0, -1.0, 1.0]), pad=False)
    assert crossings.tolist() == [False, False, True, True]


def test_the_lock_is_exclusive_while_held_and_released_after():
    path = _librosa.lock_path()
    with _librosa.numba_cache_lock() as locked:
        assert locked
        assert not _try_lock(path)
    assert _try_lock(path)


def test_released_when_the_body_raises():
    with pytest.raises(ZeroDivisionError), _librosa.numba_cache_lock():
        1 / 0
    assert _try_lock(_librosa.lock_path())


def test_one_lock_per_numba_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    default = _librosa.lock_path()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert _librosa.lock_path() != default
    assert _librosa.lock_path().parent == default.parent


def test_a_read_only_lock_file_still_locks(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))  # a lock file of this test's own
    path = _librosa.lock_path()
    path.touch()
    path.chmod(0o444)
    real_open = open

    def as_another_user(file, mode="r", *args, **kwargs):  # root may write a 0444 file: refuse as a user is refused
        if os.fspath(file) == os.fspath(path) and mode != "rb":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", as_another_user)
    try:
        with _librosa.numba_cache_lock() as locked:
            assert locked
            monkeypatch.undo()
            with real_open(path, "rb") as other:
                with pytest.raises(BlockingIOError):
                    fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        path.chmod(0o644)
        path.unlink()
