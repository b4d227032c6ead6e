"""Where a training result came from: the run record that ``cv.json`` and ``model.json``
carry, and the history of earlier runs (``reports/<dataset>/runs/``).

A run record (``cv.json``'s ``run``) holds: ``id``, ``time`` (UTC), ``inputs`` (a digest of
the training settings, the feature table's manifest and the code: what decides whether a
result can be reused), ``table`` (the dataset fingerprint: the feature settings and the
parts of the table, whose names hash the clips' ids, labels, folds and bytes), ``code``
(the package's source digest), ``git_commit`` (of the project checkout, when it is one),
``versions`` (of the libraries that shape the numbers), ``hyper_parameters`` (every
candidate's estimator parameters, as fitted), and ``model_file`` / ``model_sha256`` (the
model file the run saved, once it is saved).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from urbansound.workspace import RUNS_DIR

PACKAGES = ("urbansound", "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "librosa", "soxr", "dask",
            "distributed", "prefect", "skops")


def code_digest() -> str:
    """SHA-256 of the package's source files: a result computed by other code is another result."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that shape the numbers (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """The project checkout's commit (``+dirty`` with uncommitted changes), or None when the
    package is not in a git checkout (an installed wheel) or git is absent."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def table_fingerprint(manifest: dict[str, Any]) -> str:
    """The dataset fingerprint of a feature table: its settings and its parts (each part's
    name hashes its clips' table rows and bytes)."""
    blob = json.dumps({"settings": manifest.get("fingerprint"), "parts": sorted(manifest.get("parts", []))})
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    """An estimator's ``get_params(deep=True)`` without the nested estimator objects (their
    own parameters are listed by name), every value JSON-able."""
    out: dict[str, Any] = {}
    for k, v in sorted(params.items()):
        if isinstance(v, (bool, int, float, str, type(None))):
            out[k] = v
        elif isinstance(v, (list, tuple)) and all(isinstance(x, (bool, int, float, str, type(None))) for x in v):
            out[k] = list(v)
        elif not hasattr(v, "get_params") and not isinstance(v, (list, tuple)):
            out[k] = repr(v)
    return out


def write_history(reports_dir: Path, record: dict[str, Any]) -> Path:
    """Keep a copy of a finished run's CV record under ``runs/``, as
    ``<sequence>-<time>-<id>.json``: the sequence number orders runs within one second."""
    from urbansound import atomic

    run = record["run"]
    runs = Path(reports_dir) / RUNS_DIR
    seq = 1 + max((int(p.name.split("-", 1)[0]) for p in runs.glob("*.json") if p.name.split("-", 1)[0].isdigit()),
                  default=0)
    stamp = run["time"].replace(":", "").replace("-", "").replace("+0000", "Z")
    return atomic.write_text(runs / f"{seq:05d}-{stamp}-{run['id']}.json", json.dumps(record, indent=2))


def list_runs(reports_dir: Path) -> list[dict[str, Any]]:
    """Every kept run, oldest first: id, time, protocol, clips, best model and accuracy, commit."""
    rows = []
    for path in sorted((Path(reports_dir) / RUNS_DIR).glob("*.json")):  # sequence-numbered names
        try:
            record = json.loads(path.read_text())
            run, best = record["run"], record["best"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a run record: listed nowhere, never fatal
        rows.append({"id": run.get("id"), "time": run.get("time"), "protocol": record.get("protocol"),
                     "clips": record.get("n_clips"), "best": f"{best['model']} on {best['feature_set']}",
                     "mean": best["mean"], "std": best["std"], "git_commit": run.get("git_commit"),
                     "file": path.name})
    return rows
