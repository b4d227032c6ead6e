import numpy as np
import pytest

from urbansound import features
from urbansound.settings import FeatureSettings

S = FeatureSettings()
SR = S.sample_rate


def _sine(f: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_feature_names_match_what_compute_returns():
    values = features.compute(_sine(440), sr=SR, settings=S)
    assert list(values) == features.feature_names(S)
    assert len(values) == 2 * S.n_mfcc


def test_silence_has_no_nan():
    values = features.compute(np.zeros(SR, dtype=np.float32), sr=SR, settings=S)
    assert np.isfinite(list(values.values())).all()


def test_short_clip_is_padded_to_one_frame():
    y, padded = features.prepare(np.ones(100, dtype=np.float32), S)
    assert padded and len(y) == S.n_fft and y[:100].sum() == 100
    y, padded = features.prepare(np.ones(S.n_fft, dtype=np.float32), S)
    assert not padded


def test_mfcc_separates_low_from_high_tones():
    low = features.compute(_sine(200), sr=SR, settings=S)
    high = features.compute(_sine(4000), sr=SR, settings=S)
    low_again = features.compute(_sine(210), sr=SR, settings=S)
    v = lambda d: np.array(list(d.values()))  # noqa: E731
    assert np.linalg.norm(v(low) - v(low_again)) < np.linalg.norm(v(low) - v(high)) / 3


@pytest.mark.parametrize("n_mfcc", [13, 20])
def test_settings_shape_the_output(n_mfcc):
    s = FeatureSettings(n_mfcc=n_mfcc)
    M = features.mfcc_frames(features.spectrogram(_sine(440), s), sr=SR, settings=s)
    assert M.shape[0] == n_mfcc and M.dtype == np.float32
    assert M.shape[1] == 1 + SR // s.hop_length
