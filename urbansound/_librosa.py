"""librosa, imported so that concurrent first uses cannot corrupt Numba's cache (issue 26).

librosa compiles its ``@guvectorize``/``@vectorize`` kernels (zero crossings, local
maxima/minima, pitch and beat helpers) with ``cache=True`` when the module that holds them
is imported, and writes the result to Numba's on-disk cache. Two processes that do this at
the same moment on an empty cache (a fresh venv: the test process and a LocalCluster's
workers, or several workers of a first ``run``) can leave a kernel's cache file and its
gufunc wrapper's from different processes; a later load then calls a null function pointer
and the process dies by SIGSEGV. This is numba/numba#10128 (fix proposed in numba#10545,
not released in numba 0.68.1, the version here).

The work-around: every module of this package imports librosa through here
(``from urbansound._librosa import librosa``), which holds an exclusive file lock while
librosa and its gufunc modules are imported, so at most one process per cache compiles or
loads them at a time; the others wait (a second or two on a cold cache, nothing once it is
warm) and then load a consistent cache. The Makefile and the Dockerfile also import this
module once after installing, so a normal install starts with a warm cache.
``scripts/numba_cache_race.py`` counts crashes with and without the lock.

The project's own Numba kernels (``urbansound/features/_kernels.py``) are ``@njit`` functions,
which have no separate wrapper file and are not subject to this race.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# librosa's modules that define cached gufuncs/ufuncs at import (librosa 0.11).
GUFUNC_MODULES = ("librosa.core.audio", "librosa.core.pitch", "librosa.util.utils", "librosa.beat")


def lock_path() -> Path:
    """The lock file: one per librosa install and Numba cache folder, in the temp folder."""
    spec = importlib.util.find_spec("librosa")
    where = spec.origin if spec is not None and spec.origin else "librosa"
    key = f"{where}|{os.environ.get('NUMBA_CACHE_DIR', '')}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"urbansound-numba-{digest}.lock"


@contextlib.contextmanager
def numba_cache_lock() -> Iterator[bool]:
    """Hold an exclusive lock on :func:`lock_path`; yields whether a lock was taken.

    Where there is no ``fcntl`` (Windows) or the temp folder is not writable, nothing is
    locked: the import goes on as librosa's own would.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield False
        return
    path = lock_path()
    try:
        handle = open(path, "a+b")  # noqa: SIM115 - closed below
    except PermissionError:  # another user's lock file (a Docker build's, say): flock needs no write
        try:
            handle = open(path, "rb")  # noqa: SIM115
        except OSError:
            yield False
            return
    except OSError:
        yield False
        return
    with handle:  # closing the file releases the flock
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield True


def _import() -> object:
    with numba_cache_lock():
        module = importlib.import_module("librosa")
        for name in GUFUNC_MODULES:
            importlib.import_module(name)
    return module


librosa = _import()

__all__ = ["GUFUNC_MODULES", "librosa", "lock_path", "numba_cache_lock"]
