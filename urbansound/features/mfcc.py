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

import numpy as np
import scipy.fft
import scipy.ndimage

from urbansound._librosa import librosa
from urbansound.features import _kernels
from urbansound.features._common import _index_width
from urbansound.features.spectral import spectrogram
from urbansound.settings import FeatureSettings

MFCC_STATS = ("mean", "std", "min", "max", "delta_mean", "delta_std", "delta2_mean", "delta2_std")
MEL_AMIN, MEL_TOP_DB = 1e-10, 80.0  # as librosa.power_to_db in librosa.feature.mfcc
DELTA_WIDTH = 9  # librosa.feature.delta's default


MEL_BLOCK = 16  # filters per dense block of the filterbank


@lru_cache(maxsize=16)
def _mel_blocks(sr: int, n_fft: int, n_mels: int) -> tuple[tuple[int, int, int, int, np.ndarray], ...]:
    """librosa's mel filterbank, cut into dense blocks of MEL_BLOCK consecutive filters.

    Each filter is non-zero over a run of bins, and consecutive filters' runs overlap, so
    ``MEL_BLOCK`` filters together span one run of bins: the product with a block touches
    those bins only. About a tenth of the dense product's work, in a few BLAS calls
    (scipy's sparse product is no faster than the dense one here). Building the filters
    costs about as much as an STFT: they are constants per (sr, n_fft, n_mels).

    Returns
    -------
    tuple of (bin_lo, bin_hi, mel_lo, mel_hi, block)
        ``block``: np.ndarray, shape (bin_hi - bin_lo, mel_hi - mel_lo), float32, C order,
        the filters' weights on those bins (transposed: bins x filters).
    """
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)
    blocks = []
    for m0 in range(0, n_mels, MEL_BLOCK):
        m1 = min(m0 + MEL_BLOCK, n_mels)
        used = np.flatnonzero(basis[m0:m1].any(axis=0))
        lo, hi = (int(used[0]), int(used[-1]) + 1) if len(used) else (0, 0)
        blocks.append((lo, hi, m0, m1, np.ascontiguousarray(basis[m0:m1, lo:hi].T)))
    return tuple(blocks)


def mel_power(S: np.ndarray, *, sr: int, settings: FeatureSettings) -> np.ndarray:
    """Mel power spectrogram, as ``librosa.feature.melspectrogram(S=S**2)`` (Slaney filters).

    Computed once per clip: the MFCC (:func:`log_mel`) and the ``pcen_*`` set
    (:mod:`urbansound.features.pcen`) both read it.

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames)
        Magnitude STFT (:func:`spectrogram`; frame by frame in memory is fastest).
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings
        ``n_fft`` and ``n_mels``.

    Returns
    -------
    np.ndarray, shape (n_frames, n_mels), float32, C order
        Power (squared STFT magnitude units) per frame and mel band.
    """
    A = np.ascontiguousarray(S.T, dtype=np.float32)  # (n_frames, n_freq)
    power = A * A
    mel = np.zeros((A.shape[0], settings.n_mels), dtype=np.float32)
    for lo, hi, m0, m1, block in _mel_blocks(sr, settings.n_fft, settings.n_mels):
        if hi > lo:
            np.matmul(power[:, lo:hi], block, out=mel[:, m0:m1])
    return mel


def log_mel(S: np.ndarray | None = None, *, sr: int, settings: FeatureSettings,
            mel: np.ndarray | None = None) -> np.ndarray:
    """Log-power mel spectrogram, as ``librosa.power_to_db(melspectrogram(S=S**2))``.

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames), optional
        Magnitude STFT (:func:`spectrogram`); not needed when ``mel`` is given.
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings
        ``n_fft`` and ``n_mels``.
    mel : np.ndarray, shape (n_frames, n_mels), optional
        The mel power (:func:`mel_power`), when the caller has it already.

    Returns
    -------
    np.ndarray, shape (n_mels, n_frames), float32, dB re 1 (floor 1e-10, top 80 dB)
        Stored frame by frame (``.T`` is C-contiguous).
    """
    if mel is None:
        if S is None:
            raise ValueError("log_mel: give the magnitude STFT S or the mel power mel")
        mel = mel_power(S, sr=sr, settings=settings)
    db = np.maximum(mel, np.float32(MEL_AMIN))
    np.log10(db, out=db)
    db *= np.float32(10.0)
    np.maximum(db, db.max() - np.float32(MEL_TOP_DB), out=db)
    return db.T


def mfcc_frames(S: np.ndarray | None = None, *, sr: int, settings: FeatureSettings,
                mel: np.ndarray | None = None) -> np.ndarray:
    """MFCC frame sequence from a magnitude spectrogram, as ``librosa.feature.mfcc``.

    Parameters as :func:`log_mel` (``settings`` also gives ``n_mfcc``): the DCT of its
    log-mel frames.

    Returns
    -------
    M : np.ndarray, shape (n_mfcc, n_frames), float32, dB-scaled cepstral units
    """
    L = log_mel(S, sr=sr, settings=settings, mel=mel).T  # (n_frames, n_mels), C order
    return np.ascontiguousarray(scipy.fft.dct(L, type=2, norm="ortho", axis=1)[:, : settings.n_mfcc].T, dtype=np.float32)


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


def mel_image(mel: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """The log-mel spectrogram the ``cnn`` learns from, of fixed size.

    The mel power's ``n_mels`` bands summed in ``mel_bands`` equal groups, in dB as
    :func:`log_mel` (ref 1, floor 1e-10, top 80 dB), then cut to ``sequence_frames``
    frames; a shorter clip is looped (its frames repeated from the start) to fill them, so
    that every patch the network sees holds the sound, not padding.

    Parameters
    ----------
    mel : np.ndarray, shape (n_frames, n_mels)
        Mel power (:func:`mel_power`).
    settings : FeatureSettings
        ``mel_bands`` and ``sequence_frames``.

    Returns
    -------
    np.ndarray, shape (mel_bands, sequence_frames), float16, dB re 1
        float16 (a resolution of 1/32 dB or better in this range) halves what the table
        and a worker hold.
    """
    n_frames, n_mels = mel.shape
    grouped = mel.reshape(n_frames, settings.image_bands, n_mels // settings.image_bands).sum(axis=2)
    db = 10.0 * np.log10(np.maximum(grouped, MEL_AMIN))
    db = np.maximum(db, db.max() - MEL_TOP_DB).T
    reps = -(-settings.sequence_frames // max(1, n_frames))
    return np.ascontiguousarray(np.tile(db, (1, reps))[:, : settings.sequence_frames], dtype=np.float16)


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
    full = scipy.ndimage.correlate1d(np.asarray(M, dtype=np.float32), _savgol(width, order), axis=1)
    # only frames with a whole window inside the clip are kept; the edges repeat them
    return np.pad(full[:, half : M.shape[1] - half], ((0, 0), (half, half)), mode="edge")


@lru_cache(maxsize=16)
def _savgol(width: int, order: int) -> np.ndarray:
    """Weights of the Savitzky-Golay derivative of ``order`` (1 or 2) over ``width`` frames."""
    half = width // 2
    i = np.arange(-half, half + 1, dtype=np.float64)
    if order == 1:
        return i / np.sum(i * i)
    centred = i * i - np.mean(i * i)
    return 2 * centred / np.sum(centred * centred)


def _delta_width(n_frames: int) -> int:
    """librosa.feature.delta needs an odd width <= n_frames: shrink 9 to fit; < 3 frames: none."""
    width = min(DELTA_WIDTH, n_frames if n_frames % 2 else n_frames - 1)
    return width if width >= 3 else 0


def mfcc_features(M: np.ndarray) -> np.ndarray:
    """The ``mfcc_*`` columns from an MFCC sequence.

    Parameters
    ----------
    M : np.ndarray, shape (n_mfcc, n_frames)
        MFCC frames (:func:`mfcc_frames`).

    Returns
    -------
    np.ndarray, shape (8 * n_mfcc,), float64
        The columns ``mfcc_{stat}_{kk}``: for each stat in :data:`MFCC_STATS`, every kk.
    """
    width = _delta_width(M.shape[1])
    if width:  # the deltas of :func:`delta`, computed with the statistics in one compiled pass
        coef1, coef2 = _savgol(width, 1), _savgol(width, 2)
    else:  # one or two frames: no slope to speak of, deltas are 0
        coef1 = coef2 = np.zeros(0)
    return _kernels.mfcc_statistics(np.ascontiguousarray(M, dtype=np.float32), coef1, coef2).reshape(-1)


@lru_cache(maxsize=16)
def _mfcc_names(n_mfcc: int) -> tuple[str, ...]:
    w = _index_width(n_mfcc)
    return tuple(f"mfcc_{stat}_{k:0{w}d}" for stat in MFCC_STATS for k in range(n_mfcc))
