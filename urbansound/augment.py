"""Training-time augmentation: altered copies of a decoded clip, for extra training rows.

An augmentation is named by a spec ``KIND:VALUE``; :func:`parse` checks it, :func:`apply`
makes the altered signal. ``featurize`` (with ``FeatureSettings.augment``) adds one row
per training clip and spec to the feature table, tied to its source clip (same
``clip_id``, fold and recording; the ``augmentation`` column holds the spec). Training
uses such a row only when its source clip is on the training side of a split, and never
scores it (:mod:`urbansound.evaluation`).

Kinds (Salamon and Bello 2017 augmented UrbanSound8K with the first three and dynamic
range compression; ``speed`` is the cheapest way to move both pitch and tempo):

``speed:F``     play the clip F times as fast, as a tape would: resampled with soxr, so
                the duration is divided by F and every frequency multiplied by F
                (0.9: 10% slower and 1.8 semitones lower). 0.5 <= F <= 2. About 1 ms.
``pitch:N``     shift the pitch by N semitones, same duration (``librosa.effects.
                pitch_shift``: phase vocoder and resampling). -12 <= N <= 12. About 50x
                the cost of ``speed``.
``stretch:R``   play R times as fast, same pitch (``librosa.effects.time_stretch``).
                0.5 <= R <= 2. About 40x the cost of ``speed``.
``gain:DB``     scale the amplitude by DB decibels. -40 <= DB <= 40.
``noise:SNR``   add white Gaussian noise SNR dB below the clip's RMS level, drawn from a
                generator seeded by the clip's id (the same row on every run).
                -10 <= SNR <= 60.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

_LIMITS: dict[str, tuple[float, float]] = {
    "speed": (0.5, 2.0),
    "pitch": (-12.0, 12.0),
    "stretch": (0.5, 2.0),
    "gain": (-40.0, 40.0),
    "noise": (-10.0, 60.0),
}
KINDS: tuple[str, ...] = tuple(_LIMITS)


def parse(spec: str) -> tuple[str, float]:
    """Check an augmentation spec ``KIND:VALUE``; returns (kind, value).

    Raises
    ------
    ValueError
        Naming the spec and what a valid one looks like.
    """
    kind, sep, text = str(spec).partition(":")
    if not sep or kind not in _LIMITS:
        raise ValueError(f"augmentation {spec!r}: expected KIND:VALUE with KIND one of {', '.join(KINDS)} "
                         "(e.g. speed:0.9)")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"augmentation {spec!r}: {text!r} is not a number (e.g. speed:0.9)") from None
    lo, hi = _LIMITS[kind]
    if not lo <= value <= hi:
        raise ValueError(f"augmentation {spec!r}: {kind} must lie in [{lo:g}, {hi:g}]")
    if kind in ("speed", "stretch") and value == 1.0 or kind in ("pitch", "gain") and value == 0.0:
        raise ValueError(f"augmentation {spec!r} changes nothing: drop it")
    return kind, value


def _speed(y: np.ndarray, factor: float, sr: int, clip_id: str) -> np.ndarray:
    import soxr

    # resampling sr -> sr / factor and playing back at sr: duration / factor, pitch x factor
    return soxr.resample(y, sr, sr / factor)


def _pitch(y: np.ndarray, steps: float, sr: int, clip_id: str) -> np.ndarray:
    from urbansound._librosa import librosa

    return librosa.effects.pitch_shift(y, sr=sr, n_steps=steps)


def _stretch(y: np.ndarray, rate: float, sr: int, clip_id: str) -> np.ndarray:
    from urbansound._librosa import librosa

    if len(y) < 2048:  # the phase vocoder needs one frame; a shorter clip keeps its length
        return y
    return librosa.effects.time_stretch(y, rate=rate)


def _gain(y: np.ndarray, db: float, sr: int, clip_id: str) -> np.ndarray:
    return y * np.float32(10.0 ** (db / 20.0))


def _noise(y: np.ndarray, snr_db: float, sr: int, clip_id: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(clip_id.encode()))
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0
    scale = rms * 10.0 ** (-snr_db / 20.0)
    return y + (scale * rng.standard_normal(len(y))).astype(np.float32)


_APPLY: dict[str, Callable[[np.ndarray, float, int, str], np.ndarray]] = {
    "speed": _speed, "pitch": _pitch, "stretch": _stretch, "gain": _gain, "noise": _noise,
}


def apply(y: np.ndarray, spec: str, *, sr: int, clip_id: str) -> np.ndarray:
    """The clip altered as ``spec`` says.

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32
        Mono signal at ``sr`` Hz, full-scale amplitude.
    spec : str
        ``KIND:VALUE`` (see the module docstring).
    sr : int
        Sample rate, Hz.
    clip_id : str
        The source clip's id: seeds the random kinds, so a row is the same on every run.

    Returns
    -------
    np.ndarray, shape (m,), float32
        ``m`` differs from ``n`` for ``speed`` and ``stretch``.
    """
    kind, value = parse(spec)
    out = _APPLY[kind](np.asarray(y, dtype=np.float32), value, sr, clip_id)
    return np.ascontiguousarray(out, dtype=np.float32)
