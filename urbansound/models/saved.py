"""A trained model saved with what it was trained on.

Model files are pickles: load them only from places you trust.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from urbansound import atomic
from urbansound.atomic import atomic_path
from urbansound.exceptions import ModelError
from urbansound.settings import FeatureSettings

SEQUENCE_INPUT = "mfcc-seq"
"""The input name of MFCC frame sequences (stored beside the feature table)."""


@dataclass
class TrainedModel:
    """A fitted estimator with the feature columns and settings it was trained on."""

    name: str
    feature_set: str
    estimator: Any
    features: list[str]
    feature_settings: FeatureSettings
    classes: list[str]
    cv_mean: float | None = None
    majority: str | None = None

    @property
    def reads_sequences(self) -> bool:
        """Whether the model reads MFCC frame sequences rather than table columns."""
        return self.feature_set == SEQUENCE_INPUT

    def check_features(self, columns: list[str], settings: FeatureSettings) -> None:
        """Refuse a feature table the model was not trained on."""
        if settings.feature_fingerprint() != self.feature_settings.feature_fingerprint():
            raise ModelError(
                f"the model was trained on features computed with {self.feature_settings.model_dump()}, "
                f"the table was computed with {settings.model_dump()}; re-run featurize with the model's "
                "settings or retrain"
            )
        absent = [] if self.reads_sequences else [c for c in self.features if c not in columns]
        if absent:
            raise ModelError(
                f"the feature table lacks {len(absent)} column(s) the model was trained on "
                f"(e.g. {', '.join(absent[:3])}); re-run featurize or retrain"
            )

    def save(self, path: Path) -> None:
        """Pickle atomically, with a readable JSON description beside it."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        info = {"model": self.name, "feature_set": self.feature_set, "cv_mean": self.cv_mean,
                "classes": self.classes, "n_features": len(self.features),
                "feature_settings": self.feature_settings.model_dump()}
        atomic.write_text(path.with_suffix(".json"), json.dumps(info, indent=2))

    @staticmethod
    def load(path: Path) -> "TrainedModel":
        """Load a model file. It is a pickle: load only files from a trusted place."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no model file; run `urbansound train` first")
        try:
            with open(path, "rb") as f:
                obj = pickle.load(f)  # noqa: S301 - documented: trusted files only
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as e:
            raise ModelError(f"{path}: not a readable model file ({e}); retrain with `urbansound train`") from e
        if not isinstance(obj, TrainedModel):
            raise ModelError(f"{path}: not an urbansound model file")
        return obj
