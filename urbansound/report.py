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
(:mod:`urbansound.featurize`), ``cv.json`` (:mod:`urbansound.evaluation`) and
``study_activations.json`` (:func:`urbansound.training.study_activations`), and the
dataset folder (its layout and how many listed clips have audio).

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg renderer;
pyplot and its global state are never touched. Each figure function takes plain data and
returns a figure, or :class:`Missing` with the reason it cannot be drawn.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from urbansound import atomic, features, featurize
from urbansound.audio import decode
from urbansound.datasets import inspect_dataset
from urbansound.exceptions import DatasetError, DecodeError
from urbansound.settings import CLASSES, FeatureSettings, Workspace

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"
CV_FILE = "cv.json"
STUDY_FILE = "study_activations.json"
FIGURES: tuple[str, ...] = ("examples", "class_balance", "fold_balance", "cv_scores", "confusion", "study")
"""Every figure the report can hold, in page order; ``figures/<name>.png``."""
DPI = 100
MAX_FAILURES_LISTED = 50
EXAMPLE_TRIES = 3  # clips tried per class before the class is left out of the examples
SPECTRUM_FLOOR_DB = -120.0  # as the fft_band_* levels
_UNLABELLED = "(unlabelled)"


class Missing(NamedTuple):
    """A figure that cannot be drawn, and why (shown on the page in its place)."""

    reason: str


FigureResult = Figure | Missing


@dataclass(frozen=True)
class Example:
    """One decoded clip to show: its class, id and signal.

    Attributes
    ----------
    label, clip_id : str
    y : np.ndarray, shape (n,), float32
        Mono signal at the feature settings' rate, full-scale amplitude.
    """

    label: str
    clip_id: str
    y: np.ndarray


# ---------------------------------------------------------------------------- inputs
def pick_examples(table: pd.DataFrame, tries: int = EXAMPLE_TRIES) -> dict[str, list[str]]:
    """Candidate clips per class for the examples figure, deterministically.

    Parameters
    ----------
    table : pd.DataFrame
        The feature table (``clip_id``, ``split``, ``label``).
    tries : int
        Candidates per class: the first by ``clip_id``, then the next ones, used when an
        earlier one's audio is gone.

    Returns
    -------
    dict of str to list of str
        Class -> up to ``tries`` clip ids of labelled training clips; classes in
        :data:`CLASSES` order, then any others alphabetically.
    """
    train = table[(table["split"] == "train") & table["label"].notna()]
    ordered = train.sort_values("clip_id", kind="stable")
    found = set(ordered["label"].astype(str))
    labels = [c for c in CLASSES if c in found] + sorted(found - set(CLASSES))
    return {lab: ordered.loc[ordered["label"] == lab, "clip_id"].astype(str).head(tries).tolist() for lab in labels}


def load_examples(table: pd.DataFrame, settings: FeatureSettings) -> tuple[list[Example], list[str]]:
    """Decode one clip per class (see :func:`pick_examples`).

    Parameters
    ----------
    table : pd.DataFrame
        The feature table (``clip_id``, ``path``, ``split``, ``label``).
    settings : FeatureSettings
        The table's settings: the clip is decoded at ``sample_rate``.

    Returns
    -------
    examples : list of Example
        At most one per class, in :func:`pick_examples` order.
    notes : list of str
        One line per clip skipped (its file gone or unreadable) and per class left out.
    """
    paths = dict(zip(table["clip_id"].astype(str), table["path"].astype(str)))
    examples: list[Example] = []
    notes: list[str] = []
    for label, clip_ids in pick_examples(table).items():
        for clip_id in clip_ids:
            try:
                y = decode(paths[clip_id], sr=settings.sample_rate)
            except DecodeError as e:
                notes.append(f"{label}: clip {clip_id} skipped ({e})")
                continue
            examples.append(Example(label, clip_id, y))
            break
        else:
            notes.append(f"{label}: left out, none of its first {len(clip_ids)} clip(s) could be decoded")
    return examples, notes


def _read_json(path: Path) -> dict[str, Any] | Missing:
    if not path.is_file():
        return Missing(f"no {path.name} in {path.parent}")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return Missing(f"{path} cannot be read ({e})")
    return data if isinstance(data, dict) else Missing(f"{path} does not hold a JSON object")


# --------------------------------------------------------------------------- figures
def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def examples_figure(examples: list[Example], settings: FeatureSettings) -> FigureResult:
    """One row per class: waveform, magnitude spectrum, MFCC frames.

    Parameters
    ----------
    examples : list of Example
        Signals at ``settings.sample_rate``.
    settings : FeatureSettings
        STFT and MFCC settings, as the feature table's.

    Returns
    -------
    Figure or Missing
        Columns: waveform (s vs full-scale amplitude, drawn as its min-max envelope per
        pixel column); mean magnitude spectrum over STFT frames (log-frequency Hz vs dB re
        full scale, floor -120 dB); MFCC frames (frame vs coefficient, colour in
        dB-scaled cepstral units, scale per row fitted to coefficients 1 and up).
    """
    if not examples:
        return Missing("no audio: no labelled training clip could be decoded")
    sr = settings.sample_rate
    n = len(examples)
    row_in, top_in, bottom_in = 1.45, 0.45, 0.6
    height = top_in + bottom_in + row_in * n
    # fixed margins: constrained layout over 30 axes with log-scale ticks costs seconds
    fig = Figure(figsize=(13.0, height), dpi=DPI)
    grid = fig.add_gridspec(n, 3, width_ratios=[1.1, 1.0, 1.2], left=0.135, right=0.945,
                            top=1 - top_in / height, bottom=bottom_in / height, hspace=0.45, wspace=0.22)
    axes = np.array([[fig.add_subplot(grid[i, j]) for j in range(3)] for i in range(n)])
    for row, ex in zip(axes, examples):
        y, _ = features.prepare(ex.y, settings)
        _waveform(row[0], y, sr)
        row[0].set_ylabel(f"{ex.label}\n{ex.clip_id}", fontsize=9, rotation=0, ha="right", va="center",
                          labelpad=8)

        S = features.spectrogram(y, settings)
        spectrum = S.mean(axis=1).astype(np.float64) * (4.0 / settings.n_fft)  # full-scale units
        freqs = np.arange(len(spectrum)) * (sr / settings.n_fft)
        db = 20 * np.log10(np.maximum(spectrum, 10 ** (SPECTRUM_FLOOR_DB / 20)))
        row[1].semilogx(freqs[1:], db[1:], linewidth=0.8, color="#8b2252")
        row[1].set_xlim(features.band_edges(sr=sr, n_bands=1)[0], sr / 2)  # as the fft_band_* levels
        row[1].set_ylim(max(SPECTRUM_FLOOR_DB, float(db[1:].max()) - 90), float(db[1:].max()) + 5)
        row[1].grid(True, which="major", alpha=0.3)
        row[1].minorticks_off()  # dozens of minor ticks per axis: slow to lay out, no help to read
        row[1].set_ylabel("dB", fontsize=8, labelpad=1)

        M = features.mfcc_frames(S, sr=sr, settings=settings)
        # coefficient 0 (log energy) is an order of magnitude larger than the others:
        # scaled to the rest, it saturates instead of flattening every other row
        rest = M[1:] if M.shape[0] > 1 else M
        low, high = np.percentile(rest, [1, 99])
        image = row[2].imshow(M, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
                              extent=(0, M.shape[1], 0, M.shape[0]), vmin=low, vmax=max(high, low + 1e-6))
        row[2].set_ylabel("coef.", fontsize=8, labelpad=1)
        fig.colorbar(image, cax=row[2].inset_axes((1.015, 0.0, 0.025, 1.0))).ax.tick_params(labelsize=7)
        for ax in row:
            ax.tick_params(labelsize=8)
        # fewer, rounder ticks: easier to read, and tick text is most of the drawing time
        for axis in (row[0].xaxis, row[0].yaxis, row[1].yaxis, row[2].xaxis, row[2].yaxis):
            axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
    for ax, title in zip(axes[0], ("waveform (full-scale amplitude)", "mean magnitude spectrum (dB re full scale)",
                                   "MFCC (coefficient x frame)")):
        ax.set_title(title, fontsize=10)
    bottom = axes[-1]
    bottom[0].set_xlabel("time (s)")
    bottom[1].set_xlabel("frequency (Hz, log scale)")
    bottom[2].set_xlabel(f"frame (hop {settings.hop_length} samples)")
    return fig


def _waveform(ax: Any, y: np.ndarray, sr: int, columns: int = 1200) -> None:
    """Draw a signal as its min-max envelope per column: what a line through every sample
    would show, at a fraction of the cost."""
    per = max(1, len(y) // columns)
    usable = len(y) // per * per
    blocks = y[:usable].reshape(-1, per)
    t = (np.arange(len(blocks)) + 0.5) * per / sr
    ax.fill_between(t, blocks.min(axis=1), blocks.max(axis=1), color="#1f4e79", linewidth=0.4,
                    edgecolor="#1f4e79")
    ax.set_xlim(0, len(y) / sr)
    peak = float(np.max(np.abs(y))) or 1.0
    ax.set_ylim(-1.1 * peak, 1.1 * peak)


def class_balance_figure(table: pd.DataFrame) -> FigureResult:
    """Clips per class in each split (horizontal bars, grouped by split).

    Parameters
    ----------
    table : pd.DataFrame
        The feature table (``split``, ``label``); unlabelled clips count as
        ``(unlabelled)``.
    """
    if table.empty:
        return Missing("the feature table holds no clips")
    labels = table["label"].astype(object).where(table["label"].notna(), _UNLABELLED)
    counts = pd.crosstab(labels, table["split"])
    order = [c for c in CLASSES if c in counts.index] + sorted(set(counts.index) - set(CLASSES) - {_UNLABELLED})
    order += [_UNLABELLED] if _UNLABELLED in counts.index else []
    counts = counts.loc[order]
    splits = [s for s in ("train", "test") if s in counts.columns] + sorted(set(counts.columns) - {"train", "test"})
    fig = _figure(9.0, 1.2 + 0.38 * len(order) * max(1, len(splits)) ** 0.5)
    ax = fig.subplots()
    pos = np.arange(len(order))
    height = 0.8 / len(splits)
    for k, split in enumerate(splits):
        y = pos - 0.4 + height * (k + 0.5)
        values = counts[split].to_numpy()
        bars = ax.barh(y, values, height=height, label=f"{split} ({int(values.sum())})")
        ax.bar_label(bars, labels=[str(v) if v else "" for v in values], fontsize=8, padding=2)
    ax.set_yticks(pos, order)
    ax.invert_yaxis()
    ax.set_xlabel("clips")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.08)
    fig.legend(title="split (clips)", loc="outside right upper", fontsize=9)
    ax.set_title("Clips per class and split (decoded clips in the feature table)")
    return fig


def fold_balance_figure(table: pd.DataFrame) -> FigureResult:
    """Clips per official fold, stacked by class.

    Parameters
    ----------
    table : pd.DataFrame
        The feature table (``fold``, ``label``).
    """
    with_fold = table[table["fold"].notna()]
    if with_fold.empty:
        return Missing("the dataset has no official folds (only the UrbanSound8K layout has them)")
    counts = pd.crosstab(with_fold["fold"].astype(int), with_fold["label"].astype(object).fillna(_UNLABELLED))
    order = [c for c in CLASSES if c in counts.columns] + sorted(set(counts.columns) - set(CLASSES))
    # every fold from 1 on, so an empty fold shows as a gap rather than vanishing
    counts = counts[order].reindex(range(1, int(counts.index.max()) + 1), fill_value=0)
    fig = _figure(11.0, 4.6)
    ax = fig.subplots()
    colours = _class_colours(len(order))
    bottom = np.zeros(len(counts))
    x = np.arange(len(counts))
    for colour, label in zip(colours, order):
        values = counts[label].to_numpy()
        ax.bar(x, values, bottom=bottom, color=colour, label=label, width=0.75)
        bottom += values
    for xi, total in zip(x, bottom):
        ax.annotate(f"{int(total)}", (xi, total), ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                    textcoords="offset points")
    ax.set_xticks(x, [str(f) for f in counts.index])
    ax.set_xlabel("official fold")
    ax.set_ylabel("clips")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.1)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, title="class")
    ax.set_title("Clips per official fold, by class")
    return fig


def _class_colours(n: int) -> list[tuple[float, ...]]:
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def cv_figure(cv: Mapping[str, Any]) -> FigureResult:
    """Cross-validated accuracy per model and feature set.

    Parameters
    ----------
    cv : mapping
        The CV report (``cv.json``).

    Returns
    -------
    Figure or Missing
        One row per (model, feature set), best on top: mean ± std under the honest
        protocol, each fold's accuracy as a dot, the training accuracy, and, where
        ``leaky_mean`` is present, the score under a random split joined to the honest
        mean (the leak gap). The dotted line is chance (one over the number of classes).
    """
    entries = sorted(cv.get("entries") or [], key=lambda e: (-e["mean"], e["model"], e["feature_set"]))
    if not entries:
        return Missing("cv.json lists no cross-validated models")
    leak = any(e.get("leaky_mean") is not None for e in entries)
    fig = _figure(10.0, 1.5 + (0.6 if leak else 0.42) * len(entries))
    ax = fig.subplots()
    rng = np.random.default_rng(0)  # jitter only: the same dots every build
    honest_y = -0.12 if leak else 0.0  # the random split's row sits just below the honest one
    for i, e in enumerate(entries):
        y0 = i + honest_y
        folds = np.asarray(e.get("fold_accuracy") or [], dtype=float)
        ax.scatter(folds, y0 + rng.uniform(-0.1, 0.1, len(folds)), s=12, color="#7f7f7f", alpha=0.7, zorder=2,
                   label="one fold (honest split)" if i == 0 else None)
        ax.errorbar(e["mean"], y0, xerr=e["std"], fmt="o", color="#1f4e79", markersize=7, capsize=4, zorder=3,
                    label="mean ± std (honest split)" if i == 0 else None)
        if e.get("train_mean") is not None:
            ax.scatter(e["train_mean"], y0, marker="|", s=160, color="#2ca02c", zorder=3,
                       label="training accuracy" if i == 0 else None)
        if e.get("leaky_mean") is not None:
            y1 = i + 0.25
            gap = e["leaky_mean"] - e["mean"]
            ax.plot([e["mean"], e["leaky_mean"]], [y1, y1], color="#d62728", linewidth=1.5, zorder=1,
                    solid_capstyle="butt")
            ax.scatter(e["leaky_mean"], y1, marker="D", s=30, color="#d62728", zorder=3,
                       label="random split of the same clips (leaky); line: the gap" if i == 0 else None)
            ax.annotate(f"{gap:+.2f}", (e["leaky_mean"], y1), xytext=(6 if gap >= 0 else -6, 0),
                        textcoords="offset points", va="center", ha="left" if gap >= 0 else "right",
                        fontsize=8, color="#d62728")
    classes = (cv.get("best_details") or {}).get("classes") or []
    if len(classes) > 1:
        ax.axvline(1 / len(classes), color="black", linestyle=":", linewidth=1, label=f"chance (1/{len(classes)})")
    ax.set_yticks(range(len(entries)), [f"{e['model']} / {e['feature_set']}" for e in entries])
    ax.set_ylim(len(entries) - 0.5, -0.5)
    ax.set_xlim(0, 1.06)
    ax.set_xlabel("accuracy")
    ax.grid(True, axis="x", alpha=0.3)
    title = f"Cross-validation: {cv.get('note', '')}"
    ax.set_title(title + (" (optimistic)" if cv.get("optimistic") else ""), fontsize=11)
    fig.legend(loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    return fig


def confusion_figure(cv: Mapping[str, Any]) -> FigureResult:
    """Confusion matrix of the best model (row-normalised, with counts) and its per-class F1.

    Parameters
    ----------
    cv : mapping
        The CV report (``cv.json``): ``best`` and ``best_details``.
    """
    details = cv.get("best_details") or {}
    classes, matrix = details.get("classes") or [], details.get("confusion")
    if not classes or matrix is None:
        return Missing("cv.json has no confusion matrix for the best model")
    counts = np.asarray(matrix, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    n = len(classes)
    fig = _figure(12.5, 2.2 + 0.55 * n)
    ax, bar_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3.0, 1.0]})
    image = ax.imshow(share, cmap="Blues", norm=Normalize(0, 1), aspect="equal")
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.55 else "black")
    ax.set_xticks(range(n), classes, rotation=40, ha="right", rotation_mode="anchor", fontsize=9)
    ax.set_yticks(range(n), classes, fontsize=9)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02, label="share of the true class's clips")
    best = cv.get("best") or {}
    ax.set_title(f"Best: {best.get('model', '?')} on {best.get('feature_set', '?')} "
                 "(cells: clip counts; colour: share of the row)", fontsize=11)

    per_class = details.get("per_class") or {}
    f1 = [float(per_class.get(c, {}).get("f1-score", 0.0)) for c in classes]
    bars = bar_ax.barh(range(n), f1, color="#1f4e79", height=0.7)
    bar_ax.bar_label(bars, labels=[f"{v:.2f}" for v in f1], fontsize=8, padding=2)
    bar_ax.set_yticks(range(n), classes, fontsize=9)
    bar_ax.set_ylim(n - 0.5, -0.5)
    bar_ax.set_xlim(0, 1.15)
    bar_ax.set_xlabel("F1 score")
    bar_ax.set_title("per-class F1", fontsize=11)
    bar_ax.grid(True, axis="x", alpha=0.3)
    return fig


def study_figure(study: Mapping[str, Any]) -> FigureResult:
    """The seed's activation study: accuracy by activation x hidden layers, train and validation.

    Parameters
    ----------
    study : mapping
        ``study_activations.json``.
    """
    hidden, activations = study.get("hidden") or [], study.get("activations") or []
    if not hidden or not activations or "validation" not in study:
        return Missing("study_activations.json holds no table")
    fig = _figure(11.0, 1.8 + 0.5 * len(activations))
    axes = fig.subplots(1, 2, sharey=True)
    image = None
    for ax, part in zip(axes, ("train", "validation")):
        values = np.array([[float(study.get(part, {}).get(a, {}).get(h, np.nan)) for h in hidden]
                           for a in activations])
        image = ax.imshow(values, cmap="viridis", norm=Normalize(0, 1), aspect="auto")
        for i in range(len(activations)):
            for j in range(len(hidden)):
                if np.isfinite(values[i, j]):
                    ax.text(j, i, f"{values[i, j]:.3f}", ha="center", va="center", fontsize=9,
                            color="black" if values[i, j] > 0.6 else "white")
        ax.set_xticks(range(len(hidden)), hidden)
        ax.set_xlabel("hidden layers (units per layer)")
        ax.set_title(f"{part} accuracy", fontsize=11)
    axes[0].set_yticks(range(len(activations)), activations)
    axes[0].set_ylabel("activation")
    fig.colorbar(image, ax=list(axes), shrink=0.9, pad=0.02, label="mean accuracy over folds")
    fig.suptitle(f"Activation study (fnn on {study.get('feature_set', '?')} features; {study.get('note', '')})",
                 fontsize=11)
    return fig


# ------------------------------------------------------------------------------ HTML
def _e(value: object) -> str:
    return html.escape(str(value))


def _format(value: object) -> str:
    """A fact as escaped HTML: mappings as nested tables, sequences joined, floats rounded."""
    if isinstance(value, Mapping):
        return _table([(k, v) for k, v in value.items()], nested=True)
    if isinstance(value, (list, tuple, set)):
        return _e(", ".join(str(v) for v in value))
    if isinstance(value, float):
        return _e(f"{value:.4g}")
    return _e(value)


def _table(rows: Iterable[tuple[object, object]], *, nested: bool = False) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_format(v)}</td></tr>" for k, v in rows)
    return f'<table class="{"nested" if nested else "facts"}">{body}</table>'


def _grid(header: list[str], rows: list[list[object]], *, numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td{" class=num" if k >= numeric_from else ""}>{_e(v)}</td>'
                                    for k, v in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def cv_table_html(cv: Mapping[str, Any]) -> str:
    """The CV results as an HTML table, as ``cv.md``: best first, leak columns where scored."""
    entries = sorted(cv.get("entries") or [], key=lambda e: -e["mean"])
    leak = any(e.get("leaky_mean") is not None for e in entries)
    header = ["model", "features", "mean", "std", "train", *(["random split", "leak gap"] if leak else []), "per fold"]
    rows = []
    for e in entries:
        row: list[object] = [e["model"], e["feature_set"], f"{e['mean']:.3f}", f"{e['std']:.3f}",
                             f"{e['train_mean']:.3f}"]
        if leak:
            lm = e.get("leaky_mean")
            row += [f"{lm:.3f}", f"{lm - e['mean']:+.3f}"] if lm is not None else ["-", "-"]
        rows.append(row + [" ".join(f"{a:.3f}" for a in e.get("fold_accuracy") or [])])
    return _grid(header, rows, numeric_from=2)


def per_class_table_html(cv: Mapping[str, Any]) -> str:
    """Precision, recall, F1 and clips per class of the best model."""
    per_class = (cv.get("best_details") or {}).get("per_class") or {}
    rows = [[c, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1-score']:.3f}", int(m["support"])]
            for c, m in per_class.items()]
    return _grid(["class", "precision", "recall", "F1", "clips"], rows)


def study_table_html(study: Mapping[str, Any]) -> str:
    """The activation study as the seed's Table 1: one row per activation."""
    hidden = study.get("hidden") or []
    header = ["activation"] + [f"{h} {part}" for h in hidden for part in ("train", "validation")]
    rows = [[a] + [f"{float(study.get(part, {}).get(a, {}).get(h, np.nan)):.3f}"
                   for h in hidden for part in ("train", "validation")]
            for a in study.get("activations") or []]
    return _grid(header, rows)


@dataclass
class Section:
    """One figure's place on the page: drawn (``result`` a Figure) or absent (``Missing``),
    with its caption, notes (clips skipped) and any HTML table of its numbers."""

    name: str
    title: str
    caption: str
    result: FigureResult
    extra_html: str = ""
    notes: list[str] = field(default_factory=list)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _section_html(number: int, section: Section, png: bytes | None) -> str:
    rel = f"{FIGURES_DIR}/{section.name}.png"
    parts = [f'<section id="{_e(section.name)}"><h2>{number}. {_e(section.title)}</h2>']
    if png is None:
        reason = section.result.reason if isinstance(section.result, Missing) else "not drawn"
        parts.append(f'<p class="missing">Figure not drawn: {_e(reason)}.</p>')
    else:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(f'<figure><img src="{uri}" alt="{_e(rel)}" title="{_e(rel)}">'
                     f'<figcaption><a href="{_e(rel)}">{_e(rel)}</a>: {_e(section.caption)}</figcaption></figure>')
    if section.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in section.notes) + "</ul>")
    parts.append(section.extra_html + "</section>")
    return "\n".join(parts)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 1320px;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { border-bottom: 2px solid #1f4e79; padding-bottom: .2em; }
h2 { margin-top: 1.8em; color: #1f4e79; }
table { border-collapse: collapse; margin: .6em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
table.facts > tbody > tr > th { background: #f2f5f9; white-space: nowrap; }
table.nested th { background: none; font-weight: normal; color: #555; }
table.grid thead th { background: #f2f5f9; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: .5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 14px; color: #444; margin-top: .3em; }
p.missing { background: #fff4e5; border-left: 4px solid #e69500; padding: .5em .8em; }
ul.notes { font-size: 14px; color: #7a4a00; }
"""


# ------------------------------------------------------------------------- the stage
def _run_facts_html(workspace: Workspace, data_dir: Path | None, table: pd.DataFrame | Missing,
                    settings: FeatureSettings | Missing, cv: dict[str, Any] | Missing,
                    run_facts: Mapping[str, Any] | None) -> str:
    facts: list[tuple[str, object]] = [("dataset", workspace.name)]
    if data_dir is not None:
        try:
            found = inspect_dataset(Path(data_dir))
            listed = len(found.clips) + len(found.missing)
            facts += [("layout", found.layout), ("data folder", found.root),
                      ("clips listed", f"{listed} ({len(found.missing)} without an audio file)")]
        except DatasetError as e:
            facts += [("layout", f"unknown: {e}")]
    elif not isinstance(table, Missing):
        guess = "urbansound8k" if table["fold"].notna().any() else "av"
        facts.append(("layout", f"{guess} (inferred from the feature table; no data folder given)"))

    failures = featurize.read_failures(workspace.features)
    if isinstance(table, Missing):
        facts.append(("clips decoded", table.reason))
    else:
        per_split = table["split"].value_counts().sort_index(ascending=False)  # train before test
        facts.append(("clips decoded", f"{len(table)} ({', '.join(f'{s}: {n}' for s, n in per_split.items())})"))
    facts.append(("clips failed", len(failures)))
    if isinstance(settings, Missing):
        facts.append(("feature settings", settings.reason))
    else:
        facts.append(("feature settings", {**settings.model_dump(), "fingerprint": settings.fingerprint()}))
    if isinstance(cv, Missing):
        facts.append(("cross-validation", f"not run yet: {cv.reason}"))
    else:
        best = cv.get("best") or {}
        facts.append(("CV protocol", f"{cv.get('protocol', '?')}: {cv.get('note', '')}"
                      + (" (optimistic)" if cv.get("optimistic") else "")))
        if best:
            accuracy = f"{best.get('mean', float('nan')):.3f} ± {best.get('std', float('nan')):.3f}"
            what = f"{best.get('model')} on {best.get('feature_set')} features"
            facts.append(("best model", f"{what}: accuracy {accuracy} over {cv.get('n_clips', '?')} training clips"))
    for key, value in (run_facts or {}).items():
        facts.append((str(key), value))
    out = ['<section id="run-facts"><h2>Run facts</h2>', _table(facts)]
    if len(failures):
        shown = failures.head(MAX_FAILURES_LISTED)
        more = len(failures) - len(shown)
        out.append(f"<h3>Clips that could not be decoded ({len(failures)}"
                   + (f", first {len(shown)} listed" if more else "") + ")</h3>")
        out.append(_grid(["clip", "path", "reason"], shown[["clip_id", "path", "error"]].to_numpy().tolist(),
                         numeric_from=3))
    out.append("</section>")
    return "\n".join(out)


def _sections(table: pd.DataFrame | Missing, settings: FeatureSettings | Missing, cv: dict[str, Any] | Missing,
              study: dict[str, Any] | Missing) -> list[Section]:
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
                            "where scored — the gap is what a leaky split would flatter", cv_fig, cv_html))
    sections.append(Section("confusion", "Best model: confusion and per-class F1",
                            "out-of-fold predictions of the best model: counts per (true, predicted) class, "
                            "coloured by the share of the true class; per-class F1 beside", confusion,
                            per_class_html))
    study_result: FigureResult
    if isinstance(study, Missing):
        study_result, study_html = Missing(f"the activation study has not been run ({study.reason})"), ""
    else:
        study_result, study_html = study_figure(study), study_table_html(study)
    sections.append(Section("study", "Activation study (the seed's Table 1)",
                            "mean accuracy of the seed's feed-forward network by activation and hidden layers, "
                            "on training folds and on held-out folds", study_result, study_html))
    return sections


def build_report(workspace: Workspace, *, data_dir: Path | None = None,
                 run_facts: Mapping[str, Any] | None = None) -> Path:
    """Write ``<reports>/report.html`` and ``<reports>/figures/*.png`` for one dataset.

    Parameters
    ----------
    workspace : Workspace
        Where the feature table, ``cv.json`` and ``study_activations.json`` are read and
        the report is written.
    data_dir : Path, optional
        The dataset folder, for its layout and how many listed clips have audio.
    run_facts : mapping, optional
        Anything else to show under "Run facts", key -> value (e.g. ``stage_seconds``,
        ``workers``, ``submission``, ``started``); mappings become nested tables.

    Returns
    -------
    Path
        The HTML file.
    """
    reports = workspace.reports
    figures_dir = reports / FIGURES_DIR
    figures_dir.mkdir(parents=True, exist_ok=True)
    try:
        table: pd.DataFrame | Missing = featurize.read_features(workspace.features)
    except FileNotFoundError as e:
        table = Missing(f"no feature table yet ({e})")
    try:
        settings: FeatureSettings | Missing = featurize.read_settings(workspace.features)
    except (FileNotFoundError, ValueError) as e:
        settings = Missing(f"feature settings unknown ({e})")
    cv = _read_json(reports / CV_FILE)
    study = _read_json(reports / STUDY_FILE)

    body = [f"<h1>Urban sound classification report: {_e(workspace.name)}</h1>",
            _run_facts_html(workspace, data_dir, table, settings, cv, run_facts)]
    for number, section in enumerate(_sections(table, settings, cv, study), start=1):
        path = figures_dir / f"{section.name}.png"
        png = None
        if isinstance(section.result, Figure):
            png = _png(section.result)
            atomic.write_bytes(path, png)
        else:
            path.unlink(missing_ok=True)  # a figure of an earlier run would contradict this page
            log.info("report: %s not drawn: %s", section.name, section.result.reason)
        body.append(_section_html(number, section, png))
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(workspace.name)}: urban sound report</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    out = reports / REPORT_FILE
    atomic.write_bytes(out, page.encode("utf-8"))
    log.info("report written to %s", out)
    return out
