"""The figures of the dataset and the results: class balance per split and per fold,
cross-validated accuracy, the best model's confusion matrix (the studies' figures are in
:mod:`urbansound.report.study_figures`).

Each takes plain data and returns a :class:`~matplotlib.figure.Figure` (Agg renderer,
no pyplot) or :class:`~urbansound.report.inputs.Missing` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from urbansound.report.inputs import DPI, FigureResult, Missing, protocol_text
from urbansound.settings import CLASSES

_UNLABELLED = "(unlabelled)"


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


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
    ax.set_title(f"Cross-validation: {protocol_text(cv)}", fontsize=11)
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
