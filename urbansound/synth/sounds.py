"""The sounds of the synthetic dataset: one signal generator per class, and :func:`render`.

Each class has an acoustic signature of its own (a siren sweeps, a jackhammer pulses at
10-20 Hz, a gun shot is an impulse with a decaying tail, ...). :func:`render` puts one
clip's class signal over the background of its recording: broadband noise, the
recording's *place* (a band of noise, two hums, sometimes another source that never
stops), at a level set by the clip's salience. Randomness comes from seeded generators
only: same clip and seed, same samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from urbansound.settings import CLASSES

SR = 22050
CLIP_SECONDS = 4.0
DEFAULT_SNR_DB = 6.0


@dataclass(frozen=True)
class Clip:
    """One synthetic clip: its identity, where it comes from, and its file format."""

    index: int
    label: str
    recording: int
    slice: int
    fold: int
    seconds: float
    sr: int = SR
    subtype: str = "PCM_16"
    channels: int = 1
    container: str = "WAV"  # or "WAVEX": WAVE_FORMAT_EXTENSIBLE headers
    salience: int = 1


Rng = np.random.Generator
Gen = Callable[[Rng, dict, int, int], np.ndarray]


# ---------------------------------------------------------------- signal helpers
def _unit(y: np.ndarray) -> np.ndarray:
    """``y`` scaled to unit RMS (silence stays silence)."""
    return y / (np.sqrt(np.mean(y**2)) + 1e-12)


def _shaped_noise(rng: Rng, n: int, sr: int, *, alpha: float = 0.0, lo: float = 0.0, hi: float | None = None) -> np.ndarray:
    """Noise with a 1/f**alpha spectrum, band-limited to [lo, hi] Hz, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    gain = np.where(f > 0, np.maximum(f, 1.0) ** (-alpha / 2), 0.0)
    gain[(f < lo) | (f > (hi or sr / 2))] = 0.0
    return _unit(np.fft.irfft(spec * gain, n))


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


def render(clip: Clip, *, seed: int, snr_db: float = DEFAULT_SNR_DB) -> np.ndarray:
    """The samples of one synthetic clip, shape (n, channels), float64 in [-1, 1].

    The slice draws its randomness from (seed, recording, slice), the recording's
    parameters from (seed, recording): slices of one recording sound alike.

    Parameters
    ----------
    snr_db : float
        Difficulty: the foreground-to-background ratio, dB, around which recordings
        scatter (+-5 dB); background clips (salience 2) sit 10 dB lower.
    """
    sr = clip.sr
    rec_rng = np.random.default_rng([seed, clip.recording])
    params = _recording_params(clip.label, rec_rng)
    other = CLASSES[int(rec_rng.integers(len(CLASSES)))]
    other_params = _recording_params(other, rec_rng)
    rec_snr = snr_db + rec_rng.uniform(-5, 5) - (10 if clip.salience == 2 else 0)
    # The place a recording was made: a band of noise and two hums of its own, and in
    # some places another source that never stops. Every slice of the recording carries
    # them, which is what lets a random split of slices recognise recordings.
    room_lo = rec_rng.uniform(100, 3000)
    room = {"lo": room_lo, "hi": room_lo * rec_rng.uniform(1.5, 4), "tones": rec_rng.uniform(80, 4000, 2),
            "level": rec_rng.uniform(0.5, 1.5), "other": rec_rng.random() < 0.4}
    rng = np.random.default_rng([seed, clip.recording, clip.slice + 1])
    n = max(1, int(round(clip.seconds * sr)))
    fg = _unit(GENERATORS[clip.label](rng, params, n, sr))
    t = np.arange(n) / sr
    place = _shaped_noise(rng, n, sr, lo=room["lo"], hi=min(room["hi"], 0.45 * sr))
    place += sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in room["tones"] if f < 0.45 * sr)
    bg = _unit(_shaped_noise(rng, n, sr, alpha=params["background_alpha"], lo=20)) + room["level"] * _unit(place)
    if room["other"]:  # another source, present in every slice of this recording
        bg = bg + 0.5 * _unit(GENERATORS[other](rng, other_params, n, sr))
    y = fg * 10 ** ((rec_snr + rng.uniform(-2, 2)) / 20) + _unit(bg)
    y = y / (np.abs(y).max() + 1e-12) * rng.uniform(0.1, 0.9)
    if clip.channels == 1:
        return y[:, None]
    # A second microphone: a little quieter, a few samples late, its own faint noise.
    delay = int(rng.integers(0, 8))
    right = 0.85 * np.concatenate([np.zeros(delay), y[: n - delay]]) + 0.002 * rng.standard_normal(n)
    return np.stack([y, np.clip(right, -1, 1)], axis=1)

