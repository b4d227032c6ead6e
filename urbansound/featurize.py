"""The featurize stage: clips to a Parquet feature table, in parallel batches on Dask.

Layout of ``<out>/`` (one dataset, see DESIGN.md)::

    part-<key>.parquet   one per batch of clips: the clip table's columns, then
                         ``augmentation`` (string: null for the clip as recorded; for
                         an extra training row, the spec that altered it, e.g.
                         ``speed:0.9``, see :mod:`urbansound.augment`: such a row keeps
                         its source clip's id, label, fold and recording),
                         ``decoded_seconds`` (float32, length before padding),
                         ``padded`` (bool, shorter than one FFT frame and zero-padded),
                         then the feature columns (float32). ``pandas.read_parquet(out)``,
                         ``dask.dataframe.read_parquet(out)`` and ``pyarrow.dataset``
                         read the parts as one table.
    _sequences/part-<key>.npz
                         beside each part: ``clip_id`` (n,) and ``mfcc`` (n, n_mfcc,
                         sequence_frames) float32, the MFCC frames cropped or zero-padded
                         to a fixed length, for sequence models (clips as recorded only);
                         ``mel_key`` (r,) and ``mel`` (r, mel_bands, sequence_frames)
                         float16, the log-mel spectrogram of every row of the part
                         (augmented rows too; key ``clip_id`` or ``clip_id|spec``), cropped
                         or looped to a fixed length, for the ``cnn``
                         (:func:`urbansound.features.mel_image`).
    _failures.csv        clip_id, path, error: clips that could not be decoded.
    _manifest.json       the feature settings, the dataset folder, counts and the parts
                         of the last complete run: the table *is* these parts (readers
                         ignore others, saying so, and refuse a manifest whose parts are
                         gone).
    .lock                held (``fcntl.flock``) by the featurize run writing here.

Names starting with ``_`` or ``.`` are skipped by Parquet readers. A part's ``<key>``
hashes the settings and the content (bytes) of its clips, so a re-run over unchanged
files with unchanged settings finds every part already written and recomputes nothing.
Parts are written to a temporary name and renamed into place: a crash never leaves half a
part under a name a reader would take. One featurize run at a time writes a folder, and
never one that holds another dataset's table or files this project did not write.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from urbansound import atomic, augment, features, storage
from urbansound.atomic import atomic_path
from urbansound.audio import check_size, decode, open_regular, os_reason
from urbansound.exceptions import DatasetError, DecodeError, WorkspaceError
from urbansound.settings import FeatureSettings
from urbansound.table import (
    _CLIP_COLUMNS,
    _FAILURES_KEY,
    _is_our_part,
    _sequence_path,
    mel_key,
    schema,
    write_atomic,
)
from urbansound.table import (  # noqa: F401 (readers other modules once took from here)
    iter_feature_columns,
    read_failures,
    read_mels,
    read_features,
    read_sequences,
    read_settings,
    table_parts,
)
from urbansound.workspace import FAILURES_FILE, LOCK_FILE, MANIFEST_FILE, SEQUENCES_DIR

log = logging.getLogger(__name__)

@dataclass
class BatchResult:
    """What one batch task returns: small, never arrays."""

    part: str  # "" when no part was written (a clip that killed its worker, alone)
    clips: int
    cached: bool
    failures: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    augmented: int = 0  # extra training rows (FeatureSettings.augment)


@dataclass
class FeaturizeSummary:
    """What the featurize stage did."""

    out_dir: Path
    clips: int
    failed: int
    batches: int
    cached_batches: int
    seconds: float
    failures: list[dict[str, str]] = field(default_factory=list)
    augmented: int = 0

    def describe(self) -> str:
        computed = self.batches - self.cached_batches
        what = "nothing recomputed (all batches up to date)" if computed == 0 else (
            f"{computed} of {self.batches} batch(es) computed, {self.cached_batches} up to date")
        extra = f" (+ {self.augmented} augmented training rows)" if self.augmented else ""
        return (f"{self.clips} clip(s) featurized{extra}, {self.failed} failed; {what}; "
                f"{self.seconds:.1f} s; table: {self.out_dir}")


def plan_batches(clips: pd.DataFrame, batch_size: int) -> list[list[dict[str, Any]]]:
    """Split the clip table into batches of records, in a stable order (split, clip_id)."""
    ordered = clips.sort_values(["split", "clip_id"], kind="stable")
    records = [
        {k: (None if pd.isna(v) else (int(v) if k == "fold" else str(v))) for k, v in row.items()}
        for row in ordered.to_dict("records")
    ]
    return [records[i : i + batch_size] for i in range(0, len(records), batch_size)]


def _batch_key(records: list[dict[str, Any]], blobs: list[bytes | _OnDisk | None], settings: FeatureSettings) -> str:
    # every clip's bytes go through the hash on every run: xxh3 reads them ~30x faster than
    # sha256 (0.02 vs 0.5 ms per clip); 128 bits leave no practical chance of a collision
    h = xxhash.xxh3_128(settings.fingerprint().encode())
    for rec, blob in zip(records, blobs):
        ident = [rec["clip_id"], rec["split"], rec["label"], rec["fold"], rec["recording"], rec["path"]]
        h.update(json.dumps(ident).encode())
        h.update(b"<unreadable>" if blob is None else blob.digest if isinstance(blob, _OnDisk)
                 else xxhash.xxh3_128_digest(blob))
    return h.hexdigest()[:24]


HEADER_FIRST_BYTES = 64 * 2**20
"""Files larger than this have their header checked before they are read into memory;
smaller ones (every real clip) are checked by :func:`urbansound.audio.decode` from the
bytes read, which costs nothing extra."""


def _refusal(path: str, settings: FeatureSettings) -> str | None:
    """Why a large file is not to be read at all (see :func:`urbansound.audio.check_size`), or None."""
    try:
        if os.path.getsize(path) <= HEADER_FIRST_BYTES:
            return None
        check_size(path, max_seconds=settings.max_seconds)
    except OSError:
        return None  # reported as not found when read
    except DecodeError as e:
        return e.reason
    return None


CHANGING = "the file changed while it was read, three times (still being copied or written?); re-run featurize"

IN_MEMORY_BYTES = 16 * 2**20
"""Files up to this size (every real clip: 4 s of 192 kHz 24-bit stereo is 4.6 MB) are read
whole, hashed and decoded from memory. Larger ones (e.g. a huge LIST or bext chunk before
the audio) are hashed in blocks and decoded from their path, which reads only the audio: a
batch never holds them in memory."""

_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class _OnDisk:
    """A file over :data:`IN_MEMORY_BYTES`: its content hash (the same xxh3 a blob of it
    would have, so batch keys do not depend on the threshold) and (size, mtime) when hashed."""

    digest: bytes
    stamp: tuple[int, int]


def _read_url(path: str, settings: FeatureSettings) -> bytes | _OnDisk | str:
    """:func:`_read_bytes` for a clip in object storage (fsspec), read by this worker: the
    same size rules (a header check above :data:`HEADER_FIRST_BYTES`, block-wise hashing
    above :data:`IN_MEMORY_BYTES`) and the same content hash as for a file on disk."""
    import fsspec

    try:
        fs, where = fsspec.core.url_to_fs(path)
        info = fs.info(where)
        if info.get("type") != "file":
            return "not a regular file (a folder or prefix); give each clip its own object"
        size = int(info["size"])
        if size > HEADER_FIRST_BYTES:
            with fs.open(where, "rb") as f:
                check_size(f, max_seconds=settings.max_seconds)
        if size <= IN_MEMORY_BYTES:
            data = fs.cat_file(where)
            return data if len(data) == size else CHANGING
        h = xxhash.xxh3_128()
        with fs.open(where, "rb") as f:
            while block := f.read(_HASH_BLOCK):
                h.update(block)
        return _OnDisk(h.digest(), (size, 0))
    except FileNotFoundError:
        return "file not found"
    except DecodeError as e:
        return e.reason
    except OSError as e:
        return os_reason(e)


def _read_bytes(path: str) -> bytes | _OnDisk | str:
    """The file's bytes (or, for a large file, its hash), or why not: not found, not readable,
    not a regular file (a directory or FIFO is never read: see :func:`urbansound.audio.open_regular`),
    or changing while it is read (a clip still being copied is read again, up to three
    times, rather than featurized truncated)."""
    for attempt in range(3):
        try:
            before = os.stat(path)
            with open(open_regular(path), "rb") as f:
                if before.st_size > IN_MEMORY_BYTES:
                    h, length = xxhash.xxh3_128(), 0
                    while block := f.read(_HASH_BLOCK):
                        h.update(block)
                        length += len(block)
                    data: bytes | _OnDisk = _OnDisk(h.digest(), (before.st_size, before.st_mtime_ns))
                else:
                    data = f.read()
                    length = len(data)
            after = os.stat(path)
        except DecodeError as e:
            return e.reason
        except OSError as e:
            return os_reason(e)
        if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns) and length == after.st_size:
            return data
        time.sleep(0.2 * (attempt + 1))
    return CHANGING


def _decode_read(blob: bytes | _OnDisk, path: str, settings: FeatureSettings) -> np.ndarray:
    """Decode what :func:`_read_bytes` gave: from memory, or a large file from its path."""
    if isinstance(blob, bytes):
        return decode(_named(blob, path), sr=settings.sample_rate, max_seconds=settings.max_seconds)
    if storage.is_url(path):  # a large object, decoded from ranged reads
        import fsspec

        y = decode(path, sr=settings.sample_rate, max_seconds=settings.max_seconds)
        fs, where = fsspec.core.url_to_fs(path)
        if int(fs.info(where)["size"]) != blob.stamp[0]:
            raise DecodeError(path, CHANGING)
        return y
    y = decode(path, sr=settings.sample_rate, max_seconds=settings.max_seconds)
    try:
        now = os.stat(path)
    except OSError as e:
        raise DecodeError(path, os_reason(e)) from None
    if (now.st_size, now.st_mtime_ns) != blob.stamp:  # the features would not be of the hashed bytes
        raise DecodeError(path, CHANGING)
    return y


def featurize_batch(records: list[dict[str, Any]], *, settings: FeatureSettings, out_dir: str) -> BatchResult:
    """Decode and featurize one batch of clips; write its Parquet part.

    Parameters
    ----------
    records : list of dict
        Rows of the clip table (see :mod:`urbansound.datasets`).
    settings : FeatureSettings
    out_dir : str
        The feature table folder.

    Returns
    -------
    BatchResult
        The part's path, how many clips it holds, whether it was already there, and the
        clips that failed with the reason.
    """
    start = time.perf_counter()
    # bytes, or why not (a big file's header is checked first: nothing too big is read)
    read = [_read_url(p, settings) if storage.is_url(p) else _refusal(p, settings) or _read_bytes(p)
            for p in (r["path"] for r in records)]
    blobs = [None if isinstance(b, str) else b for b in read]
    refused = [b if isinstance(b, str) else None for b in read]
    key = _batch_key(records, blobs, settings)
    out = Path(out_dir)
    part = out / f"part-{key}.parquet"
    if part.exists():  # written last, after its sequences: a part on disk is complete
        meta = pq.read_schema(part).metadata or {}
        failures = json.loads(meta.get(_FAILURES_KEY, b"[]"))
        augmentation = pq.read_table(part, columns=["augmentation"]).column(0)
        augmented = augmentation.length() - augmentation.null_count
        return BatchResult(str(part), augmentation.null_count, True, failures, time.perf_counter() - start, augmented)

    names = features.feature_names(settings)
    rows_per_clip = 1 + len(settings.augment)
    values = np.empty((len(records) * rows_per_clip, len(names)), dtype=np.float32)
    kept, meta, failures, sequences, images = [], [], [], [], []
    for rec, blob, why in zip(records, blobs, refused):
        try:
            if why:
                raise DecodeError(rec["path"], why)
            y = _decode_read(blob, rec["path"], settings)
            # the clip as recorded, then (training clips only) each augmentation of it
            variants = [(None, y)]
            if rec["split"] == "train":
                variants += [(spec, augment.apply(y, spec, sr=settings.sample_rate, clip_id=rec["clip_id"]))
                             for spec in settings.augment]
            rows, frames = [], None
            for spec, z in variants:
                row, M, image = _features_of(z, settings, rec["path"], names)
                rows.append(({**rec, "augmentation": spec}, row, (len(z) / settings.sample_rate, len(z) < settings.n_fft),
                             image))
                frames = M if spec is None else frames
        except DecodeError as e:
            failures.append({"clip_id": rec["clip_id"], "path": rec["path"], "error": e.reason})
            continue
        for record, row, facts, image in rows:
            values[len(kept)] = row
            kept.append(record)
            meta.append(facts)
            images.append((mel_key(record["clip_id"], record["augmentation"]), image))
        sequences.append((rec["clip_id"], features.mfcc_sequence(frames, settings)))

    table = _table(kept, meta, values[: len(kept)], settings, failures)
    shape = (0, settings.n_mfcc, settings.sequence_frames)
    mel_shape = (0, settings.image_bands, settings.sequence_frames)
    _save_npz_atomic(_sequence_path(part), clip_id=np.array([c for c, _ in sequences], dtype=str),
                     mfcc=np.stack([m for _, m in sequences]) if sequences else np.zeros(shape, np.float32),
                     mel_key=np.array([k for k, _ in images], dtype=str),
                     mel=np.stack([m for _, m in images]) if images else np.zeros(mel_shape, np.float16))
    write_atomic(table, part)
    return BatchResult(str(part), len(sequences), False, failures, time.perf_counter() - start,
                       len(kept) - len(sequences))


def _features_of(y: np.ndarray, settings: FeatureSettings, path: str,
                 names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row of features (float32, every value finite), the MFCC frames and the log-mel
    image of a decoded signal."""
    y, _ = features.prepare(y, settings)
    row, frames, image = features.extract_frames(y, sr=settings.sample_rate, settings=settings)
    row = row.astype(np.float32)  # as stored: what overflows here is not finite either
    if not np.isfinite(row).all():
        bad = [names[i] for i in np.flatnonzero(~np.isfinite(row))[:3]]
        raise DecodeError(path, f"features not finite ({', '.join(bad)})")
    if not np.isfinite(image).all():
        raise DecodeError(path, "log-mel spectrogram not finite")
    return row, frames, image


def _table(records: list[dict[str, Any]], meta: list[tuple[float, bool]], values: np.ndarray,
           settings: FeatureSettings, failures: list[dict[str, str]]) -> pa.Table:
    """One batch's Arrow table: the clip columns, the decode facts, then one float32 column
    per feature, each a contiguous slice of the batch's (clips, features) matrix."""
    table_schema = schema(settings)
    table_schema = table_schema.with_metadata({**table_schema.metadata, _FAILURES_KEY: json.dumps(failures).encode()})
    clip_fields = list(table_schema)[:_CLIP_COLUMNS]
    columns = [pa.array([r[f.name] for r in records], type=f.type) for f in clip_fields]
    columns += [pa.array(np.array([m[0] for m in meta], dtype=np.float32)), pa.array([m[1] for m in meta], type=pa.bool_())]
    by_column = np.asfortranarray(values)
    columns += [pa.array(by_column[:, j]) for j in range(by_column.shape[1])]
    return pa.Table.from_arrays(columns, schema=table_schema)


def _named(blob: bytes, path: str) -> io.BytesIO:
    f = io.BytesIO(blob)
    f.name = path  # so a DecodeError names the file, not the buffer
    return f


def _save_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


ProgressFn = Callable[[int, int, int, float], None]


def _log_progress(done: int, total: int, failed: int, rate: float) -> None:
    log.info("featurize: %d/%d clips, %.1f clips/s, %d failed", done, total, rate, failed)


def featurize_dataset(
    clips: pd.DataFrame,
    settings: FeatureSettings,
    out_dir: Path,
    client: Any,
    *,
    on_progress: ProgressFn | None = None,
    source: Path | None = None,
) -> FeaturizeSummary:
    """Featurize every clip on a Dask cluster, one task per batch.

    Parameters
    ----------
    clips : pd.DataFrame
        The clip table.
    settings : FeatureSettings
    out_dir : Path
        The feature table folder; must be writable by the Dask workers.
    client : distributed.Client
        Any Dask client: a LocalCluster's or an existing scheduler's.
    on_progress : callable, optional
        Called after each batch with (clips done, clips total, failures so far, clips/s).
    source : Path, optional
        The dataset folder, recorded in the manifest: a later run for another dataset is
        refused this folder (see :func:`claim`).
    """
    from distributed import KilledWorker, as_completed

    on_progress = on_progress or _log_progress
    out_dir = Path(out_dir).absolute()
    with claim(out_dir, source):
        start = time.perf_counter()
        check_workers_see(client, clips["path"].iloc[0] if len(clips) else None, out_dir)
        batches = plan_batches(clips, settings.batch_size)
        futures = client.map(featurize_batch, batches, settings=settings, out_dir=str(out_dir), pure=False)
        batch_of = {f.key: b for f, b in zip(futures, batches)}
        results: list[BatchResult] = []
        suspects: list[dict[str, Any]] = []
        done = failed = 0

        def _count(result: BatchResult) -> None:
            nonlocal done, failed
            results.append(result)
            done += result.clips + len(result.failures)
            failed += len(result.failures)
            on_progress(done, len(clips), failed, done / max(time.perf_counter() - start, 1e-9))

        for future in as_completed(futures):
            try:
                _count(future.result())
            except KilledWorker:
                # A batch whose workers kept dying (a clip exhausting memory, or a task that
                # shared the worker with one): its clips are redone one by one at the end.
                suspects += batch_of[future.key]
        for rec in suspects:  # alone on the cluster, one at a time: a death is this clip's own
            result = _alone(client, rec, settings, out_dir, KilledWorker)
            if result is not None:
                _count(result)
            else:
                _count(BatchResult("", 0, False, [{
                    "clip_id": rec["clip_id"], "path": rec["path"],
                    "error": "killed the Dask worker featurizing it (out of memory?); lower --max-seconds or give "
                             "the workers more memory"}]))
        return finalize(results, settings, out_dir, seconds=time.perf_counter() - start, source=source)


def _alone(client, rec: dict[str, Any], settings: FeatureSettings, out_dir: Path, killed: type,
           tries: int = 2) -> BatchResult | None:
    """Featurize one suspect clip alone; None if it killed its worker on every try.

    A clip is called a killer only when it dies twice, each time on a worker that was up
    before it was sent: a worker still restarting after the last killer (or dying for a
    reason of its own) must not cost a good clip.
    """
    for _ in range(tries):
        try:
            client.wait_for_workers(1, timeout=120)
        except TimeoutError:
            pass  # the submit below waits for a worker as long as it takes
        try:
            return client.submit(featurize_batch, [rec], settings=settings, out_dir=str(out_dir),
                                 pure=False).result()
        except killed:
            continue
    return None


_OURS = (MANIFEST_FILE, FAILURES_FILE, SEQUENCES_DIR, LOCK_FILE)


@contextmanager
def claim(out_dir: Path, source: Path | None = None) -> Iterator[None]:
    """Hold ``out_dir`` for one featurize run.

    Refused, before any work, with a :class:`WorkspaceError` naming the problem: another
    featurize run holds the folder (an ``flock`` on ``.lock``, released when its process
    ends, however it ends); the folder's manifest names another dataset folder than
    ``source``; the folder holds files this project did not write (a ``part-*.parquet``
    without urbansound's settings in its schema, anything else not in the layout above),
    which a run would otherwise delete or mix into the table.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = open(out_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the block
    except OSError as e:
        raise WorkspaceError(f"cannot write to {out_dir} ({e.strerror or e}): choose another --out or "
                             "--workspace, or fix its permissions") from None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise WorkspaceError(f"{out_dir}: another featurize run is writing this table ({holder}); wait for it "
                                 "to finish, or choose another --out") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        lock.flush()
        _check_folder(out_dir, source)
        yield
    finally:
        lock.close()  # releases the flock


def _check_folder(out_dir: Path, source: Path | None) -> None:
    manifest = out_dir / MANIFEST_FILE
    if source is not None and manifest.is_file():
        try:
            previous = json.loads(manifest.read_text()).get("source")
        except (OSError, ValueError):
            previous = None
        if previous and previous != storage.identity(source):
            raise WorkspaceError(f"{out_dir} holds the feature table of another dataset ({previous}); choose "
                                 f"another --out (or --name) for {source}, or delete that folder first")
    foreign = [p.name for p in sorted(out_dir.iterdir())
               if not (p.name in _OURS or p.name.startswith(".")
                       or (p.name.startswith("part-") and p.suffix == ".parquet" and _is_our_part(p)))]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise WorkspaceError(f"{out_dir} holds files urbansound did not write ({shown}); featurize replaces its "
                             "folder's parts, so it writes only into an empty folder or its own table: choose "
                             "another --out")


def _sees(clip: str | None, out_dir: str) -> str | None:
    if clip is not None and storage.is_url(clip):
        import fsspec

        try:
            fs, where = fsspec.core.url_to_fs(clip)
            fs.info(where)
        except (OSError, ImportError, ValueError) as e:
            return f"cannot read {clip} ({e}): the workers need the driver and the credentials in their environment"
    elif clip is not None and not os.access(clip, os.R_OK):
        return f"cannot read {clip}"
    if not os.access(out_dir, os.W_OK):
        return f"cannot write {out_dir}"
    return None


def check_workers_see(client: Any, clip: str | None, out_dir: Path) -> None:
    """Fail before any work if a Dask worker cannot read the dataset or write the table.

    Workers read clips and write parts at the paths given here: on another machine those
    paths must exist too (a shared disk mounted at the same place).
    """
    problems = {w: p for w, p in client.run(_sees, clip, str(out_dir)).items() if p}
    if problems:
        worker, problem = next(iter(problems.items()))
        raise DatasetError(
            f"{len(problems)} Dask worker(s) cannot see the data, e.g. {worker}: {problem}. Workers read the "
            "dataset and write the features at the same paths as this machine: mount them there (a shared "
            "disk), or use a local cluster (no --scheduler)."
        )


def finalize(results: list[BatchResult], settings: FeatureSettings, out_dir: Path, *, seconds: float,
             source: Path | None = None) -> FeaturizeSummary:
    """Drop parts of earlier runs, write the failures table and the manifest."""
    current = {Path(r.part).name for r in results if r.part}
    for stale in out_dir.glob("part-*.parquet"):
        if stale.name not in current:
            stale.unlink()
            _sequence_path(stale).unlink(missing_ok=True)
    for stray in [*out_dir.glob(".*.tmp"), *(out_dir / SEQUENCES_DIR).glob(".*.tmp")]:
        stray.unlink(missing_ok=True)  # left by a killed run; never read
    failures = sorted((f for r in results for f in r.failures), key=lambda f: f["clip_id"])
    atomic.write_text(out_dir / FAILURES_FILE,  # atomic: a planted symlink is replaced, never followed
                      pd.DataFrame(failures, columns=["clip_id", "path", "error"]).to_csv(index=False))
    summary = FeaturizeSummary(
        out_dir=out_dir,
        clips=sum(r.clips for r in results),
        failed=len(failures),
        batches=len(results),
        cached_batches=sum(r.cached for r in results),
        seconds=seconds,
        failures=failures,
        augmented=sum(r.augmented for r in results),
    )
    manifest = {
        "settings": settings.model_dump(),
        "fingerprint": settings.fingerprint(),
        "clips": summary.clips,
        "augmented_rows": summary.augmented,
        "failed": summary.failed,
        "parts": sorted(current),
        "source": storage.identity(source) if source is not None else None,
    }
    atomic.write_text(out_dir / MANIFEST_FILE, json.dumps(manifest, indent=2))
    return summary
