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
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import logging
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from urbansound import __version__
from urbansound.exceptions import UrbanSoundError

log = logging.getLogger(__name__)

#: ``progress(bytes_done, bytes_total)``; ``bytes_total`` is None when the server does not say.
Progress = Callable[[int, int | None], None]

_MARKER = Path("metadata") / "UrbanSound8K.csv"
_USER_AGENT = f"urbansound/{__version__} (+python-urllib)"
_HASH_BLOCK = 8 << 20


class FetchError(UrbanSoundError):
    """A dataset cannot be downloaded, verified or unpacked; the message says what to do."""


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


def download(
    remote: Remote,
    dest_dir: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    chunk_size: int = 1 << 20,
    timeout: float = 60,
) -> Path:
    """Download ``remote`` into ``dest_dir``, resuming a partial download, and verify it.

    Bytes go to ``<filename>.part``, renamed to ``<filename>`` once the md5 is right.
    An existing ``.part`` is resumed with a ``Range`` request (a server that ignores it
    and answers 200 makes the download start over). A complete download with the wrong
    md5 is moved to ``<filename>.corrupt``, so the next run starts afresh.

    Parameters
    ----------
    remote : Remote
        What to download and the md5 it must have.
    dest_dir : path
        Destination folder; created if missing.
    progress : callable, optional
        Called as ``progress(bytes_done, bytes_total_or_None)`` after each chunk, counting
        the bytes of a resumed ``.part``.
    chunk_size : int
        Bytes read from the network at a time.
    timeout : float
        Seconds to wait for the server to connect or send anything.

    Returns
    -------
    Path
        ``dest_dir / remote.filename``, whose md5 is ``remote.md5``.

    Raises
    ------
    FetchError
        The server cannot be reached or answers with an error, the connection breaks
        (the ``.part`` stays for the next run), the disk is full, or the md5 is wrong.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / remote.filename
    part = dest / f"{remote.filename}.part"
    expected = remote.md5.lower()

    if final.exists():
        log.info("checking the md5 of %s", final)
        actual = _md5_file(final)
        if actual == expected:
            log.info("%s is already downloaded and verified", final)
            return final
        raise FetchError(
            f"{final} already exists but its md5 is {actual}, not the expected {expected} "
            "(an older or damaged copy?); move or delete it and re-run to download it again"
        )

    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        log.info("resuming %s at byte %d from %s", part, offset, remote.url)
    else:
        log.info("downloading %s to %s", remote.url, part)

    try:
        resp = urllib.request.urlopen(urllib.request.Request(remote.url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            # Nothing left to send: the .part is already whole (or longer than the file);
            # the md5 decides.
            e.close()
            log.info("the server has no bytes after %d: %s looks complete", offset, part)
            return _finish(part, final, expected, _md5_file(part))
        e.close()
        hint = _resume_hint(part) if e.code >= 500 or e.code in (408, 429) else "; check the URL"
        raise FetchError(f"cannot download {remote.url}: HTTP {e.code} {e.reason}" + hint) from e
    except (OSError, http.client.HTTPException) as e:
        raise FetchError(f"cannot download {remote.url}: {_reason(e)}" + _resume_hint(part)) from e

    with resp:
        status = resp.status
        length = _int_or_none(resp.headers.get("Content-Length"))
        if status == 206:
            start, total = _content_range(resp.headers.get("Content-Range"))
            if start != offset:
                raise FetchError(
                    f"{remote.url}: asked for bytes from {offset}, the server sent bytes from {start}; "
                    f"delete {part} and re-run to download from the start"
                )
            if total is None and length is not None:
                total = offset + length
            mode = "ab"
            hasher = _md5_of(part)
        elif status in (200, None):  # None: file:// and other non-HTTP URLs
            if offset:
                log.info("the server ignored the range request: downloading %s from the start", remote.url)
            offset, total, mode, hasher = 0, length, "wb", hashlib.md5()
        else:
            raise FetchError(f"cannot download {remote.url}: unexpected HTTP {status} {resp.reason}")

        if total is not None:
            free = shutil.disk_usage(dest).free
            if free < total - offset:
                raise FetchError(
                    f"not enough space in {dest} for {remote.filename}: {_size(total - offset)} still to "
                    f"download, {_size(free)} free; free some space (the dataset needs as much again "
                    "once unpacked) and re-run"
                )

        done = offset
        if progress is not None:
            progress(done, total)
        try:
            f = part.open(mode)
        except OSError as e:
            raise FetchError(f"cannot write {part}: {_reason(e)}") from e
        with f:
            while True:
                try:
                    chunk = resp.read(chunk_size)
                except (OSError, http.client.HTTPException) as e:
                    raise FetchError(
                        f"download of {remote.url} broke off after {_size(done)}: {_reason(e)}" + _resume_hint(part)
                    ) from e
                if not chunk:
                    break
                try:
                    f.write(chunk)
                except OSError as e:
                    raise FetchError(f"cannot write {part}: {_reason(e)}" + _resume_hint(part)) from e
                hasher.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            f.flush()
            os.fsync(f.fileno())

    if total is not None and done < total:
        raise FetchError(
            f"download of {remote.url} broke off after {_size(done)} of {_size(total)}: "
            "the server closed the connection" + _resume_hint(part)
        )
    return _finish(part, final, expected, hasher.hexdigest())


def unpack(archive: str | os.PathLike[str], dest_dir: str | os.PathLike[str]) -> Path:
    """Extract a tar archive safely and return the dataset root inside ``dest_dir``.

    Every member must stay inside the destination: absolute names, ``..`` components,
    links pointing outside and device files are refused, and nothing is left behind.
    The archive is extracted into a hidden temporary folder of ``dest_dir``, which is
    renamed into place only once complete.

    Parameters
    ----------
    archive : path
        A tar archive, compressed or not.
    dest_dir : path
        Folder to unpack into; created if missing.

    Returns
    -------
    Path
        The folder holding ``metadata/UrbanSound8K.csv``: ``dest_dir / <top folder>``
        (``dest_dir / "UrbanSound8K"`` for the official archive), or ``dest_dir / <archive
        name without extension>`` for an archive without a top folder.

    Raises
    ------
    FetchError
        The archive is unsafe, damaged or holds no ``metadata/UrbanSound8K.csv``, or the
        target folder already exists.
    """
    archive = Path(archive)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    prefix = f".{archive.name}.unpack-"
    for stale in dest.glob(f"{prefix}*"):
        # Left by an unpack that crashed: ours by name, and the archive still holds it all.
        log.info("removing %s, left by an interrupted unpack", stale)
        shutil.rmtree(stale, ignore_errors=True)

    tmp = dest / f"{prefix}{os.getpid()}"
    tmp.mkdir()  # not mkdtemp: its 0700 mode would stick to a dataset root renamed from it
    try:
        log.info("unpacking %s into %s", archive, dest)
        _extract(archive, tmp)
        src, target = _locate_root(archive, tmp, dest)
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        if target.exists():
            raise FetchError(f"{target} already exists; move or delete it, or unpack {archive} elsewhere")
        os.rename(src, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("unpacked %s to %s", archive.name, target)
    return target


# ------------------------------------------------------------------ download helpers
def _finish(part: Path, final: Path, expected: str, actual: str) -> Path:
    """Rename a verified ``.part`` into place, or move a corrupt one aside and raise."""
    if actual != expected:
        corrupt = part.with_name(final.name + ".corrupt")
        if corrupt.exists():
            log.warning("replacing %s, an earlier corrupt download", corrupt)
        os.replace(part, corrupt)
        raise FetchError(
            f"{final.name} downloaded but its md5 is {actual}, expected {expected}: the download is "
            f"corrupt (or the mirror serves another file). It was moved to {corrupt}; re-run to "
            "download it again (and delete the .corrupt file once that succeeds)"
        )
    os.replace(part, final)
    log.info("downloaded and verified %s (md5 %s)", final, actual)
    return final


def _md5_file(path: Path) -> str:
    """md5 of a file, hexadecimal."""
    return _md5_of(path).hexdigest()


def _md5_of(path: Path) -> hashlib._Hash:
    """An md5 object fed with a file, read in blocks (the archive is 6 GB)."""
    h = hashlib.md5()
    with path.open("rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``"bytes 100-199/1000"`` -> ``(100, 1000)``; the total is None when given as ``*``."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    if m is None:
        return None, None
    return int(m.group(1)), (None if m.group(2) == "*" else int(m.group(2)))


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _reason(e: BaseException) -> str:
    if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError):
        return str(e.reason)
    return str(e) or type(e).__name__


def _resume_hint(part: Path) -> str:
    if part.exists() and part.stat().st_size:
        return f"; {_size(part.stat().st_size)} kept in {part}, re-run to resume"
    return "; re-run to try again"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


# ------------------------------------------------------------------ unpack helpers
def _extract(archive: Path, into: Path) -> None:
    """Extract every member of ``archive`` into ``into``, refusing any unsafe member."""

    def check(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        _check_member(archive, member)
        return tarfile.data_filter(member, path) if hasattr(tarfile, "data_filter") else member

    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.errorlevel = 2  # every extraction error raises; none is only logged
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
                tar.extractall(into, filter=check)
            else:
                tar.extractall(into, members=(m for m in tar if check(m, str(into)) is not None))
    except FetchError:
        raise
    except (tarfile.TarError, OSError, EOFError) as e:
        raise FetchError(
            f"cannot unpack {archive}: {e}; if the archive is damaged, delete it and re-run to download it again"
        ) from e


def _check_member(archive: Path, member: tarfile.TarInfo) -> None:
    """Raise FetchError unless ``member`` stays inside the destination folder."""
    name = member.name
    why = _unsafe_path(name)
    if why:
        raise FetchError(f"{archive}: refusing to unpack {name!r}: {why}")
    if member.issym():
        target = member.linkname
        if _unsafe_path(target) == "absolute path" or _escapes(str(PurePosixPath(name).parent / target)):
            raise FetchError(f"{archive}: refusing to unpack {name!r}: a link to {target!r}, outside the archive")
    elif member.islnk():
        if _unsafe_path(member.linkname):
            raise FetchError(
                f"{archive}: refusing to unpack {name!r}: a link to {member.linkname!r}, outside the archive"
            )
    elif not (member.isfile() or member.isdir()):
        raise FetchError(f"{archive}: refusing to unpack {name!r}: a device or special file")


def _unsafe_path(name: str) -> str | None:
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or PureWindowsPath(name).drive:
        return "absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "'..' in its path"
    return None


def _escapes(relpath: str) -> bool:
    """Whether an archive-relative path, once ``..`` are resolved, leaves the archive."""
    depth = 0
    for part in re.split(r"[/\\]", relpath):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _locate_root(archive: Path, tmp: Path, dest: Path) -> tuple[Path, Path]:
    """Where the dataset landed inside ``tmp``, and where it goes in ``dest``."""
    if (tmp / _MARKER).is_file():
        stem = archive.name.split(".")[0] or "dataset"
        return tmp, dest / stem
    roots = [d for d in sorted(tmp.iterdir()) if d.is_dir() and (d / _MARKER).is_file()]
    if len(roots) != 1:
        raise FetchError(
            f"{archive} holds {'no' if not roots else 'more than one'} folder with {_MARKER.as_posix()}: "
            "not the UrbanSound8K archive? Check the URL and delete the archive before re-running"
        )
    others = [p.name for p in tmp.iterdir() if p != roots[0]]
    if others:
        log.info("ignoring %s, outside %s in %s", ", ".join(sorted(others)), roots[0].name, archive.name)
    return roots[0], dest / roots[0].name
