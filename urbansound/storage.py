"""Where a dataset may live: a local folder, or an fsspec URL (``s3://bucket/prefix``,
``gs://``, ``az://``, ``memory://`` in tests).

A URL is read through :mod:`fsspec` (with :mod:`upath`'s ``UPath``, a :class:`pathlib.Path`
over it): the metadata by the client, every clip by the Dask worker that featurizes it, so
no audio passes through the client or the scheduler. Credentials and endpoints come from
the usual environment of each process (for S3: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ``~/.aws``), never from the URL, so no
secret is written into a table, a report or a log. The S3 driver is the optional extra
``s3`` (``pip install 'urbansound[s3]'``: s3fs).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from urbansound.exceptions import DatasetError

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_EXTRAS = {"s3": "s3fs (pip install 'urbansound[s3]')", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs"}


def is_url(location: object) -> bool:
    """True for a URL with a scheme other than ``file://`` (a local file URL is a path)."""
    m = _SCHEME.match(str(location))
    return bool(m) and m.group(1).lower() != "file"


def location(where: str | Path) -> Any:
    """A path object for ``where``: a :class:`~pathlib.Path` for a local folder (also given
    as ``file://``), else a ``UPath`` on the URL's fsspec filesystem.

    Raises
    ------
    DatasetError
        When the URL's scheme has no fsspec driver installed, naming the package to install.
    """
    text = str(where)
    if text.lower().startswith("file://"):
        return Path(text[len("file://"):])
    if not is_url(text):
        return Path(where)
    import fsspec
    from upath import UPath

    scheme = _SCHEME.match(text).group(1).lower()
    try:
        fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError) as e:
        need = _EXTRAS.get(scheme, f"an fsspec driver for {scheme}://")
        raise DatasetError(f"{text}: cannot read {scheme}:// URLs here ({e}); install {need}") from None
    return UPath(text)


def exist(paths: list[str], root: Any) -> list[bool]:
    """Whether each file exists. Below a URL ``root``: one listing of the prefix instead
    of one request per clip (8732 requests to an object store take minutes); locally, one
    ``stat`` per file."""
    if isinstance(root, Path):
        return [Path(p).is_file() for p in paths]
    fs = root.fs
    found = set(fs.find(root.path))
    return [fs._strip_protocol(p) in found for p in paths]


def identity(where: Any) -> str:
    """How a dataset's location is recorded (a feature table's manifest): an absolute path,
    or the URL as given."""
    return str(where).rstrip("/") if is_url(where) else str(Path(where).absolute())


def name_of(where: str | Path) -> str:
    """The dataset's name from its location: the last component of its folder or URL."""
    if is_url(where):
        return str(where).rstrip("/").rsplit("/", 1)[-1]
    return location(where).resolve().name
