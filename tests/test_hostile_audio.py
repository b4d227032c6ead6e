"""Hostile audio (issue 25): every clip decodes to finite mono float32 at the target rate, or
is refused with a one-line DecodeError naming the file and the reason; featurize records a
refused clip in ``_failures.csv`` and loses no good one.

Each case is a small file written here. Decisions (see the table in ``CASES``):
- decoded: silence, one sample, 8 and 32 channels, 8 and 192 kHz, 8-bit unsigned, 64-bit
  float, A-law, mu-law, FLAC/OGG/MP3 renamed .wav (libsndfile reads by content, not by
  name: the audio is good), a lying RIFF size (libsndfile goes by the chunks), huge LIST
  and bext chunks before ``data``, RF64, and a file truncated inside its data (the frames
  that are there: libsndfile trims the header's count to the bytes present);
- refused: zero bytes, a header without frames, NaN or infinite samples (refused, as
  decode() always has: never replaced by zeros), an ID3 tag without MP3 frames, a
  directory, a FIFO, a symlink loop and a file this user cannot read.
Path-level cases run with a deadline: a FIFO read blocking would otherwise hang the test.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from urbansound.audio import decode
from urbansound.exceptions import DecodeError

SR = 22050
DEADLINE_S = 20.0  # generous: the machine is shared; a hang is forever
BIG_CHUNK = 20 * 2**20  # a 20 MB LIST or bext chunk before the audio


def _sine(rate: int, seconds: float = 0.5, channels: int = 1, f: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    y = 0.5 * np.sin(2 * np.pi * f * t)
    return np.repeat(y[:, None], channels, axis=1) if channels > 1 else y


def _write(path: Path, data: np.ndarray, rate: int = SR, subtype: str = "PCM_16", fmt: str | None = None) -> Path:
    sf.write(path, data, rate, subtype=subtype, format=fmt)
    return path


def _pcm16_wav(seconds: float = 0.5) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, _sine(SR, seconds), SR, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _with_chunk_before_data(blob: bytes, cid: bytes, size: int) -> bytes:
    """``blob`` (a canonical 44-byte-header WAV) with a ``size``-byte chunk between fmt and data."""
    assert blob[36:40] == b"data", "a canonical header: RIFF, fmt (16 bytes), data"
    body = (b"INFO" + b"\0" * (size - 4)) if cid == b"LIST" else b"\0" * size
    out = bytearray(blob[:36] + cid + struct.pack("<I", size) + body + blob[36:])
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


def _riff_size(blob: bytes, value: int) -> bytes:
    out = bytearray(blob)
    struct.pack_into("<I", out, 4, value)
    return bytes(out)


def _nan_or_inf(value: float) -> Callable[[Path], Path]:
    def make(p: Path) -> Path:
        y = _sine(SR).astype(np.float32)
        y[100] = value
        return _write(p, y, subtype="FLOAT")
    return make


def _bytes(content: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(p: Path) -> Path:
        p.write_bytes(content() if callable(content) else content)
        return p
    return make


def _symlink_loop(p: Path) -> Path:
    other = p.with_name("other.wav")
    p.symlink_to(other)
    other.symlink_to(p)
    return p


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


def _directory(p: Path) -> Path:
    p.mkdir()
    (p / "inside.wav").write_bytes(_pcm16_wav())
    return p


ID3_ONLY = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\0" * 10 + b"\xff\xfb\x90\x00" + b"\0" * 30  # a tag, one header

# case -> (make the file at a path, expected: ("decodes", seconds or None) or ("refused", reason regex))
CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, object]]] = {
    "zero-byte": (_bytes(b""), ("refused", r"not a readable audio file")),
    "header-only": (_bytes(lambda: _pcm16_wav()[:44]), ("refused", r"no audio frames")),
    "one-sample": (lambda p: _write(p, np.array([0.25])), ("decodes", 1 / SR)),
    "nan-float": (_nan_or_inf(np.nan), ("refused", r"NaN or infinity")),
    "inf-float": (_nan_or_inf(np.inf), ("refused", r"NaN or infinity")),
    "digital-silence": (lambda p: _write(p, np.zeros(SR // 2)), ("decodes", 0.5)),
    "8-channels": (lambda p: _write(p, _sine(SR, channels=8)), ("decodes", 0.5)),
    "32-channels": (lambda p: _write(p, _sine(SR, channels=32)), ("decodes", 0.5)),
    "8-kHz": (lambda p: _write(p, _sine(8000), 8000), ("decodes", 0.5)),
    "192-kHz": (lambda p: _write(p, _sine(192000), 192000, "PCM_24"), ("decodes", 0.5)),
    "8-bit-unsigned": (lambda p: _write(p, _sine(SR), subtype="PCM_U8"), ("decodes", 0.5)),
    "64-bit-float": (lambda p: _write(p, _sine(SR), subtype="DOUBLE"), ("decodes", 0.5)),
    "a-law": (lambda p: _write(p, _sine(SR), subtype="ALAW"), ("decodes", 0.5)),
    "mu-law": (lambda p: _write(p, _sine(SR), subtype="ULAW"), ("decodes", 0.5)),
    "flac-named-wav": (lambda p: _write(p, _sine(SR), fmt="FLAC"), ("decodes", 0.5)),
    "ogg-named-wav": (lambda p: _write(p, _sine(SR), subtype="VORBIS", fmt="OGG"), ("decodes", None)),
    "mp3-named-wav": (lambda p: _write(p, _sine(SR), subtype="MPEG_LAYER_III", fmt="MP3"), ("decodes", None)),
    "id3-tag-without-audio": (_bytes(ID3_ONLY), ("refused", r"not a readable audio file")),
    "truncated-in-data": (_bytes(lambda: _pcm16_wav()[: 44 + 2 * 5000]), ("decodes", 5000 / SR)),
    "riff-size-too-large": (_bytes(lambda: _riff_size(_pcm16_wav(), 0xFFFFFFF0)), ("decodes", 0.5)),
    "riff-size-too-small": (_bytes(lambda: _riff_size(_pcm16_wav(), 100)), ("decodes", 0.5)),
    "20MB-LIST-chunk": (_bytes(lambda: _with_chunk_before_data(_pcm16_wav(), b"LIST", BIG_CHUNK)), ("decodes", 0.5)),
    "20MB-bext-chunk": (_bytes(lambda: _with_chunk_before_data(_pcm16_wav(), b"bext", BIG_CHUNK)), ("decodes", 0.5)),
    "rf64": (lambda p: _write(p, _sine(SR), fmt="RF64"), ("decodes", 0.5)),
    "directory": (_directory, ("refused", r"is a directory")),
    "fifo": (_fifo, ("refused", r"is a FIFO")),
    "symlink-loop": (_symlink_loop, ("refused", r"symlink loop")),
}
# a lossy codec's length moves by its frame size and encoder delay
LOSSY = {"ogg-named-wav", "mp3-named-wav"}


def _release(path: Path) -> None:
    """Unblock a reader stuck opening a FIFO (a failed test must not leave a thread hung)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def within_deadline(fn: Callable[[], object], path: Path) -> object:
    """``fn()``'s result or exception, failing the test if it does not return in time."""
    out: list = []

    def run() -> None:
        try:
            out.append(("ok", fn()))
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out.append(("raised", e))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLINE_S)
    if thread.is_alive():
        _release(path)
        thread.join(5)
        pytest.fail(f"{path.name}: no answer within {DEADLINE_S:g} s (blocked reading it?)")
    kind, value = out[0]
    if kind == "raised":
        raise value
    return value


def _check_refusal(err: DecodeError, path: Path, reason: str) -> None:
    message = str(err)
    assert err.path == str(path) and message.startswith(str(path)), message
    assert "\n" not in message and "\n" not in err.reason, f"not one line: {message!r}"
    assert re.search(reason, err.reason), f"reason {err.reason!r} does not match {reason!r}"
    assert "object at 0x" not in message and "Error opening 3" not in message, message


def _check_audio(y: np.ndarray, seconds: float | None, case: str) -> None:
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.ndim == 1 and len(y) >= 1, case
    assert np.isfinite(y).all(), case
    if seconds is not None:
        assert abs(len(y) - round(seconds * SR)) <= 2, (case, len(y))
    else:
        assert 0.3 * SR < len(y) < 0.8 * SR, (case, len(y))


@pytest.mark.parametrize("case", sorted(CASES))
def test_decode_returns_finite_mono_at_the_target_rate_or_refuses_in_one_line(tmp_path, case):
    make, (outcome, expected) = CASES[case]
    path = make(tmp_path / "x.wav")
    if outcome == "refused":
        with pytest.raises(DecodeError) as err:
            within_deadline(lambda: decode(path, sr=SR), path)
        _check_refusal(err.value, path, expected)
        return
    y = within_deadline(lambda: decode(path, sr=SR), path)
    _check_audio(y, expected, case)
    if case != "digital-silence" and case != "one-sample":  # the 440 Hz tone survived (the mean of equal channels)
        spectrum = np.abs(np.fft.rfft(y[: SR // 4] * np.hanning(min(len(y), SR // 4))))
        peak = np.argmax(spectrum) * SR / (2 * (len(spectrum) - 1))
        assert abs(peak - 440) < 10, (case, peak)
        assert 0.2 < np.abs(y).max() < 1.2, (case, np.abs(y).max())


@pytest.mark.parametrize("case", sorted(c for c, (_, (outcome, _)) in CASES.items()
                                        if outcome == "decodes" or c in ("zero-byte", "header-only", "nan-float")))
def test_decode_from_memory_agrees_with_decode_from_the_path(tmp_path, case):
    """featurize decodes the bytes it read (a BytesIO named after the file): the same outcome."""
    make, (outcome, expected) = CASES[case]
    path = make(tmp_path / "x.wav")
    buf = io.BytesIO(path.read_bytes())
    buf.name = str(path)
    if outcome == "refused":
        with pytest.raises(DecodeError) as err:
            decode(buf, sr=SR)
        _check_refusal(err.value, path, expected)
    else:
        np.testing.assert_array_equal(decode(buf, sr=SR), decode(path, sr=SR))


def test_silence_and_channels_decode_to_the_expected_values(tmp_path):
    assert not decode(CASES["digital-silence"][0](tmp_path / "s.wav"), sr=SR).any()
    data = np.zeros((SR // 2, 32))
    data[:, 5] = _sine(SR)  # one channel of 32: the mono mix is it over 32
    np.testing.assert_allclose(decode(_write(tmp_path / "c.wav", data, subtype="FLOAT"), sr=SR),
                               _sine(SR) / 32, atol=1e-6)


def test_huge_chunks_decode_like_the_file_without_them(tmp_path):
    clean = decode(_bytes(_pcm16_wav())(tmp_path / "clean.wav"), sr=SR)
    for case in ("20MB-LIST-chunk", "20MB-bext-chunk"):
        np.testing.assert_array_equal(decode(CASES[case][0](tmp_path / f"{case}.wav"), sr=SR), clean)


def test_a_huge_chunk_is_not_held_in_memory_by_featurize(tmp_path):
    """A 20 MB LIST chunk costs featurize 1 MiB blocks to hash it, not 20 MB of memory (a
    batch held every clip's bytes at once), and the clip is featurized like the clean one."""
    import pyarrow.parquet as pq
    import xxhash

    import urbansound.featurize as fz
    from urbansound.features import feature_names
    from urbansound.settings import FeatureSettings

    big = CASES["20MB-LIST-chunk"][0](tmp_path / "big.wav")
    clean = _bytes(_pcm16_wav())(tmp_path / "clean.wav")
    tracemalloc.start()
    try:
        read = fz._read_bytes(str(big))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not isinstance(read, (bytes, str)), read
    assert peak < 4 * 2**20, f"{peak / 2**20:.1f} MiB held to read a file with a 20 MB chunk"
    settings = FeatureSettings()
    records = [{"clip_id": name, "path": str(p), "split": "train", "label": "siren", "fold": None, "recording": None}
               for name, p in (("big", big), ("clean", clean))]
    result = fz.featurize_batch(records, settings=settings, out_dir=str(tmp_path / "out"))
    assert result.clips == 2 and not result.failures, result.failures
    table = pq.read_table(result.part).to_pandas().set_index("clip_id")
    names = feature_names(settings)
    np.testing.assert_array_equal(table.loc["big", names].to_numpy(), table.loc["clean", names].to_numpy())
    # the key is the content's: the same as when the bytes are held (a re-run finds the part)
    assert read.digest == xxhash.xxh3_128_digest(big.read_bytes())


@pytest.mark.parametrize("case", ["directory", "fifo", "symlink-loop"])
def test_featurize_reads_no_path_that_is_not_a_file(tmp_path, case):
    """A batch holding a directory, FIFO or symlink loop named x.wav ends (a FIFO blocked it
    for ever) with that clip a failure saying what it is, and the others featurized."""
    import urbansound.featurize as fz
    from urbansound.settings import FeatureSettings

    make, (_, reason) = CASES[case]
    bad = make(tmp_path / "bad.wav")
    good = _bytes(_pcm16_wav())(tmp_path / "good.wav")
    records = [{"clip_id": name, "path": str(p), "split": "train", "label": "siren", "fold": None, "recording": None}
               for name, p in (("bad", bad), ("good", good))]
    result = within_deadline(lambda: fz.featurize_batch(records, settings=FeatureSettings(),
                                                        out_dir=str(tmp_path / "out")), bad)
    assert result.clips == 1 and [f["clip_id"] for f in result.failures] == ["bad"]
    assert re.search(reason, result.failures[0]["error"]) and "\n" not in result.failures[0]["error"]


# --------------------------------------------------------------- a file this user cannot read
_AS_NOBODY = r'''
import json, os, sys
from urbansound.audio import decode  # everything imported before the privileges go
from urbansound.exceptions import DecodeError
import urbansound.featurize as fz
os.setgroups([]); os.setgid(65534); os.setuid(65534)
path = sys.argv[1]
out = {"readable": os.access(path, os.R_OK)}
try:
    decode(path, sr=22050)
    out["decode"] = "decoded"
except DecodeError as e:
    out["decode"] = str(e)
out["featurize"] = fz._read_bytes(path) if not out["readable"] else "readable"
print(json.dumps(out))
'''


@pytest.mark.integration  # a subprocess
def test_a_file_the_user_cannot_read_is_refused_as_such(tmp_path):
    # root reads a chmod-000 file anyway: the check runs in a child that drops to nobody
    folder = Path(tempfile.mkdtemp(prefix="urbansound-unreadable-"))  # tmp_path's parents are root-only
    try:
        folder.chmod(0o755)
        path = _write(folder / "x.wav", _sine(SR))
        path.chmod(0o000)
        if os.geteuid() != 0:
            with pytest.raises(DecodeError) as err:
                decode(path, sr=SR)
            _check_refusal(err.value, path, r"permission denied")
            return
        done = subprocess.run([sys.executable, "-c", _AS_NOBODY, str(path)], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        if done.returncode != 0 and "PermissionError" in done.stderr and "setuid" in done.stderr:
            pytest.skip("cannot drop root privileges here (os.setuid refused): an unreadable file cannot be made")
        assert done.returncode == 0, done.stderr[-2000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        if out["readable"]:
            pytest.skip("the file stays readable after dropping to nobody (capabilities kept?)")
        assert out["decode"].startswith(f"{path}: permission denied") and "\n" not in out["decode"], out
        assert out["featurize"].startswith("permission denied"), out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------- the featurize stage, on a cluster
FEATURIZED = ["8-channels", "32-channels", "192-kHz", "mp3-named-wav", "20MB-LIST-chunk", "one-sample"]
FAILED = ["zero-byte", "header-only", "nan-float", "directory", "fifo", "symlink-loop"]


def test_hostile_clips_are_failures_with_reasons_and_no_good_clip_is_lost(av_dataset, client, tmp_path):
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_dataset, read_failures, read_features
    from urbansound.settings import FeatureSettings

    root = shutil.copytree(av_dataset, tmp_path / "data")
    paths = sorted((root / "Train").glob("*.wav"))[: len(FEATURIZED) + len(FAILED)]
    hostile = dict(zip(paths, FEATURIZED + FAILED))
    not_files = {"directory", "fifo", "symlink-loop"}
    for path, case in hostile.items():
        if case not in not_files:
            path.unlink()
            CASES[case][0](path)
    clips = read_dataset(root).clips
    for path, case in hostile.items():  # replaced once listed: read_dataset leaves out paths that are not files
        if case in not_files:
            path.unlink()
            CASES[case][0](path)
    settings = FeatureSettings(batch_size=8)
    out = tmp_path / "features"
    fifo = next(p for p, c in hostile.items() if c == "fifo")

    summary = within_deadline(lambda: featurize_dataset(clips, settings, out, client), fifo)

    table, failures = read_features(out), read_failures(out)
    case_of = {p.stem: c for p, c in hostile.items()}
    assert table.clip_id.is_unique and failures.clip_id.is_unique
    assert set(table.clip_id) == set(clips.clip_id) - {p.stem for p, c in hostile.items() if c in FAILED}
    assert sorted(case_of[c] for c in failures.clip_id) == sorted(FAILED)
    assert summary.clips == len(table) and summary.failed == len(failures) == len(FAILED)
    for row in failures.itertuples():
        _, (_, reason) = CASES[case_of[row.clip_id]]
        assert row.path == clips.set_index("clip_id").path[row.clip_id]
        assert re.search(reason, row.error) and "\n" not in row.error, (case_of[row.clip_id], row.error)
