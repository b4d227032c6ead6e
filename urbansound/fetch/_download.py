"""HTTP download of an archive: resume with a ``Range`` request, md5 check, move aside if corrupt.

:func:`download` and its helpers. HTTP goes through :mod:`urllib.request`; the bytes go
to ``<filename>.part``, renamed to ``<filename>`` only once the md5 is right.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from urbansound import __version__
from urbansound.fetch._common import FetchError, Progress, Remote, log

_USER_AGENT = f"urbansound/{__version__} (+python-urllib)"
_HASH_BLOCK = 8 << 20


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
        opener = urllib.request.build_opener(_HttpOnlyRedirects)
        resp = opener.open(urllib.request.Request(remote.url, headers=headers), timeout=timeout)
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


# ------------------------------------------------------------------ download helpers
def redirect_refusal(url: str, target: str) -> str | None:
    """Why a redirect from ``url`` to ``target`` (as sent, maybe relative) is not followed,
    or None. Only http and https targets are followed, and https never down to http: a
    server must not turn a download into a read of a local file (``file:``), inline data
    (``data:``) or another protocol (``ftp:``), nor strip its TLS."""
    new = urllib.parse.urlsplit(urllib.parse.urljoin(url, target)).scheme.lower()
    old = urllib.parse.urlsplit(url).scheme.lower()
    if new not in ("http", "https"):
        return f"{new or 'a scheme-less'}: redirects are not followed, only http(s)"
    if old == "https" and new == "http":
        return "a redirect from https down to http is not followed"
    return None


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirects (it follows ftp: too, and refuses file: with a bare HTTP error),
    checked by :func:`redirect_refusal` first, refused with one clear :class:`FetchError`."""

    def http_error_302(self, req, fp, code, msg, headers):  # noqa: ANN001, ANN201 - urllib's signature
        target = headers.get("location") or headers.get("uri")
        why = redirect_refusal(req.full_url, target) if target else None
        if why:
            fp.close()
            raise FetchError(f"cannot download {req.full_url}: the server redirected (HTTP {code}) to "
                             f"{target[:200]!r}; {why}. Pass the archive's final http(s) URL with --url")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


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
