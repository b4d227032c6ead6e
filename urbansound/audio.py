"""Audio decoding: the only place that touches audio files.

:func:`decode` turns a file (any format libsndfile reads: PCM 8/16/24/32-bit, float,
WAVE_FORMAT_EXTENSIBLE, mono or multi-channel, any rate) into mono float32 at the target
rate, resampled with soxr. Anything that cannot be decoded raises :class:`DecodeError`
naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from urbansound.exceptions import DecodeError


def decode(source: str | Path | BinaryIO, *, sr: int) -> np.ndarray:
    """Decode an audio file to mono float32 at ``sr``.

    Parameters
    ----------
    source : path or binary file object
        The audio file.
    sr : int
        Target sample rate, Hz.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        The mono signal (channel mean), nominally in [-1, 1].

    Raises
    ------
    DecodeError
        The file is missing, empty, not audio, truncated beyond use, has no frames, or
        holds NaN or infinite samples.
    """
    name = str(source) if isinstance(source, (str, Path)) else str(getattr(source, "name", "<file object>"))
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise DecodeError(name, "file not found")
    try:
        data, native_sr = sf.read(source, dtype="float32", always_2d=True)
    except FileNotFoundError as e:
        raise DecodeError(name, "file not found") from e
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, EOFError) as e:
        raise DecodeError(name, f"not a readable audio file ({e})") from e
    if data.shape[0] == 0:
        raise DecodeError(name, "the file holds no audio frames")
    if native_sr <= 0:
        raise DecodeError(name, f"invalid sample rate {native_sr} in the header")
    y = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(y).all():
        raise DecodeError(name, "samples include NaN or infinity")
    if native_sr != sr:
        y = soxr.resample(y, native_sr, sr, quality="HQ")
    return np.ascontiguousarray(y, dtype=np.float32)
