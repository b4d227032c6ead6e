"""The ``mfcc_*`` feature set and the MFCC frame sequences.

``mfcc_*`` (perceptual; 8 * n_mfcc columns)
    MFCC frames as ``librosa.feature.mfcc``: power spectrum (S ** 2) through ``n_mels``
    Slaney mel filters (0 Hz to sr / 2), power in dB (ref 1, floor 1e-10, top 80 dB),
    orthonormal DCT-II, first ``n_mfcc`` coefficients (coefficient 0 tracks log energy).
    Unit: dB-scaled cepstral units; deltas in the same units per frame.

    ``mfcc_mean_kk``, ``mfcc_std_kk``, ``mfcc_min_kk``, ``mfcc_max_kk``
                            mean, standard deviation, min and max over frames of
                            coefficient ``kk``.
    ``mfcc_delta_mean_kk``, ``mfcc_delta_std_kk``
                            mean and standard deviation of the first derivative over time
                            (``librosa.feature.delta``: Savitzky-Golay over 9 frames;
                            clips under 9 frames use the largest odd width that fits,
                            under 3 frames give 0).
    ``mfcc_delta2_mean_kk``, ``mfcc_delta2_std_kk``
                            the same for the second derivative (delta-delta).

Columns are grouped by statistic, then coefficient (``mfcc_mean_00 .. mfcc_mean_39,
mfcc_std_00 ..``). :func:`mfcc_sequence` gives the frame sequence itself, cropped or
zero-padded to ``sequence_frames``, for sequence models.
"""

from __future__ import annotations

from functools import lru_cache

import librosa
import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.sparse

from urbansound.features._common import _index_width
from urbansound.features.spectral import spectrogram
from urbansound.settings import FeatureSettings

MFCC_STATS = ("mean", "std", "min", "max", "delta_mean", "delta_std", "delta2_mean", "delta2_std")
MEL_AMIN, MEL_TOP_DB = 1e-10, 80.0  # as librosa.power_to_db in librosa.feature.mfcc
DELTA_WIDTH = 9  # librosa.feature.delta's default


@lru_cache(maxsize=16)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> scipy.sparse.csr_matrix:
    # building the filters costs about as much as the whole STFT; they are constants per
    # (sr, n_fft, n_mels), and sparse (two filters overlap per bin), so the product is cheap
    return scipy.sparse.csr_matrix(librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels))


def log_mel(S: np.ndarray, *, sr: int, settings: FeatureSettings) -> np.ndarray:
    """Log-power mel spectrogram, as ``librosa.power_to_db(melspectrogram(S=S**2))``.

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames)
        Magnitude STFT (:func:`spectrogram`).
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings
        ``n_fft`` and ``n_mels``.

    Returns
    -------
    np.ndarray, shape (n_mels, n_frames), float32, dB re 1 (floor 1e-10, top 80 dB)
    """
    mel = _mel_basis(sr, settings.n_fft, settings.n_mels) @ (S * S)
    db = 10.0 * np.log10(np.maximum(mel, MEL_AMIN))
    return np.maximum(db, db.max() - MEL_TOP_DB).astype(np.float32)


def mfcc_frames(S: np.ndarray, *, sr: int, settings: FeatureSettings) -> np.ndarray:
    """MFCC frame sequence from a magnitude spectrogram, as ``librosa.feature.mfcc``.

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames)
        Magnitude STFT (:func:`spectrogram`).
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings
        ``n_fft``, ``n_mels`` and ``n_mfcc``.

    Returns
    -------
    M : np.ndarray, shape (n_mfcc, n_frames), float32, dB-scaled cepstral units
    """
    L = log_mel(S, sr=sr, settings=settings)
    return scipy.fft.dct(L, type=2, norm="ortho", axis=0)[: settings.n_mfcc].astype(np.float32)


def mfcc_sequence(x: np.ndarray, settings: FeatureSettings, *, sr: int | None = None) -> np.ndarray:
    """MFCC frames of fixed length, for sequence models.

    Parameters
    ----------
    x : np.ndarray, shape (n,) or (n_mfcc, n_frames)
        A mono signal at ``sr`` Hz (its MFCC frames are computed), or MFCC frames
        (:func:`mfcc_frames`).
    settings : FeatureSettings
        ``sequence_frames``, and for a signal the STFT and MFCC settings.
    sr : int, optional
        The signal's sample rate, Hz; default ``settings.sample_rate``. Unused for frames.

    Returns
    -------
    np.ndarray, shape (n_mfcc, sequence_frames), float32
        The first ``sequence_frames`` frames; a shorter clip is zero-padded at the end.
    """
    x = np.asarray(x)
    if x.ndim == 1:
        rate = settings.sample_rate if sr is None else sr
        x = mfcc_frames(spectrogram(x, settings), sr=rate, settings=settings)
    elif x.ndim != 2:
        raise ValueError(f"mfcc_sequence: expected a signal (n,) or MFCC frames (n_mfcc, n_frames), got shape {x.shape}")
    out = np.zeros((x.shape[0], settings.sequence_frames), dtype=np.float32)
    keep = min(x.shape[1], settings.sequence_frames)
    out[:, :keep] = x[:, :keep]
    return out


def delta(M: np.ndarray, *, order: int = 1, width: int = DELTA_WIDTH) -> np.ndarray:
    """Time derivative of frame features, as ``librosa.feature.delta(M, width, order)``.

    A Savitzky-Golay derivative of polynomial order ``order`` over ``width`` frames
    (``mode='interp'``). The derivative of a degree-``order`` fit is constant, so the
    edge frames, which librosa fits on the first and last window, equal the first and
    last full window's value: a convolution and edge padding give librosa's numbers at a
    fraction of ``savgol_filter``'s cost.

    Parameters
    ----------
    M : np.ndarray, shape (n_features, n_frames)
    order : {1, 2}
    width : int
        Odd, 3 <= width <= n_frames (librosa's own limit in mode 'interp').

    Returns
    -------
    np.ndarray, shape (n_features, n_frames), float32, units of M per frame (``order`` 2:
    per frame squared)
    """
    if order not in (1, 2):
        raise ValueError(f"delta: order must be 1 or 2, got {order}")
    if width < 3 or width % 2 == 0 or width > M.shape[1]:
        raise ValueError(f"delta: width must be odd and 3 <= width <= n_frames={M.shape[1]}, got {width}")
    half = width // 2
    i = np.arange(-half, half + 1, dtype=np.float64)
    if order == 1:
        coef = i / np.sum(i * i)
    else:
        centred = i * i - np.mean(i * i)
        coef = 2 * centred / np.sum(centred * centred)
    full = scipy.ndimage.correlate1d(np.asarray(M, dtype=np.float32), coef, axis=1)
    # only frames with a whole window inside the clip are kept; the edges repeat them
    return np.pad(full[:, half : M.shape[1] - half], ((0, 0), (half, half)), mode="edge")


def _delta_width(n_frames: int) -> int:
    """librosa.feature.delta needs an odd width <= n_frames: shrink 9 to fit; < 3 frames: none."""
    width = min(DELTA_WIDTH, n_frames if n_frames % 2 else n_frames - 1)
    return width if width >= 3 else 0


def mfcc_features(M: np.ndarray) -> dict[str, float]:
    """The ``mfcc_*`` columns from an MFCC sequence.

    Parameters
    ----------
    M : np.ndarray, shape (n_mfcc, n_frames)
        MFCC frames (:func:`mfcc_frames`).

    Returns
    -------
    dict of str to float, keys ``mfcc_{stat}_{kk}`` for stat in :data:`MFCC_STATS`, then kk.
    """
    width = _delta_width(M.shape[1])
    if width:
        d1, d2 = delta(M, order=1, width=width), delta(M, order=2, width=width)
    else:  # one or two frames: no slope to speak of, deltas are 0
        d1 = d2 = np.zeros_like(M)
    stats = np.concatenate([M.mean(axis=1), M.std(axis=1), M.min(axis=1), M.max(axis=1),
                            d1.mean(axis=1), d1.std(axis=1), d2.mean(axis=1), d2.std(axis=1)])
    return dict(zip(_mfcc_names(M.shape[0]), stats.tolist(), strict=True))


@lru_cache(maxsize=16)
def _mfcc_names(n_mfcc: int) -> tuple[str, ...]:
    w = _index_width(n_mfcc)
    return tuple(f"mfcc_{stat}_{k:0{w}d}" for stat in MFCC_STATS for k in range(n_mfcc))
