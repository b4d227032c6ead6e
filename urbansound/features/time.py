"""The ``time_*`` feature set: read from the samples directly.

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
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from urbansound.features import _kernels
from urbansound.features._common import _mean_std
from urbansound.settings import FeatureSettings

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
SILENT_DB = 40.0  # a frame this far below the loudest one counts as silent
ENVELOPE_HOP_S = 0.005  # 200 envelope frames/s: lags resolve 17 Hz to ~0.1 Hz after interpolation
ENVELOPE_WINDOW_HOPS = 4  # 20 ms windows: smooth enough to drop carrier ripple, short enough for 40 Hz
MOD_MIN_HZ, MOD_MAX_HZ = 2.0, 40.0
MOD_MIN_DEPTH = 0.05  # envelope std / mean below this counts as unmodulated
MOD_OCTAVE_TOLERANCE = 0.9  # a shorter lag wins if its peak is this close to the best


def time_features(y: np.ndarray, *, sr: int, settings: FeatureSettings) -> np.ndarray:
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
    np.ndarray, shape (14,), float64: the columns :data:`TIME_NAMES`, in that order.
    """
    y = np.ascontiguousarray(y, dtype=np.float32)
    n = len(y)
    length, hop = min(settings.n_fft, n), settings.hop_length
    # one compiled pass per statistic, float64 sums: a quiet frame's energy must not drown
    # in the rounding of a loud clip's totals
    rms = np.sqrt(_kernels.weighted_power(y, _ones(length), hop) / length)
    rms_mean, rms_std, rms_max, skew, kurtosis = _kernels.shape_statistics(rms)
    zcr = _kernels.frame_crossings(y, length, hop) / length  # changes at s + 1 .. s + length - 1 of [s, s + length)

    total, weighted = _kernels.clip_energy(y)
    peak = float(max(y.max(), -y.min()))  # NumPy's max vectorises; a compiled max(abs) does not
    clip_rms = np.sqrt(total / n) if n else 0.0
    crest = peak / clip_rms if clip_rms > 0 else 0.0
    duration = n / sr
    centroid = weighted / total / sr if total > 0 else duration / 2

    silent = (rms == 0) | (rms < rms_max * 10 ** (-SILENT_DB / 20))
    mod_rate, mod_strength = _modulation(envelope(y, sr=sr)[0], sr=sr)

    values = (duration, rms_mean, rms_std, rms_max, peak, crest, *_mean_std(zcr),
              centroid, skew, kurtosis, float(silent.mean()), mod_rate, mod_strength)
    return np.array(values, dtype=np.float64)


def envelope(y: np.ndarray, *, sr: int) -> tuple[np.ndarray, float]:
    """Amplitude envelope for periodicity: RMS in Hann-weighted 20 ms windows every 5 ms.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        Mono signal at ``sr`` Hz, full-scale amplitude.
    sr : int
        Sample rate, Hz.

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
    power = _kernels.weighted_power(np.ascontiguousarray(y, dtype=np.float32), _envelope_weights(window), hop)
    return np.sqrt(np.maximum(power, 0.0)), sr / hop


@lru_cache(maxsize=16)
def _ones(n: int) -> np.ndarray:
    return np.ones(n)


@lru_cache(maxsize=16)
def _envelope_weights(window: int) -> np.ndarray:
    weights = np.hanning(window + 2)[1:-1]  # no zero end points: every sample counts
    return weights / weights.sum()


def _modulation(env: np.ndarray, *, sr: int) -> tuple[float, float]:
    """Dominant modulation rate (Hz) and its strength (0-1) of an :func:`envelope`."""
    rate = sr / max(1, round(sr * ENVELOPE_HOP_S))
    lo = max(2, int(np.floor(rate / MOD_MAX_HZ)))
    hi = min(int(np.ceil(rate / MOD_MIN_HZ)), len(env) // 2)  # lags beyond half the clip are noise
    if hi - lo < 2:
        return 0.0, 0.0
    mean, std = _mean_std(env)
    if mean <= 0 or std < MOD_MIN_DEPTH * mean:
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
