"""The ``pcen_*`` feature set: statistics of the PCEN mel spectrogram, band by band.

``pcen_*`` (per-channel energy normalisation; 5 * pcen_bands columns)
    PCEN (Wang et al. 2017; Lostanlen et al., "Per-channel energy normalization: why and
    how", IEEE SPL 2019) replaces the log of each mel band by an adaptive gain control: the
    band is divided by a smoothed copy of itself (first-order IIR, time constant
    :data:`TIME_CONSTANT` s), then root-compressed. A stationary background (an idling
    engine next door, traffic rumble, wind) settles towards a constant, while onsets,
    pulses and tones that come and go stand out; the log-mel statistics behind the MFCC
    mix the two. Computed with ``librosa.pcen`` on the mel power of :func:`mel_power`
    (``n_mels`` Slaney filters of the clip's one STFT) summed in groups of ``n_mels /
    pcen_bands`` adjacent bands (default 128 / 64 = 2: as accurate on the real development
    clips as all 128, at half the cost), scaled by 2 ** 31 as librosa advises for
    full-scale float input, with its defaults: gain 0.98, bias 2, power 0.5, eps 1e-6.
    Unit: dimensionless (PCEN units; 0 for digital silence).

    ``pcen_mean_kk``, ``pcen_std_kk``
                            mean and standard deviation over frames of band ``kk``
                            (band 0 is the lowest).
    ``pcen_max_kk``         the band's maximum over frames (the loudest event).
    ``pcen_p10_kk``, ``pcen_p90_kk``
                            10th and 90th percentiles over frames (linear interpolation,
                            as ``np.percentile``): the band's floor and its busy level.

Columns are grouped by statistic, then band (``pcen_mean_000 .. pcen_mean_063,
pcen_std_000 ..``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from urbansound._librosa import librosa
from urbansound.features._common import _index_width
from urbansound.settings import FeatureSettings

PCEN_STATS = ("mean", "std", "max", "p10", "p90")
TIME_CONSTANT = 0.4  # s, librosa's default: long enough to call a 4 s hum "background"
INPUT_SCALE = float(2**31)  # librosa.pcen's advice for float audio in [-1, 1]


def pcen_frames(mel: np.ndarray, *, sr: int, settings: FeatureSettings) -> np.ndarray:
    """The PCEN mel spectrogram.

    Parameters
    ----------
    mel : np.ndarray, shape (n_frames, n_mels)
        Mel power (:func:`urbansound.features.mfcc.mel_power`).
    sr : int
        Sample rate, Hz.
    settings : FeatureSettings
        ``hop_length`` (the frame rate sets the smoother's coefficient), ``n_mels`` and
        ``pcen_bands``.

    Returns
    -------
    np.ndarray, shape (pcen_bands, n_frames), float64, PCEN units
    """
    mel = np.asarray(mel, dtype=np.float32)
    bands = mel.reshape(len(mel), settings.pcen_bands, -1).sum(axis=2)
    return librosa.pcen(bands.T * np.float32(INPUT_SCALE), sr=sr, hop_length=settings.hop_length,
                        time_constant=TIME_CONSTANT)


def pcen_features(P: np.ndarray) -> np.ndarray:
    """The ``pcen_*`` columns from a PCEN spectrogram.

    Parameters
    ----------
    P : np.ndarray, shape (pcen_bands, n_frames)
        PCEN frames (:func:`pcen_frames`).

    Returns
    -------
    np.ndarray, shape (5 * pcen_bands,), float64
        For each stat in :data:`PCEN_STATS`, every band.
    """
    ordered = np.sort(P, axis=1)  # one sort gives max and both percentiles (a quarter of np.percentile's time)
    return np.concatenate([P.mean(axis=1), P.std(axis=1), ordered[:, -1], _percentile(ordered, 10), _percentile(ordered, 90)])


def _percentile(ordered: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(.., q, axis=1)`` (linear interpolation) of rows already sorted."""
    pos = q / 100 * (ordered.shape[1] - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, ordered.shape[1] - 1)
    return ordered[:, lo] + (pos - lo) * (ordered[:, hi] - ordered[:, lo])


@lru_cache(maxsize=16)
def _pcen_names(n_bands: int) -> tuple[str, ...]:
    w = max(3, _index_width(n_bands))
    return tuple(f"pcen_{stat}_{k:0{w}d}" for stat in PCEN_STATS for k in range(n_bands))
