#!/usr/bin/env python
"""Featurize throughput: the notebook loop vs the decode floor vs ``urbansound featurize``.

On the SAME clips, in ONE run (the machine may be shared and noisy, so the results that
matter are ratios of rates measured side by side):

(a) notebook baseline: one process, ``librosa.load(path, sr=22050)`` then one
    ``librosa.feature.*`` call per feature, each recomputing its own STFT (mfcc(n_mfcc=40),
    spectral centroid, bandwidth, rolloff, flatness, contrast, zero-crossing rate, rms,
    and ``np.abs(librosa.stft(y))`` for an FFT summary), pooled to mean/std per row.
    It is slow, so it is timed on an evenly spaced subset of the clips (``--baseline-clips``),
    in two halves: one before (b) and (c), one after, so it sees the same spread of the
    machine's changing load as they do.
(b) decode floor: ``urbansound.audio.decode`` alone (soundfile + soxr), in a
    ``ProcessPoolExecutor`` with one process per worker (default one per core), chunked.
    Measured twice (before and after (c)); the faster pass is the floor.
(c) the library path of ``urbansound featurize``: ``featurize_dataset`` on a LocalCluster
    from ``urbansound.cluster.dask_client`` (one single-threaded worker process per core),
    all three feature sets, into a fresh folder; on half the clips and on all of them, each
    on a fresh cluster, so each worker's peak RSS belongs to one dataset size; then a second
    call on the full run's folder (the incremental re-run: it should recompute nothing).
    Each worker's peak RSS: the kernel's high-water mark is reset after the warm-up and read
    after the run (``ru_maxrss`` where the reset is not possible).
(c*) with ``--malloc-what-if``: (c) on the full set again, with the MALLOC_TRIM_THRESHOLD_
    that Dask's Nanny sets for its workers removed: not the library's behaviour, a measured
    what-if for the fix this benchmark points at.

Each rate also comes with CPU ms/clip (user + system time of the processes doing the work),
which other load on the machine disturbs much less than wall-clock time.

One-time costs are excluded, and reported: the LocalCluster start, and a warm-up in which
every Dask worker runs ``featurize_batch`` on a few clips into a scratch folder (imports of
librosa/numba/pyarrow, the mel filterbank cache, first-call JIT); the decode pool's start
and a warm-up decode in each of its processes; one warm-up clip of the notebook loop. The
files are in the page cache for every step (they were just written, or read by a warm-up).

The ``urbansound`` package is imported from a copy of ``urbansound/`` taken at the start,
so every process (this one, the decode pool, the Dask workers) runs the same code while
the tree is being edited (``--live`` imports the working tree instead).

Usage::

    .venv/bin/python benchmarks/featurize_throughput.py                 # synthetic; ~4-5 min on a busy 2-core machine
    .venv/bin/python benchmarks/featurize_throughput.py --clips-per-class 50   # quick
    .venv/bin/python benchmarks/featurize_throughput.py --data /path/to/UrbanSound8K

Exit status 0 whether or not the targets are met (it is a measurement, not a test); 1 if
a step produced wrong output (a re-run that recomputed, rows missing from the table).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REAL_CLIPS = 8732  # UrbanSound8K
TARGET_C_OVER_A = 5.0
TARGET_B_OVER_C = 2.0
TARGET_PROJECTED_S = 60.0
TARGET_RSS_MIB = 1024.0
FLAT_TOLERANCE = 0.10  # peak RSS at 2N within 10% of the peak at N counts as flat


# ---------------------------------------------------------------- machine
def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("urbansound", "numpy", "scipy", "librosa", "numba", "soundfile", "soxr", "pyarrow", "pandas",
                 "dask", "distributed"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "-"
    try:
        import soundfile

        out["libsndfile"] = soundfile.__libsndfile_version__
    except (ImportError, AttributeError):
        out["libsndfile"] = "?"
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_total_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


def _git_rev(root: Path) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"], check=False,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        return rev or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_lines() -> list[str]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    v = _versions()
    return [
        (f"machine : {os.cpu_count()} cores ({affinity} usable), {_cpu_model()}, {_mem_total_gib():.1f} GiB RAM, "
         f"{platform.system()} {platform.release()}"),
        f"python  : {platform.python_version()} ({sys.executable})",
        "versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"tree    : {_git_rev(Path(__file__).resolve().parents[1])}; load average at start: {load}",
    ]


# ---------------------------------------------------------------- the code under test
def snapshot_library(dest: Path) -> str:
    """Copy the ``urbansound`` package next to this script into ``dest`` and import it from there.

    The tree is edited concurrently: without a copy, the Dask workers (started minutes
    later, in fresh processes) could import different code than this process, or a
    half-written file. ``sys.path`` reaches the spawned pool and Dask worker processes
    (multiprocessing passes it on), ``PYTHONPATH`` anything else. Returns a short hash
    of the copied sources.
    """
    import hashlib

    if any(n == "urbansound" or n.startswith("urbansound.") for n in sys.modules):
        raise RuntimeError("snapshot_library must run before urbansound is imported")
    src = Path(__file__).resolve().parents[1] / "urbansound"
    shutil.copytree(src, dest / "urbansound", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    sys.path.insert(0, str(dest))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(dest), os.environ.get("PYTHONPATH")]))
    h = hashlib.sha256()
    for f in sorted((dest / "urbansound").rglob("*.py")):
        h.update(f.relative_to(dest).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


# ---------------------------------------------------------------- malloc environment
TRIM_VAR = "MALLOC_TRIM_THRESHOLD_"
_ORIGINAL_TRIM = os.environ.get(TRIM_VAR)


def restore_malloc_env() -> None:
    """Put ``MALLOC_TRIM_THRESHOLD_`` back as it was when this script started.

    A Dask Nanny writes its ``distributed.nanny.pre-spawn-environ`` (by default
    MALLOC_TRIM_THRESHOLD_=65536) into the environment of the process that starts it, so
    after the first LocalCluster every process spawned from here would inherit it. Each
    step restores the original environment first, so the order of the steps changes
    nothing; the Dask workers still get what the Nanny gives them, as in ``urbansound
    featurize``.
    """
    if _ORIGINAL_TRIM is None:
        os.environ.pop(TRIM_VAR, None)
    else:
        os.environ[TRIM_VAR] = _ORIGINAL_TRIM


def _worker_trim() -> str:
    return os.environ.get(TRIM_VAR, "unset")


# ---------------------------------------------------------------- helpers
def _rss_peak_kib() -> int:
    """Peak resident set size of the calling process, KiB (Linux ru_maxrss unit)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _reset_peak_rss() -> tuple[int, bool]:
    """This process's peak RSS so far (KiB), then reset the kernel's high-water mark.

    Writing 5 to /proc/self/clear_refs (Linux >= 4.0) resets VmHWM to the current RSS, so
    :func:`_peak_rss_since_reset_kib` then reads the peak of what ran after the reset
    alone. Returns (peak so far, whether the reset worked).
    """
    before = _rss_peak_kib()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return before, True
    except OSError:
        return before, False


def _peak_rss_since_reset_kib() -> int:
    """VmHWM of this process, KiB: the peak RSS since the last reset (else since start)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return _rss_peak_kib()


def _cpu_seconds() -> float:
    """User + system CPU seconds of the calling process so far (every thread)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _evenly(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows spread evenly over ``df`` (all of it if n >= len)."""
    if n >= len(df):
        return df
    idx = np.unique(np.linspace(0, len(df) - 1, n).round().astype(int))
    return df.iloc[idx]


def _ordered(clips: pd.DataFrame) -> pd.DataFrame:
    """The clip table in featurize's batch order (split, clip_id)."""
    return clips.sort_values(["split", "clip_id"], kind="stable").reset_index(drop=True)


def _noop_progress(done: int, total: int, failed: int, rate: float) -> None:
    pass


@contextmanager
def _quiet_logs():
    names = ("distributed", "bokeh", "tornado", "urbansound", "asyncio")
    before = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for n, lvl in before.items():
            logging.getLogger(n).setLevel(lvl)


def say(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------- (a) notebook baseline
def notebook_features(path: str) -> np.ndarray:
    """What a notebook does per clip: load, then one librosa call (one STFT) per feature."""
    from urbansound._librosa import librosa

    y, sr = librosa.load(path, sr=22050)
    feats = [
        librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40),
        librosa.feature.spectral_centroid(y=y, sr=sr),
        librosa.feature.spectral_bandwidth(y=y, sr=sr),
        librosa.feature.spectral_rolloff(y=y, sr=sr),
        librosa.feature.spectral_flatness(y=y),
        librosa.feature.spectral_contrast(y=y, sr=sr),
        librosa.feature.zero_crossing_rate(y),
        librosa.feature.rms(y=y),
        np.abs(librosa.stft(y)),  # FFT summary: mean magnitude spectrum
    ]
    return np.concatenate([np.concatenate([f.mean(axis=1), f.std(axis=1)]) for f in feats])


def run_notebook(paths: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (every thread of this process) of the loop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_fft too large" for clips under 2048 samples
        notebook_features(paths[0])  # warm-up: imports, numba JIT, filterbanks
        cpu, start = time.process_time(), time.perf_counter()
        rows = [notebook_features(p) for p in paths]
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(rows) == len(paths)
    return seconds, cpu


# ---------------------------------------------------------------- (b) decode floor
def _decode_len(args: tuple[str, int]) -> tuple[int, float]:
    """Decode one file; its length in samples (-1: failed) and the CPU seconds it took."""
    from urbansound.audio import decode
    from urbansound.exceptions import DecodeError

    path, sr = args
    cpu = time.process_time()
    try:
        n = len(decode(path, sr=sr))  # only the length crosses back: no array pickling
    except DecodeError:
        n = -1
    return n, time.process_time() - cpu


def _warm_decode(path: str, sr: int) -> None:
    _decode_len((path, sr))


def run_decode_floor(paths: list[str], procs: int, sr: int) -> tuple[float, float, int]:
    """Wall seconds to decode every path with ``procs`` processes, CPU seconds (sum over
    calls), and the total samples decoded."""
    restore_malloc_env()  # not what an earlier LocalCluster's Nanny left in this process's environment
    ctx = multiprocessing.get_context("spawn")  # as Dask's workers; safe after threads exist
    with ProcessPoolExecutor(procs, mp_context=ctx, initializer=_warm_decode, initargs=(paths[0], sr)) as pool:
        list(pool.map(_decode_len, [(paths[0], sr)] * (4 * procs), chunksize=1))  # start and warm every process
        chunk = max(1, len(paths) // (procs * 8))
        start = time.perf_counter()
        out = list(pool.map(_decode_len, [(p, sr) for p in paths], chunksize=chunk))
        seconds = time.perf_counter() - start
    return seconds, sum(c for _, c in out), sum(n for n, _ in out if n > 0)


# ---------------------------------------------------------------- (c) the library path
def _worker_warmup(records: list[dict[str, Any]], settings: Any, root: str) -> None:
    """Run on every Dask worker: featurize a few clips into a scratch folder of its own."""
    from urbansound.featurize import featurize_batch

    featurize_batch(records, settings=settings, out_dir=os.path.join(root, f"warm-{os.getpid()}"))


@dataclass
class LibraryRun:
    clips: int
    seconds: float
    cpu_seconds: float
    failed: int
    batches: int
    cached_batches: int
    rows_in_table: int
    cluster_start_s: float
    warmup_s: float
    rss_warmup_mib: list[float]  # per worker: peak RSS over start-up and warm-up
    rss_run_mib: list[float]  # per worker: peak RSS during the timed run alone (incl. what stayed resident)
    rss_lifetime_mib: list[float]  # per worker: peak RSS over the worker's whole life, re-run included
    rss_reset: bool
    rerun_seconds: float | None = None
    rerun_batches: int | None = None
    rerun_cached: int | None = None
    worker_trim: str = "?"


def run_library(clips: pd.DataFrame, settings: Any, out_dir: Path, scratch: Path, workers: int,
                warm_records: list[dict[str, Any]], *, rerun: bool, untrimmed: bool = False) -> LibraryRun:
    """Time ``featurize_dataset`` on a fresh LocalCluster (``urbansound.cluster.dask_client``).

    ``untrimmed``: the what-if run, with Dask's MALLOC_TRIM_THRESHOLD_ worker setting
    removed (not what ``urbansound featurize`` does today).
    """
    import dask

    from urbansound.cluster import dask_client
    from urbansound.featurize import featurize_dataset, read_features

    restore_malloc_env()
    overrides = {}
    if untrimmed:
        overrides = {f"distributed.nanny.pre-spawn-environ.{TRIM_VAR}": None}
        os.environ.pop(TRIM_VAR, None)  # the Nanny prefers the OS environment to its config
    t0 = time.perf_counter()
    with (_quiet_logs(), dask.config.set(overrides),
          dask_client(None, workers, dashboard_address="127.0.0.1:0") as client):
        client.wait_for_workers(workers)
        cluster_start = time.perf_counter() - t0
        t1 = time.perf_counter()
        client.run(_worker_warmup, warm_records, settings, str(scratch))
        warmup = time.perf_counter() - t1
        trims = set(client.run(_worker_trim).values())
        reset = client.run(_reset_peak_rss)
        cpu_before = client.run(_cpu_seconds)
        start = time.perf_counter()
        summary = featurize_dataset(clips, settings, out_dir, client, on_progress=_noop_progress)
        seconds = time.perf_counter() - start
        cpu_after = client.run(_cpu_seconds)
        run_peak = client.run(_peak_rss_since_reset_kib)
        run = LibraryRun(
            clips=len(clips), seconds=seconds, cpu_seconds=sum(cpu_after[w] - cpu_before[w] for w in cpu_after),
            failed=summary.failed, batches=summary.batches,
            cached_batches=summary.cached_batches, rows_in_table=0, cluster_start_s=cluster_start, warmup_s=warmup,
            rss_warmup_mib=[reset[w][0] / 1024 for w in sorted(reset)],
            rss_run_mib=[run_peak[w] / 1024 for w in sorted(run_peak)],
            rss_lifetime_mib=[], rss_reset=all(ok for _, ok in reset.values()),
            worker_trim=", ".join(sorted(trims)),
        )
        if rerun:
            start = time.perf_counter()
            again = featurize_dataset(clips, settings, out_dir, client, on_progress=_noop_progress)
            run.rerun_seconds = time.perf_counter() - start
            run.rerun_batches, run.rerun_cached = again.batches, again.cached_batches
        peaks = client.run(_peak_rss_since_reset_kib)
        run.rss_lifetime_mib = [max(w, r, peaks[k] / 1024) for k, w, r in
                                zip(sorted(peaks), run.rss_warmup_mib, run.rss_run_mib)]
    restore_malloc_env()
    run.rows_in_table = len(read_features(out_dir))
    return run


# ---------------------------------------------------------------- where featurize_batch spends its time
def profile_batch(records: list[dict[str, Any]], settings: Any, scratch: Path) -> dict[str, float]:
    """Seconds per stage of one ``featurize_batch`` call, in this process (warmed first).

    Wraps the functions featurize_batch and features.extract look up at call time (in
    every ``urbansound`` module that holds them, whatever the package layout), runs the
    real code path, and restores them: nothing is re-implemented here. A stage whose
    function is not found is left out (and counted under "other").
    """
    from urbansound import featurize as fz

    fz.featurize_batch(records, settings=settings, out_dir=str(scratch / "prof-warm"))  # warm-up
    spent: dict[str, float] = {}

    def timed(name: str, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    stages = [
        ("featurize", "_read_bytes", "read files"),
        ("featurize", "_batch_key", "hash (xxh3 of bytes)"),
        ("featurize", "decode", "decode (soundfile+soxr)"),
        ("features", "spectrogram", "features: STFT"),
        ("features", "mfcc_frames", "features: mel+DCT"),
        ("features", "time_features", "features: time_*"),
        ("features", "fft_features", "features: fft_*"),
        ("features", "mfcc_features", "features: mfcc_* stats"),
        ("featurize", "_save_npz_atomic", "write sequences .npz"),
        ("featurize", "write_atomic", "write Parquet part"),
    ]
    modules = [m for n, m in list(sys.modules.items())
               if m is not None and (n == "urbansound.featurize" or n.startswith("urbansound.features"))]
    saved = []
    try:
        for owner, attr, name in stages:
            home = fz if owner == "featurize" else sys.modules.get("urbansound.features")
            original = getattr(home, attr, None)
            if original is None:
                continue
            wrapped = timed(name, original)
            for mod in modules:
                if getattr(mod, attr, None) is original:
                    saved.append((mod, attr, original))
                    setattr(mod, attr, wrapped)
        start = time.perf_counter()
        fz.featurize_batch(records, settings=settings, out_dir=str(scratch / "prof"))
        total = time.perf_counter() - start
    finally:
        for mod, attr, fn in saved:
            setattr(mod, attr, fn)
    spent["other (prepare, dicts, Arrow table)"] = total - sum(spent.values())
    spent["total"] = total
    return spent


# ---------------------------------------------------------------- report
def _verdict(ok: bool, cpu_ok: bool | None = None) -> str:
    """'met' / 'NOT MET'; with a CPU-time estimate too, 'met' only when both agree."""
    if cpu_ok is None or cpu_ok == ok:
        return "met" if ok else "NOT MET"
    return ("UNCLEAR: met by wall clock, not by CPU time (other load slowed the reference)" if ok
            else "UNCLEAR: not met by wall clock, met by CPU time (other load slowed this step)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips-per-class", type=int, default=150, metavar="N",
                   help="synthetic clips per common class (default: %(default)s, about 8.7 N clips in all; "
                        "the whole benchmark then takes ~4-5 min on a busy 2-core machine, about half of it "
                        "generating the clips)")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="use this dataset (either layout) instead of generating one")
    p.add_argument("--layout", choices=("urbansound8k", "av"), default="urbansound8k",
                   help="layout of the generated dataset (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated dataset (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="Dask workers for (c) and decode processes for (b) (default: one per core)")
    p.add_argument("--baseline-clips", type=int, default=150, metavar="N",
                   help="clips the notebook loop (a) is timed on, evenly spread over the dataset "
                        "(default: %(default)s; 0 = all)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (dataset and feature tables)")
    p.add_argument("--malloc-what-if", action="store_true",
                   help="also run (c) on the full set with Dask's MALLOC_TRIM_THRESHOLD_=65536 worker setting "
                        "removed (a what-if, not the library's behaviour; adds ~30 s)")
    p.add_argument("--live", action="store_true",
                   help="import urbansound from the working tree as it is, instead of from a copy taken at the "
                        "start (the default: the tree is edited concurrently, and every process must run the "
                        "same code)")
    a = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="urbansound-bench-"))
    if a.live:
        code = "live working tree"
    else:
        digest = snapshot_library(tmp / "lib")
        code = f"copy of the working tree's urbansound/ taken at start (sources sha256 {digest})"
    try:
        import urbansound.featurize  # import cost outside every timing
    except Exception as e:  # noqa: BLE001 - a half-edited tree: say so and stop
        say(f"cannot import urbansound ({type(e).__name__}: {e}); the tree may be mid-edit: run again")
        shutil.rmtree(tmp, ignore_errors=True)
        return 2
    import urbansound
    from urbansound.datasets import read_dataset
    from urbansound.featurize import plan_batches
    from urbansound.settings import FeatureSettings

    workers = a.workers or os.cpu_count() or 1
    settings = FeatureSettings()  # the CLI's defaults: all three feature sets, batch_size 64
    os.environ.pop("DASK_SCHEDULER_ADDRESS", None)  # (c) is a LocalCluster on this machine, always

    for line in machine_lines():
        say(line)
    say(f"code    : {code}, {Path(urbansound.__file__).parent}")
    say(f"scratch : {tmp}{' (kept)' if a.keep else ' (removed at the end; --keep to keep it)'}")
    bad = False
    try:
        # ------------------------------------------------------------ the clips
        if a.data:
            root = a.data
            say(f"\ndataset : {root}")
        else:
            from urbansound import synth

            root = tmp / "data"
            say(f"\ngenerating {a.layout} dataset, {a.clips_per_class} clips/class, real format mix, seed {a.seed} ...")
            t = time.perf_counter()
            with _quiet_logs():
                synth.write_dataset(root, layout=a.layout, clips_per_class=a.clips_per_class, seed=a.seed,
                                    formats="real", jobs=workers)
            say(f"  written in {time.perf_counter() - t:.1f} s (not part of any timing)")
        full = _ordered(read_dataset(root).clips)
        half = full.iloc[::2].reset_index(drop=True)  # every other clip: the same mix, half the size
        base = _evenly(full, a.baseline_clips) if a.baseline_clips > 0 else full
        paths = list(full["path"])
        sizes = np.array([Path(x).stat().st_size for x in paths])
        say(f"clips   : {len(full)} ({sizes.sum() / 2**20:.0f} MiB on disk); half set {len(half)}; "
            f"notebook subset {len(base)}")

        # ------------------------------------------------------------ (a)
        # (a) is timed in two halves, one before (b) and (c), one after: on a shared machine
        # the load changes over minutes, and (a) then sees the same spread of it as (c)
        base_1, base_2 = base.iloc[::2], base.iloc[1::2]
        say(f"\n(a) notebook loop, 1 process, first half of {len(base)} clips ...")
        a1_s, a1_cpu = run_notebook(list(base_1["path"]))
        say(f"    {a1_s:.1f} s, {len(base_1) / a1_s:.2f} clips/s")

        # ------------------------------------------------------------ where a batch's time goes
        say("\nprofile of one featurize_batch (this process, warmed, one batch of the same clips) ...")
        prof_records = plan_batches(full, settings.batch_size)[0]
        prof = profile_batch(prof_records, settings, tmp / "profile")
        n_prof = len(prof_records)

        # ------------------------------------------------------------ (b) pass 1
        say(f"\n(b) decode floor, {workers} processes, {len(full)} clips ...")
        b1_s, b1_cpu, samples = run_decode_floor(paths, workers, settings.sample_rate)
        say(f"    pass 1: {b1_s:.2f} s, {len(full) / b1_s:.1f} clips/s")
        audio_s = samples / settings.sample_rate

        # ------------------------------------------------------------ (c)
        say(f"\n(c) featurize_dataset, LocalCluster of {workers} worker(s), half set: {len(half)} clips ...")
        warm_records = plan_batches(full, settings.batch_size)[0][:4]  # the same warm-up for both sizes
        c_half = run_library(half, settings, tmp / "features-half", tmp / "warm-half", workers, warm_records,
                             rerun=False)
        say(f"    {c_half.seconds:.2f} s, {len(half) / c_half.seconds:.1f} clips/s")
        say(f"(c) featurize_dataset, fresh LocalCluster, full set: {len(full)} clips, then the re-run ...")
        c_full = run_library(full, settings, tmp / "features-full", tmp / "warm-full", workers, warm_records,
                             rerun=True)
        say(f"    {c_full.seconds:.2f} s, {len(full) / c_full.seconds:.1f} clips/s; "
            f"re-run {c_full.rerun_seconds:.2f} s, {c_full.rerun_batches - c_full.rerun_cached} of "
            f"{c_full.rerun_batches} batches recomputed")

        c_free = None
        if a.malloc_what_if:
            say("(c*) what-if: full set again, fresh folder and cluster, Dask's MALLOC_TRIM_THRESHOLD_ removed ...")
            c_free = run_library(full, settings, tmp / "features-untrimmed", tmp / "warm-untrimmed", workers,
                                 warm_records, rerun=False, untrimmed=True)
            say(f"    {c_free.seconds:.2f} s, {len(full) / c_free.seconds:.1f} clips/s")

        # ------------------------------------------------------------ (a) second half, (b) pass 2
        say(f"\n(a) notebook loop, second half: {len(base_2)} clips ...")
        a2_s, a2_cpu = run_notebook(list(base_2["path"])) if len(base_2) else (0.0, 0.0)
        if len(base_2):
            say(f"    {a2_s:.1f} s, {len(base_2) / a2_s:.2f} clips/s")
        a_s, a_cpu = a1_s + a2_s, a1_cpu + a2_cpu
        a_rate = len(base) / a_s
        say("\n(b) decode floor, pass 2 ...")
        b2_s, b2_cpu, _ = run_decode_floor(paths, workers, settings.sample_rate)
        say(f"    pass 2: {b2_s:.2f} s, {len(full) / b2_s:.1f} clips/s")
        b_s, b_cpu = min((b1_s, b1_cpu), (b2_s, b2_cpu))

        # ------------------------------------------------------------ checks
        checked = [("half", c_half, len(half)), ("full", c_full, len(full))] + ([("what-if", c_free, len(full))]
                                                                                  if c_free else [])
        for label, run, n in checked:
            if run.rows_in_table + run.failed != n or run.cached_batches:
                bad = True
                say(f"!! (c) {label}: {run.rows_in_table} rows + {run.failed} failed != {n} clips, "
                    f"or {run.cached_batches} batches were cached in a fresh folder")
        if c_full.rerun_batches != c_full.rerun_cached:
            bad = True
            say(f"!! the re-run recomputed {c_full.rerun_batches - c_full.rerun_cached} batch(es)")

        # ------------------------------------------------------------ table
        b_rate = len(full) / b_s
        c_rate = len(full) / c_full.seconds
        c_half_rate = len(half) / c_half.seconds
        rerun_rate = len(full) / c_full.rerun_seconds
        c_over_a = c_rate / a_rate
        b_over_c = b_rate / c_rate
        projected = REAL_CLIPS / c_rate
        c_cpu_ms = 1000 * c_full.cpu_seconds / len(full)
        b_cpu_ms = 1000 * b_cpu / len(full)
        run_half, run_full = max(c_half.rss_run_mib), max(c_full.rss_run_mib)
        overall = max(*c_half.rss_lifetime_mib, *c_full.rss_lifetime_mib)
        flat = abs(run_full - run_half) <= FLAT_TOLERANCE * run_half
        mean_clip_s = audio_s / max(len(full) - c_full.failed, 1)

        def fmt(xs: list[float]) -> str:
            return ", ".join(f"{x:.0f}" for x in xs)

        par_p = f"{workers} proc" + ("s" if workers != 1 else "")
        par_w = f"{workers} worker" + ("s" if workers != 1 else "")
        rows = [
            ("(a) notebook librosa loop", "1 proc", len(base), a_s, a_rate, 1000 * a_cpu / len(base), "-",
             (f"evenly spaced subset, halves before/after c: {len(base_1) / a1_s:.1f}, "
              f"{len(base_2) / a2_s if a2_s else float('nan'):.1f} clips/s")),
            ("(b) decode floor", par_p, len(full), b_s, b_rate, b_cpu_ms, "-",
             f"faster of 2 passes ({len(full) / b1_s:.1f} before c, {len(full) / b2_s:.1f} after)"),
            ("(c) featurize, half set", par_w, len(half), c_half.seconds, c_half_rate,
             1000 * c_half.cpu_seconds / len(half), fmt(c_half.rss_run_mib),
             f"{c_half.batches} batches, {c_half.failed} failed, fresh cluster"),
            ("(c) featurize, full set", par_w, len(full), c_full.seconds, c_rate, c_cpu_ms,
             fmt(c_full.rss_run_mib), f"{c_full.batches} batches, {c_full.failed} failed, fresh cluster"),
            ("(c) re-run, same folder", par_w, len(full), c_full.rerun_seconds, rerun_rate, None, "-",
             f"{c_full.rerun_batches - c_full.rerun_cached} of {c_full.rerun_batches} batches recomputed"),
        ]
        if c_free:
            rows.append(("(c*) what-if, no trim env", par_w, len(full), c_free.seconds,
                         len(full) / c_free.seconds, 1000 * c_free.cpu_seconds / len(full), fmt(c_free.rss_run_mib),
                         f"NOT the library default: workers' {TRIM_VAR} {c_free.worker_trim}"))
        say("\n" + "=" * 118)
        say(f"featurize throughput, {_dt.datetime.now().astimezone().isoformat(timespec='minutes')}: {len(full)} clips "
            f"(mean {mean_clip_s:.2f} s of audio), batch_size {settings.batch_size}, {os.cpu_count()} cores, "
            f"load average now {os.getloadavg()[0]:.1f}")
        say("=" * 118)
        say(f"{'step':26s} {'parallel':>9s} {'clips':>6s} {'seconds':>8s} {'clips/s':>8s} {'CPU ms/clip':>11s} "
            f"{'peak RSS MiB':>13s}  notes")
        for name, par, n, sec, r, cpu_ms, rss, note in rows:
            cpu_txt = f"{cpu_ms:11.1f}" if cpu_ms is not None else f"{'-':>11s}"
            say(f"{name:26s} {par:>9s} {n:6d} {sec:8.2f} {r:8.1f} {cpu_txt} {rss:>13s}  {note}")
        say("-" * 118)
        say(f"excluded one-time costs (half / full cluster): cluster start {c_half.cluster_start_s:.1f} / "
            f"{c_full.cluster_start_s:.1f} s, worker warm-up {c_half.warmup_s:.1f} / {c_full.warmup_s:.1f} s")
        rss_how = ("the timed run alone (high-water mark reset after warm-up)" if c_half.rss_reset and c_full.rss_reset
                   else "ru_maxrss (reset not possible here: includes start-up and warm-up)")
        say(f"Dask workers' {TRIM_VAR} (set by the Nanny): {c_full.worker_trim}; the decode pool, the notebook "
            f"loop and the profile below run with this shell's ({_ORIGINAL_TRIM or 'unset'})")
        say(f"peak RSS per worker, MiB: 'peak RSS' column = {rss_how}; start-up + warm-up "
            f"[{fmt(c_half.rss_warmup_mib)}] / [{fmt(c_full.rss_warmup_mib)}]; whole worker life "
            f"[{fmt(c_half.rss_lifetime_mib)}] / [{fmt(c_full.rss_lifetime_mib)}]")
        total = prof["total"]
        say(f"where one featurize_batch ({n_prof} clips, main process, warmed) spends "
            f"{1000 * total / n_prof:.1f} ms/clip:")
        for name, sec in prof.items():
            if name != "total":
                say(f"    {name:38s} {1000 * sec / n_prof:6.2f} ms/clip  {100 * sec / total:5.1f}%")
        say("-" * 118)
        # wall-clock ratios are what the targets name; the CPU-time estimates (idle cores
        # assumed) guard the verdict against a step that other load happened to slow
        a_cpu_ms = 1000 * a_cpu / len(base)
        c_over_a_cpu = workers * a_cpu_ms / c_cpu_ms
        b_over_c_cpu = c_cpu_ms / b_cpu_ms
        projected_cpu = REAL_CLIPS * c_cpu_ms / 1000 / workers
        say(f"c/a = {c_over_a:.1f}x (target >= {TARGET_C_OVER_A:g}x): "
            f"{_verdict(c_over_a >= TARGET_C_OVER_A, c_over_a_cpu >= TARGET_C_OVER_A)}"
            f"   [from CPU time per clip, {workers} idle cores: {c_over_a_cpu:.1f}x]")
        say(f"b/c = {b_over_c:.2f}x (target <= {TARGET_B_OVER_C:g}x): "
            f"{_verdict(b_over_c <= TARGET_B_OVER_C, b_over_c_cpu <= TARGET_B_OVER_C)}"
            f"   [by CPU time per clip: {b_over_c_cpu:.2f}x]")
        say(f"{REAL_CLIPS} clips at rate c: {projected:.0f} s (target <= {TARGET_PROJECTED_S:g} s): "
            f"{_verdict(projected <= TARGET_PROJECTED_S, projected_cpu <= TARGET_PROJECTED_S)}"
            f"   [at c's CPU ms/clip with {workers} idle cores: {projected_cpu:.0f} s]")
        say(f"peak RSS per worker (target < {TARGET_RSS_MIB:g} MiB, flat within {100 * FLAT_TOLERANCE:.0f}% from "
            f"{len(half)} to {len(full)} clips): {_verdict(overall < TARGET_RSS_MIB and flat)}   "
            f"[run peak {run_half:.0f} -> {run_full:.0f} MiB, {100 * (run_full / run_half - 1):+.1f}%; "
            f"highest ever {overall:.0f} MiB]")
        say(f"re-run recomputes nothing: {_verdict(c_full.rerun_batches == c_full.rerun_cached)}   "
            f"[{c_full.rerun_seconds:.2f} s: every file is still read and hashed]")
        if c_free:
            free_rate = len(full) / c_free.seconds
            free_cpu_ms = 1000 * c_free.cpu_seconds / len(full)
            say(f"what-if (c*), workers without {TRIM_VAR} (not the library's behaviour): c*/a = "
                f"{free_rate / a_rate:.1f}x, b/c* = {b_rate / free_rate:.2f}x (CPU {free_cpu_ms / b_cpu_ms:.2f}x), "
                f"{REAL_CLIPS} clips in {REAL_CLIPS / free_rate:.0f} s "
                f"[{REAL_CLIPS * free_cpu_ms / 1000 / workers:.0f} s with {workers} idle cores]")
        say("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
