"""Feature sets: signals with known answers, librosa as the reference, finite fallbacks."""

import librosa
import numpy as np
import pytest

from urbansound import features
from urbansound.features import _kernels
from urbansound.settings import FeatureSettings

S = FeatureSettings()
SR = S.sample_rate


def _sine(f: float, *, amplitude: float = 0.5, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amplitude * np.sin(2 * np.pi * f * t)).astype(np.float32)


def _square(period: int, *, seconds: float = 1.0) -> np.ndarray:
    n = np.arange(int(SR * seconds))
    return np.where(n % period < period / 2, 0.5, -0.5).astype(np.float32)


def _pulses(rate: float, kind: str, rng: np.random.Generator, *, seconds: float = 4.0) -> np.ndarray:
    """Bursts at ``rate`` Hz: 5 ms of noise, single clicks, or a 1 kHz tone gated 50/50."""
    n = int(SR * seconds)
    if kind == "gated-tone":
        t = np.arange(n) / SR
        gate = (t * rate) % 1.0 < 0.5
        return (0.5 * gate * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    y = np.zeros(n, dtype=np.float32)
    width = int(0.005 * SR) if kind == "noise" else 1
    for start in (np.arange(0, seconds, 1 / rate) * SR).astype(int):
        burst = y[start : start + width]
        burst[:] = 0.5 * rng.standard_normal(len(burst)) if kind == "noise" else 0.9
    return y


def _values(d: dict[str, float], prefix: str) -> np.ndarray:
    return np.array([v for k, v in d.items() if k.startswith(prefix)])


# ------------------------------------------------------------------ the table's columns
@pytest.mark.parametrize("n_mfcc", [13, 40])
@pytest.mark.parametrize("n_bands", [16, 64, 128])
def test_names_equal_keys_all_finite_and_count_as_documented(n_mfcc, n_bands, rng):
    settings = FeatureSettings(n_mfcc=n_mfcc, n_bands=n_bands)
    y = (0.1 * rng.standard_normal(2 * SR)).astype(np.float32)
    values = features.compute(y, sr=SR, settings=settings)
    names = features.feature_names(settings)
    assert list(values) == names
    assert len(set(names)) == len(names) == 14 + (n_bands + 13) + 8 * n_mfcc + 5 * settings.pcen_bands
    assert all(type(v) is float for v in values.values())
    assert np.isfinite(list(values.values())).all()
    assert {name.split("_")[0] for name in names} == set(features.FEATURE_SETS)
    assert len([k for k in names if k.startswith("fft_band_")]) == n_bands
    assert len([k for k in names if k.startswith("mfcc_mean_")]) == n_mfcc
    bands = [k for k in names if k.startswith("fft_band_")]
    assert bands == sorted(bands)


def test_default_table_has_731_columns():
    assert len(features.feature_names(S)) == 731


@pytest.mark.parametrize(
    "a, b",
    [({"n_mfcc": 13}, {"n_mfcc": 20}), ({"n_bands": 32}, {"n_bands": 64}), ({}, {"n_mfcc": 13, "n_bands": 32})],
)
def test_settings_change_the_columns(a, b):
    names_a = features.feature_names(FeatureSettings(**a))
    names_b = features.feature_names(FeatureSettings(**b))
    assert names_a != names_b
    assert names_a[:14] == names_b[:14] == list(features.TIME_NAMES)  # the time set never changes


def test_defaults_match_the_columns_featurize_has_always_written():
    names = features.feature_names(S)
    assert names[names.index("mfcc_mean_00") : names.index("mfcc_mean_00") + 2] == ["mfcc_mean_00", "mfcc_mean_01"]
    assert "mfcc_std_39" in names and "fft_band_63" in names and "fft_band_64" not in names


# ------------------------------------------------------------------ known answers: tones
@pytest.mark.parametrize("f", [440.0, 3000.0])
@pytest.mark.parametrize("amplitude", [0.1, 0.8])
@pytest.mark.parametrize("sr", [22050, 8000])
def test_sine_centroid_dominant_band_rms_and_crest(f, amplitude, sr):
    y = _sine(f, amplitude=amplitude, sr=sr, seconds=4.0)
    v = features.compute(y, sr=sr, settings=S)
    # not exact: the first and last frames see the tone switch on and off (broadband)
    assert v["fft_centroid_mean"] == pytest.approx(f, rel=0.03)
    assert v["fft_dominant"] == pytest.approx(f, abs=2.0)
    edges = features.band_edges(sr=sr, n_bands=S.n_bands)
    containing = int(np.searchsorted(edges, f)) - 1
    assert int(np.argmax(_values(v, "fft_band_"))) == containing
    assert v["time_rms_mean"] == pytest.approx(amplitude / np.sqrt(2), rel=1e-3)
    assert v["time_rms_max"] == pytest.approx(amplitude / np.sqrt(2), rel=5e-3)  # partial periods per frame
    assert v["time_peak"] == pytest.approx(amplitude, rel=1e-3)
    assert v["time_crest"] == pytest.approx(np.sqrt(2), rel=1e-3)
    assert v["fft_flatness_mean"] < 1e-3
    assert v["time_silent_share"] == 0.0
    assert v["time_mod_rate"] == v["time_mod_strength"] == 0.0  # a steady tone is not modulated
    assert v["time_centroid"] == pytest.approx(2.0, abs=0.01)  # middle of the clip


def test_band_levels_are_dB_re_full_scale():
    quiet, loud = (features.compute(_sine(1000, amplitude=a), sr=SR, settings=S) for a in (0.1, 0.2))
    diff = _values(loud, "fft_band_") - _values(quiet, "fft_band_")
    above_floor = _values(quiet, "fft_band_") > -100
    assert above_floor.sum() > 10
    np.testing.assert_allclose(diff[above_floor], 20 * np.log10(2), atol=0.01)

    # a band narrower than a bin, on a tone centred on a bin, reads the tone's amplitude
    f = 5 * SR / S.n_fft  # ~54 Hz, where bands are ~5 Hz wide and bins 10.8 Hz apart
    low = features.compute(_sine(f, amplitude=0.1), sr=SR, settings=S)
    assert _values(low, "fft_band_").max() == pytest.approx(20 * np.log10(0.1), abs=1.5)


def test_white_noise_is_flat_and_a_tone_is_not(rng):
    noise = features.compute((0.1 * rng.standard_normal(SR)).astype(np.float32), sr=SR, settings=S)
    tone = features.compute(_sine(1000), sr=SR, settings=S)
    assert noise["fft_flatness_mean"] > 0.5
    assert tone["fft_flatness_mean"] < 1e-3
    assert noise["fft_centroid_mean"] == pytest.approx(SR / 4, rel=0.05)
    assert noise["fft_rolloff_mean"] == pytest.approx(0.85 * SR / 2, rel=0.05)
    assert noise["fft_contrast_mean"] < tone["fft_contrast_mean"]
    assert noise["fft_flux_mean"] > 10 * tone["fft_flux_mean"]


@pytest.mark.parametrize("period", [4, 10, 50])
def test_square_wave_zero_crossing_rate_is_two_over_period(period):
    v = features.compute(_square(period), sr=SR, settings=S)
    assert v["time_zcr_mean"] == pytest.approx(2 / period, rel=0.02)
    assert v["time_zcr_std"] < 0.01 * v["time_zcr_mean"] + 1e-3
    assert v["time_crest"] == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("rate", [12.0, 17.0])
@pytest.mark.parametrize("kind", ["noise", "clicks", "gated-tone"])
def test_pulse_train_envelope_periodicity_is_its_rate(rate, kind, rng):
    v = features.compute(_pulses(rate, kind, rng), sr=SR, settings=S)
    assert v["time_mod_rate"] == pytest.approx(rate, rel=0.03)
    assert 0.8 < v["time_mod_strength"] <= 1.0


def test_envelope_resolves_what_the_stft_hop_cannot(rng):
    # at hop 512 (43 frames/s) 17 Hz lies between lags 2 and 3: 21.5 or 14.4 Hz
    env, rate = features.envelope(_pulses(17.0, "noise", rng), sr=SR)
    assert rate > 4 * 40.0 and len(env) == 1 + (4 * SR - 4 * round(SR * 0.005)) // round(SR * 0.005)


def test_noise_has_no_strong_periodicity(rng):
    v = features.compute((0.1 * rng.standard_normal(4 * SR)).astype(np.float32), sr=SR, settings=S)
    assert v["time_mod_strength"] < 0.5


def test_a_burst_in_silence_sets_centroid_silent_share_and_envelope_shape(rng):
    y = np.zeros(4 * SR, dtype=np.float32)
    y[3 * SR : 3 * SR + SR // 10] = 0.5 * rng.standard_normal(SR // 10)
    v = features.compute(y, sr=SR, settings=S)
    assert v["time_centroid"] == pytest.approx(3.05, abs=0.01)
    assert v["time_silent_share"] == pytest.approx(1 - 8 / 169, abs=0.02)  # ~8 of 169 frames touch it
    assert v["time_env_skew"] > 2 and v["time_env_kurtosis"] > 5  # one rare loud event
    assert v["time_rms_max"] > 10 * v["time_rms_mean"]


# ------------------------------------------------------------- silence and short clips
@pytest.mark.parametrize("n", [S.n_fft, SR, 4 * SR])
def test_silence_gives_zero_rms_and_no_nan_anywhere(n):
    y = np.zeros(n, dtype=np.float32)
    v = features.compute(y, sr=SR, settings=S)
    assert np.isfinite(list(v.values())).all()
    assert v["time_rms_mean"] == v["time_rms_max"] == v["time_peak"] == v["time_crest"] == 0.0
    assert v["time_silent_share"] == 1.0
    assert v["fft_centroid_mean"] == v["fft_dominant"] == v["fft_flux_mean"] == 0.0
    assert np.isfinite(features.mfcc_sequence(y, S)).all()


@pytest.mark.parametrize("n", [1, 100, S.n_fft - 1])
@pytest.mark.parametrize("kind", ["noise", "silence", "dc"])
def test_short_clips_padded_by_prepare_are_finite(n, kind, rng):
    y = {"noise": rng.standard_normal(n), "silence": np.zeros(n), "dc": np.full(n, 0.3)}[kind].astype(np.float32)
    y, padded = features.prepare(y, S)
    assert padded and len(y) == S.n_fft
    v = features.compute(y, sr=SR, settings=S)
    assert list(v) == features.feature_names(S)
    assert np.isfinite(list(v.values())).all()


def test_short_clip_is_padded_to_one_frame():
    y, padded = features.prepare(np.ones(100, dtype=np.float32), S)
    assert padded and len(y) == S.n_fft and y[:100].sum() == 100
    y, padded = features.prepare(np.ones(S.n_fft, dtype=np.float32), S)
    assert not padded


def test_two_frame_clip_has_zero_deltas(rng):
    # hop == n_fft: a one-frame clip has 1 + n // hop = 2 STFT frames, too few for any delta
    settings = FeatureSettings(n_fft=512, hop_length=512)
    v = features.compute(rng.standard_normal(512).astype(np.float32), sr=SR, settings=settings)
    assert np.isfinite(list(v.values())).all()
    assert not _values(v, "mfcc_delta").any()


# -------------------------------------------------------------- librosa as the reference
def test_spectrogram_and_mfcc_frames_equal_librosa(rng):
    y = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    Sx = features.spectrogram(y, S)
    ref = np.abs(librosa.stft(y, n_fft=S.n_fft, hop_length=S.hop_length))
    assert Sx.shape == ref.shape == (1 + S.n_fft // 2, 1 + len(y) // S.hop_length)
    np.testing.assert_allclose(Sx, ref, atol=1e-4)
    M = features.mfcc_frames(Sx, sr=SR, settings=S)
    ref_M = librosa.feature.mfcc(y=y, sr=SR, n_fft=S.n_fft, hop_length=S.hop_length, n_mels=S.n_mels,
                                 n_mfcc=S.n_mfcc)
    assert M.dtype == np.float32
    np.testing.assert_allclose(M, ref_M, atol=1e-3)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("width", [3, 5, 9])
def test_delta_equals_librosa(order, width, rng):
    M = rng.standard_normal((13, 20)).astype(np.float32)
    np.testing.assert_allclose(features.delta(M, order=order, width=width),
                               librosa.feature.delta(M, order=order, width=width), atol=1e-5)


def test_delta_rejects_widths_librosa_rejects():
    with pytest.raises(ValueError, match="width"):
        features.delta(np.zeros((2, 5)), width=7)


def test_short_clip_deltas_use_the_widest_window_that_fits(rng):
    y = rng.standard_normal(S.n_fft).astype(np.float32)  # 5 frames: width 5, not 9
    M = features.mfcc_frames(features.spectrogram(y, S), sr=SR, settings=S)
    assert M.shape[1] == 5
    v = dict(zip([n for n in features.feature_names(S) if n.startswith("mfcc_")], features.mfcc_features(M)))
    np.testing.assert_allclose(_values(v, "mfcc_delta_std_"), librosa.feature.delta(M, width=5).std(axis=1),
                               rtol=1e-4, atol=1e-5)


def test_spectral_and_frame_statistics_equal_librosa(rng):
    y = (0.1 * rng.standard_normal(2 * SR)).astype(np.float32)
    v = features.compute(y, sr=SR, settings=S)
    Sx = np.abs(librosa.stft(y, n_fft=S.n_fft, hop_length=S.hop_length))
    kw = {"sr": SR, "n_fft": S.n_fft}
    assert v["fft_centroid_mean"] == pytest.approx(librosa.feature.spectral_centroid(S=Sx, **kw).mean(), rel=1e-4)
    assert v["fft_bandwidth_mean"] == pytest.approx(librosa.feature.spectral_bandwidth(S=Sx, **kw).mean(), rel=1e-4)
    assert v["fft_rolloff_mean"] == pytest.approx(librosa.feature.spectral_rolloff(S=Sx, **kw).mean(), rel=1e-3)
    assert v["fft_flatness_mean"] == pytest.approx(librosa.feature.spectral_flatness(S=Sx).mean(), rel=1e-4)
    frames = {"frame_length": S.n_fft, "hop_length": S.hop_length, "center": False}
    assert v["time_rms_mean"] == pytest.approx(librosa.feature.rms(y=y, **frames).mean(), rel=1e-5)
    assert v["time_zcr_mean"] == pytest.approx(librosa.feature.zero_crossing_rate(y, **frames).mean(), rel=1e-5)


# ------------------------------------------------- compiled kernels against plain NumPy
def test_spectral_frame_kernel_equals_numpy(rng):
    Sx = np.abs(rng.standard_normal((1025, 40))).astype(np.float32) ** 3
    Sx[:, 3] = 0  # a silent frame
    Sx[:700, 5] = 0  # all energy at the top
    Sx[1:, 7] = 0  # all of it in the first bin
    freqs = np.arange(1025) * (SR / S.n_fft)
    moments, rolloff_bin, flux = _kernels.spectral_frames(np.ascontiguousarray(Sx.T), freqs, 0.85)
    S64 = Sx.astype(np.float64)
    np.testing.assert_allclose(moments, np.stack([S64.sum(0), freqs @ S64, freqs**2 @ S64, (S64**2).sum(0)], 1),
                               rtol=1e-9)
    full = np.argmax(np.cumsum(S64, axis=0) >= 0.85 * S64.sum(axis=0), axis=0)
    np.testing.assert_array_equal(rolloff_bin, full)
    norms = np.linalg.norm(S64, axis=0)
    unit = S64 / np.where(norms > 0, norms, 1.0)
    np.testing.assert_allclose(flux, np.linalg.norm(np.diff(unit, axis=1), axis=0), rtol=1e-6, atol=1e-12)
    assert flux[2] == pytest.approx(1.0) and flux[3] == pytest.approx(1.0)  # into and out of silence


@pytest.mark.parametrize(("sr", "n_fft"), [(22050, 2048), (16000, 512), (8000, 256), (44100, 4096)])
def test_spectral_contrast_equals_sorting_every_band(sr, n_fft, rng):
    Sx = np.abs(rng.standard_normal((1 + n_fft // 2, 30))).astype(np.float32)
    Sx[:, 4] = 0  # silence: the floor on both sides, contrast 0
    got = features.spectral_contrast(Sx, sr=sr, n_fft=n_fft)
    edges = [0.0] + [200.0 * 2.0**i for i in range(7)]
    bins = sorted({min(int(np.ceil(e / (sr / n_fft))), Sx.shape[0]) for e in edges if e < sr / 2} | {Sx.shape[0]})
    expected = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        k = max(1, round(0.02 * (hi - lo)))
        ordered = np.sort(Sx[lo:hi], axis=0)
        top, bottom = ordered[-k:].mean(axis=0), ordered[:k].mean(axis=0)
        expected.append(20 * np.log10(np.maximum(top, 1e-10) / np.maximum(bottom, 1e-10)))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    assert (got[:, 4] == 0).all()


def test_shape_statistics_equal_scipy(rng):
    import scipy.stats

    x = rng.gamma(2.0, size=300)
    mean, std, top, skew, kurtosis = _kernels.shape_statistics(x)
    assert (mean, std, top) == pytest.approx((x.mean(), x.std(), x.max()), rel=1e-12)
    assert skew == pytest.approx(scipy.stats.skew(x), rel=1e-9)
    assert kurtosis == pytest.approx(scipy.stats.kurtosis(x), rel=1e-9)
    assert _kernels.shape_statistics(np.full(50, 0.3))[3:] == (0.0, 0.0)  # flat: no shape, not rounding noise


def test_log_sums_kernel_equals_numpy(rng):
    A = np.abs(rng.standard_normal((20, 1025))).astype(np.float32) * 100
    A[3] = 0  # silence: every bin at the floor
    A[5, :7] = 1e30
    floor = np.float32(1e-5)
    expected = np.log(np.maximum(A.astype(np.float64), floor)).sum(axis=1)
    np.testing.assert_allclose(_kernels.log_sums(A, int(floor.view(np.int32))), expected, rtol=1e-12)


@pytest.mark.parametrize(("length", "hop"), [(2048, 512), (2048, 700), (512, 512), (100, 1)])
def test_time_kernels_equal_numpy(length, hop, rng):
    y = (0.3 * rng.standard_normal(5000)).astype(np.float32)
    y[1000:3000] = 0  # frames of exact silence
    energy, changes = _kernels.weighted_power(y, np.ones(length), hop), _kernels.frame_crossings(y, length, hop)
    starts = np.arange(1 + (len(y) - length) // hop) * hop
    y64 = y.astype(np.float64)
    np.testing.assert_allclose(energy, [np.sum(y64[s : s + length] ** 2) for s in starts], rtol=1e-12)
    negative = y < 0
    np.testing.assert_array_equal(changes, [np.sum(negative[s + 1 : s + length] != negative[s : s + length - 1])
                                            for s in starts])
    assert (energy[(starts >= 1000) & (starts + length <= 3000)] == 0).all()
    total, weighted = _kernels.clip_energy(y)
    assert total == pytest.approx(np.sum(y64**2), rel=1e-12)
    assert weighted == pytest.approx(np.sum(np.arange(len(y)) * y64**2), rel=1e-12)
    weights = rng.random(length)
    np.testing.assert_allclose(_kernels.weighted_power(y, weights, hop),
                               [np.dot(weights, y64[s : s + length] ** 2) for s in starts], rtol=1e-12)


@pytest.mark.parametrize("n_frames", [1, 2, 5, 9, 173])
def test_mfcc_statistics_equal_numpy_and_librosa_deltas(n_frames, rng):
    M = rng.standard_normal((13, n_frames)).astype(np.float32)
    values = features.mfcc_features(M).reshape(8, 13)
    np.testing.assert_allclose(values[:4], [M.mean(1), M.std(1), M.min(1), M.max(1)], rtol=1e-5, atol=1e-6)
    width = min(9, n_frames if n_frames % 2 else n_frames - 1)
    if width >= 3:
        d1, d2 = (librosa.feature.delta(M, width=width, order=o) for o in (1, 2))
        expected = [d1.mean(1), d1.std(1), d2.mean(1), d2.std(1)]
    else:
        expected = np.zeros((4, 13))
    np.testing.assert_allclose(values[4:], expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------ sequences
@pytest.mark.parametrize("seconds", [0.5, 4.0, 6.0])
@pytest.mark.parametrize("sequence_frames", [50, 173])
def test_mfcc_sequence_has_fixed_shape_and_zero_padding(seconds, sequence_frames, rng):
    settings = FeatureSettings(sequence_frames=sequence_frames, n_mfcc=20)
    y = (0.1 * rng.standard_normal(int(SR * seconds))).astype(np.float32)
    M = features.mfcc_frames(features.spectrogram(y, settings), sr=SR, settings=settings)
    for seq in (features.mfcc_sequence(y, settings, sr=SR), features.mfcc_sequence(M, settings)):
        assert seq.shape == (20, sequence_frames) and seq.dtype == np.float32
        keep = min(M.shape[1], sequence_frames)
        np.testing.assert_array_equal(seq[:, :keep], M[:, :keep])
        assert not seq[:, keep:].any()


def test_mfcc_sequence_of_a_default_four_second_clip_fills_every_frame(rng):
    y = (0.1 * rng.standard_normal(4 * SR)).astype(np.float32)
    seq = features.mfcc_sequence(y, S)
    assert seq.shape == (S.n_mfcc, S.sequence_frames) and (seq[0] != 0).all()


def test_extract_gives_compute_and_the_frames_of_the_same_stft(rng):
    y = (0.1 * rng.standard_normal(4 * SR)).astype(np.float32)
    values, M = features.extract(y, sr=SR, settings=S)
    assert values.shape == (len(features.feature_names(S)),)
    by_name = dict(zip(features.feature_names(S), values.tolist()))
    assert by_name == features.compute(y, sr=SR, settings=S)
    np.testing.assert_array_equal(M, features.mfcc_frames(features.spectrogram(y, S), sr=SR, settings=S))
    np.testing.assert_allclose(_values(by_name, "mfcc_mean_"), M.mean(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(features.mfcc_sequence(M, S), features.mfcc_sequence(y, S))


def test_mfcc_sequence_rejects_other_shapes():
    with pytest.raises(ValueError, match="shape"):
        features.mfcc_sequence(np.zeros((2, 3, 4)), S)


# ----------------------------------------------------------------------------- purity
def test_compute_is_pure_and_deterministic(rng):
    y = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    before = y.copy()
    first = features.compute(y, sr=SR, settings=S)
    assert first == features.compute(y, sr=SR, settings=S)
    np.testing.assert_array_equal(y, before)


def test_features_separate_low_from_high_tones():
    low, high, low_again = (features.compute(_sine(f), sr=SR, settings=S) for f in (200, 4000, 210))
    for prefix in ("fft", "mfcc"):  # the time set sees steady sines of any pitch alike, but for the zcr
        a, b, c = (_values(d, prefix) for d in (low, low_again, high))
        assert np.linalg.norm(a - b) < np.linalg.norm(a - c) / 3
    assert high["time_zcr_mean"] > 10 * low["time_zcr_mean"]


# ------------------------------------------------------------------------- pcen_*
def test_pcen_columns_equal_librosa_pcen_of_librosa_mel(rng):
    import librosa

    y = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    S_ = features.spectrogram(y, S)
    mel = features.mel_power(S_, sr=SR, settings=S)
    ref_mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=S.n_fft, hop_length=S.hop_length, n_mels=S.n_mels)
    np.testing.assert_allclose(mel.T, ref_mel, rtol=1e-3, atol=1e-6 * ref_mel.max())
    pooled = ref_mel.reshape(S.pcen_bands, -1, ref_mel.shape[1]).sum(axis=1)  # adjacent mel bands summed
    P = librosa.pcen(pooled * 2.0**31, sr=SR, hop_length=S.hop_length)
    v = dict(zip(features.feature_names(S), features.extract(y, sr=SR, settings=S)[0]))
    for stat, ref in (("mean", P.mean(axis=1)), ("std", P.std(axis=1)), ("max", P.max(axis=1)),
                      ("p10", np.percentile(P, 10, axis=1)), ("p90", np.percentile(P, 90, axis=1))):
        np.testing.assert_allclose(_values(v, f"pcen_{stat}_"), ref, rtol=2e-3, atol=2e-3)


def test_pcen_flattens_a_steady_background_and_keeps_an_onset(rng):
    """A steady hum reads near-constant after PCEN; a burst over it stands out in its bands."""
    t = np.arange(4 * SR) / SR
    hum = 0.3 * np.sin(2 * np.pi * 120 * t)
    burst = np.where((t > 2.0) & (t < 2.3), 0.3 * np.sin(2 * np.pi * 3000 * t), 0.0)
    v = dict(zip(features.feature_names(S), features.extract((hum + burst).astype(np.float32), sr=SR, settings=S)[0]))
    freqs = librosa_mel_centres()
    hum_band, burst_band = int(np.argmin(abs(freqs - 120))), int(np.argmin(abs(freqs - 3000)))
    p10, p90, peak = (_values(v, f"pcen_{s}_") for s in ("p10", "p90", "max"))
    assert p90[hum_band] - p10[hum_band] < 0.25 * peak[hum_band]  # the hum: about constant
    assert peak[burst_band] > 5 * p90[burst_band]  # the burst: rare and strong


def librosa_mel_centres():
    import librosa

    centres = librosa.mel_frequencies(n_mels=S.n_mels + 2, fmax=SR / 2)[1:-1]
    return centres.reshape(S.pcen_bands, -1).mean(axis=1)


def test_pcen_of_silence_is_zero():
    v = dict(zip(features.feature_names(S), features.extract(np.zeros(SR, np.float32), sr=SR, settings=S)[0]))
    assert not _values(v, "pcen_").any()
