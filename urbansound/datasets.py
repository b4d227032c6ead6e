"""Dataset layouts: the two real ones, read into one clip table.

UrbanSound8K (Salamon, Jacoby and Bello, 2014; CC BY-NC 3.0)
    ``metadata/UrbanSound8K.csv`` with columns
    ``slice_file_name, fsID, start, end, salience, fold, classID, class``: the clip's file
    name, the Freesound id of the recording it was cut from, its start and end in that
    recording (seconds), salience (1 foreground, 2 background), its official CV fold
    (1-10), the class index and the class name. A widely copied variant names the last
    column ``class_name`` and writes the times as floats; both are accepted. Audio sits in
    ``audio/fold<N>/<slice_file_name>``. Every clip is labelled; the folds are the
    official cross-validation folds and ``fsID`` is the recording. A ``classID`` that is
    not its class's position in ``settings.CLASSES``, or an ``end`` before its ``start``,
    refuses the row (the metadata contradicts itself).
Analytics Vidhya "Urban Sound Classification" practice problem
    ``train.csv`` (``ID, Class``), ``test.csv`` (``ID``), audio in ``Train/<ID>.wav`` and
    ``Test/<ID>.wav``. No folds, no recording ids; test clips are unlabelled.

Either CSV may carry a byte-order mark, CRLF line ends, empty rows, extra columns in any
order, and class names in another case or with spaces or hyphens for underscores (read as
the canonical names); it must be UTF-8. Both become one clip table (:data:`CLIP_COLUMNS`)::

    clip_id    str              UrbanSound8K: file stem; AV: the ID
    path       str              absolute path of the audio file
    split      "train" | "test"
    label      str or <NA>      one of settings.CLASSES; <NA> for test clips
    fold       Int64 or <NA>    official fold where the layout has one
    recording  str or <NA>      source recording (fsID) where known
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from urbansound import storage
from urbansound.exceptions import DatasetError
from urbansound.settings import CLASSES

log = logging.getLogger(__name__)

CLIP_COLUMNS = ("clip_id", "path", "split", "label", "fold", "recording")
LAYOUTS = ("urbansound8k", "av")
_US8K_CSV = Path("metadata") / "UrbanSound8K.csv"


@dataclass(frozen=True)
class Dataset:
    """A dataset read from disk.

    Attributes
    ----------
    root : Path
        The folder holding the layout.
    layout : str
        ``"urbansound8k"`` or ``"av"``.
    clips : pd.DataFrame
        The clip table (:data:`CLIP_COLUMNS`) of every clip whose file exists.
    missing : pd.DataFrame
        Rows of the metadata whose audio file is absent (same columns).
    """

    root: Path
    layout: str
    clips: pd.DataFrame
    missing: pd.DataFrame = field(default_factory=lambda: _empty_table())

    @property
    def has_folds(self) -> bool:
        return bool(self.clips["fold"].notna().any())

    @property
    def has_recordings(self) -> bool:
        return bool(self.clips["recording"].notna().any())


def _empty_table() -> pd.DataFrame:
    return _typed(pd.DataFrame({c: [] for c in CLIP_COLUMNS}))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "clip_id": df["clip_id"].astype("string"),
            "path": df["path"].astype("string"),
            "split": df["split"].astype("string"),
            "label": df["label"].astype("string"),
            "fold": pd.array(df["fold"], dtype="Int64"),
            "recording": df["recording"].astype("string"),
        }
    )
    return out.reset_index(drop=True)


def detect_layout(root: Path) -> tuple[str, Path]:
    """Tell the layout of a dataset folder.

    Parameters
    ----------
    root : Path
        The folder a user named. The unpacked UrbanSound8K archive holds a single
        ``UrbanSound8K/`` folder; naming its parent works too.

    Returns
    -------
    layout, root : str, Path
        The layout name and the folder that holds it.
    """
    root = storage.location(root)
    root = root.resolve() if isinstance(root, Path) else root
    try:
        is_dir = root.is_dir()
    except OSError as e:  # an object store that refuses (credentials, endpoint, no such bucket)
        raise DatasetError(f"{root}: cannot be read ({e}); check the URL and the credentials in the "
                           "environment (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL)") from None
    if not is_dir:
        raise DatasetError(f"{root}: no such folder; give the folder that holds the dataset")
    for candidate in (root, root / "UrbanSound8K"):
        if (candidate / _US8K_CSV).is_file():
            return "urbansound8k", candidate
    if (root / "train.csv").is_file() or (root / "test.csv").is_file():
        return "av", root
    raise DatasetError(
        f"{root}: neither dataset layout found. Expected either "
        f"'{_US8K_CSV}' with audio/fold1..fold10/ (UrbanSound8K) or "
        "'train.csv', 'test.csv' with Train/ and Test/ (Analytics Vidhya). "
        "Generate a synthetic one with `urbansound synth DIR`."
    )


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """The CSV as text columns, stripped; rows that are empty in every column (blank lines,
    a spreadsheet's ``,,,`` rows) are dropped. A byte-order mark and CRLF line ends are
    read as the plain file."""
    try:
        # utf-8-sig strips a byte-order mark; pandas handles CRLF line endings itself.
        with path.open("rb") as f:  # a local file, or an object in a bucket
            df = pd.read_csv(f, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except UnicodeDecodeError as e:
        raise DatasetError(_not_utf8(path)) from e
    except pd.errors.EmptyDataError as e:
        raise DatasetError(f"{path}: the file is empty; it needs the header line {', '.join(required)} and one "
                           "row per clip: restore it from the download") from e
    except (OSError, pd.errors.ParserError) as e:
        raise DatasetError(f"{path}: cannot be read as CSV ({str(e).strip()}); restore it from the download") from e
    df.columns = [c.strip() for c in df.columns]
    lacking = [c for c in required if c not in df.columns]
    if lacking:
        raise DatasetError(
            f"{path}: missing column(s) {', '.join(lacking)}; found {', '.join(df.columns) or 'none'}. "
            f"The file needs {', '.join(required)}."
        )
    df = df.fillna("").apply(lambda s: s.str.strip())
    return df[(df != "").any(axis=1)]


def _not_utf8(path: Path) -> str:
    """Where a CSV stops being UTF-8: the audio files' names are UTF-8 on disk, so a name in
    another encoding would never match its file."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        return (f"{path}: line {line} is not UTF-8 (byte 0x{raw[e.start]:02x}); save it as UTF-8 (names must "
                "match the audio files' names)")
    return f"{path}: is not UTF-8; save it as UTF-8"


class _Problems(list):
    """Row-level problems found while reading: collected, so a report can list them all."""

    def add(self, path: Path, what: str, keys: pd.Series, fix: str) -> None:
        keys = [str(k) for k in keys]
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        self.append(f"{path}: {len(keys)} row(s) {what}: {shown}; {fix}")


def _canonical(labels: pd.Series) -> pd.Series:
    """Class names as the ten are spelled: case, spaces and hyphens are a spelling, not a
    class ("Dog Bark", "dog-bark" -> "dog_bark")."""
    return labels.str.lower().str.replace(r"[\s\-]+", "_", regex=True)


def _check_labels(path: Path, df: pd.DataFrame, key: str, column: str, problems: _Problems) -> pd.Series:
    """Row mask of known classes; ``df[column]`` is rewritten to the canonical names."""
    df[column] = _canonical(df[column])
    unknown = ~df[column].isin(CLASSES)
    if unknown.any():
        shown = df.loc[unknown, key] + " (" + df.loc[unknown, column].map(repr) + ")"
        problems.add(path, "with a class outside the ten known names", shown,
                     f"use one of {', '.join(CLASSES)}")
    return ~unknown


def _check_class_ids(path: Path, df: pd.DataFrame, key: str, column: str, problems: _Problems) -> pd.Series:
    """A ``classID`` must be its class's position in :data:`CLASSES`: when the two disagree,
    which one is right is unknown, so the row is refused."""
    if "classID" not in df.columns:
        return pd.Series(True, index=df.index)
    expected = df[column].map({c: i for i, c in enumerate(CLASSES)})
    given = pd.to_numeric(df["classID"], errors="coerce")
    bad = expected.notna() & (given != expected)
    if bad.any():
        shown = (df.loc[bad, key] + " (classID " + df.loc[bad, "classID"].map(repr) + "; "
                 + df.loc[bad, column] + " is " + expected[bad].astype(int).astype(str) + ")")
        problems.add(path, "whose classID disagrees with its class", shown,
                     "the classID is the class's position in " + ", ".join(CLASSES)
                     + " (from 0): correct the classID or the class")
    return ~bad


def _check_times(path: Path, df: pd.DataFrame, key: str, problems: _Problems) -> pd.Series:
    """``end`` before ``start`` means a corrupted row (swapped columns or times): refused."""
    if not {"start", "end"} <= set(df.columns):
        return pd.Series(True, index=df.index)
    start, end = (pd.to_numeric(df[c], errors="coerce") for c in ("start", "end"))
    bad = end < start
    if bad.any():
        shown = df.loc[bad, key] + " (start " + df.loc[bad, "start"] + ", end " + df.loc[bad, "end"] + ")"
        problems.add(path, "whose end is before its start", shown,
                     "start and end are the clip's seconds in its recording, start <= end: fix or swap them")
    return ~bad


def _check_names(path: Path, names: pd.Series, what: str, problems: _Problems) -> pd.Series:
    """Each name must be one plain file name in its folder: a path in the metadata (``..``,
    an absolute path, a separator) could make every stage read files outside the dataset.
    Checked on the text, not on resolved paths, so audio folders that are symlinks work."""
    bad = names.isin(["", ".", ".."]) | names.str.contains(r"[/\\\x00]", regex=True)
    if bad.any():
        problems.add(path, f"whose {what} is not a plain file name (a path, '..' or an absolute path)",
                     names[bad].map(repr), f"the metadata names files inside the dataset folder: give each "
                     f"{what} as a bare name, without folders")
    return ~bad


def _check_unique(path: Path, ids: pd.Series, what: str, problems: _Problems) -> pd.Series:
    dup = ids.duplicated(keep=False)
    if dup.any():
        problems.add(path, f"with a repeated {what}", pd.Series(sorted(set(ids[dup]))),
                     f"every {what} must appear once")
    return ~dup


def _int_column(path: Path, df: pd.DataFrame, column: str, key: str, problems: _Problems,
                valid: tuple[int, int] | None = None) -> tuple[pd.Series, pd.Series]:
    # Floats such as "3.0" are accepted (the class_name variant writes them).
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() | (values != values.round())
    if valid:
        bad |= ~values.between(*valid)
    if bad.any():
        shown = df.loc[bad, key] + " (" + df.loc[bad, column].map(repr) + ")"
        rule = f"whole numbers from {valid[0]} to {valid[1]}" if valid else "whole numbers"
        problems.add(path, f"with a bad {column!r}", shown, f"the column holds {rule}")
    return values.fillna(0).round().astype("int64"), ~bad


def _where(path) -> str:  # noqa: ANN001 - a Path or a UPath
    """A clip's path as the table holds it: absolute, or its URL."""
    return str(path.absolute()) if isinstance(path, Path) else str(path)


def read_urbansound8k(root: Path, problems: _Problems) -> pd.DataFrame:
    """Read the UrbanSound8K metadata into a clip table (paths not yet checked).

    Rows with problems are appended to ``problems`` and left out of the table.
    """
    csv = root / _US8K_CSV
    df = _read_csv(csv, ("slice_file_name", "fsID", "fold"))
    label_col = "class" if "class" in df.columns else "class_name" if "class_name" in df.columns else None
    if label_col is None:
        raise DatasetError(f"{csv}: missing column 'class' (or its variant 'class_name'); found {', '.join(df.columns)}")
    key = "slice_file_name"
    ok = (_check_unique(csv, df[key], key, problems) & _check_labels(csv, df, key, label_col, problems)
          & _check_names(csv, df[key], key, problems) & _check_class_ids(csv, df, key, label_col, problems)
          & _check_times(csv, df, key, problems))
    fold, fold_ok = _int_column(csv, df, "fold", key, problems, valid=(1, 10))
    fsid, fsid_ok = _int_column(csv, df, "fsID", key, problems)
    ok &= fold_ok & fsid_ok
    table = pd.DataFrame(
        {
            "clip_id": df[key].str.replace(r"\.wav$", "", regex=True),
            "path": [_where(root / "audio" / f"fold{f}" / n) for f, n in zip(fold, df[key])],
            "split": "train",
            "label": df[label_col],
            "fold": fold,
            "recording": fsid.astype(str),
        }
    )
    return _typed(table[ok])


def read_av(root: Path, problems: _Problems) -> pd.DataFrame:
    """Read the Analytics Vidhya CSVs into a clip table (paths not yet checked).

    Rows with problems are appended to ``problems`` and left out of the table.
    """
    parts = []
    for split, csv_name, folder, required in (
        ("train", "train.csv", "Train", ("ID", "Class")),
        ("test", "test.csv", "Test", ("ID",)),
    ):
        csv = root / csv_name
        if not csv.is_file():
            raise DatasetError(f"{root}: {csv_name} is missing; the AV layout needs train.csv and test.csv")
        df = _read_csv(csv, required)
        ok = df["ID"] != ""
        if not ok.all():
            lines = pd.Series(df.index[~ok] + 2).map(lambda n: f"line {n}")
            problems.add(csv, "with an empty ID", lines, "give every row its clip's ID")
        ok &= _check_unique(csv, df["ID"], "ID", problems) & _check_names(csv, df["ID"], "ID", problems)
        if split == "train":
            ok &= _check_labels(csv, df, "ID", "Class", problems)
        parts.append(
            pd.DataFrame(
                {
                    "clip_id": df["ID"],
                    "path": [_where(root / folder / f"{i}.wav") for i in df["ID"]],
                    "split": split,
                    "label": df["Class"] if split == "train" else pd.NA,
                    "fold": pd.NA,
                    "recording": pd.NA,
                }
            )[ok]
        )
    both = pd.concat(parts, ignore_index=True)
    in_both = both["clip_id"].duplicated(keep=False)
    if in_both.any():
        problems.add(root / "test.csv", "whose ID is in train.csv too", pd.Series(sorted(set(both.clip_id[in_both]))),
                     "an ID names one clip, in one of the two files")
    return _typed(both[~in_both])


@dataclass(frozen=True)
class Inspection:
    """Everything :func:`inspect_dataset` found, good and bad.

    Attributes
    ----------
    root, layout
        As in :class:`Dataset`.
    clips : pd.DataFrame
        Valid rows whose audio file exists.
    missing : pd.DataFrame
        Valid rows whose audio file is absent.
    problems : list of str
        Rows that are invalid (unknown class, repeated ID, bad fold...), one message per
        kind, each naming the file, the rows and the fix. They are errors.
    """

    root: Path
    layout: str
    clips: pd.DataFrame
    missing: pd.DataFrame
    problems: list[str]


def inspect_dataset(root: Path) -> Inspection:
    """Read a dataset folder and collect every problem instead of stopping at the first.

    Raises
    ------
    DatasetError
        Only when nothing can be read: no layout, an unreadable CSV, a missing column.
    """
    layout, root = detect_layout(root)
    problems = _Problems()
    table = read_urbansound8k(root, problems) if layout == "urbansound8k" else read_av(root, problems)
    exists = pd.Series(storage.exist(table["path"].tolist(), root), index=table.index, dtype=bool)
    return Inspection(root, layout, table[exists].reset_index(drop=True),
                      table[~exists].reset_index(drop=True), list(problems))


def read_dataset(root: Path, *, allow_missing: bool = False) -> Dataset:
    """Read a dataset folder of either layout and check it before any work is done.

    Parameters
    ----------
    root : Path
        The dataset folder.
    allow_missing : bool
        If False (default), rows whose audio file is absent stop the run with a list of
        them; if True, they are left out (and reported in ``Dataset.missing``).

    Raises
    ------
    DatasetError
        When the folder is in neither layout, a CSV lacks a column, holds an unknown class,
        a repeated ID or a bad fold, or (without ``allow_missing``) audio files are missing.
        The message lists every problem found.
    """
    found = inspect_dataset(root)
    problems = list(found.problems)
    missing, clips = found.missing, found.clips
    if len(missing):
        listing = ", ".join(missing["path"][:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        message = (f"{found.root}: {len(missing)} of {len(missing) + len(clips)} clip(s) listed in the metadata "
                   f"have no audio file: {listing}{more}")
        if not allow_missing:
            problems.append(f"{message}. Complete the download, or pass --allow-missing to run on the "
                            f"{len(clips)} present (`urbansound validate` lists them all).")
        else:
            log.warning("%s; they are left out", message)
    if problems:
        raise DatasetError("\n".join(problems))
    if clips.empty:
        raise DatasetError(f"{found.root}: no clip has an audio file; nothing to do")
    return Dataset(root=found.root, layout=found.layout, clips=clips, missing=missing)
