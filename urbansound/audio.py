"""Audio decoding: the only place that touches audio files.

:func:`decode` turns a file (any format libsndfile reads: PCM 8/16/24/32-bit, float,
WAVE_FORMAT_EXTENSIBLE, mono or multi-channel, any rate) into mono float32 at the target
rate, resampled with soxr. Anything that cannot be decoded raises :class:`DecodeError`
naming the file and the reason.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from urbansound.exceptions import DecodeError
from urbansound.storage import is_url

# Real recordings sit between these; a header outside them is corrupt, and trusting it
# would make the resampler allocate gigabytes (or crash) for a few kilobytes of input.
MIN_RATE, MAX_RATE = 1000, 768000


SAMPLES_PER_CAPPED_SECOND = 192_000 * 2
"""Decoded samples (all channels) allowed per second of ``max_seconds``: a clip at the cap
stays within what a stereo 192 kHz file of that length holds (4 bytes a sample)."""

_SF_ERRORS = (sf.LibsndfileError, RuntimeError, ValueError, TypeError, EOFError)

_NOT_REGULAR = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def not_a_file(mode: int) -> str | None:
    """Why a path whose ``st_mode`` is ``mode`` is not an audio file (a directory, a FIFO,
    a device...), or None for a regular file. Reading a FIFO would block for ever."""
    if stat.S_ISREG(mode):
        return None
    kind = next((what for test, what in _NOT_REGULAR if test(mode)), "not a regular file")
    return f"is {kind}, not an audio file; replace it with the clip"


def os_reason(e: OSError) -> str:
    """Why a file could not be opened, in a few words a user can act on."""
    if e.errno == errno.ENOENT:
        return "file not found"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: the file is not readable by this user (the Dask workers' user); fix its permissions"
    if e.errno == errno.ELOOP:
        return "a symlink loop (or too many levels of symlinks); point the link at the clip"
    return f"cannot be opened ({e.strerror or e})"


def open_regular(path: str | Path) -> int:
    """Open ``path`` for reading, without blocking, and only if it is a regular file.

    Returns
    -------
    fd : int
        An open file descriptor (blocking again), to be closed by the caller.

    Raises
    ------
    DecodeError
        Not found, not readable, a symlink loop, or not a regular file (a directory or a
        FIFO named ``x.wav``: opened with ``O_NONBLOCK`` and checked with ``fstat``, so a
        FIFO swapped in at any moment never blocks).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise DecodeError(str(path), os_reason(e)) from None
    try:
        why = not_a_file(os.fstat(fd).st_mode)
        if why:
            raise DecodeError(str(path), why)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_length(name: str, frames: int, samplerate: int, channels: int, max_seconds: float) -> None:
    seconds = frames / samplerate if samplerate > 0 else float("inf")
    if seconds > max_seconds:
        raise DecodeError(name, f"{seconds:.0f} s long, over the {max_seconds:g} s cap; raise --max-seconds to "
                                "featurize it")
    if frames * channels > max_seconds * SAMPLES_PER_CAPPED_SECOND:
        raise DecodeError(name, f"{frames * channels} samples ({channels} channels at {samplerate} Hz) would need "
                                f"{frames * channels * 4 / 2**30:.1f} GiB decoded; raise --max-seconds to featurize it")


@contextmanager
def open_url(url: str) -> Iterator[BinaryIO]:
    """An object in storage (fsspec), opened for reading; its absence or refusal is a
    :class:`DecodeError` naming the URL, as for a local file."""
    import fsspec

    try:
        with fsspec.open(url, "rb") as f:
            yield f
    except FileNotFoundError:
        raise DecodeError(url, "file not found") from None
    except IsADirectoryError:
        raise DecodeError(url, "not a regular file (a folder or prefix)") from None
    except PermissionError as e:
        raise DecodeError(url, f"permission denied ({e})") from None


def check_size(path: str | Path | BinaryIO, *, max_seconds: float) -> None:
    """Refuse, from the header alone, a file too long (or too large decoded) to featurize.

    Raises
    ------
    DecodeError
        Not audio (its header is unreadable: nothing more is read), longer than
        ``max_seconds``, or more samples than ``max_seconds * SAMPLES_PER_CAPPED_SECOND``.
    """
    name = str(path) if isinstance(path, (str, Path)) else str(getattr(path, "path", getattr(path, "name", "file")))
    try:
        info = sf.info(str(path) if isinstance(path, (str, Path)) else path)  # a path, or an open file object
    except _SF_ERRORS as e:
        raise DecodeError(name, f"not a readable audio file ({e})") from e
    _check_length(name, info.frames, info.samplerate, info.channels, max_seconds)


def decode(source: str | Path | BinaryIO, *, sr: int, max_seconds: float | None = None) -> np.ndarray:
    """Decode an audio file to mono float32 at ``sr``.

    Parameters
    ----------
    source : path or binary file object
        The audio file.
    sr : int
        Target sample rate, Hz.
    max_seconds : float, optional
        Refuse, from the header before decoding, a clip longer than this (or larger
        decoded: see :func:`check_size`).

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        The mono signal (channel mean), nominally in [-1, 1].

    Raises
    ------
    DecodeError
        The file is missing, not readable, a symlink loop, not a regular file (a directory
        or FIFO), empty, not audio, truncated beyond use, has no frames, holds NaN or
        infinite samples, or is over ``max_seconds``.
    """
    if isinstance(source, str) and is_url(source):  # an object in a bucket: ranged reads through fsspec
        with open_url(source) as f:
            y = decode(f, sr=sr, max_seconds=max_seconds)
        return y
    name = str(source) if isinstance(source, (str, Path)) else str(getattr(source, "name", "<file object>"))
    # a path is opened here (a directory or FIFO is refused, never read: see open_regular)
    opened = open_regular(source) if isinstance(source, (str, Path)) else source
    try:
        with sf.SoundFile(opened, closefd=True) as f:
            if max_seconds is not None:  # from the header, before any sample is decoded
                _check_length(name, f.frames, f.samplerate, f.channels, max_seconds)
            data, native_sr = f.read(dtype="float32", always_2d=True), f.samplerate
    except FileNotFoundError as e:
        raise DecodeError(name, "file not found") from e
    except _SF_ERRORS as e:
        # no object reprs or descriptor numbers in the failures table
        reason = str(e).replace(f"Error opening {opened!r}:", "Error opening file:")
        reason = reason if isinstance(opened, int) else reason.replace(repr(opened), "file")
        raise DecodeError(name, f"not a readable audio file ({reason})") from e
    if data.shape[0] == 0:
        raise DecodeError(name, "the file holds no audio frames")
    if not MIN_RATE <= native_sr <= MAX_RATE:
        raise DecodeError(name, f"implausible sample rate {native_sr} Hz in the header (corrupt file?); "
                                f"expected {MIN_RATE}-{MAX_RATE} Hz")
    y = data[:, 0].copy()
    if data.shape[1] > 1:  # channel mean, column by column: 2x faster than mean(axis=1)
        for k in range(1, data.shape[1]):
            y += data[:, k]
        y /= data.shape[1]
    if not np.isfinite(y).all():
        raise DecodeError(name, "samples include NaN or infinity")
    if native_sr != sr:
        resampled = soxr.resample(y, native_sr, sr, quality="HQ")
        # A clip shorter than one output sample keeps one: it still gets (padded) features.
        y = resampled if len(resampled) else y[:1]
        if not np.isfinite(y).all():  # huge finite samples can overflow in the filter
            raise DecodeError(name, "samples overflow when resampled (values far outside [-1, 1])")
    return np.ascontiguousarray(y, dtype=np.float32)
