"""The train stage: cross-validate on the feature table, then refit the best and save it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbansound import featurize
from urbansound.evaluation import CVReport, cross_validate, make_folds
from urbansound.exceptions import ModelError
from urbansound.models import TrainedModel, make_model
from urbansound.settings import TrainSettings

log = logging.getLogger(__name__)

MODEL_FILE = "model.pkl"


@dataclass
class TrainResult:
    report: CVReport
    cv_json: Path
    model_path: Path
    seconds: float

    def describe(self) -> str:
        b = self.report.best
        return (f"cross-validated {len(self.report.entries)} model x feature set pair(s) "
                f"({self.report.note}); best {b.model} on {b.feature_set}: accuracy {b.mean:.3f} +- {b.std:.3f}; "
                f"model saved to {self.model_path}; {self.seconds:.1f} s")


def _fit(model: str, seed: int, X: np.ndarray, y: np.ndarray) -> Any:
    return make_model(model, seed=seed).fit(X, y)


def train(features_dir: Path, settings: TrainSettings, *, dataset: str, reports_dir: Path,
          models_dir: Path, client: Any) -> TrainResult:
    """Cross-validate ``settings.models`` on every feature set, refit the best on all
    training clips, save it to ``models_dir/model.pkl`` and the CV report to ``reports_dir``.
    """
    start = time.perf_counter()
    table = featurize.read_features(features_dir)
    feature_settings = featurize.read_settings(features_dir)
    train_rows = table[table["split"] == "train"].reset_index(drop=True)
    if train_rows["label"].isna().any():
        raise ModelError(f"{features_dir}: training rows without a label; re-run featurize")
    if train_rows["label"].nunique() < 2:
        raise ModelError(f"{features_dir}: training clips of fewer than two classes; nothing to learn")
    columns = {fset: list(featurize.iter_feature_columns(table, (fset,))) for fset in settings.feature_sets}
    empty = [f for f, c in columns.items() if not c]
    if empty:
        raise ModelError(f"{features_dir}: no columns of feature set(s) {', '.join(empty)} in the table")
    folds = make_folds(train_rows, settings.cv, n_splits=settings.n_splits, seed=settings.seed)
    report = cross_validate(train_rows, columns, settings.models, folds, client, dataset=dataset, seed=settings.seed)
    cv_json = report.write(reports_dir)
    best = report.best
    X = train_rows[columns[best.feature_set]].to_numpy(dtype=np.float32)
    y = train_rows["label"].to_numpy().astype(str)
    estimator = client.submit(_fit, best.model, settings.seed, X, y, pure=False).result()
    model = TrainedModel(name=best.model, feature_set=best.feature_set, estimator=estimator,
                         features=columns[best.feature_set], feature_settings=feature_settings,
                         classes=sorted(set(y)), cv_mean=best.mean,
                         majority=str(pd.Series(y).value_counts().idxmax()))
    model_path = Path(models_dir) / MODEL_FILE
    model.save(model_path)
    return TrainResult(report, cv_json, model_path, time.perf_counter() - start)
