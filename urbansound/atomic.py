"""Atomic file writes: every output is written under a temporary name beside its final
one and renamed into place, so a crash never leaves half a file under a name a reader
would take. Temporaries start with ``.`` (Parquet readers skip them) and end in ``.tmp``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block ends
    without error, remove it otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # unique per writer (process, thread or nested block alike): two writers of one path
    # never share it; created by the writer, so the file gets the usual umask permissions
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode())


def check_writable(*folders: Path) -> None:
    """Create each folder if needed and prove it writable with a probe file, so a command
    fails before its work rather than when it saves the result."""
    from urbansound.exceptions import WorkspaceError

    for folder in folders:
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as e:
            raise WorkspaceError(f"cannot write to {folder} ({e.strerror or e}): choose another --workspace, "
                                 "or fix its permissions") from None
