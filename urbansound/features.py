"""Feature sets, computed from one decoded clip. Pure functions: no I/O, no globals.

Every spectral feature derives from one STFT per clip (:func:`spectrogram`).

``mfcc_*`` (perceptual)
    ``mfcc_mean_kk``, ``mfcc_std_kk``: mean and standard deviation over frames of MFCC
    coefficient ``kk`` (0-based; coefficient 0 tracks log energy), computed from a
    ``n_mels``-band mel spectrogram in dB. Unit: dB-scaled cepstral units.
"""

from __future__ import annotations

import librosa
import numpy as np

from urbansound.settings import FeatureSettings

FEATURE_SETS = ("mfcc",)


def prepare(y: np.ndarray, settings: FeatureSettings) -> tuple[np.ndarray, bool]:
    """Zero-pad a clip shorter than one FFT frame so every feature is defined.

    Returns
    -------
    y : np.ndarray, shape (max(n, n_fft),), float32
    padded : bool
        Whether padding was needed.
    """
    if len(y) >= settings.n_fft:
        return y, False
    return np.pad(y, (0, settings.n_fft - len(y))), True


def spectrogram(y: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Magnitude STFT.

    Returns
    -------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames), float32, linear magnitude
    """
    return np.abs(librosa.stft(y, n_fft=settings.n_fft, hop_length=settings.hop_length, center=True))


def mfcc_frames(S: np.ndarray, *, sr: int, settings: FeatureSettings) -> np.ndarray:
    """MFCC frame sequence from a magnitude spectrogram.

    Returns
    -------
    M : np.ndarray, shape (n_mfcc, n_frames), float32
    """
    mel = librosa.feature.melspectrogram(S=S**2, sr=sr, n_fft=settings.n_fft, n_mels=settings.n_mels)
    return librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=settings.n_mfcc).astype(np.float32)


def mfcc_features(M: np.ndarray) -> dict[str, float]:
    """Pool an MFCC sequence, shape (n_mfcc, n_frames), into ``mfcc_*`` columns."""
    out: dict[str, float] = {}
    for stat, values in (("mean", M.mean(axis=1)), ("std", M.std(axis=1))):
        for k, v in enumerate(values):
            out[f"mfcc_{stat}_{k:02d}"] = float(v)
    return out


def feature_names(settings: FeatureSettings) -> list[str]:
    """Every feature column, in table order, for these settings."""
    return [f"mfcc_{stat}_{k:02d}" for stat in ("mean", "std") for k in range(settings.n_mfcc)]


def compute(y: np.ndarray, *, sr: int, settings: FeatureSettings) -> dict[str, float]:
    """All feature sets of one decoded clip.

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32
        Mono signal at ``sr`` Hz, at least ``n_fft`` samples (see :func:`prepare`).
    """
    S = spectrogram(y, settings)
    return mfcc_features(mfcc_frames(S, sr=sr, settings=settings))
