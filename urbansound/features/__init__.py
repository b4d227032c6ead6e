"""Feature sets, computed from one decoded clip. Pure functions: no I/O, no globals but
constants (and caches of constants: the mel filterbank and the column names per setting).

Every spectral feature derives from one magnitude STFT per clip (:func:`spectrogram`):
Hann window of ``n_fft`` samples, hop ``hop_length``, frames centred (the signal is
zero-padded by ``n_fft // 2`` on both sides), so a clip of ``n`` samples has
``1 + n // hop_length`` frames, exactly as ``librosa.stft``. The time-domain features
read the samples directly. :func:`compute` returns every column below, in this order
(:func:`extract` returns them as one vector, with the MFCC frames for :func:`mfcc_sequence`);
:func:`feature_names` lists them for given settings. All values are finite: silence
and clips padded by :func:`prepare` get the fallbacks stated below.

Default settings (22050 Hz, ``n_fft`` 2048, hop 512, 64 bands, 128 mel bands, 40 MFCC,
64 PCEN bands) give 14 ``time_*`` + 77 ``fft_*`` + 320 ``mfcc_*`` + 320 ``pcen_*`` = 731
columns; in general ``14 + (n_bands + 13) + 8 * n_mfcc + 5 * pcen_bands``. Indices ``kk`` are zero-based
and zero-padded to two digits (three from 101 bands or coefficients on; always three for
``pcen_*``).

Amplitudes are in full-scale units: a sample of 1.0 is digital full scale.

The sets, each documented column by column in its module:

- :mod:`urbansound.features.time`: ``time_*`` (time domain, 14 columns).
- :mod:`urbansound.features.spectral`: ``fft_*`` (spectral; ``n_bands + 13`` columns) and
  :func:`spectrogram`, the one STFT.
- :mod:`urbansound.features.mfcc`: ``mfcc_*`` (perceptual; ``8 * n_mfcc`` columns),
  :func:`mel_power` (the one mel product) and :func:`mfcc_sequence`.
- :mod:`urbansound.features.pcen`: ``pcen_*`` (per-channel energy normalised mel bands;
  ``5 * pcen_bands`` columns): background-robust band statistics.
"""

from __future__ import annotations

import numpy as np

from urbansound.features.mfcc import (
    MFCC_STATS,
    _mfcc_names,
    delta,
    log_mel,
    mel_image,
    mel_power,
    mfcc_features,
    mfcc_frames,
    mfcc_sequence,
)
from urbansound.features.pcen import PCEN_STATS, _pcen_names, pcen_features, pcen_frames
from urbansound.features.spectral import (
    FFT_STAT_NAMES,
    _fft_names,
    band_edges,
    band_levels,
    fft_features,
    spectral_contrast,
    spectrogram,
)
from urbansound.features.time import TIME_NAMES, envelope, time_features
from urbansound.settings import FeatureSettings

FEATURE_SETS = ("time", "fft", "mfcc", "pcen")

__all__ = [
    "FEATURE_SETS", "FFT_STAT_NAMES", "MFCC_STATS", "PCEN_STATS", "TIME_NAMES", "band_edges", "band_levels",
    "compute", "delta", "envelope", "extract", "extract_frames", "feature_names", "fft_features", "log_mel",
    "mel_image", "mel_power",
    "mfcc_features", "mfcc_frames", "mfcc_sequence", "pcen_features", "pcen_frames", "prepare",
    "spectral_contrast", "spectrogram", "time_features",
]


def prepare(y: np.ndarray, settings: FeatureSettings) -> tuple[np.ndarray, bool]:
    """Zero-pad a clip shorter than one FFT frame so every feature is defined.

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32
        Mono signal, full-scale amplitude.
    settings : FeatureSettings

    Returns
    -------
    y : np.ndarray, shape (max(n, n_fft),), float32
    padded : bool
        Whether padding was needed.
    """
    if len(y) >= settings.n_fft:
        return y, False
    return np.pad(y, (0, settings.n_fft - len(y))), True


# ----------------------------------------------------------------------- the table
# names are constants per setting; formatting 400 of them per clip would cost 5% of it
def feature_names(settings: FeatureSettings) -> list[str]:
    """Every feature column, in table order, for these settings.

    ``14 + n_bands + 13 + 8 * n_mfcc + 5 * pcen_bands`` names: :data:`TIME_NAMES`, then
    ``fft_band_kk`` and :data:`FFT_STAT_NAMES`, then ``mfcc_{stat}_{kk}``, then
    ``pcen_{stat}_{kkk}``.
    """
    return [*TIME_NAMES, *_fft_names(settings), *_mfcc_names(settings.n_mfcc), *_pcen_names(settings.pcen_bands)]


def extract(y: np.ndarray, *, sr: int, settings: FeatureSettings) -> tuple[np.ndarray, np.ndarray]:
    """All feature sets of one decoded clip, and its MFCC frames, from one STFT.

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32
        Mono signal at ``sr`` Hz, full-scale amplitude, at least ``n_fft`` samples
        (see :func:`prepare`).
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings

    Returns
    -------
    values : np.ndarray, shape (len(feature_names(settings)),), float64
        Every column, in the order of :func:`feature_names`; every value finite.
    M : np.ndarray, shape (n_mfcc, 1 + n // hop_length), float32
        The MFCC frames the ``mfcc_*`` columns pool (for :func:`mfcc_sequence`).
    """
    values, M, _ = extract_frames(y, sr=sr, settings=settings)
    return values, M


def extract_frames(y: np.ndarray, *, sr: int, settings: FeatureSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`extract`, and the log-mel image of the same mel product (:func:`mel_image`).

    Returns
    -------
    values, M
        As :func:`extract`.
    image : np.ndarray, shape (mel_bands, sequence_frames), float16
        The log-mel spectrogram the ``cnn`` reads.
    """
    S = spectrogram(y, settings)
    mel = mel_power(S, sr=sr, settings=settings)
    M = mfcc_frames(sr=sr, settings=settings, mel=mel)
    values = np.concatenate([
        time_features(y, sr=sr, settings=settings),
        fft_features(S, sr=sr, settings=settings),
        mfcc_features(M),
        pcen_features(pcen_frames(mel, sr=sr, settings=settings)),
    ])
    return values, M, mel_image(mel, settings)


def compute(y: np.ndarray, *, sr: int, settings: FeatureSettings) -> dict[str, float]:
    """All feature sets of one decoded clip by name: :func:`extract` without the frames.

    Parameters as :func:`extract`. Returns a dict of str to float whose keys are exactly
    ``feature_names(settings)``, in order.
    """
    values, _ = extract(y, sr=sr, settings=settings)
    return dict(zip(feature_names(settings), values.tolist(), strict=True))
