"""The feature table on disk: its format and every reader of it.

A table is a folder (``<workspace>/features/<name>/``, :mod:`urbansound.workspace`):
Parquet parts ``part-*.parquet`` with the Arrow :func:`schema` of the settings (which it
carries in its metadata), ``_sequences/part-*.npz`` beside each part (MFCC frame
sequences and log-mel images), ``_failures.csv`` and ``_manifest.json``, which lists the parts that make the
table (one settings generation; :func:`table_parts`). :mod:`urbansound.featurize` writes
it; training, submission and the report read it only through the functions here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from urbansound import features
from urbansound.atomic import atomic_path
from urbansound.settings import FeatureSettings
from urbansound.workspace import FAILURES_FILE, MANIFEST_FILE, SEQUENCES_DIR

log = logging.getLogger(__name__)

_SETTINGS_KEY = b"urbansound.settings"
_FAILURES_KEY = b"urbansound.failures"
_CLIP_COLUMNS = 7  # clip_id .. augmentation: the schema's leading fields, one record per row


def schema(settings: FeatureSettings) -> pa.Schema:
    """The feature table's Arrow schema for these settings."""
    fields = [
        pa.field("clip_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("label", pa.string()),
        pa.field("fold", pa.int64()),
        pa.field("recording", pa.string()),
        pa.field("augmentation", pa.string()),
        pa.field("decoded_seconds", pa.float32(), nullable=False),
        pa.field("padded", pa.bool_(), nullable=False),
    ]
    fields += [pa.field(name, pa.float32(), nullable=False) for name in features.feature_names(settings)]
    meta = {_SETTINGS_KEY: settings.model_dump_json().encode()}
    return pa.schema(fields, metadata=meta)


def _sequence_path(part: Path) -> Path:
    return part.parent / SEQUENCES_DIR / part.name.replace(".parquet", ".npz")


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file under a temporary name, then rename it into place."""
    with atomic_path(path) as tmp:
        # features are full-precision float32, which no codec shrinks much: they are stored
        # plain (no compression, no dictionary, no min/max statistics), the clip columns
        # with all three; writing 400 columns this way takes a third of the time
        clip_columns = table.column_names[:_CLIP_COLUMNS]
        pq.write_table(table, tmp, compression={c: ("zstd" if c in clip_columns else "none") for c in table.column_names},
                       use_dictionary=clip_columns, write_statistics=clip_columns)


def _is_our_part(path: Path) -> bool:
    try:
        return _SETTINGS_KEY in (pq.read_schema(path).metadata or {})
    except (OSError, pa.ArrowException):
        return False


def read_features(out_dir: Path, *, augmented: bool = False) -> pd.DataFrame:
    """Read the feature table as one DataFrame, sorted by (split, clip_id).

    Parameters
    ----------
    augmented : bool, default False
        Also return the augmented training rows (``augmentation`` not null), after every
        clip as recorded, sorted by (clip_id, augmentation). Only training reads them: a
        prediction, a submission or a report is about the clips as recorded.
    """
    out_dir = Path(out_dir)
    parts = table_parts(out_dir)
    # tables written before the augmentation column have no augmented rows
    has_column = "augmentation" in pq.read_schema(parts[0]).names
    filters = None if augmented or not has_column else pc.field("augmentation").is_null()
    df = pd.read_parquet([str(p) for p in parts], filters=filters)
    if not has_column:
        df.insert(_CLIP_COLUMNS - 1, "augmentation", None)
    is_aug = df["augmentation"].notna()
    originals = df[~is_aug].sort_values(["split", "clip_id"], kind="stable")
    twice = originals["clip_id"].duplicated()
    if twice.any():
        raise FileNotFoundError(f"{out_dir}: clip(s) {', '.join(originals['clip_id'][twice][:3])} appear in more "
                                "than one part of the manifest; re-run featurize")
    if not augmented:
        return originals.reset_index(drop=True)
    extra = df[is_aug].sort_values(["clip_id", "augmentation"], kind="stable")
    return pd.concat([originals, extra], ignore_index=True)


def read_sequences(out_dir: Path, clip_ids: list[str]) -> np.ndarray:
    """MFCC frame sequences of the given clips, in that order.

    Returns
    -------
    np.ndarray, shape (len(clip_ids), n_mfcc * sequence_frames), float32
        Each clip's (n_mfcc, sequence_frames) matrix flattened in C order (frame-major
        rows: row k is coefficient k over time).
    """
    out_dir = Path(out_dir)
    if not clip_ids:
        settings = read_settings(out_dir)
        return np.zeros((0, settings.n_mfcc * settings.sequence_frames), np.float32)
    found: dict[str, np.ndarray] = {}
    wanted = set(clip_ids)
    for part in table_parts(out_dir):
        path = _sequence_path(part)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: sequences missing for {part.name}; re-run featurize")
        with np.load(path) as z:
            for cid, m in zip(z["clip_id"], z["mfcc"]):
                if cid in wanted:
                    found[str(cid)] = m.reshape(-1)
    absent = [c for c in clip_ids if c not in found]
    if absent:
        raise FileNotFoundError(f"{out_dir}: no MFCC sequences for {len(absent)} clip(s), e.g. {absent[:3]}; "
                                "re-run featurize")
    return np.stack([found[c] for c in clip_ids]).astype(np.float32, copy=False)


def mel_key(clip_id: str, augmentation: str | None) -> str:
    """How the log-mel images name a row: its clip id, and ``|spec`` for an augmented row."""
    return str(clip_id) if augmentation is None or pd.isna(augmentation) else f"{clip_id}|{augmentation}"


def read_mels(out_dir: Path, keys: list[str]) -> np.ndarray:
    """Log-mel images of the given rows (:func:`mel_key`), in that order.

    Returns
    -------
    np.ndarray, shape (len(keys), mel_bands * sequence_frames), float16, dB
        Each row's (mel_bands, sequence_frames) image flattened in C order (row k is band
        k over time): the ``cnn``'s input.
    """
    out_dir = Path(out_dir)
    settings = read_settings(out_dir)
    width = settings.image_bands * settings.sequence_frames
    out = np.empty((len(keys), width), np.float16)
    if not keys:
        return out
    where = pd.Series(np.arange(len(keys)), index=keys)
    filled = np.zeros(len(keys), bool)
    for part in table_parts(out_dir):
        path = _sequence_path(part)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: log-mel images missing for {part.name}; re-run featurize")
        with np.load(path) as z:
            if "mel" not in z.files:
                raise FileNotFoundError(f"{path}: written by an urbansound without log-mel images; re-run featurize")
            have = pd.Index(z["mel_key"].astype(str))
            take = have.isin(where.index)
            if take.any():
                rows = where.loc[have[take]].to_numpy()
                out[rows] = z["mel"][take].reshape(int(take.sum()), width)
                filled[rows] = True
    if not filled.all():
        absent = [keys[i] for i in np.flatnonzero(~filled)[:3]]
        raise FileNotFoundError(f"{out_dir}: no log-mel image for {int((~filled).sum())} row(s), e.g. {absent}; "
                                "re-run featurize")
    return out


def table_parts(out_dir: Path) -> list[Path]:
    """The parts that make the table: those its manifest lists (one settings generation).

    Raises FileNotFoundError when there is no table, when featurize never finished here (no
    manifest), or when listed parts are gone (another run or a hand deleted them). Parts on
    disk that the manifest does not list (an interrupted run, perhaps with other settings)
    are left out, with a warning.
    """
    out_dir = Path(out_dir)
    on_disk = sorted(out_dir.glob("part-*.parquet"))
    manifest = out_dir / MANIFEST_FILE
    if not manifest.is_file():
        if on_disk:
            raise FileNotFoundError(f"{out_dir}: {len(on_disk)} part(s) but no {MANIFEST_FILE}: featurize did not "
                                    "finish here; run `urbansound featurize` again (it keeps what is done)")
        raise FileNotFoundError(f"{out_dir}: no feature table here; run `urbansound featurize` first")
    try:
        listed = [out_dir / name for name in json.loads(manifest.read_text())["parts"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FileNotFoundError(f"{manifest}: unreadable ({e}); run `urbansound featurize` again") from None
    gone = [p.name for p in listed if not p.is_file()]
    if gone:
        raise FileNotFoundError(f"{out_dir}: the manifest lists {len(gone)} part(s) that are not there (e.g. "
                                f"{gone[0]}): another run or a hand changed this table; run `urbansound featurize` "
                                "again")
    extra = sorted(set(on_disk) - set(listed))
    if extra:
        log.warning("%s: ignoring %d part(s) the manifest does not list (e.g. %s: left by an interrupted featurize, "
                    "perhaps with other settings); the next complete featurize removes them",
                    out_dir, len(extra), extra[0].name)
    if not listed:
        raise FileNotFoundError(f"{out_dir}: the feature table is empty; run `urbansound featurize` on a dataset "
                                "with clips")
    return listed


def read_settings(out_dir: Path) -> FeatureSettings:
    """The feature settings the table in ``out_dir`` was computed with."""
    path = Path(out_dir) / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{out_dir}: no {MANIFEST_FILE}; run `urbansound featurize` first")
    return FeatureSettings.model_validate(json.loads(path.read_text())["settings"])


def read_failures(out_dir: Path) -> pd.DataFrame:
    """The clips that could not be decoded, with the reason."""
    path = Path(out_dir) / FAILURES_FILE
    if not path.exists():
        return pd.DataFrame(columns=["clip_id", "path", "error"])
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def iter_feature_columns(df: pd.DataFrame, sets: tuple[str, ...]) -> Iterator[str]:
    """Feature columns of the given sets, in table order."""
    prefixes = tuple(f"{s}_" for s in sets)
    return (c for c in df.columns if c.startswith(prefixes))
