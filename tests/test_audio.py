import numpy as np
import pytest
import soundfile as sf

from urbansound.audio import decode
from urbansound.exceptions import DecodeError

from conftest import REALDATA


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("container", ["WAV", "WAVEX"])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("native_sr", [8000, 22050, 44100, 48000, 96000, 192000])
def test_formats_decode_to_mono_float32_at_the_target_rate(tmp_path, rng, subtype, container, channels, native_sr):
    seconds = 0.25
    data = 0.5 * rng.standard_normal((int(native_sr * seconds), channels)).clip(-1, 1)
    path = tmp_path / "clip.wav"
    sf.write(path, data, native_sr, subtype=subtype, format=container)
    assert sf.info(path).format == container
    y = decode(path, sr=22050)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - int(22050 * seconds)) <= 1
    assert 0.05 < np.sqrt(np.mean(y**2)) < 0.6  # the signal survived (mean of channels of noise)
    assert np.isfinite(y).all()


def test_stereo_is_the_channel_mean(tmp_path):
    t = np.arange(22050) / 22050
    left, right = np.sin(2 * np.pi * 440 * t), np.zeros_like(t)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 22050, subtype="FLOAT")
    np.testing.assert_allclose(decode(tmp_path / "s.wav", sr=22050), left / 2, atol=1e-6)


@pytest.mark.parametrize("content, reason", [
    (b"", "not a readable audio file"),
    (b"this is a text file, not a wav\n" * 10, "not a readable audio file"),
])
def test_unreadable_files_raise_decode_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason) as err:
        decode(path, sr=22050)
    assert err.value.path == str(path) and str(path) in str(err.value)


def test_missing_and_frameless_files(tmp_path):
    with pytest.raises(DecodeError, match="file not found"):
        decode(tmp_path / "absent.wav", sr=22050)
    sf.write(tmp_path / "empty.wav", np.zeros((0, 1)), 22050, subtype="PCM_16")
    with pytest.raises(DecodeError, match="no audio frames"):
        decode(tmp_path / "empty.wav", sr=22050)


def test_truncated_file_decodes_what_is_there_or_fails_clearly(tmp_path, rng):
    sf.write(tmp_path / "full.wav", 0.1 * rng.standard_normal(22050), 22050, subtype="PCM_16")
    blob = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "header.wav").write_bytes(blob[:20])
    y = decode(tmp_path / "cut.wav", sr=22050)
    assert 0 < len(y) < 22050
    with pytest.raises(DecodeError):
        decode(tmp_path / "header.wav", sr=22050)


def test_nan_samples_are_refused(tmp_path):
    data = np.zeros(1000, dtype=np.float32)
    data[10] = np.nan
    sf.write(tmp_path / "nan.wav", data, 22050, subtype="FLOAT")
    with pytest.raises(DecodeError, match="NaN"):
        decode(tmp_path / "nan.wav", sr=22050)


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not here")
def test_every_real_clip_decodes():
    clips = sorted(REALDATA.rglob("*.wav"))
    assert len(clips) == 23
    for path in clips:
        info = sf.info(path)
        y = decode(path, sr=22050)
        assert abs(len(y) - round(info.frames * 22050 / info.samplerate)) <= 1, path
        assert np.isfinite(y).all() and np.abs(y).max() > 0, path
