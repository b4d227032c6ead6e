"""Reliability: hostile input, bad clips, lost workers, killed runs, guarded outputs, loopback.

Every test states the promise it holds the library to and fails when that promise breaks.
Processes started here run in their own sessions (tests/processes.py) and are checked gone.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from hypothesis import HealthCheck, Phase, event, example, given, note, settings
from hypothesis import strategies as st
from processes import BIN, Processes, free_port, wait_http

ROOT = Path(__file__).resolve().parents[1]
SR = 22050




# --------------------------------------------------------------------------------------
# 1. decode() on hostile bytes: a finite float32 1-D array, or DecodeError; nothing else.
#
# Each blob is decoded in a separate, long-lived process so that a hang can be killed, a
# crash (segfault in C code) is seen instead of taking pytest down, and an absurd memory
# request fails there (RLIMIT_AS: its own size after imports + MEMORY_HEADROOM) instead
# of exhausting the machine. A request beyond the headroom shows up as MemoryError or a
# crash: both are findings, for inputs of at most ~140 KB.
# --------------------------------------------------------------------------------------

DEADLINE_S = 2.0  # a decode slower than this fails the example
HANG_S = 5.0  # no answer by then: hung (or far too slow); the process is killed and restarted
MEMORY_HEADROOM = 256 << 20  # address space for decoding one file of at most ~140 KB: ~2000x its size

_DECODE_SERVER = r'''
import io, json, os, resource, struct, sys, time
import numpy as np
from urbansound.audio import decode
from urbansound.exceptions import DecodeError

proto = os.fdopen(os.dup(1), "w")  # the answers; anything a library prints goes to stderr
os.dup2(2, 1)

def vm_size():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

limit = vm_size() + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sr = int(sys.argv[2])

def finite(y):  # chunked: the check itself must not need memory
    return all(bool(np.isfinite(y[i:i + 1 << 20]).all()) for i in range(0, y.size, 1 << 20))

proto.write(json.dumps({"ready": True}) + "\n"); proto.flush()
stdin = sys.stdin.buffer
while True:
    head = stdin.read(4)
    if len(head) < 4:
        break
    blob = stdin.read(struct.unpack("<I", head)[0])
    start = time.perf_counter()
    try:
        y = decode(io.BytesIO(blob), sr=sr)
    except DecodeError as e:
        r = {"kind": "DecodeError", "reason": e.reason}
    except BaseException as e:
        r = {"kind": "other", "error": f"{type(e).__name__}: {e}"[:400]}
    else:
        r = {"kind": "array", "type": type(y).__name__}
        if isinstance(y, np.ndarray):
            r.update(dtype=str(y.dtype), shape=list(y.shape), finite=y.dtype.kind == "f" and finite(y))
    r["seconds"] = time.perf_counter() - start
    y = None
    proto.write(json.dumps(r) + "\n"); proto.flush()
'''


class DecodeServer:
    """``decode(blob)`` in a child process: returns what happened, as a dict."""

    def __init__(self, procs: Processes) -> None:
        self.procs = procs
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def _start(self) -> None:
        self.starts += 1
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with open(self.procs.log_dir / f"decoder-{self.starts}.log", "wb") as log:  # the child holds its own copy
            self.proc = subprocess.Popen([sys.executable, "-c", _DECODE_SERVER, str(MEMORY_HEADROOM), str(SR)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                                         start_new_session=True)
        self.procs.procs.append(self.proc)
        line = self._readline(120)
        assert line and json.loads(line)["ready"], f"the decode server did not start: {line!r}"

    def _readline(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if ready else None

    def _kill(self) -> int:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        rc = self.proc.wait()
        self.proc = None
        return rc

    def decode(self, blob: bytes) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.proc.stdin.write(struct.pack("<I", len(blob)) + blob)
            self.proc.stdin.flush()
            line = self._readline(HANG_S)
        except BrokenPipeError:
            line = b""
        if line is None:
            self._kill()
            return {"kind": "hang"}
        if not line:
            return {"kind": "crash", "returncode": self._kill()}
        return json.loads(line)


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    procs = Processes(tmp_path_factory.mktemp("decoder"))
    yield DecodeServer(procs)
    procs.stop()
    assert not procs.survivors(), "decode server left behind"


def violation(outcome: dict) -> str | None:
    """What is wrong with one decode outcome, or None if it keeps the promise."""
    kind = outcome["kind"]
    if kind == "hang":
        return f"no answer within {HANG_S:g} s: decode hung or is far too slow"
    if kind == "crash":
        rc = outcome["returncode"]
        how = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
        return (f"the decoding process died ({how}) under a {MEMORY_HEADROOM >> 20} MiB address-space headroom "
                "(C code crashing, typically on a failed allocation)")
    if kind == "other":
        err = outcome["error"]
        hint = (f" (the decoder asked for more than the {MEMORY_HEADROOM >> 20} MiB headroom)"
                if "MemoryError" in err or "bad_alloc" in err else "")
        return f"raised {err} instead of DecodeError{hint}"
    problems = []
    if kind == "array":
        if outcome["type"] != "ndarray" or outcome["dtype"] != "float32" or len(outcome["shape"]) != 1:
            problems.append(f"returned {outcome.get('type')} {outcome.get('dtype')} shape {outcome.get('shape')}, "
                            "not a 1-D float32 array")
        elif outcome["shape"][0] == 0:
            problems.append("returned an empty array (a file that yields no audio must raise DecodeError)")
        elif not outcome["finite"]:
            problems.append(f"returned non-finite samples (length {outcome['shape'][0]})")
    if outcome["seconds"] > DEADLINE_S:
        problems.append(f"took {outcome['seconds']:.1f} s (> {DEADLINE_S:g} s)")
    return "; ".join(problems) or None


def _wav(subtype: str, channels: int, rate: int, seconds: float, container: str = "WAV") -> bytes:
    rng = np.random.default_rng(5)
    data = 0.3 * rng.standard_normal((int(rate * seconds), channels))
    buf = io.BytesIO()
    sf.write(buf, data, rate, subtype=subtype, format=container)
    return buf.getvalue()


BASES = {
    "pcm16-mono-22050": _wav("PCM_16", 1, 22050, 1.0),
    "pcm24-stereo-44100-wavex": _wav("PCM_24", 2, 44100, 0.5, "WAVEX"),
    "float-mono-16000": _wav("FLOAT", 1, 16000, 1.0),
    "float-stereo-22050": _wav("FLOAT", 2, 22050, 0.5),  # at the target rate: no resampling
}
BASE_NAMES = sorted(BASES)


def wav_fields(blob: bytes) -> dict[str, tuple[int, int]]:
    """Header fields of a RIFF/WAVE file: name -> (byte offset, width)."""
    fields = {"riff_size": (4, 4)}
    pos = 12
    while pos + 8 <= len(blob):
        cid, size = blob[pos:pos + 4], struct.unpack_from("<I", blob, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt ":
            fields.update(format_tag=(body, 2), channels=(body + 2, 2), sample_rate=(body + 4, 4),
                          byte_rate=(body + 8, 4), block_align=(body + 12, 2), bits_per_sample=(body + 14, 2))
            if size >= 40:  # WAVE_FORMAT_EXTENSIBLE
                fields.update(cb_size=(body + 16, 2), valid_bits=(body + 18, 2), channel_mask=(body + 20, 4),
                              subformat_tag=(body + 24, 2))
        elif cid == b"fact":
            fields["fact_frames"] = (body, 4)
        elif cid == b"data":
            fields["data_size"] = (pos + 4, 4)
            break
        pos = body + size + (size & 1)
    return fields


FIELDS = {name: wav_fields(blob) for name, blob in BASES.items()}
FIELD_NAMES = sorted({f for fields in FIELDS.values() for f in fields})
EXTREMES = [0, 1, 2, 3, 7, 8, 100, 255, 256, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
            0xFFFFFFFE, 0xFFFFFFFF]
# float32 bit patterns: largest finite, its negative, inf, nan, a big finite value
SAMPLE_PATTERNS = [b"\xff\xff\x7f\x7f", b"\xff\xff\x7f\xff", b"\x00\x00\x80\x7f", b"\x00\x00\xc0\x7f",
                   b"\xca\xf2\x49\x71"]


def _poke(b: bytearray, offset: int, width: int, value: int) -> None:
    if 0 <= offset and offset + width <= len(b):
        struct.pack_into("<H" if width == 2 else "<I", b, offset, value % (1 << (8 * width)))


def mutate(base: str, ops: list[tuple]) -> bytes:
    """Apply mutation ops (drawn by hypothesis) to a base WAV; positions wrap around."""
    b = bytearray(BASES[base])
    fields = FIELDS[base]
    data_start = fields["data_size"][0] + 4
    for op in ops:
        kind = op[0]
        if kind == "flip" and b:
            _, pos, bit, in_header = op
            b[pos % (min(len(b), data_start + 16) if in_header else len(b))] ^= 1 << bit
        elif kind == "truncate":
            b = b[: op[1] % (len(b) + 1)]
        elif kind == "splice":
            _, donor, src, dst, n = op
            d = BASES[BASE_NAMES[donor % len(BASE_NAMES)]]
            s, t = src % len(d), dst % (len(b) + 1)
            b[t:t + n] = d[s:s + n]
        elif kind == "field" and op[1] in fields:
            _poke(b, *fields[op[1]], op[2])
        elif kind == "poke":
            _, offset, width, value = op
            _poke(b, offset, width, value)
        elif kind == "insert":
            k = op[1] % (len(b) + 1)
            b[k:k] = op[2]
        elif kind == "delete" and b:
            k = op[1] % len(b)
            del b[k:k + op[2]]
        elif kind == "samples" and len(b) > data_start + 4:
            _, pos, pattern, count = op
            k = data_start + (pos % (len(b) - data_start)) // 4 * 4
            chunk = (pattern * count)[: max(0, len(b) - k)]
            b[k:k + len(chunk)] = chunk
    return bytes(b)


_POS = st.integers(0, 1 << 18)
_VALUE = st.sampled_from(EXTREMES) | st.integers(0, 0xFFFFFFFF)
MUTATION = st.one_of(
    st.tuples(st.just("flip"), _POS, st.integers(0, 7), st.booleans()),
    st.tuples(st.just("truncate"), _POS),
    st.tuples(st.just("splice"), st.integers(0, 3), _POS, _POS, st.integers(1, 4096)),
    st.tuples(st.just("field"), st.sampled_from(FIELD_NAMES), _VALUE),
    st.tuples(st.just("poke"), st.integers(0, 95), st.sampled_from([2, 4]), _VALUE),
    st.tuples(st.just("insert"), _POS, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), _POS, st.integers(1, 64)),
    st.tuples(st.just("samples"), _POS, st.sampled_from(SAMPLE_PATTERNS), st.integers(1, 64)),
)


def test_the_fuzz_bases_are_valid_and_decode(decoder):
    """The starting points keep the promise (else the fuzz below proves nothing)."""
    for name, blob in BASES.items():
        info = sf.info(io.BytesIO(blob))
        assert info.frames > 0 and "data_size" in FIELDS[name] and "sample_rate" in FIELDS[name], name
        outcome = decoder.decode(blob)
        assert outcome["kind"] == "array" and violation(outcome) is None, (name, outcome)


@pytest.mark.parametrize("field", FIELD_NAMES)
def test_decode_survives_extreme_header_fields(decoder, field):
    """Every WAV header field set to each extreme value: DecodeError or a good array."""
    found = []
    for base in BASE_NAMES:
        if field not in FIELDS[base]:
            continue
        _, width = FIELDS[base][field]
        for value in sorted({v % (1 << (8 * width)) for v in EXTREMES}):
            outcome = decoder.decode(mutate(base, [("field", field, value)]))
            problem = violation(outcome)
            if problem:
                found.append(f"{base} with {field}={value}: {problem}")
    assert not found, f"decode() broke its promise on {len(found)} header(s):\n  " + "\n  ".join(found)


@settings(max_examples=200, derandomize=True, database=None, deadline=None,
          phases=(Phase.explicit, Phase.generate), suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASE_NAMES), ops=st.lists(MUTATION, min_size=1, max_size=4))
# Known classes, pinned (random generation reaches them only now and then):
@example(base="float-mono-16000", ops=[("samples", 5000, SAMPLE_PATTERNS[0], 8)])  # finite, huge: resampling overflows
@example(base="float-stereo-22050", ops=[("samples", 5000, SAMPLE_PATTERNS[3], 1)])  # one NaN sample
@example(base="pcm16-mono-22050", ops=[("field", "sample_rate", 1)])  # 22050x more samples out than in
@example(base="pcm24-stereo-44100-wavex", ops=[("field", "sample_rate", 0x7FFFFFFF)])  # resamples to nothing
@example(base="pcm16-mono-22050", ops=[("field", "data_size", 0)])  # no frames
def test_decode_fuzz_returns_finite_audio_or_decode_error(decoder, base, ops):
    """Mutated WAVs (bit flips, truncation, splices, header fields, extreme float samples)."""
    blob = mutate(base, ops)
    note(f"{len(blob)} bytes from {base} after {ops}")
    outcome = decoder.decode(blob)
    event(f"outcome: {outcome['kind']}")
    problem = violation(outcome)
    assert problem is None, f"{len(blob)}-byte file from {base} after {ops}: {problem}"


# --------------------------------------------------------------------------------------
# 2. Bad clips never stop a run: each is a failure with a reason, or is featurized.
# --------------------------------------------------------------------------------------

def _write_bad_clips(paths: list[Path]) -> dict[str, tuple[str, str | None]]:
    """Overwrite clips with problems. Returns clip_id -> (problem, expected reason regex or
    None when the clip must be featurized)."""
    rng = np.random.default_rng(11)
    good = paths[-1].read_bytes()
    noise = (0.05 * rng.standard_normal(8000 * 600)).astype(np.float32)
    noise[: 8000 * 300] = 0  # 5 minutes of silence, 5 of noise
    nan = np.zeros(2000, dtype=np.float32)
    nan[100] = np.nan
    makers = {
        "empty": (lambda p: p.write_bytes(b""), r"empty|not a readable audio file|no audio"),
        "text named .wav": (lambda p: p.write_text("ID,Class\n1,siren\n" * 20), r"not a readable audio file|not audio"),
        "truncated inside the header": (lambda p: p.write_bytes(good[:30]),
                                        r"truncat|not a readable audio file|no audio frames"),
        "truncated inside the data": (lambda p: p.write_bytes(good[: len(good) // 2]), "either"),
        "valid header, zero frames": (lambda p: sf.write(p, np.zeros((0, 1)), 22050, subtype="PCM_16"),
                                      r"no audio frames"),
        "NaN samples": (lambda p: sf.write(p, nan, 22050, subtype="FLOAT"), r"NaN"),
        "one sample at 22050 Hz": (lambda p: sf.write(p, np.array([0.25]), 22050, subtype="PCM_16"), None),
        "one sample at 48000 Hz": (lambda p: sf.write(p, np.array([0.25]), 48000, subtype="PCM_16"), None),
        "ten minutes at 8 kHz": (lambda p: sf.write(p, noise, 8000, subtype="PCM_16"), None),
        "deleted after the dataset was read": (None, r"not found|not readable"),
    }
    bad = {}
    for path, (problem, (make, reason)) in zip(paths, makers.items()):
        if make:
            make(path)
        bad[path.stem] = (problem, reason)
    return bad


def test_bad_clips_are_reported_or_featurized_and_the_rest_is_there_once(av_dataset, client, tmp_path):
    from urbansound.datasets import read_dataset
    from urbansound.features import feature_names
    from urbansound.featurize import (
        featurize_dataset,
        read_failures,
        read_features,
        read_sequences,
    )
    from urbansound.settings import FeatureSettings

    root = shutil.copytree(av_dataset, tmp_path / "data")
    paths = sorted((root / "Train").glob("*.wav"))[:10]
    bad = _write_bad_clips(paths)
    clips = read_dataset(root).clips
    deleted = next(p for p in paths if bad[p.stem][0].startswith("deleted"))
    deleted.unlink()  # vanishes between listing and featurizing
    settings = FeatureSettings(batch_size=8)
    out = tmp_path / "features"

    summary = featurize_dataset(clips, settings, out, client)

    table = read_features(out)
    failures = read_failures(out)
    assert table.clip_id.is_unique, table.clip_id[table.clip_id.duplicated()].tolist()
    assert failures.clip_id.is_unique
    failed, featurized = set(failures.clip_id), set(table.clip_id)
    assert not failed & featurized, f"clips both failed and featurized: {failed & featurized}"
    assert failed | featurized == set(clips.clip_id), f"clips lost: {set(clips.clip_id) - failed - featurized}"
    assert summary.clips == len(table) and summary.failed == len(failures)
    assert set(clips.clip_id) - set(bad) <= featurized, "a good clip is missing"
    assert failed <= set(bad), f"good clips reported as failures: {failed - set(bad)}"

    path_of = clips.set_index("clip_id").path
    reasons = failures.set_index("clip_id")
    for clip_id, (problem, reason) in bad.items():
        if reason is None:
            assert clip_id in featurized, f"{problem}: should be featurized, failed with {reasons.error.get(clip_id)!r}"
        elif reason == "either":
            if clip_id in failed:
                assert re.search(r"truncat|not a readable|no audio", reasons.error[clip_id]), reasons.error[clip_id]
        else:
            assert clip_id in failed, f"{problem}: should be a failure, was featurized"
            assert reasons.path[clip_id] == path_of[clip_id], problem
            assert re.search(reason, reasons.error[clip_id]), \
                f"{problem}: reason {reasons.error[clip_id]!r} does not match {reason!r}"

    rows = table.set_index("clip_id")
    frame_s = settings.n_fft / settings.sample_rate
    for clip_id, (problem, _) in bad.items():
        if problem.startswith("one sample"):
            assert rows.padded[clip_id] and rows.decoded_seconds[clip_id] < frame_s, problem
        if problem.startswith("ten minutes"):
            assert not rows.padded[clip_id] and abs(rows.decoded_seconds[clip_id] - 600) < 0.01, problem
    names = feature_names(settings)
    assert np.isfinite(table[names].to_numpy()).all()
    short = np.round(rows.decoded_seconds.to_numpy(np.float64) * settings.sample_rate) < settings.n_fft
    assert (rows.padded.to_numpy() == short).all(), "padded is not 'shorter than one FFT frame'"
    seq = read_sequences(out, table.clip_id.tolist())
    assert seq.shape == (len(table), settings.n_mfcc * settings.sequence_frames) and np.isfinite(seq).all()


# --------------------------------------------------------------------------------------
# 3 and 4. A worker lost mid-run; a whole run killed mid-run.
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_dataset(tmp_path_factory) -> Path:
    """~104 clips of 22050 Hz mono: ~26 batches of 4, seconds of featurizing."""
    from urbansound.synth import write_dataset

    root = tmp_path_factory.mktemp("big") / "big-av"
    write_dataset(root, layout="av", clips_per_class=12, seed=11, formats="simple", jobs=2)
    return root


def _assert_complete_table(out: Path, clips: pd.DataFrame, batches: int) -> None:
    table = pd.read_parquet(out)
    dup = table.clip_id[table.clip_id.duplicated()].tolist()
    assert not dup, f"clips in the table more than once: {dup[:10]}"
    assert set(table.clip_id) == set(clips.clip_id), f"clips lost: {sorted(set(clips.clip_id) - set(table.clip_id))[:10]}"
    parts = sorted(p.name for p in out.glob("part-*.parquet"))
    assert len(parts) == batches, f"{len(parts)} part files for {batches} batches"
    assert json.loads((out / "_manifest.json").read_text())["parts"] == parts
    leftovers = [str(p.relative_to(out)) for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, f"temporary files left: {leftovers}"


def test_featurize_survives_a_killed_worker(procs, big_dataset, tmp_path):
    from distributed import Client

    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_dataset, plan_batches, read_failures
    from urbansound.settings import FeatureSettings

    port, dash = free_port(), free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = procs.start("scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                          "--dashboard-address", f"127.0.0.1:{dash}"])
    wait_http(f"http://127.0.0.1:{dash}/health", proc=scheduler)
    workers = {f"w{i}": procs.start(f"worker{i}", [str(BIN / "dask"), "worker", address, "--nthreads", "1",
                                                   "--host", "127.0.0.1", "--name", f"w{i}", "--no-dashboard"])
               for i in range(2)}
    clips = read_dataset(big_dataset).clips
    settings = FeatureSettings(batch_size=4)
    n_batches = len(plan_batches(clips, settings.batch_size))
    out = tmp_path / "features"
    kill: dict = {}
    progress: list[int] = []

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        victim = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items() if w["name"] == "w0")

        def kill_w0() -> None:
            deadline = time.monotonic() + 5  # strike while w0 holds a task
            while time.monotonic() < deadline and not client.processing([victim]).get(victim):
                time.sleep(0.005)
            kill["in_flight"] = list(client.processing([victim]).get(victim, []))
            kill["progress"] = len(progress)
            os.killpg(workers["w0"].pid, signal.SIGKILL)
            kill["returncode"] = workers["w0"].wait(timeout=30)

        def on_progress(done: int, total: int, failed: int, rate: float) -> None:
            progress.append(done)
            if len(progress) == 3:
                kill["thread"] = threading.Thread(target=kill_w0, daemon=True)
                kill["thread"].start()

        summary = featurize_dataset(clips, settings, out, client, on_progress=on_progress)
        kill["thread"].join(30)
        remaining = [w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values()]

    assert kill.get("returncode") == -signal.SIGKILL, kill
    assert kill["in_flight"], "w0 held no task when killed: the test did not interrupt any work"
    assert kill["progress"] < n_batches - 5, f"killed too late to matter: {kill['progress']} of {n_batches} batches"
    assert remaining == ["w1"], remaining
    assert summary.batches == n_batches and summary.clips == len(clips)
    assert summary.failed == 0 and read_failures(out).empty, summary.failures
    _assert_complete_table(out, clips, n_batches)


def test_a_killed_featurize_run_resumes_from_its_parts(procs, big_dataset, client, tmp_path):
    from urbansound import cli
    from urbansound.datasets import read_dataset
    from urbansound.featurize import (
        featurize_dataset,
        plan_batches,
        read_failures,
        schema,
    )

    out = tmp_path / "features"
    args = ["featurize", str(big_dataset), "--out", str(out), "--workers", "1", "--batch-size", "4",
            "--dashboard-address", "127.0.0.1:0"]
    settings = cli._feature_settings(cli.build_parser().parse_args(args))  # what the command computes with
    clips = read_dataset(big_dataset).clips
    n_batches = len(plan_batches(clips, settings.batch_size))
    expected_columns = schema(settings).names

    def check_part(path: Path) -> None:
        """A part a reader can see is whole: Parquet with every column, its sequences beside."""
        table = pq.read_table(path)
        assert table.column_names == expected_columns, path.name
        with np.load(out / "_sequences" / path.name.replace(".parquet", ".npz")) as z:
            assert list(z["clip_id"]) == table.column("clip_id").to_pylist(), path.name

    run = procs.start("featurize", [str(BIN / "urbansound"), *args])
    seen: set[str] = set()
    deadline = time.monotonic() + 120
    while True:  # read every part the moment it shows up, and the whole table as it grows
        assert run.poll() is None, f"featurize ended before it was killed:\n{procs.log('featurize')[-2000:]}"
        assert time.monotonic() < deadline, f"no parts after 120 s:\n{procs.log('featurize')[-2000:]}"
        names = {e.name for e in os.scandir(out) if e.name.startswith("part-")} if out.is_dir() else set()
        if len(names) >= 3:
            break
        for name in sorted(names - seen):
            check_part(out / name)
            assert len(pd.read_parquet(out)) > 0
        seen |= names
        time.sleep(0.005)
    os.killpg(run.pid, signal.SIGKILL)  # the command, its LocalCluster's workers, everything in the group
    run.wait(timeout=30)
    for _ in range(100):
        if not procs.survivors():
            break
        time.sleep(0.1)
    assert not procs.survivors(), "processes of the killed run are still alive"

    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.glob("part-*.parquet")}
    assert 0 < len(before) < n_batches
    for name in before:
        check_part(out / name)
    assert len(pd.read_parquet(out)) > 0  # .tmp leftovers, if any, are invisible to readers

    summary = featurize_dataset(clips, settings, out, client)

    assert summary.cached_batches == len(before), (summary.describe(), len(before))
    assert summary.batches == n_batches and summary.batches - summary.cached_batches > 0
    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.glob("part-*.parquet")}
    rewritten = [n for n in before if after.get(n) != before[n]]
    assert not rewritten, f"parts written before the kill were recomputed: {rewritten}"
    assert summary.failed == 0 and read_failures(out).empty
    _assert_complete_table(out, clips, n_batches)


# --------------------------------------------------------------------------------------
# 5. Outputs refuse to be wrong: the submission and the model's feature check.
# --------------------------------------------------------------------------------------

IDS = ["7", "8", "9"]
GOOD = "ID,Class\n7,siren\n8,dog_bark\n9,siren\n"


def _submission(ids, classes=None) -> pd.DataFrame:
    return pd.DataFrame({"ID": ids, "Class": classes or ["siren"] * len(ids)})


@pytest.mark.parametrize("bad", [
    _submission(["7", "8"]),
    _submission(["7", "8", "9", "9"]),
    _submission(["7", "8", "9", "10"]),
    _submission(IDS, ["siren", "helicopter", "siren"]),
    _submission(IDS, ["siren", None, "siren"]),
    _submission(IDS).rename(columns={"ID": "id"}),
    _submission(IDS)[["Class", "ID"]],
])
@pytest.mark.parametrize("previous", [False, True])
def test_an_invalid_submission_is_refused_and_writes_nothing(tmp_path, bad, previous):
    from urbansound.exceptions import SubmissionError
    from urbansound.submission import write

    path = tmp_path / "s.csv"
    if previous:
        path.write_text(GOOD)
    with pytest.raises(SubmissionError):
        write(bad, IDS, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["s.csv"] if previous else [])
    if previous:
        assert path.read_text() == GOOD, "a refused submission overwrote the previous one"


@pytest.mark.parametrize("previous", [False, True])
def test_a_submission_write_that_dies_midway_leaves_no_partial_file(tmp_path, monkeypatch, previous):
    from urbansound.submission import write

    path = tmp_path / "out" / "s.csv"
    if previous:
        path.parent.mkdir()
        path.write_text(GOOD)
    real = pd.DataFrame.to_csv

    def dies_midway(self, path_or_buf=None, *args, **kwargs):
        text = real(self, None, *args, **kwargs)
        with open(path_or_buf, "w") as f:
            f.write(text[: len(text) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", dies_midway)
    with pytest.raises(OSError):
        write(_submission(IDS, ["siren", "dog_bark", "siren"]), IDS, path)
    if previous:
        assert path.read_text() == GOOD, "the previous submission was overwritten by a partial one"
    else:
        assert not path.exists(), f"a partial submission is under the final name: {path.read_text()!r}"
    monkeypatch.undo()
    assert write(_submission(IDS, ["siren", "dog_bark", "siren"]), IDS, path).read_text() == GOOD


def _model(settings):
    from sklearn.dummy import DummyClassifier

    from urbansound.models import TrainedModel

    X, y = np.zeros((4, 2), dtype=np.float32), ["siren", "siren", "dog_bark", "siren"]
    return TrainedModel(name="dummy", feature_set="mfcc", estimator=DummyClassifier().fit(X, y),
                        features=["mfcc_mean_00", "mfcc_mean_01"], feature_settings=settings,
                        classes=["dog_bark", "siren"], majority="siren")


# A different valid value for every setting that changes the numbers.
OTHER_VALUES = {"sample_rate": 16000, "n_fft": 1024, "hop_length": 256, "n_mels": 64, "n_mfcc": 20, "n_bands": 32,
                "pcen_bands": 32, "mel_bands": 32, "sequence_frames": 100}


def test_every_feature_setting_is_covered_here():
    from urbansound.settings import FeatureSettings

    # augment adds training rows but changes no clip's features: a model reads a table without them
    assert set(FeatureSettings.model_fields) - {"batch_size", "augment", "max_seconds"} == set(OTHER_VALUES), \
        "FeatureSettings changed: give each new field an alternative value in OTHER_VALUES"


def test_a_model_trained_with_augmented_rows_reads_a_table_without_them():
    from urbansound.settings import FeatureSettings

    model = _model(FeatureSettings(augment=("speed:0.9",)))
    model.check_features(["clip_id", "split", "mfcc_mean_00", "mfcc_mean_01"], FeatureSettings())


@pytest.mark.parametrize("field", sorted(OTHER_VALUES))
def test_a_saved_model_refuses_features_computed_with_other_settings(tmp_path, field):
    from urbansound.exceptions import ModelError
    from urbansound.models import TrainedModel
    from urbansound.settings import FeatureSettings
    from urbansound.submission import predict

    trained_with = FeatureSettings()
    _model(trained_with).save(tmp_path / "model.skops")
    model = TrainedModel.load(tmp_path / "model.skops")
    columns = ["clip_id", "split", "mfcc_mean_00", "mfcc_mean_01"]
    other = FeatureSettings(**{**trained_with.model_dump(), field: OTHER_VALUES[field]})
    assert getattr(other, field) != getattr(trained_with, field)

    with pytest.raises(ModelError, match="settings|trained on"):
        model.check_features(columns, other)
    table = pd.DataFrame({"clip_id": ["9"], "split": ["test"], "mfcc_mean_00": [0.0], "mfcc_mean_01": [0.0]})
    with pytest.raises(ModelError):
        predict(["9"], table, model, other)
    # the same settings (batch size aside) and the same columns are accepted
    model.check_features(columns, FeatureSettings(batch_size=7))
    assert predict(["9"], table, model, trained_with)[0].Class.tolist() == ["siren"]
    with pytest.raises(ModelError, match="lacks"):
        model.check_features(["clip_id", "mfcc_mean_00"], trained_with)


# --------------------------------------------------------------------------------------
# 6. Nothing listens beyond loopback by default.
# --------------------------------------------------------------------------------------

LOOPBACK = ("127.0.0.1", "::1")


def test_cluster_and_cli_defaults_bind_loopback():
    from urbansound import cluster
    from urbansound.cli import build_parser

    kwargs = cluster.local_cluster_kwargs(2)
    assert kwargs["host"] == "127.0.0.1", kwargs
    assert kwargs["dashboard_address"].startswith("127.0.0.1:"), kwargs
    assert cluster.DEFAULT_DASHBOARD.startswith("127.0.0.1:")
    for fn in (cluster.local_cluster_kwargs, cluster.dask_client):
        assert inspect.signature(fn).parameters["dashboard_address"].default.startswith("127.0.0.1:"), fn
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    with_dashboard = {name: a.default for name, sub in commands.items() for a in sub._actions
                      if a.dest == "dashboard_address"}
    assert {"featurize", "train", "run"} <= set(with_dashboard), with_dashboard
    exposed = {name: d for name, d in with_dashboard.items() if not str(d).startswith("127.0.0.1:")}
    assert not exposed, f"--dashboard-address defaults beyond loopback: {exposed}"


def test_the_local_cluster_listens_on_loopback_only(client):
    import psutil

    info = client.scheduler_info(n_workers=-1)
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert client.dashboard_link.startswith("http://127.0.0.1:")
    assert info["workers"] and all(a.startswith("tcp://127.0.0.1:") for a in info["workers"])
    # every socket the worker processes listen on, and the scheduler's own ports here
    listening = [(pid, c.laddr) for pid in client.run(os.getpid).values()
                 for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    ports = {int(info["address"].rsplit(":", 1)[1]), *map(int, info.get("services", {}).values())}
    listening += [(os.getpid(), c.laddr) for c in psutil.Process().net_connections(kind="inet")
                  if c.status == psutil.CONN_LISTEN and c.laddr.port in ports]
    assert len(listening) >= 2 + len(info["workers"])
    exposed = [(pid, addr) for pid, addr in listening if addr.ip not in LOOPBACK]
    assert not exposed, f"listening beyond loopback: {exposed}"


def test_compose_publishes_ports_on_loopback_only():
    # the portable setup: docker-compose.yml and the override Compose reads beside it, which
    # holds the published ports (docker-compose.host.yml publishes none: tests/test_compose.py)
    yaml = pytest.importorskip("yaml")
    exposed, published = [], 0
    for file in ("docker-compose.yml", "docker-compose.override.yml"):
        services = (yaml.safe_load((ROOT / file).read_text()) or {}).get("services") or {}
        for name, svc in services.items():
            if svc.get("network_mode") == "host":
                exposed.append(f"{file}: {name}: network_mode host")
            for port in svc.get("ports") or []:
                published += 1
                if isinstance(port, dict):
                    host_ip = port.get("host_ip")
                else:
                    spec = str(port).split("/")[0]
                    if spec.startswith("["):
                        host_ip = spec[1:].split("]", 1)[0]
                    else:
                        parts = spec.split(":")
                        host_ip = parts[0] if len(parts) == 3 else None
                if host_ip not in LOOPBACK:
                    exposed.append(f"{file}: {name}: {port!r}")
    assert published >= 3, "the UI, the scheduler and the dashboard are published"
    assert not exposed, f"published beyond loopback: {exposed}"


# ------------------------------------------------- model files from elsewhere (issue 13.1)
class _RunsCode:
    """What a crafted model file does: name a callable to be called on load."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("craft", ["pickle", "pickle-named-skops", "skops-with-foreign-type"])
def test_a_crafted_model_file_is_refused_without_running_its_code(tmp_path, craft, capsys, av_dataset):
    import pickle

    import skops.io as sio

    from urbansound.cli import main

    marker = tmp_path / "ran"
    if craft == "skops-with-foreign-type":
        blob = sio.dumps({"format": "urbansound-model", "version": 1, "estimator": _RunsCode(marker)})
        path = tmp_path / "model.skops"
    else:
        blob = pickle.dumps(_RunsCode(marker))
        path = tmp_path / ("model.pkl" if craft == "pickle" else "model.skops")
    path.write_bytes(blob)
    assert main(["submit", str(av_dataset), "--model", str(path), "--workspace", str(tmp_path / "ws")]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and ("pickle" in err or "refused" in err)
    assert not marker.exists(), "loading the model file ran its code"


# ------------------------------------------ one clear line instead of a traceback (issue 13.7)
def test_an_unwritable_workspace_fails_train_before_the_cv(tmp_path, capsys, monkeypatch, us8k_dataset, client):
    import urbansound.training as training
    from urbansound.cli import main

    ws = tmp_path / "ws"
    assert main(["featurize", str(us8k_dataset), "--workspace", str(ws), "--scheduler", client.scheduler.address]) == 0
    capsys.readouterr()
    (ws / "reports").write_text("a file where the reports folder goes")  # root ignores chmod; this it cannot
    called = []
    monkeypatch.setattr(training, "cross_validate", lambda *a, **k: called.append(1))
    rc = main(["train", str(ws / "features" / us8k_dataset.name), "--workspace", str(ws),
               "--scheduler", client.scheduler.address])
    err = capsys.readouterr().err
    assert rc == 1 and not called, "the CV ran although its results could not be written"
    assert err.count("\n") == 1 and "cannot write to" in err and "--workspace" in err


@pytest.mark.parametrize("address, env", [("tcp://127.0.0.1:9", False), ("not an address::", False),
                                          ("tcp://127.0.0.1:9", True)])
def test_an_unusable_scheduler_is_one_line_naming_it(tmp_path, capsys, monkeypatch, av_dataset, address, env):
    import urbansound.cluster
    from urbansound.cli import main

    monkeypatch.setattr(urbansound.cluster, "CONNECT_TIMEOUT_S", 2)  # 10 by default; the wait is Dask's retries

    if env:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    args = ["featurize", str(av_dataset), "--workspace", str(tmp_path)] + ([] if env else ["--scheduler", address])
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and repr(address) in err
    assert ("$DASK_SCHEDULER_ADDRESS" if env else "--scheduler") in err


@pytest.mark.parametrize("argv", [["featurize", "d", "--workers", "-1"], ["synth", "d", "--clips-per-class", "0"],
                                  ["study", "--epochs", "0", "activations", "d"], ["synth", "d", "--jobs", "x"]])
def test_nonsense_counts_are_refused_by_the_parser(argv, capsys):
    from urbansound.cli import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    flag = next(a for a in argv if a.startswith("--"))
    assert e.value.code == 2 and f"argument {flag}" in capsys.readouterr().err


def test_ctrl_c_is_one_line_and_exit_130_and_v_adds_the_traceback(monkeypatch, capsys, tmp_path):
    import urbansound.cli as cli

    def interrupted(a):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_validate", interrupted)
    assert cli.main(["validate", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err
    assert cli.main(["-v", "validate", str(tmp_path)]) == 130
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.integration  # a subprocess / its own LocalCluster
@pytest.mark.parametrize("command", [["run", "--data", "DATA"], ["serve", "--data", "DATA", "--interval", "60"]])
def test_an_unreachable_prefect_server_is_one_line(command, tmp_path, av_dataset):
    import os
    import subprocess
    import sys

    command = [str(av_dataset) if c == "DATA" else c for c in command]
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api", "PREFECT_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "urbansound", *command], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "'http://127.0.0.1:9/api' (PREFECT_API_URL) does not answer" in done.stderr


# ------------------------------------------------- shared feature folders (issue 13.2, 13.4)
def test_an_interrupted_refeaturize_with_other_settings_leaves_the_table_whole(us8k_dataset, client, tmp_path,
                                                                              caplog):
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_batch, featurize_dataset, plan_batches, read_features, read_settings
    from urbansound.settings import FeatureSettings
    from urbansound.training import load_training_data

    clips = read_dataset(us8k_dataset).clips
    out = tmp_path / "features"
    featurize_dataset(clips, FeatureSettings(), out, client)
    # a featurize --n-mfcc 20 into the same folder, killed after its first batch
    featurize_batch(plan_batches(clips, 16)[0], settings=FeatureSettings(n_mfcc=20), out_dir=str(out))
    table = read_features(out)
    assert len(table) == len(clips) and table["clip_id"].is_unique
    assert "mfcc_mean_39" in table.columns and read_settings(out).n_mfcc == 40
    assert "ignoring 1 part(s) the manifest does not list" in caplog.text
    assert len(load_training_data(out, ("mfcc",), sequences=True).table) == len(clips)


def test_a_table_whose_listed_parts_are_gone_is_refused(us8k_dataset, client, tmp_path, capsys):
    from urbansound.cli import main

    ws = tmp_path / "ws"
    assert main(["featurize", str(us8k_dataset), "--workspace", str(ws), "--scheduler", client.scheduler.address]) == 0
    features = ws / "features" / us8k_dataset.name
    next(features.glob("part-*.parquet")).unlink()
    capsys.readouterr()
    assert main(["train", str(features), "--workspace", str(ws), "--scheduler", client.scheduler.address]) == 1
    assert "the manifest lists 1 part(s) that are not there" in capsys.readouterr().err


def test_one_featurize_run_at_a_time_per_folder(av_dataset, client, tmp_path, capsys):
    from urbansound.cli import main
    from urbansound.featurize import claim

    out = tmp_path / "out"
    with claim(out):
        assert main(["featurize", str(av_dataset), "--out", str(out), "--scheduler", client.scheduler.address]) == 1
    err = capsys.readouterr().err
    assert "another featurize run is writing this table" in err and "pid" in err
    assert main(["featurize", str(av_dataset), "--out", str(out), "--scheduler", client.scheduler.address]) == 0


@pytest.mark.parametrize("planted", ["notes.txt", "part-0.parquet"])
def test_featurize_never_deletes_or_mixes_in_files_it_did_not_write(av_dataset, client, tmp_path, capsys, planted):
    from urbansound.cli import main

    out = tmp_path / "out"
    out.mkdir()
    if planted.endswith(".parquet"):
        pd.DataFrame({"x": [1.0]}).to_parquet(out / planted)
    else:
        (out / planted).write_text("mine")
    before = (out / planted).read_bytes()
    assert main(["featurize", str(av_dataset), "--out", str(out), "--scheduler", client.scheduler.address]) == 1
    assert f"did not write ({planted})" in capsys.readouterr().err
    assert (out / planted).read_bytes() == before and not list(out.glob("_manifest.json"))


def test_featurize_refuses_a_folder_holding_another_dataset_s_table(av_dataset, us8k_dataset, client, tmp_path,
                                                                   capsys):
    from urbansound.cli import main

    out = tmp_path / "out"
    sched = ["--scheduler", client.scheduler.address]
    assert main(["featurize", str(av_dataset), "--out", str(out), *sched]) == 0
    manifest = (out / "_manifest.json").read_text()
    assert main(["featurize", str(us8k_dataset), "--out", str(out), *sched]) == 1
    assert "holds the feature table of another dataset" in capsys.readouterr().err
    assert (out / "_manifest.json").read_text() == manifest


# ------------------------------------------------------------- one big file (issue 13.5)
def _one_hour_at_1khz(path):
    import soundfile as sf

    sf.write(path, np.zeros(3600 * 1000, dtype=np.int16), 1000, subtype="PCM_16")  # 7 MB; 2+ GB decoded
    return path


def test_long_or_big_files_are_refused_from_their_header(av_dataset, tmp_path, monkeypatch):
    import urbansound.featurize as fz
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_batch, finalize, plan_batches, read_failures, read_features
    from urbansound.settings import FeatureSettings

    root = tmp_path / "d"
    shutil.copytree(av_dataset, root)
    wavs = sorted((root / "Train").glob("*.wav"))
    _one_hour_at_1khz(wavs[0])
    with open(wavs[1], "wb") as f:  # 2 GiB that is not audio (sparse: no disk, no memory unless read)
        f.truncate(2 * 2**30)
    read = []
    real_read = fz._read_bytes
    monkeypatch.setattr(fz, "_read_bytes", lambda p: read.append(p) or real_read(p))
    clips = read_dataset(root).clips.head(20)
    settings = FeatureSettings()
    out = tmp_path / "out"
    finalize([featurize_batch(b, settings=settings, out_dir=str(out)) for b in plan_batches(clips, 8)], settings, out,
             seconds=0)
    assert str(wavs[1].absolute()) not in read, "2 GiB were read into memory to learn they are not audio"
    failures = read_failures(out).set_index("path")["error"]
    assert "3600 s long, over the 900 s cap" in failures[str(wavs[0].absolute())]
    assert "not a readable audio file" in failures[str(wavs[1].absolute())]
    assert len(read_features(out)) == len(clips) - 2
    # the cap is a setting: raised, the hour-long clip is read (and keyed apart)
    assert FeatureSettings(max_seconds=4000).fingerprint() != settings.fingerprint()
    assert FeatureSettings(max_seconds=4000).feature_fingerprint() == settings.feature_fingerprint()


@pytest.mark.integration  # a subprocess / its own LocalCluster
def test_a_clip_that_kills_its_worker_costs_only_itself(av_dataset, tmp_path):
    import dask
    from distributed import Client, LocalCluster

    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_dataset, read_failures, read_features
    from urbansound.settings import FeatureSettings

    root = tmp_path / "d"
    shutil.copytree(av_dataset, root)
    clips = read_dataset(root).clips.head(12)
    killer = _one_hour_at_1khz(Path(clips["path"].iloc[3]))
    # over a GiB to featurize, on a worker allowed 700 MB: the nanny kills it
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="700MB", host="127.0.0.1",
                         dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        summary = featurize_dataset(clips, FeatureSettings(max_seconds=4000, batch_size=6), tmp_path / "out", client)
    failures = read_failures(tmp_path / "out")
    assert failures["path"].tolist() == [str(killer.absolute())]
    assert "killed the Dask worker" in failures["error"][0]
    assert summary.clips == len(clips) - 1 == len(read_features(tmp_path / "out"))


# --------------------------------------------------------------- smaller ones (issue 13.9)
def test_the_failures_file_is_replaced_not_followed_through_a_planted_symlink(av_dataset, client, tmp_path):
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_dataset
    from urbansound.settings import FeatureSettings

    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("precious")
    out.mkdir()
    (out / "_failures.csv").symlink_to(victim)
    featurize_dataset(read_dataset(av_dataset).clips.head(8), FeatureSettings(), out, client)
    assert victim.read_text() == "precious"
    assert not (out / "_failures.csv").is_symlink() and (out / "_failures.csv").read_text().startswith("clip_id")


def test_synth_does_not_overwrite_a_folder_without_force(tmp_path, capsys):
    from urbansound.cli import main

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mine.txt").write_text("x")
    assert main(["synth", str(tmp_path / "d"), "--clips-per-class", "1"]) == 1
    assert "--force" in capsys.readouterr().err and not (tmp_path / "d" / "train.csv").exists()
    assert main(["synth", str(tmp_path / "d"), "--clips-per-class", "1", "--force"]) == 0


def test_validate_calls_a_dataset_without_training_clips_unusable(av_dataset, tmp_path):
    from urbansound.validate import validate

    root = tmp_path / "d"
    shutil.copytree(av_dataset, root)
    for wav in (root / "Train").glob("*.wav"):
        wav.unlink()
    report = validate(root, allow_missing=True)
    assert not report.ok and any("no training clip" in e for e in report.errors)
    for wav in (root / "Test").glob("*.wav"):
        wav.unlink()
    assert any("no clip with an audio file" in e for e in validate(root, allow_missing=True).errors)


def test_a_clip_still_being_written_is_not_featurized_truncated(av_dataset, tmp_path, monkeypatch):
    import types

    import urbansound.featurize as fz
    from urbansound.datasets import read_dataset
    from urbansound.settings import FeatureSettings

    clips = read_dataset(av_dataset).clips.head(4)
    growing = clips["path"].iloc[1]
    real_stat, calls = os.stat, []

    def stat(path, *a, **k):  # the copy goes on: every look at the file sees it grown
        st = real_stat(path, *a, **k)
        if str(path) != growing:
            return st
        calls.append(1)
        return types.SimpleNamespace(st_size=st.st_size + len(calls), st_mtime_ns=st.st_mtime_ns + len(calls))

    monkeypatch.setattr(fz.time, "sleep", lambda s: None)
    monkeypatch.setattr(os, "stat", stat)
    result = fz.featurize_batch(fz.plan_batches(clips, 4)[0], settings=FeatureSettings(), out_dir=str(tmp_path))
    monkeypatch.undo()
    assert [f["path"] for f in result.failures] == [growing] and "changed while it was read" in result.failures[0]["error"]
    assert result.clips == 3
