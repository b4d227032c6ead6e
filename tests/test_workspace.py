"""urbansound.workspace: every folder and file name a stage writes, defined once and stable."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from urbansound import workspace
from urbansound.workspace import Workspace, study_file

README = Path(__file__).resolve().parents[1] / "data" / "README.md"

# Renaming any of these orphans every workspace already on disk: change them on purpose only.
STABLE_NAMES = {
    "FEATURES_DIR": "features",
    "MODELS_DIR": "models",
    "REPORTS_DIR": "reports",
    "SUBMISSIONS_DIR": "submissions",
    "MANIFEST_FILE": "_manifest.json",
    "FAILURES_FILE": "_failures.csv",
    "SEQUENCES_DIR": "_sequences",
    "LOCK_FILE": ".lock",
    "MODEL_FILE": "model.skops",
    "CV_FILE": "cv.json",
    "RUNS_DIR": "runs",
    "REPORT_FILE": "report.html",
    "FIGURES_DIR": "figures",
}


def test_the_file_and_folder_names_are_stable():
    assert {name: getattr(workspace, name) for name in STABLE_NAMES} == STABLE_NAMES
    declared = {k for k, v in vars(workspace).items() if k.isupper() and isinstance(v, str)}
    assert declared == set(STABLE_NAMES), "a new workspace name: add it here (and to data/README.md)"


def test_every_path_of_a_workspace(tmp_path):
    ws = Workspace(tmp_path / "ws", "tiny-av")
    root = tmp_path / "ws"
    assert ws.root == root and ws.name == "tiny-av"
    assert ws.features == root / "features" / "tiny-av"
    assert ws.models == root / "models" / "tiny-av"
    assert ws.model == root / "models" / "tiny-av" / "model.skops"
    assert ws.reports == root / "reports" / "tiny-av"
    assert ws.cv == root / "reports" / "tiny-av" / "cv.json"
    assert ws.report == root / "reports" / "tiny-av" / "report.html"
    assert ws.submission == root / "submissions" / "tiny-av.csv"


def test_a_workspace_only_names_paths_it_creates_nothing(tmp_path):
    ws = Workspace(str(tmp_path / "ws"), "d")  # a string root is taken too
    assert isinstance(ws.root, Path)
    for p in (ws.features, ws.models, ws.model, ws.reports, ws.cv, ws.report, ws.submission):
        assert isinstance(p, Path) and not p.exists()
    assert not (tmp_path / "ws").exists()


def test_two_datasets_in_one_workspace_never_share_a_file(tmp_path):
    a, b = Workspace(tmp_path, "a"), Workspace(tmp_path, "b")
    props = ("features", "models", "model", "reports", "cv", "report", "submission")
    assert not {getattr(a, p) for p in props} & {getattr(b, p) for p in props}


@pytest.mark.parametrize("name, file", [
    ("activations", "study_activations.json"),
    ("solver", "study_solver.json"),
    ("a-b-c", "study_a_b_c.json"),
])
def test_study_file_names(name, file):
    assert study_file(name) == file


def test_importing_it_imports_nothing_heavy():
    """The command line reads it before any heavy import: only the standard library."""
    tree = ast.parse(Path(workspace.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_settings_still_exports_the_same_workspace():
    from urbansound import settings

    assert settings.Workspace is Workspace and settings.MODEL_FILE == workspace.MODEL_FILE


@pytest.mark.parametrize("name", list(STABLE_NAMES.values()))
def test_data_readme_describes_every_name(name):
    assert name in README.read_text(), f"data/README.md does not mention {name}"
