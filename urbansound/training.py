"""The train stage: cross-validate on the feature table, refit the best, save it (the seed
project's studies are in :mod:`urbansound.studies`)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbansound import atomic, checks, provenance
from urbansound import table as table_format
from urbansound.evaluation import (
    Candidate,
    CVReport,
    Folds,
    cross_validate,
    fit_candidate,
    make_folds,
)
from urbansound.exceptions import ModelError
from urbansound.features import FEATURE_SETS
from urbansound.models import HYBRID_MODELS, MEL_MODELS, MODEL_NAMES, SEQUENCE_MODELS, InputShape, TrainedModel, make_model
from urbansound.models.registry import TUNING_GRIDS, check_params
from urbansound.models.saved import MEL_INPUT, SEQUENCE_INPUT, file_digest
from urbansound.progress import Tick
from urbansound.settings import TrainSettings
from urbansound.workspace import CV_FILE, MANIFEST_FILE, MODEL_FILE

log = logging.getLogger(__name__)



@dataclass
class TrainResult:
    report: CVReport
    cv_json: Path
    model_path: Path
    seconds: float
    reused: bool = False  # read back from an earlier run's files (see :func:`reuse`)

    def describe(self) -> str:
        b = self.report.best
        how = (f"reused from run {self.report.run.get('id')} (same settings, table and code; its model file "
               "unchanged)" if self.reused else f"{self.seconds:.1f} s")
        return (f"cross-validated {len(self.report.entries)} model x feature set pair(s) "
                f"({self.report.note}); best {b.model} on {b.feature_set}: accuracy {b.mean:.3f} +- {b.std:.3f}; "
                f"model saved to {self.model_path}; {how}")


def inputs_key(features_dir: Path, settings: TrainSettings) -> str:
    """What a train run's result depends on: the training settings, the feature table (its
    manifest names every part, and part names hash the clips' bytes and the feature
    settings) and the code."""
    manifest = Path(features_dir) / MANIFEST_FILE
    h = hashlib.sha256(settings.model_dump_json().encode())
    h.update(manifest.read_bytes() if manifest.is_file() else b"<absent>")
    h.update(provenance.code_digest().encode())
    return h.hexdigest()


def reuse(features_dir: Path, settings: TrainSettings, *, reports_dir: Path, models_dir: Path) -> TrainResult | None:
    """The result of an earlier train run that needs no redoing, or None.

    Reused only when its CV record (``cv.json``) was written for the same :func:`inputs_key`
    and names, by SHA-256, the model file that is there now: a model file replaced since
    (by another ``train``) or a CV record and model file from different runs (an
    interrupted ``train``) mean training again. Nothing is unpickled: the record is JSON.
    """
    cv_json, model_path = Path(reports_dir) / CV_FILE, Path(models_dir) / MODEL_FILE
    try:
        data = json.loads(cv_json.read_text())
        run = data.get("run") or {}
        if run.get("inputs") != inputs_key(features_dir, settings):
            log.info("train: %s was written for other settings, table or code: training again", cv_json)
            return None
        if not model_path.is_file() or run.get("model_sha256") != file_digest(model_path):
            log.info("train: %s is not the model file %s names (replaced, or an interrupted train): "
                     "training again", model_path, cv_json)
            return None
        report = CVReport.from_json(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.info("train: cannot reuse %s (%s): training again", cv_json, e)
        return None
    return TrainResult(report, cv_json, model_path, 0.0, reused=True)


def expand_models(models: tuple[str, ...]) -> tuple[str, ...]:
    """Model names with ``all`` expanded, checked."""
    names = MODEL_NAMES if "all" in models else models
    unknown = [m for m in names if m not in MODEL_NAMES]
    if unknown:
        raise ModelError(f"unknown model(s) {', '.join(map(repr, unknown))}; choose from {', '.join(MODEL_NAMES)} or all")
    return tuple(dict.fromkeys(names))


def feature_columns(table: pd.DataFrame, feature_set: str) -> list[str]:
    """Columns of a feature set (``time``, ``fft``, ``mfcc``, ``all`` or ``+``-joined)."""
    parts = FEATURE_SETS if feature_set == "all" else tuple(feature_set.split("+"))
    unknown = [p for p in parts if p not in FEATURE_SETS]
    if unknown:
        raise ModelError(f"unknown feature set(s) {', '.join(unknown)}; use {', '.join(FEATURE_SETS)}, "
                         "a '+'-joined combination, or all")
    cols = list(table_format.iter_feature_columns(table, parts))
    if not cols:
        raise ModelError(f"the feature table has no {feature_set} columns; re-run featurize")
    return cols


@dataclass
class TrainingData:
    """The training clips' inputs: feature set name -> matrix, and labels.

    Rows ``0 .. len(table) - 1`` are the clips as recorded (``table``); augmented rows, if
    any, follow them in every table input (and the log-mel images) and in ``y``, and
    ``source[i]`` is the row of the clip that row ``i`` was made from (``source[i] == i``
    for a clip as recorded). Sequence inputs hold the clips as recorded only.
    """

    table: pd.DataFrame
    inputs: dict[str, np.ndarray]
    columns: dict[str, list[str]]
    y: np.ndarray
    shape: InputShape
    source: np.ndarray

    @property
    def n_augmented(self) -> int:
        return len(self.source) - len(self.table)


def load_training_data(features_dir: Path, feature_sets: tuple[str, ...], *, sequences: bool,
                       augmented: bool = True, mels: bool = False, hybrid: bool = False) -> TrainingData:
    """The training rows of a feature table; with ``augmented``, its augmented rows too;
    with ``sequences`` the MFCC sequences, with ``mels`` the log-mel images, with ``hybrid``
    each feature set's columns followed by the image (``<set>+mel``) as inputs."""
    everything = table_format.read_features(features_dir, augmented=augmented)
    settings = table_format.read_settings(features_dir)
    is_aug = everything["augmentation"].notna()
    table = everything[~is_aug]
    train = table[table["split"] == "train"].reset_index(drop=True)
    if train.empty:
        raise ModelError(f"{features_dir}: no training clips in the feature table")
    if train["label"].isna().any():
        raise ModelError(f"{features_dir}: training rows without a label; re-run featurize")
    if train["label"].nunique() < 2:
        raise ModelError(f"{features_dir}: training clips of fewer than two classes; nothing to learn")
    row_of = pd.Series(np.arange(len(train)), index=train["clip_id"].to_numpy())
    extra = everything[is_aug & everything["clip_id"].isin(row_of.index)].reset_index(drop=True)
    rows = pd.concat([train, extra], ignore_index=True)
    source = np.concatenate([np.arange(len(train)), row_of.loc[extra["clip_id"]].to_numpy(dtype=np.int64)])
    columns = {fs: feature_columns(train, fs) for fs in feature_sets}
    inputs = {fs: rows[cols].to_numpy(dtype=np.float32) for fs, cols in columns.items()}
    if sequences:
        inputs[SEQUENCE_INPUT] = table_format.read_sequences(features_dir, train["clip_id"].tolist())
    if mels or hybrid:
        keys = [table_format.mel_key(c, a) for c, a in zip(rows["clip_id"], rows["augmentation"])]
        images = table_format.read_mels(features_dir, keys)
        for fs in feature_sets if hybrid else ():
            inputs[hybrid_input(fs)] = np.hstack([inputs[fs], images.astype(np.float32)])
            columns[hybrid_input(fs)] = columns[fs]
        if mels:
            inputs[MEL_INPUT] = images
    return TrainingData(train, inputs, columns, rows["label"].to_numpy().astype(str), InputShape.of(settings), source)


def hybrid_input(feature_set: str) -> str:
    """The input name of a feature set's columns followed by the log-mel image."""
    return f"{feature_set}+{MEL_INPUT}"


def candidates_for(models: tuple[str, ...], feature_sets: tuple[str, ...],
                   params: dict[str, dict[str, Any]] | None = None, *, tune: bool = False) -> list[Candidate]:
    """Every (model, feature set) pair, with the model's overrides (and, with ``tune``, its
    grid minus what an override fixes); sequence models get the MFCC frame sequences."""
    out = []
    for m in models:
        over = (params or {}).get(m, {})
        grid = tuple((k, tuple(v)) for k, v in TUNING_GRIDS.get(m, {}).items() if k not in over) if tune else ()
        kw = {"params": tuple(sorted(over.items())), "grid": grid}
        if m in SEQUENCE_MODELS:
            out.append(Candidate(m, SEQUENCE_INPUT, **kw))
        elif m in MEL_MODELS:
            out.append(Candidate(m, MEL_INPUT, **kw))
        elif m in HYBRID_MODELS:
            out += [Candidate(m, hybrid_input(fs), **kw) for fs in feature_sets]
        else:
            out += [Candidate(m, fs, **kw) for fs in feature_sets]
    return out


def recording_groups(table: pd.DataFrame) -> np.ndarray:
    """A group id per clip for inner folds: its recording where known, else the clip itself."""
    rec = table["recording"].astype(object)
    key = np.where(rec.notna(), "r:" + rec.astype(str), "c:" + table["clip_id"].astype(str))
    return pd.factorize(key)[0]


def check_overrides(models: tuple[str, ...], params: dict[str, dict[str, Any]], n_mfcc: int | None = None) -> None:
    """Refuse overrides of models not being trained, unknown names and bad values, before any work."""
    for model, over in params.items():
        if model not in models:
            raise ModelError(f"--set {model}.…: model {model!r} is not among --models {','.join(models)}")
        check_params(model, make_model(model, n_mfcc=n_mfcc or 1, shape=InputShape(mel_bands=8), **over))


def _fit(c: Candidate, seed: int, shape: InputShape, X: np.ndarray, y: np.ndarray, source: np.ndarray | None,
         groups: np.ndarray) -> tuple[Any, dict[str, Any], list[str]]:
    with checks.caught() as seen:
        est, tuned = fit_candidate(c, seed, shape, X, y, np.arange(len(groups)), source, groups)
    return est, tuned, seen


def data_warnings(table: pd.DataFrame, folds: Folds, settings: TrainSettings) -> list[str]:
    """What the training clips and the folds they gave mean for the CV (see :mod:`urbansound.checks`)."""
    why = ("the training clips come from only that many recordings" if folds.protocol == "grouped"
           else "the largest class has only that many clips")
    return (checks.class_warnings(table, len(folds.splits))
            + checks.reduced_folds_warning(folds.protocol, settings.n_splits, len(folds.splits), why))


def train(features_dir: Path, settings: TrainSettings, *, dataset: str, reports_dir: Path,
          models_dir: Path, client: Any, on_task: Tick | None = None) -> TrainResult:
    """Cross-validate ``settings.models`` on ``settings.feature_sets``, refit the best (by
    honest CV mean) on all training clips, save it to ``models_dir/model.skops`` and the CV
    report (``cv.json``, ``cv.md``) to ``reports_dir``. ``cv.json`` is written after the CV
    (``run.model_sha256`` None) and again after the model file, naming it by SHA-256: a
    record and a model file from different runs can be told apart.

    With ``settings.show_leak``, every candidate is also scored on a random split of the
    same clips, to show how much a split that ignores recordings and folds flatters it.

    ``on_task`` (a :data:`urbansound.progress.Tick`) is told the number of fits first, then
    each fit as it ends: one per candidate and fold, and the refit of the best.
    """
    start = time.perf_counter()
    models = expand_models(settings.models)
    check_overrides(models, settings.params)
    atomic.check_writable(reports_dir, models_dir)  # before the CV, not after it
    data = load_training_data(features_dir, settings.feature_sets, sequences=bool(set(models) & SEQUENCE_MODELS),
                              augmented=settings.augmented, mels=bool(set(models) & MEL_MODELS),
                              hybrid=bool(set(models) & HYBRID_MODELS))
    with checks.caught() as splitting:  # e.g. scikit-learn's "least populated class": summarised below
        folds = make_folds(data.table, settings.cv, n_splits=settings.n_splits, seed=settings.seed)
    leak = None
    if settings.show_leak:
        leak = make_folds(data.table, "kfold", n_splits=len(folds.splits) if folds.protocol == "official"
                          else settings.n_splits, seed=settings.seed)
    source = data.source if data.n_augmented else None
    candidates = candidates_for(models, settings.feature_sets, settings.params, tune=settings.tune)
    groups = recording_groups(data.table)
    if on_task is not None:
        on_task(0, total=len(candidates) * (len(folds.splits) + (len(leak.splits) if leak else 0)) + 1)
    report = cross_validate(data.inputs, data.y, candidates, folds, client, dataset=dataset, seed=settings.seed,
                            shape=data.shape, leak_folds=leak, source=source, groups=groups, on_task=on_task)
    report.warnings = data_warnings(data.table, folds, settings)
    report.raw_warnings[:0] = splitting
    report.library_warnings = checks.summarise(report.raw_warnings)
    # the CV record is kept at once (a failed refit does not lose it); its model_sha256 of
    # None says that no model file of this run exists yet
    manifest = json.loads((Path(features_dir) / MANIFEST_FILE).read_text())
    report.run = {"id": uuid.uuid4().hex[:12], "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "inputs": inputs_key(features_dir, settings), "table": provenance.table_fingerprint(manifest),
                  "code": provenance.code_digest(), "git_commit": provenance.git_commit(),
                  "versions": provenance.package_versions(),
                  "hyper_parameters": {f"{c.model}/{c.feature_set}": provenance.jsonable_params(
                      make_model(c.model, seed=settings.seed, shape=data.shape, **dict(c.params)).get_params())
                      for c in candidates},
                  "model_file": MODEL_FILE, "model_sha256": None}
    report.write(reports_dir)
    best = report.best
    X_best = data.inputs[best.feature_set]  # every row: clips as recorded and their augmented copies
    # scattered, not embedded in the task: a matrix of 8732 clips is a 14 MiB graph otherwise
    X, y = (client.scatter(a, hash=False) for a in (X_best, data.y[: len(X_best)]))
    chosen = next(c for c in candidates if (c.name, c.feature_set) == (best.model, best.feature_set))
    estimator, tuned, seen = client.submit(_fit, chosen, settings.seed, data.shape, X, y, source, groups,
                                           pure=False).result()
    report.raw_warnings += seen
    if on_task is not None:
        on_task()
    report.library_warnings = checks.summarise(report.raw_warnings)
    if tuned:
        log.info("refit %s with %s (chosen in inner folds of all training clips)", best.model, tuned)
    features = data.columns.get(best.feature_set) or [best.feature_set]
    model = TrainedModel(name=best.model, feature_set=best.feature_set, estimator=estimator, features=features,
                         feature_settings=table_format.read_settings(features_dir), classes=sorted(set(data.y)),
                         cv_mean=best.mean, majority=str(pd.Series(data.y).value_counts().idxmax()),
                         run_id=report.run["id"])
    model_path = Path(models_dir) / MODEL_FILE
    report.run["model_sha256"] = model.save(
        model_path, provenance={k: v for k, v in report.run.items() if not k.startswith("model_")})
    cv_json = report.write(reports_dir)  # last: the record names the model file now there
    provenance.write_history(reports_dir, report.to_json())
    return TrainResult(report, cv_json, model_path, time.perf_counter() - start)
