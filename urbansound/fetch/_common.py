"""What the fetch modules share: the error, the remote, the progress callback and the marker file.

:class:`FetchError`, :class:`Remote`, :data:`Progress` and ``_MARKER``, the file whose
presence makes a folder the dataset root. ``log`` is the one logger of the package,
``urbansound.fetch``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from urbansound.exceptions import FetchError  # noqa: F401 (re-exported to the fetch modules)

log = logging.getLogger(__package__)

#: ``progress(bytes_done, bytes_total)``; ``bytes_total`` is None when the server does not say.
Progress = Callable[[int, int | None], None]

_MARKER = Path("metadata") / "UrbanSound8K.csv"


@dataclass(frozen=True)
class Remote:
    """One downloadable archive.

    Attributes
    ----------
    url : str
        Where to download it from.
    md5 : str
        Expected md5 of the whole archive, hexadecimal.
    filename : str
        Name of the archive in the destination folder.
    root : str or None
        Folder the archive unpacks to, under the destination folder; when it already
        holds ``metadata/UrbanSound8K.csv``, :func:`fetch` has nothing to do.
    """

    url: str
    md5: str
    filename: str
    root: str | None = None

