"""The submit stage: predict the test clips, validate, write ``ID,Class`` atomically.

The Analytics Vidhya leaderboard wants every test ID exactly once. A test clip that has no
features (its file failed to decode or is missing) still gets a row: the most frequent
training class, and a warning naming the clip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from urbansound import checks
from urbansound.atomic import atomic_path
from urbansound.datasets import Dataset
from urbansound.exceptions import SubmissionError
from urbansound.models import TrainedModel
from urbansound.models.saved import MEL_INPUT
from urbansound.settings import CLASSES, FeatureSettings

log = logging.getLogger(__name__)

HEADER = ("ID", "Class")


@dataclass
class SubmissionResult:
    path: Path
    rows: int
    fallback: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        extra = f"; {len(self.fallback)} clip(s) without features got the majority class" if self.fallback else ""
        said = checks.block(self.warnings)
        return f"submission with {self.rows} test ID(s) written to {self.path}{extra}" + (f"\n{said}" if said else "")


def predict(test_ids: list[str], features: pd.DataFrame, model: TrainedModel,
            feature_settings: FeatureSettings,
            sequences: Callable[[list[str]], np.ndarray] | None = None,
            mels: Callable[[list[str]], np.ndarray] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Predict a class for every test ID, in the order given.

    Parameters
    ----------
    sequences : callable, optional
        Clip IDs -> their MFCC frame sequences; needed when the model reads sequences.
    mels : callable, optional
        Clip IDs -> their log-mel images; needed when the model reads them (the cnn).

    Returns
    -------
    submission : pd.DataFrame, columns ID, Class
    fallback : list of str
        Test IDs without features, given the model's majority training class.
    """
    model.check_features(list(features.columns), feature_settings)
    rows = features[features["split"] == "test"].set_index("clip_id")
    have = [i for i in test_ids if i in rows.index]
    pred = pd.Series(dtype=str)
    if have:
        if model.reads_sequences:
            if sequences is None:
                raise SubmissionError(f"model {model.name!r} reads MFCC sequences; none were given")
            X = sequences(have)
        elif model.reads_mels:
            if mels is None:
                raise SubmissionError(f"model {model.name!r} reads log-mel images; none were given")
            X = mels(have)
            if model.feature_set != MEL_INPUT:  # a feature set's columns, then the image
                X = np.hstack([rows.loc[have, model.features].to_numpy(dtype="float32"), X.astype(np.float32)])
        else:
            X = rows.loc[have, model.features].to_numpy(dtype="float32")
        pred = pd.Series(model.estimator.predict(X), index=have)
    fallback = [i for i in test_ids if i not in rows.index]
    if fallback:
        majority = model.majority or model.classes[0]
        log.warning("%d test clip(s) have no features (failed or missing), predicted %s: %s",
                    len(fallback), majority, ", ".join(fallback[:10]))
        pred = pd.concat([pred, pd.Series(majority, index=fallback)])
    return pd.DataFrame({"ID": test_ids, "Class": pred.loc[test_ids].to_numpy()}), fallback


def validate(submission: pd.DataFrame, test_ids: list[str]) -> None:
    """Raise :class:`SubmissionError` unless every test ID appears once with a known class."""
    if tuple(submission.columns) != HEADER:
        raise SubmissionError(f"header must be {','.join(HEADER)}, got {','.join(map(str, submission.columns))}")
    ids = submission["ID"].astype(str)
    repeated = ids[ids.duplicated()].unique().tolist()
    if repeated:
        raise SubmissionError(f"test ID(s) repeated: {', '.join(repeated[:5])}")
    absent = sorted(set(test_ids) - set(ids))
    if absent:
        raise SubmissionError(f"{len(absent)} test ID(s) missing, e.g. {', '.join(absent[:5])}")
    extra = sorted(set(ids) - set(test_ids))
    if extra:
        raise SubmissionError(f"{len(extra)} ID(s) that are not test IDs, e.g. {', '.join(extra[:5])}")
    unknown = sorted(set(submission["Class"]) - set(CLASSES))
    if unknown:
        raise SubmissionError(f"unknown class(es) {', '.join(map(str, unknown))}; known: {', '.join(CLASSES)}")


def write(submission: pd.DataFrame, test_ids: list[str], path: Path) -> Path:
    """Validate, then write the CSV under a temporary name and rename it into place."""
    validate(submission, test_ids)
    with atomic_path(path) as tmp:
        submission.to_csv(tmp, index=False)
    return Path(path)


def submit(dataset: Dataset, features_dir: Path, model_path: Path, out: Path) -> SubmissionResult:
    """Predict every test clip of ``dataset`` (present, failed or missing) and write the CSV."""
    from urbansound import table as table_format

    test_ids = [str(i) for i in pd.concat([dataset.clips, dataset.missing]).query("split == 'test'")["clip_id"]]
    if not test_ids:
        raise SubmissionError(f"{dataset.root}: the dataset has no test clips (layout {dataset.layout}); "
                              "a submission needs the AV layout's test.csv")
    model = TrainedModel.load(model_path)
    table = table_format.read_features(features_dir)
    submission, fallback = predict(test_ids, table, model, table_format.read_settings(features_dir),
                                   sequences=lambda ids: table_format.read_sequences(features_dir, ids),
                                   mels=lambda ids: table_format.read_mels(features_dir, ids))
    said = checks.prediction_warnings(submission["Class"], table.loc[table["split"] == "train", "label"].dropna())
    return SubmissionResult(write(submission, test_ids, out), len(submission), fallback, said)
