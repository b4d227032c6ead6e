"""Download, verify and unpack a public dataset archive.

UrbanSound8K (Salamon, Jacoby and Bello, 2014; CC BY-NC 3.0)
    One archive on Zenodo (record 1203745, DOI 10.5281/zenodo.1203745), the same
    remote soundata's loader uses: ``UrbanSound8K.tar.gz``, about 6 GB, md5
    ``9aa69802bbf37fb986f71ec1483a196e``. It unpacks to ``UrbanSound8K/`` holding
    ``metadata/UrbanSound8K.csv`` and ``audio/fold1`` ... ``audio/fold10`` (the layout
    :mod:`urbansound.datasets` reads). Unpacked, it needs about as much space again.

On disk, in the destination folder::

    UrbanSound8K.tar.gz.part     a download in progress; the next run resumes it
    UrbanSound8K.tar.gz          the archive, only ever present once its md5 is right
    UrbanSound8K.tar.gz.corrupt  a complete download whose md5 was wrong, moved aside
    UrbanSound8K/                the dataset, renamed into place once fully unpacked

HTTP goes through :mod:`urllib.request` (no dependency). A download interrupted by a
network error keeps its ``.part`` and resumes with a ``Range`` request; a server that
ignores ``Range`` is handled by starting over.

This module holds the registry :data:`REMOTES` and :func:`fetch`, and re-exports the rest:
:func:`download` and its md5 check in :mod:`urbansound.fetch._download`, :func:`unpack`
and its path checks in :mod:`urbansound.fetch._unpack`, :class:`FetchError`,
:class:`Remote` and :data:`Progress` in :mod:`urbansound.fetch._common`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from urbansound.fetch._common import _MARKER, FetchError, Progress, Remote, log
from urbansound.fetch._download import download
from urbansound.fetch._unpack import unpack

__all__ = ["REMOTES", "FetchError", "Progress", "Remote", "download", "fetch", "unpack"]

REMOTES: dict[str, Remote] = {
    "urbansound8k": Remote(
        url="https://zenodo.org/record/1203745/files/UrbanSound8K.tar.gz?download=1",
        md5="9aa69802bbf37fb986f71ec1483a196e",
        filename="UrbanSound8K.tar.gz",
        root="UrbanSound8K",
    ),
}


# ------------------------------------------------------------------ public API
def fetch(
    name: str,
    dest_dir: str | os.PathLike[str],
    *,
    url: str | None = None,
    progress: Progress | None = None,
    remote: Remote | None = None,
    keep_archive: bool = True,
) -> Path:
    """Download, verify and unpack a dataset; return the dataset root.

    Safe to re-run: a dataset already unpacked is returned at once, a verified archive
    is not downloaded again, and an interrupted download resumes.

    Parameters
    ----------
    name : str
        A key of :data:`REMOTES` (``"urbansound8k"``).
    dest_dir : path
        Folder to download and unpack into; created if missing.
    url : str, optional
        Download from here instead (a mirror); the md5 is still checked.
    progress : callable, optional
        Called as ``progress(bytes_done, bytes_total_or_None)`` while downloading.
    remote : Remote, optional
        Use this remote instead of ``REMOTES[name]`` (tests, private datasets).
    keep_archive : bool
        Keep the archive after unpacking (default); False deletes it once unpacked.

    Returns
    -------
    Path
        The folder holding ``metadata/UrbanSound8K.csv``.

    Raises
    ------
    FetchError
        Unknown name, network failure, wrong md5, unsafe or damaged archive.
    """
    if remote is None:
        try:
            remote = REMOTES[name]
        except KeyError:
            known = ", ".join(sorted(REMOTES))
            raise FetchError(f"unknown dataset {name!r}: the datasets that can be fetched are {known}") from None
    if url is not None:
        remote = dataclasses.replace(remote, url=url)
    dest = Path(dest_dir)
    if remote.root is not None and (dest / remote.root / _MARKER).is_file():
        log.info("%s is already unpacked in %s; nothing to do (remove it to fetch again)", name, dest / remote.root)
        return dest / remote.root
    archive = download(remote, dest, progress=progress)
    root = unpack(archive, dest)
    if not keep_archive:
        archive.unlink()
        log.info("removed %s", archive)
    return root

