"""The ``fft_*`` feature set, and the one STFT per clip every spectral feature derives from.

``fft_*`` (spectral, from the STFT magnitude; n_bands + 13 columns)
    ``fft_band_kk``         the clip's mean magnitude spectrum (mean over frames)
                            averaged over log-spaced band ``kk`` of ``n_bands`` between
                            20 Hz and sr / 2 (band edges ``20 * (sr / 40) ** (i /
                            n_bands)``; the spectrum is interpolated linearly between FFT
                            bins, so bands narrower than a bin are defined), in dB
                            re full scale: magnitudes are scaled by 2 / sum(window), so
                            the spectrum of a sine of amplitude a peaks at 20 log10(a)
                            dB (a band wider than the tone's main lobe averages it with
                            its surroundings and reads lower); floor -120 dB.
    ``fft_centroid_mean``, ``fft_centroid_std``
                            spectral centroid (magnitude-weighted mean frequency), Hz.
    ``fft_bandwidth_mean``, ``fft_bandwidth_std``
                            spectral bandwidth (magnitude-weighted standard deviation of
                            frequency around the centroid), Hz.
    ``fft_rolloff_mean``, ``fft_rolloff_std``
                            roll-off: lowest frequency below which 85% of the frame's
                            magnitude sum lies, Hz.
    ``fft_flatness_mean``, ``fft_flatness_std``
                            spectral flatness: geometric over arithmetic mean of the power
                            spectrum (floor 1e-10), 0 (a tone) to 1 (white noise).
    ``fft_flux_mean``, ``fft_flux_std``
                            spectral flux: L2 distance between successive frames'
                            L2-normalised magnitude spectra, 0 (no change) to sqrt(2)
                            (0 for a single frame).
    ``fft_contrast_mean``, ``fft_contrast_std``
                            spectral contrast: per octave sub-band (0-200 Hz, then octaves
                            from 200 Hz, the last one up to sr / 2: 7 at 22050 Hz), the
                            mean of the top 2% of the band's magnitudes over the mean of
                            the bottom 2% (at least one bin each), in dB (20 log10),
                            averaged over the sub-bands; then mean and std over frames.
    ``fft_dominant``        dominant frequency: peak of the mean magnitude spectrum above
                            DC, refined by parabolic interpolation of the log magnitude,
                            Hz (0 for silence).

    Per-frame statistics (centroid to flatness) skip frames whose spectrum is exactly
    zero (digital silence); if every frame is, they are 0. Flux and contrast use every
    frame.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

import numpy as np
import scipy.fft

from urbansound.features import _kernels
from urbansound.features._common import (
    _TINY,
    _index_width,
    _mean_std,
    _parabolic,
)
from urbansound.settings import FeatureSettings

FFT_STAT_NAMES = (
    "fft_centroid_mean",
    "fft_centroid_std",
    "fft_bandwidth_mean",
    "fft_bandwidth_std",
    "fft_rolloff_mean",
    "fft_rolloff_std",
    "fft_flatness_mean",
    "fft_flatness_std",
    "fft_flux_mean",
    "fft_flux_std",
    "fft_contrast_mean",
    "fft_contrast_std",
    "fft_dominant",
)
BAND_FMIN = 20.0
BAND_AMIN = 1e-6  # -120 dB floor of the band levels
ROLLOFF = 0.85
FLATNESS_AMIN = 1e-10  # power floor, as librosa.feature.spectral_flatness
CONTRAST_FMIN, CONTRAST_OCTAVES, CONTRAST_QUANTILE = 200.0, 6, 0.02
CONTRAST_AMIN = 1e-10
_FLATNESS_FLOOR_BITS = int(np.float32(np.sqrt(FLATNESS_AMIN)).view(np.int32))
_STFT_BLOCK_BYTES = 1 << 19  # frames per FFT call: temporaries stay in cache, no page faults


def spectrogram(y: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Magnitude STFT, as ``np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))``.

    Periodic Hann window, centred frames, zero padding at the edges.

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32
        Mono signal.
    settings : FeatureSettings
        ``n_fft`` and ``hop_length``.

    Returns
    -------
    S : np.ndarray, shape (1 + n_fft // 2, 1 + n // hop_length), float32
        Linear magnitude (a sine of amplitude a peaks near ``a * n_fft / 4``). Stored
        frame by frame (Fortran order: ``S.T`` is C-contiguous), the order the FFT
        produces and the per-frame statistics read: no transposed copy.
    """
    n_fft, hop = settings.n_fft, settings.hop_length
    padded = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    window = _hann(n_fft)
    n_frames = frames.shape[0]
    frame_major = np.empty((n_frames, 1 + n_fft // 2), dtype=np.float32)
    # FFT in blocks of frames: the windowed copy and the complex output stay in cache
    block = max(1, _STFT_BLOCK_BYTES // (8 * n_fft))
    for i in range(0, n_frames, block):
        spectrum = scipy.fft.rfft(frames[i : i + block] * window, axis=1, overwrite_x=True)
        np.abs(spectrum, out=frame_major[i : i + block])
    return frame_major.T


@lru_cache(maxsize=16)
def _hann(n: int) -> np.ndarray:
    """Periodic Hann window, as ``scipy.signal.get_window('hann', n)``."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def band_edges(*, sr: int, n_bands: int) -> np.ndarray:
    """Edges of the ``fft_band_*`` bands, Hz, shape (n_bands + 1,), log-spaced 20 Hz to sr / 2."""
    return np.geomspace(BAND_FMIN, sr / 2, n_bands + 1)


def band_levels(spectrum: np.ndarray, *, sr: int, n_fft: int, n_bands: int) -> np.ndarray:
    """Mean of a magnitude spectrum over log-spaced bands, in dB re full scale.

    Parameters
    ----------
    spectrum : np.ndarray, shape (1 + n_fft // 2,)
        Magnitude per FFT bin (Hann-windowed STFT units).
    sr : int
        Sample rate, Hz.
    n_fft : int
    n_bands : int

    Returns
    -------
    levels : np.ndarray, shape (n_bands,), float64, dB (floor -120)
        A sine of amplitude a, centred on a bin, reads about 20 log10(a) in a band
        narrower than a bin (low bands); a wider band averages the tone's main lobe
        with the rest of the band and reads lower.
    """
    mean = _band_means(len(spectrum), sr, n_fft, n_bands) @ spectrum.astype(np.float64)
    return 20 * np.log10(np.maximum(mean, BAND_AMIN))


@lru_cache(maxsize=16)
def _band_means(n_freq: int, sr: int, n_fft: int, n_bands: int) -> np.ndarray:
    """The linear map from a magnitude spectrum to its band means, shape (n_bands, n_freq).

    Band mean = integral of the linearly interpolated spectrum over the band / its
    width, in full-scale amplitude. Linear in the spectrum, so built once per setting
    (from the spectra of single bins) and applied as one product.
    """
    s = np.eye(n_freq) * (4.0 / n_fft)  # column i: bin i alone; 2 / sum(periodic Hann) = 4 / n_fft
    df = sr / n_fft
    edges = band_edges(sr=sr, n_bands=n_bands)
    # integral of the linearly interpolated spectrum from 0 to each edge
    cum = np.vstack([np.zeros(n_freq), np.cumsum((s[1:] + s[:-1]) * (df / 2), axis=0)])
    pos = np.clip(edges / df, 0, n_freq - 1)
    k = np.minimum(pos.astype(np.int64), n_freq - 2)
    u = (pos - k)[:, None]
    integral = cum[k] + df * (s[k] * u + (s[k + 1] - s[k]) * u**2 / 2)
    return np.diff(integral, axis=0) / np.diff(edges)[:, None]


def fft_features(S: np.ndarray, *, sr: int, settings: FeatureSettings) -> np.ndarray:
    """The ``fft_*`` columns (see the module docstring).

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames), float32
        Magnitude STFT (:func:`spectrogram`; any memory order, frame by frame is fastest).
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings
        ``n_fft`` and ``n_bands``.

    Returns
    -------
    np.ndarray, shape (n_bands + 13,), float64
        In the order of ``_fft_names(settings)``: the band levels, then
        :data:`FFT_STAT_NAMES`.
    """
    A = np.ascontiguousarray(S.T, dtype=np.float32)  # (n_frames, n_freq): each frame contiguous
    n_freq = A.shape[1]
    moments, rolloff_bin, flux = _kernels.spectral_frames(A, _bin_freqs(sr, settings.n_fft, n_freq), ROLLOFF)
    total, first, second, energy = moments.T
    live = total > 0  # digital silence has no centroid, bandwidth, roll-off or flatness
    if live.any():
        tl = total[live]
        centroid = first[live] / tl
        bandwidth = np.sqrt(np.maximum(second[live] / tl - centroid**2, 0.0))
        rolloff = rolloff_bin[live] * (sr / settings.n_fft)
        flatness = _flatness(A if live.all() else A[live], energy[live])
    else:
        centroid = bandwidth = rolloff = flatness = np.zeros(0)
    contrast = spectral_contrast(A.T, sr=sr, n_fft=settings.n_fft).mean(axis=0)

    mean_spectrum = A.mean(axis=0)
    return np.concatenate([
        band_levels(mean_spectrum, sr=sr, n_fft=settings.n_fft, n_bands=settings.n_bands),
        [*_mean_std(centroid), *_mean_std(bandwidth), *_mean_std(rolloff), *_mean_std(flatness),
         *_mean_std(flux), *_mean_std(contrast), _dominant(mean_spectrum, sr=sr, n_fft=settings.n_fft)],
    ])


@lru_cache(maxsize=16)
def _bin_freqs(sr: int, n_fft: int, n_freq: int) -> np.ndarray:
    return np.arange(n_freq) * (sr / n_fft)


def _flatness(A: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Spectral flatness of each frame of a frame-major magnitude STFT (n_frames, n_freq).

    ``energy``: each frame's ``sum S^2``.
    """
    n_freq = A.shape[1]
    # log(max(S^2, amin)) = 2 log(max(S, sqrt(amin))): no power copy
    log_gmean = _kernels.log_sums(np.ascontiguousarray(A), _FLATNESS_FLOOR_BITS) * (2.0 / n_freq)
    return np.exp(log_gmean) / np.maximum(energy / n_freq, FLATNESS_AMIN)


def spectral_contrast(S: np.ndarray, *, sr: int, n_fft: int) -> np.ndarray:
    """Spectral contrast per octave sub-band, dB.

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames)
        Magnitude STFT (frame by frame in memory is fastest).
    sr : int
        Sample rate, Hz.
    n_fft : int

    Returns
    -------
    contrast : np.ndarray, shape (n_subbands, n_frames), dB
        20 log10 of the mean of the top 2% of each sub-band's magnitudes over the mean of
        its bottom 2% (at least one bin each). Sub-bands: [0, 200) Hz, then octaves from
        200 Hz (at most 6, as ``librosa.feature.spectral_contrast``) while they start
        below sr / 2, the last one running to sr / 2.
    """
    A = np.ascontiguousarray(S.T)  # (n_frames, n_freq)
    single, sorted_bands = _contrast_bands(sr, n_fft, A.shape[1])
    top, bottom = [], []
    if len(single):  # bands of one extreme bin each: all maxima and minima in one call
        top.append(np.maximum.reduceat(A[:, : single[-1][1]], [lo for lo, _ in single], axis=1))
        bottom.append(np.minimum.reduceat(A[:, : single[-1][1]], [lo for lo, _ in single], axis=1))
    for lo, hi, k in sorted_bands:  # NumPy sorts rows with SIMD: faster than a partition or a compiled selection
        ordered = np.sort(A[:, lo:hi], axis=1)
        top.append(ordered[:, -k:].sum(axis=1, keepdims=True) / k)
        bottom.append(ordered[:, :k].sum(axis=1, keepdims=True) / k)
    high = np.maximum(np.hstack(top), CONTRAST_AMIN)
    low = np.maximum(np.hstack(bottom), CONTRAST_AMIN)
    return (20 * (np.log10(high) - np.log10(low))).T


@lru_cache(maxsize=16)
def _contrast_bands(sr: int, n_fft: int, n_freq: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int, int], ...]]:
    """Spectral contrast's sub-bands in bins: the leading ones that average one extreme bin
    each (lo, hi), then the rest (lo, hi, k)."""
    bin_hz = sr / n_fft
    edges = [0.0] + [CONTRAST_FMIN * 2.0**i for i in range(CONTRAST_OCTAVES + 1)]
    edges = [e for e in edges if e < sr / 2]
    bins = sorted({min(int(np.ceil(e / bin_hz)), n_freq) for e in edges} | {n_freq})
    bands = [(lo, hi, max(1, round(CONTRAST_QUANTILE * (hi - lo)))) for lo, hi in pairwise(bins)]
    # bands widen with frequency, so the one-bin bands come first (a narrower last band
    # with k = 1 after wider ones goes the sorting way, which gives the same numbers)
    n_single = next((i for i, (_, _, k) in enumerate(bands) if k > 1), len(bands))
    return tuple((lo, hi) for lo, hi, _ in bands[:n_single]), tuple(bands[n_single:])


def _dominant(spectrum: np.ndarray, *, sr: int, n_fft: int) -> float:
    """Peak frequency (Hz) of a magnitude spectrum, DC excluded; 0 for silence."""
    if len(spectrum) < 2:
        return 0.0
    k = 1 + int(np.argmax(spectrum[1:]))
    if spectrum[k] <= 0:
        return 0.0
    offset = 0.0
    if k < len(spectrum) - 1:
        # a Hann main lobe is close to a Gaussian: a parabola fits its log exactly enough
        left, centre, right = np.log(np.maximum(spectrum[k - 1 : k + 2], _TINY))
        offset = _parabolic(left, centre, right)
    return float((k + offset) * sr / n_fft)


@lru_cache(maxsize=16)
def _band_names(n_bands: int) -> tuple[str, ...]:
    w = _index_width(n_bands)
    return tuple(f"fft_band_{k:0{w}d}" for k in range(n_bands))


def _fft_names(settings: FeatureSettings) -> tuple[str, ...]:
    return _band_names(settings.n_bands) + FFT_STAT_NAMES
