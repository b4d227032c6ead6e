"""A trained model saved with what it was trained on.

Model files are in the skops format (a zip of JSON and NumPy arrays, https://skops.readthedocs.io):
loading one cannot run code. Only the types in :data:`TRUSTED_TYPES` (what the registry's
models are made of) and those skops trusts by default (NumPy, SciPy, scikit-learn
estimators) are rebuilt; a file holding anything else is refused by name before any object is
made. Pickled model files (``model.pkl``, written before) are refused outright: unpickling
runs whatever the file says.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from urbansound import atomic
from urbansound.exceptions import ModelError
from urbansound.settings import FeatureSettings

SEQUENCE_INPUT = "mfcc-seq"
"""The input name of MFCC frame sequences (stored beside the feature table)."""

MEL_INPUT = "mel"
"""The input name of the log-mel images (stored beside the feature table, every row)."""

FORMAT = "urbansound-model"
FORMAT_VERSION = 1

TRUSTED_TYPES: tuple[str, ...] = (
    # the seed project's networks and the rnn's input transform
    "urbansound.models.nn.fnn.FeedForwardNetwork",
    "urbansound.models.nn.logreg.GDLogisticRegression",
    "urbansound.models.nn.rnn.RecurrentNetwork",
    "urbansound.models.registry.rnn_inputs",
    # the cnn: its weights are NumPy arrays in a dict, its architecture numbers and lists
    "urbansound.models.cnn.ConvNetClassifier",
    "urbansound.models.hybrid.TableImageVote",
    # skm-fnn: spherical k-means codes (NumPy arrays) and the fnn
    "urbansound.models.kmeans.ShingleKMeansEncoder",
    "urbansound.models.kmeans.TableImageFeatures",
    # scikit-learn internals that skops does not trust by default
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.utils._bunch.Bunch",
)
"""Types a model file may hold beyond skops' defaults: those the registry's models use."""


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex: how a CV record names the model file it chose."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    run_id: str | None = None  # the train run that wrote it (also in that run's cv.json)

    @property
    def reads_sequences(self) -> bool:
        """Whether the model reads MFCC frame sequences rather than table columns."""
        return self.feature_set == SEQUENCE_INPUT

    @property
    def reads_mels(self) -> bool:
        """Whether the model reads the log-mel images (alone, or after ``features``: ``<set>+mel``)."""
        return self.feature_set == MEL_INPUT or self.feature_set.endswith(f"+{MEL_INPUT}")

    def check_features(self, columns: list[str], settings: FeatureSettings) -> None:
        """Refuse a feature table the model was not trained on."""
        if settings.feature_fingerprint() != self.feature_settings.feature_fingerprint():
            raise ModelError(
                f"the model was trained on features computed with {self.feature_settings.model_dump()}, "
                f"the table was computed with {settings.model_dump()}; re-run featurize with the model's "
                "settings or retrain"
            )
        table_input = not (self.reads_sequences or self.feature_set == MEL_INPUT)
        absent = [c for c in self.features if c not in columns] if table_input else []
        if absent:
            raise ModelError(
                f"the feature table lacks {len(absent)} column(s) the model was trained on "
                f"(e.g. {', '.join(absent[:3])}); re-run featurize or retrain"
            )

    def _describe(self) -> dict[str, Any]:
        return {"model": self.name, "feature_set": self.feature_set, "cv_mean": self.cv_mean,
                "classes": self.classes, "n_features": len(self.features), "run_id": self.run_id,
                "feature_settings": self.feature_settings.model_dump(mode="json")}

    def save(self, path: Path, *, provenance: dict[str, Any] | None = None) -> str:
        """Write atomically in the skops format, with a readable JSON description beside it
        (``model.json``; with ``provenance``, the train run's record: see
        :mod:`urbansound.provenance`).

        Returns the file's SHA-256 (see :func:`file_digest`).
        """
        import skops.io as sio

        path = Path(path)
        payload = {"format": FORMAT, "version": FORMAT_VERSION, "features": list(self.features),
                   "majority": self.majority, "estimator": self.estimator, **self._describe()}
        data = sio.dumps(payload)
        atomic.write_bytes(path, data)
        described = {**self._describe(), **({"provenance": provenance} if provenance else {})}
        atomic.write_text(path.with_suffix(".json"), json.dumps(described, indent=2))
        return hashlib.sha256(data).hexdigest()

    @staticmethod
    def load(path: Path) -> "TrainedModel":
        """Load a model file written by :meth:`save`, refusing anything that could run code."""
        import skops.io as sio

        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no model file; run `urbansound train` first")
        data = path.read_bytes()
        if data[:1] == b"\x80":  # pickle protocol 2 and later
            raise ModelError(f"{path}: a pickled model file (urbansound 0.1 wrote those); pickles run code when "
                             "loaded, so they are no longer read: retrain with `urbansound train`")
        if not data.startswith(b"PK"):
            raise ModelError(f"{path}: not an urbansound model file (expected the skops format)")
        try:
            untrusted = set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES)
            if untrusted:
                raise ModelError(f"{path}: refused: it holds types an urbansound model never holds "
                                 f"({', '.join(sorted(untrusted))}); only load model files written by "
                                 "`urbansound train`")
            payload = sio.loads(data, trusted=list(TRUSTED_TYPES))
        except ModelError:
            raise
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, ImportError,
                json.JSONDecodeError) as e:
            raise ModelError(f"{path}: not a readable model file ({type(e).__name__}: {e}); retrain with "
                             "`urbansound train`") from e
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ModelError(f"{path}: not an urbansound model file")
        if payload.get("version") != FORMAT_VERSION:
            raise ModelError(f"{path}: model format version {payload.get('version')!r}, this urbansound reads "
                             f"{FORMAT_VERSION}; retrain with `urbansound train`")
        try:
            return TrainedModel(name=payload["model"], feature_set=payload["feature_set"],
                                estimator=payload["estimator"], features=list(payload["features"]),
                                feature_settings=FeatureSettings(**payload["feature_settings"]),
                                classes=list(payload["classes"]), cv_mean=payload["cv_mean"],
                                majority=payload["majority"], run_id=payload["run_id"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{path}: an incomplete urbansound model file ({e}); retrain with "
                             "`urbansound train`") from e
