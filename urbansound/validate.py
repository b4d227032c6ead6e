"""``urbansound validate``: a readable report of a dataset folder, and whether it is usable.

The pipeline runs the same metadata checks (:func:`urbansound.datasets.read_dataset`)
before any work; this report adds counts and a header check of every audio file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import soundfile as sf

from urbansound import checks
from urbansound.audio import open_url
from urbansound.datasets import inspect_dataset
from urbansound.exceptions import DecodeError
from urbansound.storage import is_url
from urbansound.settings import TrainSettings

GROUPED_FOLDS: int = TrainSettings.model_fields["n_splits"].default  # train's folds without official ones


@dataclass
class ValidationReport:
    """What :func:`validate` found. ``errors`` empty means the dataset is usable as is."""

    text: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _header_problem(path: str) -> str | None:
    try:
        if is_url(path):
            with open_url(path) as f:
                info = sf.info(f)
        else:
            info = sf.info(path)
    except DecodeError as e:
        return e.reason
    except Exception as e:  # noqa: BLE001 - any reason a header cannot be read is reported
        return f"not a readable audio file ({e})"
    if info.frames <= 0:
        return "the file holds no audio frames"
    if info.samplerate <= 0:
        return f"invalid sample rate {info.samplerate}"
    return None


def _listing(items: list[str], show_all: bool, limit: int = 10) -> list[str]:
    shown = items if show_all else items[:limit]
    lines = [f"    {i}" for i in shown]
    if len(items) > len(shown):
        lines.append(f"    ... and {len(items) - len(shown)} more (--show-all lists them)")
    return lines


def validate(root: Path, *, allow_missing: bool = False, check_audio: bool = True,
             show_all: bool = False) -> ValidationReport:
    """Check a dataset folder and describe it.

    Parameters
    ----------
    root : Path
        The dataset folder.
    allow_missing : bool
        Treat listed clips without an audio file as a warning instead of an error.
    check_audio : bool
        Read every audio file's header (fast; no decoding).
    show_all : bool
        List every missing and unreadable file, not the first ten.
    """
    found = inspect_dataset(root)
    clips, missing = found.clips, found.missing
    listed = pd.concat([clips, missing], ignore_index=True)
    lines = [f"dataset: {found.root}", f"layout:  {found.layout}",
             f"clips:   {len(listed)} listed, {len(clips)} with audio, {len(missing)} missing"]

    counts = pd.crosstab(listed["label"].fillna("(unlabelled)"), listed["split"], margins=True, margins_name="total")
    lines += ["", "clips per class and split:"] + ["  " + ln for ln in counts.to_string().splitlines()]
    if listed["fold"].notna().any():
        per_fold = listed.assign(present=listed["path"].isin(clips["path"])).groupby("fold")["present"].agg(
            listed="size", present="sum")
        lines += ["", "clips per fold (listed / with audio):"]
        lines += [f"  fold {int(f):>2}: {int(r.listed):>5} / {int(r.present)}" for f, r in per_fold.iterrows()]
        lines.append(f"recordings: {listed['recording'].nunique()}")

    errors = list(found.problems)
    warnings: list[str] = []
    if clips.empty:
        errors.append("no clip with an audio file: nothing to featurize")
    elif not (clips["split"] == "train").any():
        errors.append("no training clip with an audio file: nothing to train on")
    if not clips.empty:
        train = clips[clips["split"] == "train"]
        n_folds = int(train["fold"].nunique()) if train["fold"].notna().any() else GROUPED_FOLDS
        warnings += checks.class_warnings(train, n_folds) + checks.fold_warnings(listed, clips)
    if found.layout == "av" and not (listed["split"] == "test").any():
        warnings.append(f"{found.root / 'test.csv'} lists no clip: train runs, submit has nothing to predict")
    if len(missing):
        msg = f"{len(missing)} listed clip(s) have no audio file"
        (warnings if allow_missing else errors).append(msg)
        lines += ["", f"missing audio files ({len(missing)}):"] + _listing(sorted(missing["path"]), show_all)
    if show_all and len(missing):
        lines += ["", f"clips present ({len(clips)}):"] + [f"    {p}" for p in sorted(clips["path"])]
    if check_audio:
        bad = [(p, r) for p in clips["path"] if (r := _header_problem(p))]
        if bad:
            errors.append(f"{len(bad)} audio file(s) cannot be read")
            lines += ["", f"unreadable audio files ({len(bad)}):"] + _listing([f"{p}: {r}" for p, r in bad], show_all)

    lines += ["", "problems:" if errors or warnings else "problems: none"]
    lines += [f"  error: {e}" for e in errors] + [f"  warning: {w}" for w in warnings]
    verdict = "usable" if not errors else "NOT usable as is"
    lines.append(f"verdict: {verdict}" + (" (with --allow-missing)" if allow_missing and len(missing) else ""))
    return ValidationReport("\n".join(lines), errors, warnings)
