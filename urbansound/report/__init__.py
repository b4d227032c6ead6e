"""The report stage: one self-contained HTML page of what a run did, with figures.

:func:`build_report` reads what the other stages left in a :class:`Workspace` and writes

``<reports>/report.html``
    Self-contained: every figure is embedded as a base64 PNG data URI, so the file can be
    mailed or archived alone. Sections: run facts (dataset, layout, clips decoded and
    failed, feature settings, CV protocol, best model, the caller's ``run_facts``), then
    one section per figure with its caption and, where there is one, the numbers as a
    table. A figure whose data is absent (no ``cv.json`` yet, no study, a layout without
    folds, audio gone) is not drawn: its section says why instead.
``<reports>/figures/<name>.png``
    Each drawn figure, the same bytes as the embedded one. :data:`FIGURES` lists the
    names; the PNG of a figure that is absent from this report is removed, so the folder
    always matches the page.

Inputs, all optional: the feature table, its manifest and failures
(:mod:`urbansound.table`), ``cv.json`` (:mod:`urbansound.evaluation`) and
the studies' ``study_*.json`` (:mod:`urbansound.studies`), and the
dataset folder (its layout and how many listed clips have audio).

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg renderer;
pyplot and its global state are never touched. Each figure function takes plain data and
returns a figure, or :class:`Missing` with the reason it cannot be drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from urbansound import atomic
from urbansound import table as table_format
from urbansound.report.examples import (
    EXAMPLE_TRIES,
    SPECTRUM_FLOOR_DB,
    Example,
    examples_figure,
    load_examples,
    pick_examples,
)
from urbansound.report.figures import (
    class_balance_figure,
    confusion_figure,
    cv_figure,
    fold_balance_figure,
)
from urbansound.report.inputs import (
    CV_FILE,
    DPI,
    FIGURES,
    FIGURES_DIR,
    REPORT_FILE,
    FigureResult,
    Missing,
    _read_json,
)
from urbansound.report.page import (
    _CSS,
    MAX_FAILURES_LISTED,
    Section,
    _e,
    _png,
    _run_facts_html,
    _section_html,
    cv_table_html,
    per_class_table_html,
    study_table_html,
)
from urbansound.report.study_figures import (
    activation_functions_figure,
    activation_study_figure,
    grid_study_figure,
    solver_figure,
)
from urbansound.progress import Tick
from urbansound.settings import FeatureSettings
from urbansound.workspace import Workspace
from urbansound.studies import STUDY_NAMES
from urbansound.workspace import study_file

log = logging.getLogger(__name__)

__all__ = [
    "CV_FILE", "DPI", "EXAMPLE_TRIES", "FIGURES", "FIGURES_DIR", "MAX_FAILURES_LISTED", "REPORT_FILE",
    "SPECTRUM_FLOOR_DB", "Example", "FigureResult", "Missing", "Section", "build_report",
    "class_balance_figure", "confusion_figure", "cv_figure", "cv_table_html", "examples_figure",
    "fold_balance_figure", "load_examples", "per_class_table_html", "pick_examples", "activation_study_figure",
    "activation_functions_figure", "grid_study_figure", "solver_figure", "study_table_html",
]


def _sections(table: pd.DataFrame | Missing, settings: FeatureSettings | Missing, cv: dict[str, Any] | Missing,
              studies: Mapping[str, dict[str, Any] | Missing], model_notes: list[str] | None = None) -> list[Section]:
    sections: list[Section] = []
    notes: list[str] = []
    examples: FigureResult
    balance: FigureResult
    folds: FigureResult
    if isinstance(table, Missing):
        examples = balance = folds = table
    else:
        if isinstance(settings, Missing):
            examples = Missing(f"{settings.reason}: the clips cannot be analysed as the features were")
        else:
            clips, notes = load_examples(table, settings)
            examples = examples_figure(clips, settings)
        balance, folds = class_balance_figure(table), fold_balance_figure(table)
    sections.append(Section("examples", "Example clips",
                            "one labelled training clip per class (the first by clip id whose audio decodes): "
                            "waveform, mean magnitude spectrum of the STFT frames, and MFCC frames, as the "
                            "features are computed (MFCC colour scale per row, fitted to coefficients 1 and up: "
                            "coefficient 0, the log energy, saturates)",
                            examples, notes=notes))
    sections.append(Section("class_balance", "Class balance per split",
                            "decoded clips per class in each split; test clips of the AV layout are unlabelled",
                            balance))
    sections.append(Section("fold_balance", "Class balance per fold",
                            "decoded clips per official fold, stacked by class; leave-one-fold-out CV trains "
                            "on all folds but one and tests on that one, in turn", folds))
    cv_fig: FigureResult
    confusion: FigureResult
    if isinstance(cv, Missing):
        cv_fig = confusion = cv
        cv_html = per_class_html = ""
    else:
        cv_fig, confusion = cv_figure(cv), confusion_figure(cv)
        cv_html = cv_table_html(cv) if cv.get("entries") else ""
        per_class_html = per_class_table_html(cv) if (cv.get("best_details") or {}).get("per_class") else ""
    sections.append(Section("cv_scores", "Cross-validated accuracy",
                            "per model and feature set: mean ± std over the honest protocol's folds (grey dots: "
                            "single folds); red diamonds: the same model under a random split of the same clips, "
                            "where scored — the gap is what a leaky split would flatter", cv_fig, cv_html,
                            notes=model_notes or []))
    sections.append(Section("confusion", "Best model: confusion and per-class F1",
                            "out-of-fold predictions of the best model: counts per (true, predicted) class, "
                            "coloured by the share of the true class; per-class F1 beside", confusion,
                            per_class_html))
    ran = not isinstance(studies.get("activations", Missing("")), Missing)
    sections.append(Section("activation_functions", "Activation functions and their derivatives",
                            "every activation the seed's networks offer, and the derivative backpropagation "
                            "multiplies by, computed by the networks' own code; sigmoid and tanh saturate "
                            "(derivative near 0 away from z = 0), ReLU passes no gradient below 0, leaky ReLU "
                            "and ELU do", activation_functions_figure() if ran else
                            Missing("drawn with the activation study, which has not been run "
                                    "(`urbansound study activations DATA_DIR`)")))
    captions = {
        "activations": ("study", "Activation study (the seed's Table 1)",
                        "mean accuracy of the seed's feed-forward network by activation and hidden layers, on "
                        "training folds and on held-out folds", activation_study_figure),
        "regularization": ("study_regularization", "Regularization study: accuracy against λ",
                           "the L2 weight λ of the seed's logistic regression and feed-forward network: mean "
                           "held-out accuracy with its std over folds (error bars) and training accuracy "
                           "(dashed); 0 (no penalty) is drawn at the left end of the log axis",
                           lambda s: grid_study_figure(s, axis="λ (L2 weight)")),
        "learning-rate": ("study_learning_rate", "Learning-rate study: accuracy against η",
                          "the step size η of the feed-forward network trained by full-batch GD and by "
                          "minibatch SGD, without momentum: mean held-out accuracy ± std over folds, training "
                          "accuracy dashed; a cross marks an η at which training diverged",
                          lambda s: grid_study_figure(s, axis="η (step size)")),
        "solver": ("study_solver", "Solver study: accuracy and loss per epoch",
                   "the feed-forward network trained by each solver at one η, watched on the held-out fold "
                   "after every epoch (bands: std over folds); the legend gives the time an epoch takes",
                   solver_figure),
    }
    for which, (name, title, caption, draw) in captions.items():
        study = studies.get(which) or Missing(f"no study {which}")
        if isinstance(study, Missing):
            result: FigureResult = Missing(f"the {which} study has not been run ({study.reason}; "
                                           f"`urbansound study {which} DATA_DIR`)")
            html_table = ""
        else:
            result, html_table = draw(study), study_table_html(study)
        sections.append(Section(name, title, caption, result, html_table))
    return sections


def model_file_notes(cv: dict[str, Any], model_path: Path) -> list[str]:
    """What to say when ``cv.json`` and the model file are not from the same train run."""
    from urbansound.models.saved import file_digest

    run = cv.get("run") or {}
    if "model_sha256" not in run:
        return []  # a record from before runs were recorded: nothing to compare
    if run["model_sha256"] is None:
        return [f"the train run {run.get('id')} that wrote this CV did not save its model (interrupted?): "
                f"{model_path.name}, if there, is from another run; run `urbansound train` again"]
    if not model_path.is_file():
        return [f"{model_path} is gone: this CV's model cannot be submitted; run `urbansound train` again"]
    if file_digest(model_path) != run["model_sha256"]:
        return [f"{model_path} is not the model this CV chose (replaced by another train, or that train was "
                "interrupted): submissions use that file; run `urbansound train` again for a matching pair"]
    return []


def build_report(workspace: Workspace, *, data_dir: Path | None = None,
                 run_facts: Mapping[str, Any] | None = None, on_figure: Tick | None = None) -> Path:
    """Write ``<reports>/report.html`` and ``<reports>/figures/*.png`` for one dataset.

    Parameters
    ----------
    workspace : Workspace
        Where the feature table, ``cv.json`` and the studies' JSON are read and
        the report is written.
    data_dir : Path, optional
        The dataset folder, for its layout and how many listed clips have audio.
    run_facts : mapping, optional
        Anything else to show under "Run facts", key -> value (e.g. ``stage_seconds``,
        ``workers``, ``submission``, ``started``); mappings become nested tables.
    on_figure : callable, optional
        A :data:`urbansound.progress.Tick`: told the number of figures, then each as it is
        drawn (or found missing).

    Returns
    -------
    Path
        The HTML file.
    """
    reports = workspace.reports
    figures_dir = reports / FIGURES_DIR
    figures_dir.mkdir(parents=True, exist_ok=True)
    try:
        table: pd.DataFrame | Missing = table_format.read_features(workspace.features)
    except FileNotFoundError as e:
        table = Missing(f"no feature table yet ({e})")
    try:
        settings: FeatureSettings | Missing = table_format.read_settings(workspace.features)
    except (FileNotFoundError, ValueError) as e:
        settings = Missing(f"feature settings unknown ({e})")
    cv = _read_json(reports / CV_FILE)
    studies = {which: _read_json(reports / study_file(which)) for which in STUDY_NAMES}

    body = [f"<h1>Urban sound classification report: {_e(workspace.name)}</h1>",
            _run_facts_html(workspace, data_dir, table, settings, cv, run_facts)]
    notes = [] if isinstance(cv, Missing) else model_file_notes(cv, workspace.model)
    tick = on_figure or (lambda *a, **k: None)
    tick(0, total=len(FIGURES))
    for number, section in enumerate(_sections(table, settings, cv, studies, notes), start=1):
        path = figures_dir / f"{section.name}.png"
        png = None
        if isinstance(section.result, Figure):
            png = _png(section.result)
            atomic.write_bytes(path, png)
        else:
            path.unlink(missing_ok=True)  # a figure of an earlier run would contradict this page
            log.info("report: %s not drawn: %s", section.name, section.result.reason)
        body.append(_section_html(number, section, png))
        tick()
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(workspace.name)}: urban sound report</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    out = reports / REPORT_FILE
    atomic.write_bytes(out, page.encode("utf-8"))
    log.info("report written to %s", out)
    return out
