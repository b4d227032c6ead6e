"""Models by name, and saving/loading a trained model with what it was trained on.

scikit-learn's models, each a pipeline with the scaling it needs:
``logreg, mlp, tree, forest, hgb, svm, knn``.

Model files are pickles: load them only from places you trust.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from urbansound.exceptions import ModelError
from urbansound.settings import FeatureSettings

# n_jobs=1 everywhere: parallelism comes from Dask, one fit per task.
_FACTORIES: dict[str, Callable[[int], BaseEstimator]] = {
    "logreg": lambda seed: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
    "mlp": lambda seed: make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-3, max_iter=500, early_stopping=True, random_state=seed)
    ),
    "tree": lambda seed: DecisionTreeClassifier(min_samples_leaf=2, random_state=seed),
    "forest": lambda seed: RandomForestClassifier(n_estimators=300, n_jobs=1, random_state=seed),
    "hgb": lambda seed: HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed),
    "svm": lambda seed: make_pipeline(StandardScaler(), SVC(C=10.0, gamma="scale", random_state=seed)),
    "knn": lambda seed: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5, weights="distance")),
}
MODEL_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def make_model(name: str, *, seed: int = 0) -> BaseEstimator:
    """A fresh, unfitted estimator by name."""
    try:
        return _FACTORIES[name](seed)
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}") from None


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

    def check_features(self, columns: list[str], settings: FeatureSettings) -> None:
        """Refuse a feature table the model was not trained on."""
        if settings.fingerprint() != self.feature_settings.fingerprint():
            raise ModelError(
                f"the model was trained on features computed with {self.feature_settings.model_dump()}, "
                f"the table was computed with {settings.model_dump()}; re-run featurize with the model's "
                "settings or retrain"
            )
        absent = [c for c in self.features if c not in columns]
        if absent:
            raise ModelError(
                f"the feature table lacks {len(absent)} column(s) the model was trained on "
                f"(e.g. {', '.join(absent[:3])}); re-run featurize or retrain"
            )

    def save(self, path: Path) -> None:
        """Pickle atomically, with a readable JSON description beside it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        info = {"model": self.name, "feature_set": self.feature_set, "cv_mean": self.cv_mean,
                "classes": self.classes, "n_features": len(self.features),
                "feature_settings": self.feature_settings.model_dump()}
        path.with_suffix(".json").write_text(json.dumps(info, indent=2))

    @staticmethod
    def load(path: Path) -> "TrainedModel":
        """Load a model file. It is a pickle: load only files from a trusted place."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no model file; run `urbansound train` first")
        with open(path, "rb") as f:
            obj = pickle.load(f)  # noqa: S301 - documented: trusted files only
        if not isinstance(obj, TrainedModel):
            raise ModelError(f"{path}: not an urbansound model file")
        return obj
