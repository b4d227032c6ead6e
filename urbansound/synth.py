"""A deterministic synthetic dataset in either real layout.

Each class has an acoustic signature of its own (a siren sweeps, a jackhammer pulses at
10-20 Hz, a gun shot is an impulse with a decaying tail, an engine idles as a low
periodic rumble, ...). Clips are cut from synthetic *recordings*: the slices of one
recording share its parameters (pitch, rate, background), so that, as in the real data,
a random split of slices leaks across folds. Background noise, volume changes and quiet
events of other classes keep the task from being trivially separable.

Same arguments, same bytes: every clip draws from its own seeded generator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from urbansound.settings import CLASSES

log = logging.getLogger(__name__)

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
AV_TRAIN_SHARE = 5435 / 8732  # the real AV train/test proportion
SR = 22050
CLIP_SECONDS = 4.0


@dataclass(frozen=True)
class Clip:
    """One synthetic clip's identity and where it comes from."""

    index: int
    label: str
    recording: int
    slice: int
    fold: int
    seconds: float


Rng = np.random.Generator
Gen = Callable[[Rng, dict, int, int], np.ndarray]


# ---------------------------------------------------------------- signal helpers
def _shaped_noise(rng: Rng, n: int, sr: int, *, alpha: float = 0.0, lo: float = 0.0, hi: float | None = None) -> np.ndarray:
    """Noise with a 1/f**alpha spectrum, band-limited to [lo, hi] Hz, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    gain = np.where(f > 0, np.maximum(f, 1.0) ** (-alpha / 2), 0.0)
    gain[(f < lo) | (f > (hi or sr / 2))] = 0.0
    y = np.fft.irfft(spec * gain, n)
    return y / (np.sqrt(np.mean(y**2)) + 1e-12)


def _harmonics(phase: np.ndarray, amps: list[float] | np.ndarray) -> np.ndarray:
    return sum(a * np.sin((k + 1) * phase) for k, a in enumerate(amps))


def _phase(freq: np.ndarray | float, n: int, sr: int) -> np.ndarray:
    f = np.broadcast_to(np.asarray(freq, dtype=float), (n,))
    return 2 * np.pi * np.cumsum(f) / sr


def _events(rng: Rng, n: int, sr: int, count: int, length_s: tuple[float, float]) -> list[tuple[int, int]]:
    """``count`` (start, stop) sample spans of random length, inside the clip."""
    spans = []
    for _ in range(count):
        length = int(rng.uniform(*length_s) * sr)
        length = min(length, n)
        start = int(rng.integers(0, max(1, n - length)))
        spans.append((start, start + length))
    return spans


def _envelope_ad(length: int, sr: int, attack_s: float, decay_tau_s: float) -> np.ndarray:
    t = np.arange(length) / sr
    return np.minimum(1.0, t / max(attack_s, 1e-4)) * np.exp(-t / decay_tau_s)


# ---------------------------------------------------------------- class signatures
def _air_conditioner(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    hum = _harmonics(_phase(p["mains"], n, sr), [0.3, 0.2, 0.1])
    fan = 0.4 * np.sin(_phase(p["fan"] * (1 + 0.002 * rng.standard_normal()), n, sr))
    return _shaped_noise(rng, n, sr, alpha=1.0, lo=30, hi=p["cutoff"]) + hum + fan


def _car_horn(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    tone = _harmonics(_phase(p["f0"], n, sr), p["amps"]) + _harmonics(_phase(p["f0"] * 1.26, n, sr), p["amps"])
    env = np.zeros(n)
    for a, b in _events(rng, n, sr, int(rng.integers(1, 4)), (0.3, 1.5)):
        env[a:b] = np.minimum(1, np.minimum(np.arange(b - a), np.arange(b - a)[::-1]) / (0.02 * sr))
    return tone * env


def _children_playing(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    y = 0.3 * _shaped_noise(rng, n, sr, lo=400, hi=3500)
    t = np.arange(n) / sr
    for _ in range(p["voices"]):
        f0 = rng.uniform(250, 450) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t + rng.uniform(0, 6)))
        syllables = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 6) * t + rng.uniform(0, 6))
        y += syllables**2 * _harmonics(_phase(f0, n, sr), [1.0, 0.6, 0.4, 0.25, 0.15])
    return y


def _dog_bark(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    y = np.zeros(n)
    for a, b in _events(rng, n, sr, int(rng.integers(1, 6)), (0.08, 0.25)):
        m = b - a
        f = p["f0"] * np.linspace(1.15, 0.8, m) * rng.uniform(0.95, 1.05)
        burst = _harmonics(_phase(f, m, sr), [1.0, 0.7, 0.5, 0.3]) + 0.4 * rng.standard_normal(m)
        y[a:b] += burst * _envelope_ad(m, sr, 0.005, m / sr / 3)
    return y


def _drilling(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    tone = _harmonics(_phase(p["f"] * (1 + 0.01 * np.sin(2 * np.pi * 0.7 * t)), n, sr), [1.0, 0.5, 0.35, 0.2])
    am = 1 + 0.5 * np.sin(2 * np.pi * p["am"] * t)
    gate = np.ones(n)
    if rng.random() < 0.5:
        a, b = _events(rng, n, sr, 1, (0.3, 1.0))[0]
        gate[a:b] = 0.1
    return tone * am * gate + 0.2 * _shaped_noise(rng, n, sr, lo=1000, hi=6000)


def _engine_idling(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    fire = p["fire"] * (1 + 0.02 * np.sin(2 * np.pi * 0.3 * np.arange(n) / sr))
    phase = _phase(fire, n, sr)
    pulses = np.maximum(0, np.sin(phase)) ** 8  # one thump per firing
    rumble = np.convolve(pulses, _envelope_ad(int(0.03 * sr), sr, 0.001, 0.008) * np.sin(2 * np.pi * p["body"] * np.arange(int(0.03 * sr)) / sr), "same")
    return rumble / (np.abs(rumble).max() + 1e-9) + 0.5 * _harmonics(phase, [0.5, 0.4, 0.3, 0.2]) + 0.3 * _shaped_noise(rng, n, sr, alpha=2, lo=20, hi=400)


def _gun_shot(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    y = np.zeros(n)
    for a, _ in _events(rng, n, sr, int(rng.integers(1, 4)), (0.01, 0.02)):
        m = n - a
        tail = _shaped_noise(rng, m, sr, alpha=p["color"], lo=50) * _envelope_ad(m, sr, 0.0005, p["tau"])
        y[a:] += tail * rng.uniform(0.6, 1.0)
    return y


def _jackhammer(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    y = np.zeros(n)
    hit_len = int(0.02 * sr)
    ring = np.sin(2 * np.pi * p["ring"] * np.arange(3 * hit_len) / sr) * _envelope_ad(3 * hit_len, sr, 0.0005, 0.012)
    period = sr / p["rate"]
    start = rng.uniform(0, period)
    while start < n - 3 * hit_len:
        a = int(start)
        y[a : a + hit_len] += rng.standard_normal(hit_len) * np.exp(-np.arange(hit_len) / (0.004 * sr))
        y[a : a + 3 * hit_len] += 0.8 * ring
        start += period * rng.uniform(0.97, 1.03)
    return y


def _siren(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    f = p["center"] + p["depth"] * np.sin(2 * np.pi * p["rate"] * t + rng.uniform(0, 2 * np.pi))
    return _harmonics(_phase(f, n, sr), [1.0, 0.4, 0.2])


_SCALE = np.array([0, 2, 4, 5, 7, 9, 11, 12])


def _street_music(rng: Rng, p: dict, n: int, sr: int) -> np.ndarray:
    y = np.zeros(n)
    pos = 0
    while pos < n:
        m = min(n - pos, int(rng.uniform(0.15, 0.5) * sr))
        f = p["root"] * 2 ** (rng.choice(_SCALE) / 12)
        y[pos : pos + m] += _harmonics(_phase(f, m, sr), [1.0, 0.5, 0.3]) * _envelope_ad(m, sr, 0.01, 0.3)
        pos += m
    t = np.arange(n) / sr
    chord = sum(np.sin(2 * np.pi * p["root"] / 2 * 2 ** (k / 12) * t) for k in (0, 4, 7))
    beat = sr * 60 / p["bpm"]
    kick = np.zeros(n)
    for a in np.arange(0, n - int(0.1 * sr), beat).astype(int):
        m = int(0.1 * sr)
        kick[a : a + m] += np.sin(2 * np.pi * 60 * np.arange(m) / sr) * np.exp(-np.arange(m) / (0.03 * sr))
    return y + 0.3 * chord + 0.8 * kick


def _recording_params(label: str, rng: Rng) -> dict:
    """Parameters shared by every slice of one recording."""
    u = rng.uniform
    return {
        "air_conditioner": lambda: {"mains": u(48, 62), "fan": u(90, 300), "cutoff": u(800, 3000)},
        "car_horn": lambda: {"f0": u(330, 520), "amps": [1.0, u(0.4, 0.9), u(0.2, 0.6), u(0.1, 0.4)]},
        "children_playing": lambda: {"voices": int(rng.integers(2, 5))},
        "dog_bark": lambda: {"f0": u(300, 750)},
        "drilling": lambda: {"f": u(700, 3000), "am": u(25, 60)},
        "engine_idling": lambda: {"fire": u(18, 45), "body": u(80, 200)},
        "gun_shot": lambda: {"tau": u(0.08, 0.5), "color": u(0.5, 1.5)},
        "jackhammer": lambda: {"rate": u(10, 20), "ring": u(800, 3000)},
        "siren": lambda: {"center": u(650, 1200), "depth": u(150, 450), "rate": u(0.3, 3.0)},
        "street_music": lambda: {"root": u(180, 400), "bpm": u(90, 140)},
    }[label]() | {"background_alpha": u(0.5, 2.0), "snr_db": u(0.0, 15.0)}


GENERATORS: dict[str, Gen] = {
    "air_conditioner": _air_conditioner,
    "car_horn": _car_horn,
    "children_playing": _children_playing,
    "dog_bark": _dog_bark,
    "drilling": _drilling,
    "engine_idling": _engine_idling,
    "gun_shot": _gun_shot,
    "jackhammer": _jackhammer,
    "siren": _siren,
    "street_music": _street_music,
}


def _unit(y: np.ndarray) -> np.ndarray:
    return y / (np.sqrt(np.mean(y**2)) + 1e-12)


def render(clip: Clip, *, seed: int, sr: int = SR) -> np.ndarray:
    """The samples of one synthetic clip, shape (n,), float64 in [-1, 1].

    The slice draws its randomness from (seed, recording, slice), the recording's
    parameters from (seed, recording): slices of one recording sound alike.
    """
    rec_rng = np.random.default_rng([seed, clip.recording])
    params = _recording_params(clip.label, rec_rng)
    other = CLASSES[int(rec_rng.integers(len(CLASSES)))]
    other_params = _recording_params(other, rec_rng)
    rng = np.random.default_rng([seed, clip.recording, clip.slice + 1])
    n = max(1, int(round(clip.seconds * sr)))
    fg = _unit(GENERATORS[clip.label](rng, params, n, sr))
    bg = _unit(_shaped_noise(rng, n, sr, alpha=params["background_alpha"], lo=20))
    if rng.random() < 0.3:  # a quiet event of another class in the background
        bg = bg + 0.5 * _unit(GENERATORS[other](rng, other_params, n, sr))
    snr = params["snr_db"] + rng.uniform(-2, 2)
    y = fg * 10 ** (snr / 20) + _unit(bg)
    return y / (np.abs(y).max() + 1e-12) * rng.uniform(0.1, 0.9)


def plan(clips_per_class: int, *, seed: int) -> list[Clip]:
    """Which clips to make: the real class balance, recordings of 1-8 slices, 10 folds.

    Every slice of a recording lands in the recording's fold, as in UrbanSound8K.
    """
    rng = np.random.default_rng([seed, 0xC1A55])
    clips: list[Clip] = []
    recording = 0
    for label in CLASSES:
        remaining = max(1, round(clips_per_class * REAL_CLASS_SHARE[label]))
        while remaining > 0:
            recording += 1
            count = min(remaining, int(rng.integers(1, 9)))
            fold = int(rng.integers(1, 11))
            full = rng.random() < 0.8
            for s in range(count):
                seconds = CLIP_SECONDS if full else round(float(rng.uniform(0.5, CLIP_SECONDS)), 3)
                clips.append(Clip(len(clips), label, recording, s, fold, seconds))
            remaining -= count
    return clips


def _write(path: Path, y: np.ndarray, sr: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, subtype="PCM_16", format="WAV")


def write_dataset(out: Path, *, layout: str = "av", clips_per_class: int = 40, seed: int = 0) -> pd.DataFrame:
    """Write a synthetic dataset and its metadata.

    Parameters
    ----------
    out : Path
        Destination folder (created; existing files with the same names are overwritten).
    layout : {"av", "urbansound8k"}
        Which real layout to imitate.
    clips_per_class : int
        Clips of each of the common classes; rarer classes get fewer, as in the real data.
    seed : int
        Same seed, same bytes.

    Returns
    -------
    pd.DataFrame
        One row per clip written: ``file`` (relative to ``out``), ``label, recording, slice, fold``.
    """
    out = Path(out)
    if layout not in ("av", "urbansound8k"):
        raise ValueError(f"unknown layout {layout!r}; use 'av' or 'urbansound8k'")
    if clips_per_class < 1:
        raise ValueError(f"clips_per_class must be at least 1, got {clips_per_class}")
    clips = plan(clips_per_class, seed=seed)
    rows = []
    if layout == "urbansound8k":
        for c in clips:
            name = f"{c.recording}-{CLASSES.index(c.label)}-0-{c.slice}.wav"
            _write(out / "audio" / f"fold{c.fold}" / name, render(c, seed=seed), SR)
            start = c.slice * CLIP_SECONDS
            rows.append({"slice_file_name": name, "fsID": c.recording, "start": start, "end": start + c.seconds,
                         "salience": 1, "fold": c.fold, "classID": CLASSES.index(c.label), "class": c.label})
        meta = pd.DataFrame(rows)
        (out / "metadata").mkdir(parents=True, exist_ok=True)
        meta.to_csv(out / "metadata" / "UrbanSound8K.csv", index=False)
        files = [f"audio/fold{r['fold']}/{r['slice_file_name']}" for r in rows]
    else:
        rng = np.random.default_rng([seed, 0xA7])
        ids = rng.permutation(len(clips))
        is_train = rng.random(len(clips)) < AV_TRAIN_SHARE
        for c, clip_id, train in zip(clips, ids, is_train):
            folder = "Train" if train else "Test"
            _write(out / folder / f"{clip_id}.wav", render(c, seed=seed), SR)
            rows.append({"ID": int(clip_id), "Class": c.label, "train": bool(train)})
        meta = pd.DataFrame(rows).sort_values("ID")  # the real CSVs are sorted by ID
        meta[meta["train"]][["ID", "Class"]].to_csv(out / "train.csv", index=False)
        meta[~meta["train"]][["ID"]].to_csv(out / "test.csv", index=False)
        files = [f"{'Train' if r['train'] else 'Test'}/{r['ID']}.wav" for r in rows]
    log.debug("wrote %d clips (%s layout) to %s", len(clips), layout, out)
    return pd.DataFrame({"file": files, "label": [c.label for c in clips],
                         "recording": [c.recording for c in clips], "slice": [c.slice for c in clips],
                         "fold": [c.fold for c in clips]})
