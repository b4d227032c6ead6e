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
import scipy.ndimage
import scipy.sparse

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
    S : np.ndarray, shape (1 + n_fft // 2, 1 + n // hop_length), float32, C order
        Linear magnitude (a sine of amplitude a peaks near ``a * n_fft / 4``).
    """
    n_fft, hop = settings.n_fft, settings.hop_length
    padded = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    window = _hann(n_fft)
    n_frames = frames.shape[0]
    S = np.empty((1 + n_fft // 2, n_frames), dtype=np.float32)
    # FFT in blocks of frames: one big call allocates fresh pages each clip (~3x slower)
    block = max(1, _STFT_BLOCK_BYTES // (8 * n_fft))
    for i in range(0, n_frames, block):
        S[:, i : i + block] = np.abs(scipy.fft.rfft(frames[i : i + block] * window, axis=1)).T
    return S


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
    freqs = np.arange(len(spectrum)) * (sr / n_fft)
    edges = band_edges(sr=sr, n_bands=n_bands)
    s = spectrum.astype(np.float64) * (4.0 / n_fft)  # 2 / sum(periodic Hann) = 4 / n_fft
    # integral of the linearly interpolated spectrum from 0 to each edge
    df = freqs[1] - freqs[0]
    cum = np.concatenate(([0.0], np.cumsum((s[1:] + s[:-1]) * (df / 2))))
    pos = np.clip(edges / df, 0, len(s) - 1)
    k = np.minimum(pos.astype(np.int64), len(s) - 2)
    u = pos - k
    integral = cum[k] + df * (s[k] * u + (s[k + 1] - s[k]) * u**2 / 2)
    mean = np.diff(integral) / np.diff(edges)
    return 20 * np.log10(np.maximum(mean, BAND_AMIN))


def fft_features(S: np.ndarray, *, sr: int, settings: FeatureSettings) -> dict[str, float]:
    """The ``fft_*`` columns (see the module docstring).

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames), float32
        Magnitude STFT (:func:`spectrogram`).
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings
        ``n_fft`` and ``n_bands``.

    Returns
    -------
    dict of str to float, keys as ``feature_names(settings)`` for the ``fft`` set.
    """
    n_freq = S.shape[0]
    freqs = np.arange(n_freq, dtype=np.float32) * np.float32(sr / settings.n_fft)
    mean_spectrum = S.mean(axis=1)

    total = S.sum(axis=0, dtype=np.float64)
    energy = np.einsum("ft,ft->t", S, S).astype(np.float64)  # sum of S^2 per frame
    live = total > 0
    Sl = S if live.all() else S[:, live]
    if Sl.shape[1]:
        tl = total[live]
        centroid = (freqs @ Sl) / tl
        spread = (freqs * freqs) @ Sl / tl - centroid**2
        bandwidth = np.sqrt(np.maximum(spread, 0.0))
        rolloff = freqs[_rolloff_bins(Sl)]
        # log(max(S^2, amin)) = 2 log(max(S, sqrt(amin))); in place: a second spectrogram-
        # sized temporary costs more in fresh pages than the log itself
        logs = np.maximum(Sl, np.float32(np.sqrt(FLATNESS_AMIN)))
        np.log(logs, out=logs)
        log_gmean = (2.0 / n_freq) * (np.ones(n_freq, dtype=np.float32) @ logs)
        flatness = np.exp(log_gmean) / np.maximum(energy[live] / n_freq, FLATNESS_AMIN)
    else:
        centroid = bandwidth = rolloff = flatness = np.zeros(0)

    # |u - v|^2 = |u|^2 + |v|^2 - 2 u.v for the normalised spectra: no normalised copy of S
    norms = np.sqrt(energy)
    unit = (norms > 0).astype(np.float64)
    dots = np.einsum("ft,ft->t", S[:, 1:], S[:, :-1]).astype(np.float64)
    cosine = dots / np.maximum(norms[1:] * norms[:-1], _TINY)
    flux = np.sqrt(np.maximum(unit[1:] + unit[:-1] - 2.0 * cosine, 0.0))
    contrast = spectral_contrast(S, sr=sr, n_fft=settings.n_fft).mean(axis=0)

    stats = [*_mean_std(centroid), *_mean_std(bandwidth), *_mean_std(rolloff), *_mean_std(flatness),
             *_mean_std(flux), *_mean_std(contrast), _dominant(mean_spectrum, sr=sr, n_fft=settings.n_fft)]
    levels = band_levels(mean_spectrum, sr=sr, n_fft=settings.n_fft, n_bands=settings.n_bands)
    return dict(zip(_fft_names(settings), [*levels.tolist(), *map(float, stats)], strict=True))


def _rolloff_bins(S: np.ndarray, block: int = 32) -> np.ndarray:
    """Per frame, the first bin where the cumulative magnitude reaches ROLLOFF of the frame's sum.

    ``argmax(cumsum(S, 0) >= ROLLOFF * S.sum(0), 0)`` (``librosa.feature.spectral_rolloff``
    in bins) without the cumulative sum over every bin, the slowest step of the fft set:
    find the block of ``block`` bins first, then the bin inside it.

    Parameters
    ----------
    S : np.ndarray, shape (n_freq, n_frames), magnitude

    Returns
    -------
    np.ndarray, shape (n_frames,), int, bin indices
    """
    n_freq, n_frames = S.shape
    n_full = n_freq // block
    sums = S[: n_full * block].reshape(n_full, block, n_frames).sum(axis=1)
    if n_freq > n_full * block:
        sums = np.vstack([sums, S[n_full * block :].sum(axis=0, keepdims=True)])
    block_cum = np.cumsum(sums, axis=0, dtype=np.float64)
    threshold = ROLLOFF * block_cum[-1]
    j = np.argmax(block_cum >= threshold, axis=0)
    cols = np.arange(n_frames)
    before = np.where(j > 0, block_cum[np.maximum(j - 1, 0), cols], 0.0)
    rows = j * block + np.arange(block)[:, None]
    inside = rows < n_freq
    values = np.where(inside, S[np.minimum(rows, n_freq - 1), cols], 0.0)
    reached = before + np.cumsum(values, axis=0, dtype=np.float64) >= threshold
    # rounding can leave a block's bins a hair short of its sum: then its last bin
    offset = np.where(reached.any(axis=0), np.argmax(reached, axis=0), inside.sum(axis=0) - 1)
    return j * block + offset


def spectral_contrast(S: np.ndarray, *, sr: int, n_fft: int) -> np.ndarray:
    """Spectral contrast per octave sub-band, dB.

    Parameters
    ----------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames)
        Magnitude STFT.
    sr : int
        Sample rate, Hz.
    n_fft : int

    Returns
    -------
    contrast : np.ndarray, shape (n_subbands, n_frames), dB
        20 log10 of the mean of the top 2% of each sub-band's magnitudes over the mean of
        its bottom 2%. Sub-bands: [0, 200) Hz, then octaves from 200 Hz (at most 6, as
        ``librosa.feature.spectral_contrast``) while they start below sr / 2, the last one
        running to sr / 2.
    """
    n_freq = S.shape[0]
    bin_hz = sr / n_fft
    edges = [0.0] + [CONTRAST_FMIN * 2.0**i for i in range(CONTRAST_OCTAVES + 1)]
    edges = [e for e in edges if e < sr / 2]
    bins = sorted({min(int(np.ceil(e / bin_hz)), n_freq) for e in edges} | {n_freq})
    out = np.empty((len(bins) - 1, S.shape[1]))
    for b, (lo, hi) in enumerate(pairwise(bins)):
        band = S[lo:hi]
        k = max(1, round(CONTRAST_QUANTILE * (hi - lo)))
        if k == 1:
            top, bottom = band.max(axis=0), band.min(axis=0)
        else:  # contiguous sort along the last axis is SIMD in numpy; partition is not
            ordered = np.ascontiguousarray(band.T)
            ordered.sort(axis=1)
            top, bottom = ordered[:, -k:].mean(axis=1), ordered[:, :k].mean(axis=1)
        out[b] = 20 * (np.log10(np.maximum(top, CONTRAST_AMIN)) - np.log10(np.maximum(bottom, CONTRAST_AMIN)))
    return out


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
