"""Safe unpacking of a tar archive into place.

:func:`unpack` and its helpers: every member must stay inside the destination (absolute
names, ``..`` components, links pointing outside and device files are refused), and the
dataset is extracted into a hidden temporary folder, renamed into place once complete.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from urbansound.fetch._common import _MARKER, FetchError, log


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
