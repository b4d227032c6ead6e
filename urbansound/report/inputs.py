"""What the report reads and writes, and the marker of a figure it cannot draw.

File names under ``<reports>``, the figure names (:data:`FIGURES`), :class:`Missing`
and :data:`FigureResult`, and the reading of the JSON results the other stages leave.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from matplotlib.figure import Figure

from urbansound.workspace import CV_FILE, FIGURES_DIR, REPORT_FILE  # noqa: F401 (the report's names)

FIGURES: tuple[str, ...] = ("examples", "class_balance", "fold_balance", "cv_scores", "confusion",
                            "activation_functions", "study", "study_regularization", "study_learning_rate",
                            "study_solver")
"""Every figure the report can hold, in page order; ``figures/<name>.png``."""
DPI = 100


class Missing(NamedTuple):
    """A figure that cannot be drawn, and why (shown on the page in its place)."""

    reason: str


FigureResult = Figure | Missing


def _read_json(path: Path) -> dict[str, Any] | Missing:
    if not path.is_file():
        return Missing(f"no {path.name} in {path.parent}")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return Missing(f"{path} cannot be read ({e})")
    return data if isinstance(data, dict) else Missing(f"{path} does not hold a JSON object")


def protocol_text(cv: dict[str, Any]) -> str:
    """The CV protocol's note from ``cv.json``, flagged optimistic once if it is."""
    note = str(cv.get("note", ""))
    return note + (" (optimistic)" if cv.get("optimistic") and "optimistic" not in note else "")
