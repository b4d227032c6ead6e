"""Cross-validation on Dask: protocols, one task per (model, feature set, fold), reports.

Protocols
    ``official``  leave one official fold out (UrbanSound8K's ten folds).
    ``grouped``   stratified K-fold grouped by recording: slices of one recording never
                  sit on both sides of a split.
    ``kfold``     stratified K-fold over clips. Where slices of one recording exist this
                  leaks, so its score is optimistic; the report says so.
    ``auto``      official where the dataset has folds, else grouped where recordings are
                  known, else kfold.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from sklearn.model_selection import (
    LeaveOneGroupOut,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from urbansound import atomic, checks, tables
from urbansound.exceptions import ModelError
from urbansound.models import InputShape, make_model
from urbansound.models.registry import check_params

log = logging.getLogger(__name__)

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Folds:
    """The splits of one protocol over the training clips."""

    protocol: str
    splits: list[Split]
    optimistic: bool
    note: str


def make_folds(table: pd.DataFrame, protocol: str = "auto", *, n_splits: int = 5, seed: int = 0) -> Folds:
    """Cross-validation splits over ``table`` (training clips only), by protocol.

    Parameters
    ----------
    table : pd.DataFrame
        Training rows of the feature table (``label``, ``fold``, ``recording``).
    protocol : {"auto", "official", "grouped", "kfold"}
    """
    y = table["label"].to_numpy()
    has_folds = bool(table["fold"].notna().all()) and table["fold"].nunique() > 1
    has_recordings = bool(table["recording"].notna().all())
    if protocol == "auto":
        protocol = "official" if has_folds else "grouped" if has_recordings else "kfold"
    X_dummy = np.zeros(len(table))
    if protocol == "official":
        if not has_folds:
            raise ModelError("protocol 'official' needs the official folds (UrbanSound8K layout); this dataset has none: use --cv auto or kfold")
        groups = table["fold"].to_numpy()
        splits = list(LeaveOneGroupOut().split(X_dummy, y, groups))
        return Folds("official", splits, False, f"leave one official fold out ({len(splits)} folds)")
    if protocol == "grouped":
        if not has_recordings:
            raise ModelError("protocol 'grouped' needs recording ids (UrbanSound8K's fsID); this dataset has none: use --cv auto or kfold")
        k = _feasible_splits(table["recording"].nunique(), n_splits)
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        splits = list(cv.split(X_dummy, y, table["recording"].to_numpy()))
        return Folds("grouped", splits, False, f"stratified {k}-fold grouped by recording")
    if protocol == "kfold":
        # StratifiedKFold only needs its largest class to fill every fold; rarer classes
        # simply miss some folds.
        k = _feasible_splits(int(pd.Series(y).value_counts().max()), n_splits)
        splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(X_dummy, y))
        note = f"stratified {k}-fold over clips"
        if not has_recordings:
            note += "; recordings unknown, so slices of one recording may sit on both sides: optimistic"
        return Folds("kfold", splits, True, note)
    raise ModelError(f"unknown CV protocol {protocol!r}; use auto, official, grouped or kfold")


def _feasible_splits(available: int, wanted: int) -> int:
    if available < 2:
        raise ModelError(f"too few clips to cross-validate (a class or group count of {available}); add clips")
    return min(wanted, available)


@dataclass(frozen=True)
class Candidate:
    """One thing to cross-validate: a model by name, its input, parameter overrides.

    ``feature_set`` names a column set (``time``, ``fft``, ``mfcc`` or a ``+``-joined
    combination) or ``mfcc-seq`` (the MFCC frame sequences, for sequence models).
    """

    model: str
    feature_set: str
    params: tuple[tuple[str, Any], ...] = ()
    label: str = ""
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # searched in inner folds of each training side

    @property
    def name(self) -> str:
        return self.label or self.model


def training_rows(train: np.ndarray, source: np.ndarray | None, n_rows: int) -> np.ndarray:
    """Rows a model of this split is fitted on: the training clips, and the augmented rows
    made from them (never one made from a test clip).

    Parameters
    ----------
    train : np.ndarray of int
        The split's training clips (rows of the clips as recorded).
    source : np.ndarray of int, shape (n_all_rows,), or None
        For each row, the row of the clip it was made from (itself for a clip as recorded);
        None when there are no augmented rows.
    n_rows : int
        Rows of the input at hand (a sequence input holds the clips as recorded only).
    """
    if source is None:
        return np.asarray(train)
    return np.flatnonzero(np.isin(np.asarray(source)[:n_rows], train))


def inner_search(c: Candidate, seed: int, shape: InputShape | None, X: np.ndarray, y: np.ndarray, train: np.ndarray,
                 source: np.ndarray | None, groups: np.ndarray, n_splits: int = 3) -> dict[str, Any]:
    """Choose ``c.grid``'s values by cross-validation inside the training side ``train``.

    Inner folds split the training clips grouped by ``groups`` (the recording where known),
    stratified by label; augmented rows follow their source clip into the inner training
    side and are never scored. Nothing outside ``train`` is read. Ties go to the first
    values in grid order.

    Returns
    -------
    dict
        The grid's parameter names -> the chosen values.
    """
    import itertools

    g = np.asarray(groups)[train]
    k = min(n_splits, len(np.unique(g)))
    if k < 2:
        raise ModelError(f"{c.model}: too few recordings on a training side to tune in inner folds")
    inner = [(train[a], train[b]) for a, b in
             StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(train, y[train], g)]
    names = [name for name, _ in c.grid]
    best: tuple[float, dict[str, Any]] | None = None
    for values in itertools.product(*(v for _, v in c.grid)):
        params = {**dict(c.params), **dict(zip(names, values))}
        scores = []
        for fit_on, score_on in inner:
            rows = training_rows(fit_on, source, len(X))
            est = make_model(c.model, seed=seed, shape=shape, **params).fit(X[rows], y[rows])
            scores.append(accuracy_score(y[score_on], est.predict(X[score_on])))
        if best is None or np.mean(scores) > best[0]:
            best = (float(np.mean(scores)), dict(zip(names, values)))
    assert best is not None
    return best[1]


def fit_candidate(c: Candidate, seed: int, shape: InputShape | None, X: np.ndarray, y: np.ndarray, train: np.ndarray,
                  source: np.ndarray | None = None, groups: np.ndarray | None = None) -> tuple[Any, dict[str, Any]]:
    """Fit a candidate on the training clips ``train`` (and their augmented rows), its grid
    first searched in inner folds of ``train`` (:func:`inner_search`); returns the fitted
    estimator and the chosen grid values."""
    chosen: dict[str, Any] = {}
    if c.grid:
        chosen = inner_search(c, seed, shape, X, y, train, source,
                              np.arange(len(y)) if groups is None else groups)
    rows = training_rows(train, source, len(X))
    est = make_model(c.model, seed=seed, shape=shape, **{**dict(c.params), **chosen}).fit(X[rows], y[rows])
    return est, chosen


def _fit_score(c: Candidate, seed: int, shape: InputShape | None, X: np.ndarray, y: np.ndarray,
               split: Split, source: np.ndarray | None = None, groups: np.ndarray | None = None) -> dict[str, Any]:
    train, test = split  # clips as recorded: only they are ever scored
    start = time.perf_counter()
    with checks.caught() as seen:  # summarised once by the caller, not printed by each worker
        est, chosen = fit_candidate(c, seed, shape, X, y, train, source, groups)
        pred = est.predict(X[test])
        train_pred = est.predict(X[train])
    return {"accuracy": float(accuracy_score(y[test], pred)),
            "train_accuracy": float(accuracy_score(y[train], train_pred)),
            "seconds": time.perf_counter() - start, "test_index": test.tolist(), "pred": pred.tolist(),
            "tuned": chosen, "warnings": seen}


@dataclass
class CVEntry:
    """Cross-validation of one candidate."""

    model: str
    feature_set: str
    fold_accuracy: list[float]
    mean: float
    std: float
    train_mean: float
    seconds: float
    leaky_mean: float | None = None  # the same candidate under a random split of clips
    params: dict[str, Any] = field(default_factory=dict)
    tuned: list[dict[str, Any]] = field(default_factory=list)  # per fold: the grid values inner CV chose


@dataclass
class CVReport:
    """Every candidate evaluated under one protocol, and the best."""

    dataset: str
    protocol: str
    note: str
    optimistic: bool
    n_clips: int
    entries: list[CVEntry] = field(default_factory=list)
    labels: list[str] = field(default_factory=list, repr=False)
    predictions: dict[str, list[str]] = field(default_factory=dict, repr=False)
    run: dict[str, Any] = field(default_factory=dict)  # which train run wrote it, and the model file it saved
    warnings: list[str] = field(default_factory=list)  # what the user must know about the data and folds
    library_warnings: list[str] = field(default_factory=list)  # raised while fitting, each once with its count
    raw_warnings: list[str] = field(default_factory=list, repr=False)  # every one, summarised into the above
    details: dict[str, Any] | None = field(default=None, repr=False)  # best_details of a report read back

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CVReport":
        """A report as :meth:`to_json` wrote it (out-of-fold predictions are not kept: only
        the best entry's details)."""
        return cls(dataset=data["dataset"], protocol=data["protocol"], note=data["note"],
                   optimistic=data["optimistic"], n_clips=data["n_clips"],
                   entries=[CVEntry(**e) for e in data["entries"]], run=data.get("run") or {},
                   details=data["best_details"], warnings=data.get("warnings") or [],
                   library_warnings=data.get("library_warnings") or [])

    @property
    def best(self) -> CVEntry:
        return max(self.entries, key=lambda e: (e.mean, -e.std))

    def best_details(self) -> dict[str, Any]:
        """Per-class precision/recall/F1 and the confusion matrix of the best entry."""
        b = self.best
        if self.details is not None and f"{b.model}/{b.feature_set}" not in self.predictions:
            return self.details
        pred = self.predictions[f"{b.model}/{b.feature_set}"]
        classes = sorted(set(self.labels))
        report = classification_report(self.labels, pred, labels=classes, output_dict=True, zero_division=0)
        return {"classes": classes,
                "per_class": {c: {k: report[c][k] for k in ("precision", "recall", "f1-score", "support")}
                              for c in classes},
                "confusion": confusion_matrix(self.labels, pred, labels=classes).tolist()}

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {"dataset": self.dataset, "protocol": self.protocol, "note": self.note,
                "optimistic": self.optimistic, "n_clips": self.n_clips,
                "entries": [asdict(e) for e in self.entries],
                "best": {"model": best.model, "feature_set": best.feature_set, "mean": best.mean, "std": best.std},
                "best_details": self.best_details(), "run": self.run, "warnings": self.warnings,
                "library_warnings": self.library_warnings}

    def markdown(self) -> str:
        """``cv.md``: the same tables the HTML report shows (:mod:`urbansound.tables`), then
        the warnings block."""
        data = self.to_json()
        best = self.best
        lines = [f"Cross-validation on {self.dataset} ({self.n_clips} training clips): {self.note}", "",
                 tables.markdown(tables.cv_table(data)), "",
                 f"best: {best.model} on {best.feature_set} features, accuracy {best.mean:.3f} +- {best.std:.3f}"
                 + (" (optimistic protocol)" if self.optimistic else ""),
                 "", "per class (best):", "", tables.markdown(tables.per_class_table(data["best_details"]))]
        said = checks.block(self.warnings, self.library_warnings)
        return "\n".join(lines + (["", said] if said else []))

    def write(self, out_dir: Path, stem: str = "cv") -> Path:
        return write_report(out_dir, stem, self.to_json(), self.markdown())


def write_report(out_dir: Path, stem: str, data: dict[str, Any], markdown: str) -> Path:
    """Write ``<stem>.json`` and ``<stem>.md`` atomically; returns the JSON path."""
    out_dir = Path(out_dir)
    atomic.write_text(out_dir / f"{stem}.md", markdown + "\n")
    return atomic.write_text(out_dir / f"{stem}.json", json.dumps(data, indent=2))


Progress = Callable[[str], None]


def _as_float(X: np.ndarray) -> np.ndarray:
    """An input as shipped to the workers: float32, or float16 where it is stored so (the
    log-mel images: half the memory on every worker)."""
    X = np.asarray(X)
    return X if X.dtype in (np.float16, np.float32) else X.astype(np.float32)


def cross_validate(
    inputs: dict[str, np.ndarray],
    y: np.ndarray,
    candidates: list[Candidate],
    folds: Folds,
    client: Any,
    *,
    dataset: str,
    seed: int = 0,
    shape: InputShape | None = None,
    leak_folds: Folds | None = None,
    on_result: Progress | None = None,
    source: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    on_task: Callable[..., None] | None = None,
) -> CVReport:
    """Cross-validate every candidate on Dask, one task per (candidate, fold).

    Each input matrix is shipped to every worker once (``scatter(broadcast=True)``), not
    once per task; tasks are submitted all at once so the cluster stays busy.

    Parameters
    ----------
    inputs : dict
        Feature set name -> matrix, shape (n_clips, n_columns), float32.
    y : np.ndarray, shape (n_rows,)
        Labels: the clips as recorded (``n_clips`` rows, which ``folds`` split), then any
        augmented rows.
    candidates : list of Candidate
    folds : Folds
        The honest protocol's splits.
    client : distributed.Client
    shape : InputShape, optional
        Rows per frame of the frame inputs (``mfcc-seq`` for the rnn, ``mel`` for the cnn).
    leak_folds : Folds, optional
        A random split of the same clips, run beside the honest one to show the leak.
    on_result : callable, optional
        Called with a line of text as each candidate finishes.
    source : np.ndarray of int, shape (n_rows,), optional
        For augmented rows, the row of their source clip (see :func:`training_rows`): a
        split fits on an augmented row only when its source clip is on the training side,
        and scores the clips as recorded only.
    groups : np.ndarray, shape (n_clips,), optional
        Recording of each clip, for the inner folds of candidates with a ``grid``
        (default: every clip its own group).
    on_task : callable, optional
        Called with no argument as each (candidate, fold) task finishes, in the order they
        finish (a :data:`urbansound.progress.Tick`; the caller sets its total).
    """
    for c in candidates:  # unknown names, inputs or parameters fail here, before any work is shipped
        check_params(c.model, make_model(c.model, shape=shape or InputShape(1, 8), **dict(c.params)))
        if c.feature_set not in inputs:
            raise ModelError(f"no input {c.feature_set!r} for model {c.model!r}; have {', '.join(inputs)}")
    y = np.asarray(y).astype(str)
    n_clips = len(y) if source is None else int(np.sum(np.asarray(source) == np.arange(len(source))))
    source_future = None if source is None else client.scatter(np.asarray(source), broadcast=True, hash=False)
    groups_future = None if groups is None else client.scatter(np.asarray(groups), broadcast=True, hash=False)
    # hash=False: identical data scattered by an earlier call would share its key, and the
    # release of that call's futures can race this call ("lost dependencies").
    y_future = client.scatter(y, broadcast=True, hash=False)
    used = {c.feature_set for c in candidates}
    X_futures = {name: client.scatter(_as_float(X), broadcast=True, hash=False)
                 for name, X in inputs.items() if name in used}
    plans = [(folds, False)] + ([(leak_folds, True)] if leak_folds else [])
    jobs = [(c, leaky, [client.submit(_fit_score, c, seed, shape, X_futures[c.feature_set], y_future, s,
                                      source_future, groups_future, pure=False)
                        for s in f.splits])
            for f, leaky in plans for c in candidates]
    if on_task is not None:
        from distributed import as_completed

        for _ in as_completed([f for _, _, futures in jobs for f in futures]):
            on_task()
    report = CVReport(dataset=dataset, protocol=folds.protocol, note=folds.note, optimistic=folds.optimistic,
                      n_clips=n_clips, labels=y[:n_clips].tolist())
    entries: dict[Candidate, CVEntry] = {}
    for c, leaky, futures in jobs:
        results = client.gather(futures)
        for r in results:
            report.raw_warnings += r["warnings"]
        acc = [r["accuracy"] for r in results]
        if leaky:
            entries[c].leaky_mean = float(np.mean(acc))
            continue
        entry = CVEntry(c.name, c.feature_set, acc, float(np.mean(acc)), float(np.std(acc)),
                        float(np.mean([r["train_accuracy"] for r in results])),
                        float(sum(r["seconds"] for r in results)), params=dict(c.params),
                        tuned=[r["tuned"] for r in results] if c.grid else [])
        entries[c] = entry
        report.entries.append(entry)
        pred = np.empty(n_clips, dtype=object)
        for r in results:
            pred[r["test_index"]] = r["pred"]
        report.predictions[f"{entry.model}/{entry.feature_set}"] = pred.tolist()
        line = f"cv {c.name} on {c.feature_set}: {entry.mean:.3f} +- {entry.std:.3f} ({entry.seconds:.1f} s of fitting)"
        (on_result or log.info)(line)
    report.library_warnings = checks.summarise(report.raw_warnings)
    return report
