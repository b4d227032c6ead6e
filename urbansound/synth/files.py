"""What clips the synthetic dataset holds, and how one clip is written to its file.

:func:`plan` fixes the class balance, recordings, folds, salience, durations and the
file format of every clip (the real mix of rates, bit depths, channels and headers);
:func:`_write_clip` renders one clip and writes it so that the same seed gives the same
bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from urbansound.settings import CLASSES
from urbansound.synth.sounds import CLIP_SECONDS, Clip, Rng, render

# Clips per class in the real UrbanSound8K, per 1000 of the largest classes.
REAL_CLASS_SHARE = {
    "air_conditioner": 1.0,
    "car_horn": 0.429,
    "children_playing": 1.0,
    "dog_bark": 1.0,
    "drilling": 1.0,
    "engine_idling": 1.0,
    "gun_shot": 0.374,
    "jackhammer": 1.0,
    "siren": 0.929,
    "street_music": 1.0,
}
# The real format mix, approximately (UrbanSound8K's published file statistics): mostly
# 44.1 and 48 kHz stereo, 16 or 24-bit, with a tail of other rates and depths.
RATE_MIX = {44100: 0.61, 48000: 0.29, 96000: 0.07, 24000: 0.01, 16000: 0.005, 22050: 0.005,
            11025: 0.005, 192000: 0.002, 8000: 0.002, 32000: 0.001}
SUBTYPE_MIX = {"PCM_16": 0.66, "PCM_24": 0.31, "PCM_32": 0.01, "FLOAT": 0.01, "PCM_U8": 0.01}
STEREO_SHARE = 0.915
FOREGROUND_SHARE = 0.65  # salience 1; the rest are background (salience 2)
# Share of clips shorter than the full 4 s, per class (short events are short).
SHORT_SHARE = {"gun_shot": 0.6, "car_horn": 0.45, "dog_bark": 0.3}
_OTHER_SHORT_SHARE = 0.08


def _choice(rng: Rng, mix: dict) -> object:
    keys = list(mix)
    p = np.array([mix[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def plan(clips_per_class: int, *, seed: int, formats: str = "real") -> list[Clip]:
    """Which clips to make.

    The real class balance; recordings of 1-8 slices, each recording in one of 10 folds
    (as in UrbanSound8K), with one file format, one salience and one duration habit.

    Parameters
    ----------
    formats : {"real", "simple"}
        ``real``: the real mix of rates, bit depths, channels and headers; ``simple``:
        22050 Hz mono 16-bit WAV (fast, for tests).
    """
    if formats not in ("real", "simple"):
        raise ValueError(f"unknown formats {formats!r}; use 'real' or 'simple'")
    rng = np.random.default_rng([seed, 0xC1A55])
    clips: list[Clip] = []
    recording = 0
    for label in CLASSES:
        remaining = max(1, round(clips_per_class * REAL_CLASS_SHARE[label]))
        while remaining > 0:
            recording += 1
            count = min(remaining, int(rng.integers(1, 9)))
            fold = int(rng.integers(1, 11))
            short = rng.random() < SHORT_SHARE.get(label, _OTHER_SHORT_SHARE)
            salience = 1 if rng.random() < FOREGROUND_SHARE else 2
            fmt: dict = {}
            if formats == "real":
                subtype = str(_choice(rng, SUBTYPE_MIX))
                fmt = {"sr": int(_choice(rng, RATE_MIX)), "subtype": subtype,
                       "channels": 2 if rng.random() < STEREO_SHARE else 1,
                       # 24-bit files come with WAVE_FORMAT_EXTENSIBLE headers, as in the real data
                       "container": "WAVEX" if subtype == "PCM_24" or rng.random() < 0.05 else "WAV"}
            for s in range(count):
                # Short events: log-uniform from 0.05 s (under one 2048-sample frame) to 4 s.
                seconds = round(float(np.exp(rng.uniform(np.log(0.05), np.log(CLIP_SECONDS)))), 3) if short else CLIP_SECONDS
                clips.append(Clip(len(clips), label, recording, s, fold, seconds, salience=salience, **fmt))
            remaining -= count
    return clips


def _write_clip(args: tuple[Clip, Path, int, float]) -> None:
    clip, path, seed, snr_db = args
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, render(clip, seed=seed, snr_db=snr_db), clip.sr, subtype=clip.subtype, format=clip.container)
    if clip.subtype == "FLOAT":
        _zero_peak_timestamp(path)


def _zero_peak_timestamp(path: Path) -> None:
    """libsndfile stamps float WAVs' PEAK chunk with the time of writing: zero it, so
    the same seed gives the same bytes."""
    with open(path, "r+b") as f:
        head = f.read(512)
        at = head.find(b"PEAK")
        if at >= 0:
            f.seek(at + 12)  # 'PEAK', chunk size, version, then the 4-byte timestamp
            f.write(b"\0\0\0\0")

