"""Compiled loops behind the feature sets: one pass over the data where NumPy needs many.

NumPy spends a full pass over a clip's samples or its spectrogram on every operation,
and the per-frame statistics need many operations each; these loops compute them in one
or two passes per frame, while the frame is in cache, and select the extreme values of
spectral contrast without sorting. They are plain functions of arrays (no I/O, no
state), compiled by Numba (a dependency of librosa) on first use and cached on disk.

``fastmath`` allows re-association and fused multiply-add only, so sums vectorise; NaN
and infinity keep their IEEE meaning. Sums are accumulated in float64. Inner loops run
over a slice from 0 (``seg = y[s:s + n]; for i in range(n)``): indexing ``y[i]`` with
``i`` from ``range(s, ..)`` makes Numba check for negative indices and stops LLVM from
vectorising (8x slower, measured).
"""

from __future__ import annotations

import math

import numba
import numpy as np

_FAST = {"reassoc", "contract"}
_JIT = {"cache": True, "nogil": True, "fastmath": _FAST}
_BLOCK = 16  # bins summed at a time by the roll-off scan


@numba.njit(**_JIT)
def spectral_frames(A, freqs, rolloff):  # pragma: no cover - compiled
    """Per-frame spectral statistics of a frame-major magnitude STFT.

    Parameters
    ----------
    A : np.ndarray, shape (n_frames, n_freq), float32, C order
        Magnitude STFT, one frame per row.
    freqs : np.ndarray, shape (n_freq,), float64
        Centre frequency of each bin, Hz.
    rolloff : float
        Share of the frame's magnitude sum that defines the roll-off bin.

    Returns
    -------
    moments : np.ndarray, shape (n_frames, 4), float64
        Magnitude sum, first moment ``sum f S``, second moment ``sum f^2 S``, energy
        ``sum S^2``.
    rolloff_bin : np.ndarray, shape (n_frames,), int64
        First bin whose cumulative magnitude reaches ``rolloff`` of the frame's sum.
    flux : np.ndarray, shape (max(n_frames - 1, 0),), float64
        L2 distance between successive L2-normalised frames (a silent frame is the zero
        vector).
    """
    n_frames, n_freq = A.shape
    moments = np.zeros((n_frames, 4))
    rolloff_bin = np.zeros(n_frames, dtype=np.int64)
    flux = np.zeros(max(n_frames - 1, 0))
    inverse = np.zeros(n_frames)
    for t in range(n_frames):
        row = A[t]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        e = 0.0
        for i in range(n_freq):
            x = np.float64(row[i])
            fx = freqs[i] * x
            s0 += x
            s1 += fx
            s2 += freqs[i] * fx
            e += x * x
        moments[t, 0] = s0
        moments[t, 1] = s1
        moments[t, 2] = s2
        moments[t, 3] = e
        if e > 0.0:
            inverse[t] = 1.0 / math.sqrt(e)

        threshold = rolloff * s0
        found = n_freq - 1
        cum = 0.0
        for start in range(0, n_freq, _BLOCK):  # whole blocks (vectorised sums) up to the crossing
            block = row[start : start + _BLOCK]
            part = 0.0
            for i in range(len(block)):
                part += block[i]
            if cum + part >= threshold:
                for i in range(len(block)):
                    cum += block[i]
                    if cum >= threshold:
                        found = start + i
                        break
                break
            cum += part
        rolloff_bin[t] = found

        if t > 0:
            prev = A[t - 1]
            a = inverse[t]
            p = inverse[t - 1]
            d = 0.0
            for i in range(n_freq):
                step = a * row[i] - p * prev[i]
                d += step * step
            flux[t - 1] = math.sqrt(d)
    return moments, rolloff_bin, flux


@numba.njit(**_JIT)
def log_sums(A, floor_bits):  # pragma: no cover - compiled
    """Per frame, ``sum log(max(A, floor))`` over the bins (natural log), from the float bits.

    ``log x = (exponent - 127) ln 2 + log mantissa``: the exponents are summed as integers
    and the mantissas (in [1, 2)) multiplied, 64 at a time, with one logarithm per
    product: integer and multiply work that vectorises, where a logarithm per value does
    not (the product of 64 mantissas stays below 2^64). Within 1e-12 of summing
    ``np.log``; a NaN or infinite magnitude reads as 2^128.

    Parameters
    ----------
    A : np.ndarray, shape (n_frames, n_freq), float32, C order, non-negative
    floor_bits : int
        The bits of the float32 floor (a positive normal number), as an int32 value.

    Returns
    -------
    np.ndarray, shape (n_frames,), float64
    """
    bits = A.view(np.int32)
    n_frames, n_freq = A.shape
    out = np.zeros(n_frames)
    for t in range(n_frames):
        row = bits[t]
        exponents = 0
        logs = 0.0
        for start in range(0, n_freq, 64):
            block = row[start : start + 64]
            product = 1.0
            for i in range(len(block)):
                b = max(block[i], floor_bits)  # non-negative floats order as their bits
                exponents += b >> 23
                product *= 1.0 + (b & 0x7FFFFF) * (1.0 / 8388608.0)
            logs += math.log(product)
        out[t] = logs + (exponents - 127 * n_freq) * math.log(2.0)
    return out


@numba.njit(**_JIT)
def frame_crossings(y, length, hop):  # pragma: no cover - compiled
    """Sign changes between consecutive samples inside each frame ``[s, s + length)``.

    ``s = 0, hop, ..``; ``length - 1`` pairs per frame; 0 counts as positive.

    Returns
    -------
    np.ndarray, shape (1 + (len(y) - length) // hop,), float64
    """
    n_frames = 1 + (len(y) - length) // hop
    changes = np.zeros(n_frames)
    for f in range(n_frames):
        seg = y[f * hop : f * hop + length]
        c = 0
        for i in range(1, length):
            c += (seg[i] < 0) != (seg[i - 1] < 0)
        changes[f] = c
    return changes


@numba.njit(**_JIT)
def clip_energy(y):  # pragma: no cover - compiled
    """Energy ``sum y^2`` and time-weighted energy ``sum i y_i^2`` of a clip, float64."""
    total = 0.0
    weighted = 0.0
    for i in range(len(y)):
        x = np.float64(y[i])
        e = x * x
        total += e
        weighted += i * e
    return total, weighted


@numba.njit(**_JIT)
def weighted_power(y, weights, hop):  # pragma: no cover - compiled
    """``sum weights * y^2`` over windows ``[j hop, j hop + len(weights))``, float64.

    Returns ``1 + (len(y) - len(weights)) // hop`` values (``len(y) >= len(weights)``).
    Each window sums its own samples: no running sum to lose a quiet window's energy in
    the rounding of a loud clip's total, and a window of zeros sums to exactly 0.
    """
    width = len(weights)
    n = 1 + (len(y) - width) // hop
    out = np.zeros(n)
    for j in range(n):
        seg = y[j * hop : j * hop + width]
        acc = 0.0
        for i in range(width):
            x = np.float64(seg[i])
            acc += weights[i] * x * x
        out[j] = acc
    return out


@numba.njit(**_JIT)
def mfcc_statistics(M, coef1, coef2):  # pragma: no cover - compiled
    """Mean, std, min, max of each coefficient, and mean and std of its two deltas.

    Parameters
    ----------
    M : np.ndarray, shape (n_mfcc, n_frames), float32
    coef1, coef2 : np.ndarray, shape (width,), float64
        Savitzky-Golay weights of the first and second derivative over ``width`` (odd)
        frames; empty: the deltas are 0. Frames without a whole window inside the clip
        take the nearest whole window's value (as ``librosa.feature.delta``).

    Returns
    -------
    np.ndarray, shape (8, n_mfcc), float64
        Rows: mean, std, min, max, delta mean, delta std, delta2 mean, delta2 std
        (population std).
    """
    n_mfcc, n_frames = M.shape
    out = np.zeros((8, n_mfcc))
    width = len(coef1)
    half = width // 2
    d1 = np.zeros(n_frames)
    d2 = np.zeros(n_frames)
    for k in range(n_mfcc):
        row = M[k]
        s = 0.0
        lo = np.inf
        hi = -np.inf
        for t in range(n_frames):
            x = np.float64(row[t])
            s += x
            lo = min(lo, x)
            hi = max(hi, x)
        mean = s / n_frames
        v = 0.0
        for t in range(n_frames):
            dx = row[t] - mean
            v += dx * dx
        out[0, k] = mean
        out[1, k] = math.sqrt(v / n_frames)
        out[2, k] = lo
        out[3, k] = hi
        if width:
            for t in range(half, n_frames - half):
                seg = row[t - half : t + half + 1]
                a = 0.0
                b = 0.0
                for j in range(width):
                    x = np.float64(seg[j])
                    a += coef1[j] * x
                    b += coef2[j] * x
                d1[t] = a
                d2[t] = b
            for t in range(half):
                d1[t] = d1[half]
                d2[t] = d2[half]
                d1[n_frames - 1 - t] = d1[n_frames - 1 - half]
                d2[n_frames - 1 - t] = d2[n_frames - 1 - half]
            out[4, k], out[5, k] = mean_std(d1)
            out[6, k], out[7, k] = mean_std(d2)
    return out


@numba.njit(**_JIT)
def shape_statistics(x):  # pragma: no cover - compiled
    """Mean, population std, max, skewness and excess kurtosis of a non-empty 1-d array.

    Skewness and kurtosis are 0 when the array is flat (std within 1e-9 of the mean's
    size, or 0): rounding noise has no shape.
    """
    mean, std = mean_std(x)
    top = x[0]
    for i in range(len(x)):
        top = max(top, x[i])
    if not (std > 0 and std > 1e-9 * max(mean, 1e-30)):
        return mean, std, top, 0.0, 0.0
    m3 = 0.0
    m4 = 0.0
    for i in range(len(x)):
        z = (x[i] - mean) / std
        m3 += z * z * z
        m4 += z * z * z * z
    return mean, std, top, m3 / len(x), m4 / len(x) - 3.0


@numba.njit(**_JIT)
def mean_std(x):  # pragma: no cover - compiled
    """Mean and population standard deviation of a non-empty 1-d array, float64."""
    s = 0.0
    for i in range(len(x)):
        s += x[i]
    mean = s / len(x)
    v = 0.0
    for i in range(len(x)):
        d = x[i] - mean
        v += d * d
    return mean, math.sqrt(v / len(x))
