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

# Real recordings sit between these; a header outside them is corrupt, and trusting it
# would make the resampler allocate gigabytes (or crash) for a few kilobytes of input.
MIN_RATE, MAX_RATE = 1000, 768000


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
        reason = str(e).replace(repr(source), "file")  # no object reprs in the failures table
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
