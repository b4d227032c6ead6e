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
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

from urbansound.exceptions import ModelError
from urbansound.models import make_model

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


def _fit_score(model: str, seed: int, X: np.ndarray, y: np.ndarray, split: Split) -> dict[str, Any]:
    train, test = split
    start = time.perf_counter()
    est = make_model(model, seed=seed).fit(X[train], y[train])
    pred = est.predict(X[test])
    return {"accuracy": float(accuracy_score(y[test], pred)), "seconds": time.perf_counter() - start,
            "test_index": test.tolist(), "pred": pred.tolist()}


@dataclass
class CVEntry:
    """Cross-validation of one (model, feature set)."""

    model: str
    feature_set: str
    fold_accuracy: list[float]
    mean: float
    std: float
    seconds: float


@dataclass
class CVReport:
    """Every (model, feature set) evaluated under one protocol, and the best."""

    dataset: str
    protocol: str
    note: str
    optimistic: bool
    n_clips: int
    entries: list[CVEntry] = field(default_factory=list)
    predictions: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def best(self) -> CVEntry:
        return max(self.entries, key=lambda e: (e.mean, -e.std))

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {"dataset": self.dataset, "protocol": self.protocol, "note": self.note,
                "optimistic": self.optimistic, "n_clips": self.n_clips,
                "entries": [asdict(e) for e in self.entries],
                "best": {"model": best.model, "feature_set": best.feature_set, "mean": best.mean, "std": best.std}}

    def markdown(self) -> str:
        lines = [f"Cross-validation on {self.dataset}: {self.note}", "",
                 "| model | features | mean | std | per fold |", "|---|---|---|---|---|"]
        for e in sorted(self.entries, key=lambda e: -e.mean):
            folds = " ".join(f"{a:.3f}" for a in e.fold_accuracy)
            lines.append(f"| {e.model} | {e.feature_set} | {e.mean:.3f} | {e.std:.3f} | {folds} |")
        best = self.best
        lines += ["", f"best: {best.model} on {best.feature_set} features, accuracy {best.mean:.3f} +- {best.std:.3f}"
                  + (" (optimistic protocol)" if self.optimistic else "")]
        return "\n".join(lines)

    def write(self, out_dir: Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in (("cv.json", json.dumps(self.to_json(), indent=2)), ("cv.md", self.markdown() + "\n")):
            tmp = out_dir / f".{name}.tmp"
            tmp.write_text(text)
            os.replace(tmp, out_dir / name)
        return out_dir / "cv.json"


def cross_validate(
    table: pd.DataFrame,
    feature_columns: dict[str, list[str]],
    models: tuple[str, ...],
    folds: Folds,
    client: Any,
    *,
    dataset: str,
    seed: int = 0,
) -> CVReport:
    """Cross-validate every (model, feature set) on Dask, one task per fold.

    Each feature set's matrix is shipped to every worker once (``scatter(broadcast=True)``),
    not once per task.

    Parameters
    ----------
    table : pd.DataFrame
        Training rows of the feature table.
    feature_columns : dict
        Feature set name -> its columns.
    models : tuple of str
        Model names (see :mod:`urbansound.models`).
    folds : Folds
    client : distributed.Client
    """
    for m in models:
        make_model(m)  # unknown names fail here, before any work is shipped
    y = table["label"].to_numpy().astype(str)
    y_future = client.scatter(y, broadcast=True)
    jobs = []
    for fset, cols in feature_columns.items():
        X_future = client.scatter(table[cols].to_numpy(dtype=np.float32), broadcast=True)
        for model in models:
            futures = [client.submit(_fit_score, model, seed, X_future, y_future, s, pure=False) for s in folds.splits]
            jobs.append((model, fset, futures))
    report = CVReport(dataset=dataset, protocol=folds.protocol, note=folds.note,
                      optimistic=folds.optimistic, n_clips=len(table))
    for model, fset, futures in jobs:
        results = client.gather(futures)
        acc = [r["accuracy"] for r in results]
        report.entries.append(CVEntry(model, fset, acc, float(np.mean(acc)), float(np.std(acc)),
                                      float(sum(r["seconds"] for r in results))))
        pred = np.empty(len(table), dtype=object)
        for r in results:
            pred[r["test_index"]] = r["pred"]
        report.predictions[f"{model}/{fset}"] = pred.tolist()
        log.info("cv %s on %s: %.3f +- %.3f", model, fset, np.mean(acc), np.std(acc))
    return report
