"""Training-time augmentation: the specs, the signals, and the rows featurize adds."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from urbansound import augment
from urbansound.settings import FeatureSettings

SR = 22050


@pytest.mark.parametrize("spec", ["speed", "speed:", "warp:1.1", "speed:fast", "speed:3", "pitch:20",
                                  "speed:1", "gain:0", "noise:-30"])
def test_bad_specs_are_refused_by_name(spec):
    with pytest.raises(ValueError, match="augmentation"):
        augment.parse(spec)
    with pytest.raises(ValidationError, match="augment"):
        FeatureSettings(augment=(spec,))


def test_a_spec_listed_twice_is_refused():
    with pytest.raises(ValidationError, match="twice"):
        FeatureSettings(augment=("speed:0.9", "speed:0.9"))


def _tone(f, seconds=1.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def _peak_hz(y):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.argmax(spectrum) * SR / len(y)


def test_speed_changes_duration_and_pitch_together():
    y = _tone(1000)
    z = augment.apply(y, "speed:1.25", sr=SR, clip_id="a")
    assert z.dtype == np.float32 and abs(len(z) - len(y) / 1.25) <= 2
    assert _peak_hz(z) == pytest.approx(1250, abs=5)


def test_pitch_keeps_duration_and_stretch_keeps_pitch():
    y = _tone(1000)
    p = augment.apply(y, "pitch:12", sr=SR, clip_id="a")
    assert len(p) == len(y) and _peak_hz(p) == pytest.approx(2000, abs=10)
    s = augment.apply(y, "stretch:0.5", sr=SR, clip_id="a")
    assert abs(len(s) - 2 * len(y)) < 0.01 * len(y) and _peak_hz(s) == pytest.approx(1000, abs=5)


def test_gain_and_noise_levels():
    y = _tone(440)
    np.testing.assert_allclose(augment.apply(y, "gain:-20", sr=SR, clip_id="a"), 0.1 * y, rtol=1e-5)
    z = augment.apply(y, "noise:20", sr=SR, clip_id="a")
    snr = 10 * np.log10(np.mean(y.astype(np.float64) ** 2) / np.mean((z - y).astype(np.float64) ** 2))
    assert snr == pytest.approx(20, abs=0.5)
    # seeded by the clip id: the same row on every run, another clip another draw
    np.testing.assert_array_equal(z, augment.apply(y, "noise:20", sr=SR, clip_id="a"))
    assert not np.array_equal(z, augment.apply(y, "noise:20", sr=SR, clip_id="b"))


def test_featurize_adds_one_row_per_training_clip_and_spec(av_dataset, client, tmp_path):
    from urbansound import featurize
    from urbansound.datasets import read_dataset
    from urbansound.training import load_training_data

    clips = read_dataset(av_dataset).clips
    specs = ("speed:0.9", "gain:-6")
    summary = featurize.featurize_dataset(clips, FeatureSettings(augment=specs), tmp_path / "f", client)
    originals = featurize.read_features(tmp_path / "f")
    everything = featurize.read_features(tmp_path / "f", augmented=True)
    n_train = int((clips["split"] == "train").sum())
    assert len(originals) == len(clips) and originals["augmentation"].isna().all()
    assert summary.augmented == len(everything) - len(originals) == len(specs) * n_train
    extra = everything[everything["augmentation"].notna()]
    assert set(extra["split"]) == {"train"}  # test clips are never augmented
    by_id = originals.set_index("clip_id")
    for col in ("label", "fold", "recording", "path"):  # tied to the source clip
        pd.testing.assert_series_equal(extra[col].reset_index(drop=True),
                                       by_id.loc[extra["clip_id"], col].reset_index(drop=True),
                                       check_names=False, check_dtype=False)
    assert sorted(extra.groupby("clip_id")["augmentation"].apply(tuple).unique()) == [tuple(sorted(specs))]
    # the rows are not copies: speed changes the duration, gain the level
    merged = extra.merge(originals, on="clip_id", suffixes=("", "_orig"))
    slow = merged[merged["augmentation"] == "speed:0.9"]
    assert (slow["decoded_seconds"] > slow["decoded_seconds_orig"]).all()
    quiet = merged[merged["augmentation"] == "gain:-6"]
    assert (quiet["time_peak"] < quiet["time_peak_orig"]).all()
    # training data: the clips as recorded first, then their copies, each tied to its source row
    data = load_training_data(tmp_path / "f", ("all",), sequences=True)
    n = len(data.table)
    assert data.n_augmented == len(specs) * n and len(data.y) == len(data.source) == n * (1 + len(specs))
    np.testing.assert_array_equal(data.source[:n], np.arange(n))
    assert (data.y[n:] == data.y[data.source[n:]]).all()
    assert len(data.inputs["mfcc-seq"]) == n
    assert load_training_data(tmp_path / "f", ("all",), sequences=False, augmented=False).n_augmented == 0
