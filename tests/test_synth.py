import hashlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from urbansound.synth import SR, Clip, plan, render, write_dataset


def _digest(root):
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f.relative_to(root).as_posix().encode() + f.read_bytes())
    return h.hexdigest()


@pytest.mark.slow  # three datasets of real-format clips
@pytest.mark.parametrize("layout", ["av", "urbansound8k"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, layout):
    a = write_dataset(tmp_path / "a", layout=layout, clips_per_class=2, seed=3)
    write_dataset(tmp_path / "b", layout=layout, clips_per_class=2, seed=3)
    write_dataset(tmp_path / "c", layout=layout, clips_per_class=2, seed=4)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    assert all((tmp_path / "a" / f).is_file() for f in a.file)


@pytest.mark.integration  # a process pool
def test_same_bytes_whatever_the_number_of_processes(tmp_path):
    # 35 clips of every format, each process writing some
    write_dataset(tmp_path / "one", layout="urbansound8k", clips_per_class=4, seed=5, jobs=1)
    write_dataset(tmp_path / "two", layout="urbansound8k", clips_per_class=4, seed=5, jobs=2)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")


@pytest.mark.integration  # a process pool
def test_real_format_mix_is_written_and_read_back(tmp_path):
    meta = write_dataset(tmp_path, layout="urbansound8k", clips_per_class=10, seed=0)  # 87 clips: the whole mix
    assert {44100, 48000} <= set(meta.sr) and len(set(meta.sr)) >= 3
    assert {"PCM_16", "PCM_24"} <= set(meta.subtype)
    assert set(meta.channels) == {1, 2} and (meta.channels == 2).mean() > 0.7
    assert set(meta.salience) == {1, 2}
    assert meta.seconds.min() < 2048 / 22050 and (meta.seconds == 4.0).mean() > 0.6
    for row in meta.sample(20, random_state=0).itertuples():
        info = sf.info(tmp_path / row.file)
        assert (info.samplerate, info.channels, info.subtype) == (row.sr, row.channels, row.subtype)
        assert abs(info.frames - round(row.seconds * row.sr)) <= 1
    extensible = [sf.info(tmp_path / f).format for f in meta.file[meta.subtype == "PCM_24"][:3]]
    assert set(extensible) == {"WAVEX"}


def test_plan_has_the_real_class_balance_and_recordings_within_one_fold():
    clips = pd.DataFrame([c.__dict__ for c in plan(100, seed=0)])
    counts = clips.label.value_counts()
    assert counts["air_conditioner"] == 100 and counts["car_horn"] == 43 and counts["gun_shot"] == 37
    assert clips.groupby("recording").fold.nunique().max() == 1
    assert clips.groupby("recording").size().max() > 1  # slices of one recording exist


def _envelope_rate(y: np.ndarray, sr: int) -> float:
    """Pulse rate from the envelope's autocorrelation peak, searched over 4-60 Hz."""
    hop = sr // 1000
    env = np.abs(y)[: len(y) // hop * hop].reshape(-1, hop).mean(axis=1)
    env = env - env.mean()
    ac = np.correlate(env, env, "full")[len(env) - 1 :]
    lags = np.arange(len(ac)) * hop / sr
    band = (lags > 1 / 60) & (lags < 1 / 4)
    return float(1 / lags[band][ac[band].argmax()])


def test_jackhammer_pulses_at_10_to_20_hz():
    rates = [_envelope_rate(render(Clip(0, "jackhammer", r, 0, 1, 4.0), seed=1, snr_db=40)[:, 0], SR) for r in range(1, 6)]
    assert all(9 <= r <= 21 for r in rates), rates


def test_siren_sweeps_and_gun_shot_decays():
    y = render(Clip(0, "siren", 11, 0, 1, 4.0), seed=1, snr_db=40)[:, 0]
    frames = y[: len(y) // 2048 * 2048].reshape(-1, 2048) * np.hanning(2048)
    peaks = np.fft.rfftfreq(2048, 1 / SR)[np.abs(np.fft.rfft(frames, axis=1)).argmax(axis=1)]
    assert peaks.max() - peaks.min() > 150  # the pitch moves by more than 150 Hz
    shot = render(Clip(0, "gun_shot", 12, 0, 1, 4.0), seed=2, snr_db=40)[:, 0]
    assert np.abs(shot[-SR // 2 :]).mean() < np.abs(shot).max() / 10
