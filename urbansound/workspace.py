"""Where every stage writes for one dataset: the workspace's folders and file names, in one place.

``<root>/features/<name>/``
    :data:`MANIFEST_FILE`, the Parquet parts it lists, :data:`FAILURES_FILE`,
    :data:`SEQUENCES_DIR`, :data:`LOCK_FILE` (:mod:`urbansound.featurize`).
``<root>/models/<name>/``
    :data:`MODEL_FILE` and its readable description (:mod:`urbansound.models.saved`).
``<root>/reports/<name>/``
    :data:`CV_FILE` (and ``cv.md``), :data:`RUNS_DIR`, each study's :func:`study_file`,
    :data:`REPORT_FILE` and :data:`FIGURES_DIR`.
``<root>/submissions/<name>.csv``
    The submission.

data/README.md describes the same layout for users. Plain names only: importing this
module costs nothing (the command line reads it before any heavy import).
"""

from __future__ import annotations

from pathlib import Path

FEATURES_DIR = "features"
MODELS_DIR = "models"
REPORTS_DIR = "reports"
SUBMISSIONS_DIR = "submissions"

MANIFEST_FILE = "_manifest.json"
FAILURES_FILE = "_failures.csv"
SEQUENCES_DIR = "_sequences"
LOCK_FILE = ".lock"
MODEL_FILE = "model.skops"
"""The trained model's file name in a workspace's models folder (see :mod:`urbansound.models.saved`)."""
CV_FILE = "cv.json"
RUNS_DIR = "runs"
REPORT_FILE = "report.html"
FIGURES_DIR = "figures"


def study_file(name: str) -> str:
    """The JSON a study writes under the dataset's reports folder (and ``.md`` beside it)."""
    return f"study_{name.replace('-', '_')}.json"


class Workspace:
    """Where each stage writes its outputs for one dataset (see data/README.md)."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = Path(root)
        self.name = name

    @property
    def features(self) -> Path:
        return self.root / FEATURES_DIR / self.name

    @property
    def models(self) -> Path:
        return self.root / MODELS_DIR / self.name

    @property
    def model(self) -> Path:
        return self.models / MODEL_FILE

    @property
    def reports(self) -> Path:
        return self.root / REPORTS_DIR / self.name

    @property
    def cv(self) -> Path:
        return self.reports / CV_FILE

    @property
    def report(self) -> Path:
        return self.reports / REPORT_FILE

    @property
    def submission(self) -> Path:
        return self.root / SUBMISSIONS_DIR / f"{self.name}.csv"
