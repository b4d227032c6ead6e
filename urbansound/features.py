"""Feature sets, computed from one decoded clip. Pure functions: no I/O, no globals but
constants (and caches of constants: the mel filterbank and the column names per setting).

Every spectral feature derives from one magnitude STFT per clip (:func:`spectrogram`):
Hann window of ``n_fft`` samples, hop ``hop_length``, frames centred (the signal is
zero-padded by ``n_fft // 2`` on both sides), so a clip of ``n`` samples has
``1 + n // hop_length`` frames, exactly as ``librosa.stft``. The time-domain features
read the samples directly. :func:`compute` returns every column below, in this order
(:func:`extract` also returns the MFCC frames, for :func:`mfcc_sequence`);
:func:`feature_names` lists them for given settings. All values are finite: silence
and clips padded by :func:`prepare` get the fallbacks stated below.

Default settings (22050 Hz, ``n_fft`` 2048, hop 512, 64 bands, 40 MFCC) give
14 ``time_*`` + 77 ``fft_*`` + 320 ``mfcc_*`` = 411 columns; in general
``14 + (n_bands + 13) + 8 * n_mfcc``. Indices ``kk`` are zero-based and zero-padded to
two digits (three from 101 bands or coefficients on).

Amplitudes are in full-scale units: a sample of 1.0 is digital full scale.

``time_*`` (time domain, 14 columns)
    Frames for the per-frame statistics are ``n_fft`` samples long, every
    ``hop_length`` samples, *not* centred (no zero padding, so a steady sound reads
    the same in every frame); a clip has ``1 + (n - n_fft) // hop_length`` of them.

    ``time_duration``       length of the analysed signal, s (after :func:`prepare`'s
                            padding; the table's ``decoded_seconds`` is the raw length).
    ``time_rms_mean``       mean over frames of the frame RMS, full-scale amplitude
                            (a sine of amplitude a: a / sqrt(2)).
    ``time_rms_std``        standard deviation of the frame RMS, full-scale amplitude.
    ``time_rms_max``        loudest frame's RMS, full-scale amplitude.
    ``time_peak``           max |y| over the clip, full-scale amplitude.
    ``time_crest``          crest factor: peak / RMS of the whole clip, ratio
                            (sine: sqrt(2); square wave: 1; 0 for silence).
    ``time_zcr_mean``       mean over frames of the zero-crossing rate, crossings per
                            sample (a square wave of period p samples: 2 / p; a sign
                            change counts, 0 counts as positive).
    ``time_zcr_std``        its standard deviation over frames, crossings per sample.
    ``time_centroid``       temporal centroid: energy-weighted mean time of the samples
                            (sum t y^2 / sum y^2), s from the clip's start (silence: the
                            clip's middle).
    ``time_env_skew``       skewness of the frame RMS (the envelope), unitless
                            (0 when the envelope is flat).
    ``time_env_kurtosis``   excess kurtosis of the frame RMS, unitless (0 when flat).
    ``time_silent_share``   share of frames more than 40 dB below the clip's loudest
                            frame or exactly silent, 0-1 (silence: 1).
    ``time_mod_rate``       envelope periodicity: the dominant modulation rate of the
                            amplitude envelope, Hz, searched over 2-40 Hz: the shortest
                            lag whose local maximum of the envelope's normalised
                            autocorrelation reaches 90% of the highest one (so a period's
                            multiples do not win), refined by parabolic interpolation.
                            The envelope (:func:`envelope`) is the RMS in Hann-weighted
                            20 ms windows every 5 ms, 200 frames/s: the STFT hop, ~43
                            frames/s at the defaults, puts 17 Hz between lags 2 and 3
                            (21.5 and 14.4 Hz) and cannot see 40 Hz at all. Lags stop at
                            half the clip (a 1 s clip searches 4-40 Hz). 0 when there is
                            no peak, or the envelope is flat (std / mean below 5%: a
                            steady tone, hum, or silence).
    ``time_mod_strength``   the normalised autocorrelation at that lag (interpolated
                            peak), 0-1 (1: the envelope repeats exactly; 0 when
                            ``time_mod_rate`` is 0).

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
from itertools import pairwise

import librosa
import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.sparse

from urbansound.settings import FeatureSettings

FEATURE_SETS = ("time", "fft", "mfcc")

TIME_NAMES = (
    "time_duration",
    "time_rms_mean",
    "time_rms_std",
    "time_rms_max",
    "time_peak",
    "time_crest",
    "time_zcr_mean",
    "time_zcr_std",
    "time_centroid",
    "time_env_skew",
    "time_env_kurtosis",
    "time_silent_share",
    "time_mod_rate",
    "time_mod_strength",
)
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
MFCC_STATS = ("mean", "std", "min", "max", "delta_mean", "delta_std", "delta2_mean", "delta2_std")

SILENT_DB = 40.0  # a frame this far below the loudest one counts as silent
ENVELOPE_HOP_S = 0.005  # 200 envelope frames/s: lags resolve 17 Hz to ~0.1 Hz after interpolation
ENVELOPE_WINDOW_HOPS = 4  # 20 ms windows: smooth enough to drop carrier ripple, short enough for 40 Hz
MOD_MIN_HZ, MOD_MAX_HZ = 2.0, 40.0
MOD_MIN_DEPTH = 0.05  # envelope std / mean below this counts as unmodulated
MOD_OCTAVE_TOLERANCE = 0.9  # a shorter lag wins if its peak is this close to the best
BAND_FMIN = 20.0
BAND_AMIN = 1e-6  # -120 dB floor of the band levels
ROLLOFF = 0.85
FLATNESS_AMIN = 1e-10  # power floor, as librosa.feature.spectral_flatness
CONTRAST_FMIN, CONTRAST_OCTAVES, CONTRAST_QUANTILE = 200.0, 6, 0.02
CONTRAST_AMIN = 1e-10
MEL_AMIN, MEL_TOP_DB = 1e-10, 80.0  # as librosa.power_to_db in librosa.feature.mfcc
DELTA_WIDTH = 9  # librosa.feature.delta's default
_STFT_BLOCK_BYTES = 1 << 19  # frames per FFT call: temporaries stay in cache, no page faults
_TINY = 1e-30


# --------------------------------------------------------------------------- helpers
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


def _index_width(n: int) -> int:
    return max(2, len(str(n - 1)))


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and (population) standard deviation of a 1-d array; 0, 0 when empty."""
    if x.size == 0:
        return 0.0, 0.0
    return float(x.mean()), float(x.std())


def _parabolic(left: float, centre: float, right: float) -> float:
    """Offset in (-0.5, 0.5) of the vertex of the parabola through three equally spaced points."""
    denom = left - 2.0 * centre + right
    if denom >= 0.0:  # not a strict maximum: keep the sample
        return 0.0
    return float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def _window_sums(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Sums of ``x`` over windows ``[s, s + length)`` for ``s = 0, hop, ..`` (not centred).

    Returns ``1 + (len(x) - length) // hop`` sums (``len(x) >= length``). When ``hop``
    divides ``length`` (as at the defaults) the sums come from per-hop block sums, a few
    times faster than a cumulative sum over every sample.
    Windows of zeros sum to exactly 0 either way (adding 0 is exact).
    """
    n_windows = 1 + (len(x) - length) // hop
    if length % hop == 0:
        per = length // hop
        n_blocks = n_windows - 1 + per
        blocks = x[: n_blocks * hop].reshape(n_blocks, hop).sum(axis=1)
        cum = np.concatenate(([0], np.cumsum(blocks)))
        return cum[per:] - cum[:-per]
    cum = np.concatenate(([0], np.cumsum(x)))
    starts = np.arange(n_windows) * hop
    return cum[starts + length] - cum[starts]


def _weighted_index(x: np.ndarray, block: int = 512) -> float:
    """``sum(i * x[i])`` by blocks: no index array as long as the signal."""
    n_blocks = len(x) // block
    head = x[: n_blocks * block].reshape(n_blocks, block)
    total = block * float(np.arange(n_blocks, dtype=np.float64) @ head.sum(axis=1))
    total += float((head @ np.arange(block, dtype=np.float64)).sum())
    tail = x[n_blocks * block :]
    return total + float(np.arange(n_blocks * block, len(x), dtype=np.float64) @ tail)


# ------------------------------------------------------------------------- time_*
def time_features(y: np.ndarray, *, sr: int, settings: FeatureSettings) -> dict[str, float]:
    """The ``time_*`` columns (see the module docstring).

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32
        Mono signal at ``sr`` Hz, full-scale amplitude, ``n >= n_fft`` (:func:`prepare`).
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings
        ``n_fft`` and ``hop_length`` set the frames.

    Returns
    -------
    dict of str to float, keys :data:`TIME_NAMES` in order.
    """
    n = len(y)
    # float64: a quiet frame's energy must not drown in the rounding of a loud clip's sums
    energy = np.square(y, dtype=np.float64)
    total = float(energy.sum())

    length, hop = min(settings.n_fft, n), settings.hop_length
    rms = np.sqrt(np.maximum(_window_sums(energy, length, hop), 0.0) / length)
    rms_mean, rms_std = float(rms.mean()), float(rms.std())
    rms_max = float(rms.max())

    negative = y < 0
    changes = np.empty(n, dtype=bool)  # changes[i]: the sign changed from sample i - 1 to i
    changes[0] = False
    np.not_equal(negative[1:], negative[:-1], out=changes[1:])
    # a frame [s, s + length) holds the changes at s + 1 .. s + length - 1, not the one into s
    starts = np.arange(len(rms)) * hop
    zcr = (_window_sums(changes, length, hop) - changes[starts]) / length

    peak = float(np.max(np.abs(y))) if n else 0.0
    clip_rms = np.sqrt(total / n) if n else 0.0
    crest = peak / clip_rms if clip_rms > 0 else 0.0
    duration = n / sr
    centroid = _weighted_index(energy) / total / sr if total > 0 else duration / 2

    if rms_std > 1e-9 * max(rms_mean, _TINY) and rms_std > 0:
        z = (rms - rms_mean) / rms_std
        skew, kurtosis = float(np.mean(z**3)), float(np.mean(z**4) - 3.0)
    else:
        skew = kurtosis = 0.0
    silent = (rms == 0) | (rms < rms_max * 10 ** (-SILENT_DB / 20))
    mod_rate, mod_strength = _modulation(envelope(y, sr=sr, energy=energy)[0], sr=sr)

    values = (duration, rms_mean, rms_std, rms_max, peak, crest, float(zcr.mean()), float(zcr.std()),
              centroid, skew, kurtosis, float(silent.mean()), mod_rate, mod_strength)
    return dict(zip(TIME_NAMES, map(float, values), strict=True))


def envelope(y: np.ndarray, *, sr: int, energy: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Amplitude envelope for periodicity: RMS in Hann-weighted 20 ms windows every 5 ms.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        Mono signal at ``sr`` Hz, full-scale amplitude.
    sr : int
        Sample rate, Hz.
    energy : np.ndarray, shape (n,), optional
        ``y ** 2`` in float64, if the caller has it already.

    Returns
    -------
    env : np.ndarray, shape (n_env,), float64
        Full-scale RMS amplitude (weighted by a Hann window summing to 1); windows are not
        centred, ``n_env = 1 + (n - window) // hop`` (0 frames when the clip is shorter
        than one window).
    rate : float
        Envelope frames per second, Hz.

    Notes
    -----
    A Hann rather than a flat window: a steady tone's power ripples at twice its
    frequency, and a flat window lets 4.5% of a 60 Hz hum through as "modulation" at
    aliased rates; Hann's side lobes (-31 dB) do not, while 40 Hz still passes (the main
    lobe reaches to 100 Hz). Tones below ~50 Hz keep some ripple: their envelope is
    ambiguous by nature.
    """
    hop = max(1, round(sr * ENVELOPE_HOP_S))
    window = ENVELOPE_WINDOW_HOPS * hop
    if len(y) < window:
        return np.zeros(0), sr / hop
    if energy is None:
        energy = np.square(y, dtype=np.float64)
    # polyphase: the window is ENVELOPE_WINDOW_HOPS hop-long pieces; weight every hop-long
    # block of samples by each piece (one small matrix product), then add the pieces of
    # consecutive blocks: no per-frame copies of the signal
    taps = ENVELOPE_WINDOW_HOPS
    weights = np.hanning(window + 2)[1:-1]  # no zero end points: every sample counts
    weights = (weights / weights.sum()).reshape(taps, hop)
    n_env = 1 + (len(y) - window) // hop
    n_blocks = n_env - 1 + taps
    parts = energy[: n_blocks * hop].reshape(n_blocks, hop) @ weights.T  # (n_blocks, taps)
    power = sum(parts[q : q + n_env, q] for q in range(taps))
    return np.sqrt(np.maximum(power, 0.0)), sr / hop


def _modulation(env: np.ndarray, *, sr: int) -> tuple[float, float]:
    """Dominant modulation rate (Hz) and its strength (0-1) of an :func:`envelope`."""
    rate = sr / max(1, round(sr * ENVELOPE_HOP_S))
    lo = max(2, int(np.floor(rate / MOD_MAX_HZ)))
    hi = min(int(np.ceil(rate / MOD_MIN_HZ)), len(env) // 2)  # lags beyond half the clip are noise
    if hi - lo < 2:
        return 0.0, 0.0
    mean = env.mean()
    if mean <= 0 or env.std() < MOD_MIN_DEPTH * mean:
        return 0.0, 0.0
    x = env - mean
    nfft = scipy.fft.next_fast_len(2 * len(x), real=True)
    spec = scipy.fft.rfft(x, nfft)
    ac = scipy.fft.irfft(spec.real**2 + spec.imag**2, nfft)[: hi + 2]
    if ac[0] <= 0:
        return 0.0, 0.0
    r = ac / ac[0]
    seg = r[lo - 1 : hi + 2]
    mid = seg[1:-1]
    peaks = lo + np.flatnonzero((mid > seg[:-2]) & (mid >= seg[2:]) & (mid > 0))
    if not len(peaks):
        return 0.0, 0.0
    # vertex of the parabola through each peak and its neighbours: position and height
    left, centre, right = r[peaks - 1], r[peaks], r[peaks + 1]
    curvature = left - 2 * centre + right
    offset = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1.0), 0.0)
    offset = np.clip(offset, -0.5, 0.5)
    height = centre - 0.25 * (left - right) * offset
    # a multiple of the period can land on a whole lag and outscore the period itself,
    # which falls between lags: take the shortest lag nearly as strong as the best one
    best = int(np.flatnonzero(height >= MOD_OCTAVE_TOLERANCE * height.max())[0])
    return float(rate / (peaks[best] + offset[best])), float(np.clip(height[best], 0.0, 1.0))


# -------------------------------------------------------------------------- fft_*
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


# ------------------------------------------------------------------------- mfcc_*
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


# ----------------------------------------------------------------------- the table
# names are constants per setting; formatting 400 of them per clip would cost 5% of it
@lru_cache(maxsize=16)
def _band_names(n_bands: int) -> tuple[str, ...]:
    w = _index_width(n_bands)
    return tuple(f"fft_band_{k:0{w}d}" for k in range(n_bands))


def _fft_names(settings: FeatureSettings) -> tuple[str, ...]:
    return _band_names(settings.n_bands) + FFT_STAT_NAMES


@lru_cache(maxsize=16)
def _mfcc_names(n_mfcc: int) -> tuple[str, ...]:
    w = _index_width(n_mfcc)
    return tuple(f"mfcc_{stat}_{k:0{w}d}" for stat in MFCC_STATS for k in range(n_mfcc))


def feature_names(settings: FeatureSettings) -> list[str]:
    """Every feature column, in table order, for these settings.

    ``14 + n_bands + 13 + 8 * n_mfcc`` names: :data:`TIME_NAMES`, then ``fft_band_kk``
    and :data:`FFT_STAT_NAMES`, then ``mfcc_{stat}_{kk}``.
    """
    return [*TIME_NAMES, *_fft_names(settings), *_mfcc_names(settings.n_mfcc)]


def extract(y: np.ndarray, *, sr: int, settings: FeatureSettings) -> tuple[dict[str, float], np.ndarray]:
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
    values : dict of str to float
        Keys exactly ``feature_names(settings)``, in order; every value finite.
    M : np.ndarray, shape (n_mfcc, 1 + n // hop_length), float32
        The MFCC frames the ``mfcc_*`` columns pool (for :func:`mfcc_sequence`).
    """
    S = spectrogram(y, settings)
    M = mfcc_frames(S, sr=sr, settings=settings)
    values = {
        **time_features(y, sr=sr, settings=settings),
        **fft_features(S, sr=sr, settings=settings),
        **mfcc_features(M),
    }
    return values, M


def compute(y: np.ndarray, *, sr: int, settings: FeatureSettings) -> dict[str, float]:
    """All feature sets of one decoded clip, from one STFT: :func:`extract` without the frames.

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
    dict of str to float
        Keys exactly ``feature_names(settings)``, in order; every value finite.
    """
    return extract(y, sr=sr, settings=settings)[0]
