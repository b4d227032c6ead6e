"""The figures of the seed project's studies (:mod:`urbansound.studies`): the activation
functions and their derivatives, the activation heatmap, accuracy against λ or η with the
spread over folds, and the solvers' per-epoch curves.

Each takes a study's JSON (as ``urbansound study`` wrote it) and returns a figure, or
:class:`~urbansound.report.inputs.Missing` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize

from urbansound.models.nn import ACTIVATIONS
from urbansound.models.nn._base import _activate, _activation_grad
from urbansound.report.figures import _figure
from urbansound.report.inputs import FigureResult, Missing

LEAKY_ALPHA = 0.01  # the fnn's default alpha_leaky


def activation_functions_figure() -> FigureResult:
    """Each activation the seed's networks offer and its derivative, computed by the very
    functions the networks use in their forward and backward passes."""
    z = np.linspace(-4.0, 4.0, 801)
    fig = _figure(11.0, 4.0)
    axes = fig.subplots(1, 2, sharex=True)
    colours = colormaps["tab10"].colors
    for k, name in enumerate(ACTIVATIONS):
        a = _activate(name, z, LEAKY_ALPHA)
        label = name + (f" (α={LEAKY_ALPHA:g})" if name == "leaky_relu" else " (α=1)" if name == "elu" else "")
        style = {"color": colours[k], "lw": 1.8, "ls": "--" if name == "leaky_relu" else "-"}
        axes[0].plot(z, a, label=label, **style)
        axes[1].plot(z, _activation_grad(name, z, a, LEAKY_ALPHA), **style)
    for ax, title in zip(axes, ("activation g(z)", "derivative g'(z), as backpropagation uses it")):
        ax.axhline(0, color="grey", lw=0.6)
        ax.axvline(0, color="grey", lw=0.6)
        ax.set_xlabel("pre-activation z")
        ax.set_title(title, fontsize=11)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylim(-2.0, 4.0)
    axes[1].set_ylim(-0.1, 1.2)
    axes[0].legend(fontsize=9, loc="upper left")
    return fig


def activation_study_figure(study: Mapping[str, Any]) -> FigureResult:
    """The seed's Table 1 as heatmaps: accuracy by activation x hidden layers, train and validation.

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
        values = np.array([[_number(study.get(part, {}).get(a, {}).get(h)) for h in hidden] for a in activations])
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


def _number(v: Any) -> float:
    return float("nan") if v is None else float(v)


def grid_study_figure(study: Mapping[str, Any], *, axis: str) -> FigureResult:
    """Accuracy against a study's numeric grid (λ or η), one line per model or solver:
    validation mean with the std over folds as error bars, train mean dashed; a point
    whose training diverged on every fold is marked with a cross at the bottom.

    Parameters
    ----------
    study : mapping
        ``study_regularization.json`` or ``study_learning_rate.json``.
    axis : str
        The grid's name for the x label (``λ (L2 weight)``, ``η (step size)``).
    """
    pts = study.get("points") or []
    if not pts:
        return Missing(f"{study.get('study', 'the study')} holds no points")
    xs = sorted({float(p["x"]) for p in pts})
    positive = [x for x in xs if x > 0]
    # 0 (no penalty) has no place on a log axis: it is drawn one decade left of the smallest value
    zero_at = (min(positive) / 10) if positive else 1.0
    fig = _figure(9.5, 4.4)
    ax = fig.subplots()
    colours = colormaps["tab10"].colors
    for k, group in enumerate(dict.fromkeys(p["group"] for p in pts)):
        rows = sorted((p for p in pts if p["group"] == group), key=lambda p: float(p["x"]))
        x = np.array([float(p["x"]) or zero_at for p in rows])
        mean = np.array([_number(p["mean"]) for p in rows])
        std = np.array([_number(p["std"]) for p in rows])
        train = np.array([_number(p["train_mean"]) for p in rows])
        ax.errorbar(x, mean, yerr=std, marker="o", color=colours[k], capsize=3, lw=1.8,
                    label=f"{group} validation (± std over {study.get('n_folds', '?')} folds)")
        ax.plot(x, train, ls="--", marker=".", color=colours[k], alpha=0.7, label=f"{group} train")
        gone = [xi for xi, m in zip(x, mean) if not np.isfinite(m)]
        if gone:
            # one height per line, so crosses of two lines at the same value do not hide each other
            ax.plot(gone, [0.02 + 0.04 * k] * len(gone), "x", color=colours[k], ms=9, mew=2,
                    label=f"{group} diverged")
    ax.set_xscale("log")
    ticks = [zero_at if x == 0 else x for x in xs]
    ax.set_xticks(ticks, ["0" if x == 0 else f"{x:g}" for x in xs])
    ax.minorticks_off()
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(axis)
    ax.set_ylabel("accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"{study.get('what', '')}\n{study.get('feature_set', '?')} features; {study.get('note', '')}",
                 fontsize=10)
    return fig


def solver_figure(study: Mapping[str, Any]) -> FigureResult:
    """The solver study: mean validation accuracy and loss after every epoch (band: std over
    folds) and the training loss, one line per solver; the legend gives seconds per epoch."""
    pts = [p for p in study.get("points") or [] if p.get("validation_accuracy_curve")]
    if not pts:
        return Missing("study_solver.json holds no per-epoch curves (every solver diverged, or no points)")
    fig = _figure(13.0, 4.4)
    axes = fig.subplots(1, 3)
    colours = colormaps["tab10"].colors
    for k, p in enumerate(pts):
        spe = p.get("seconds_per_epoch")
        label = f"{p['group']} ({spe * 1000:.1f} ms/epoch)" if spe is not None else p["group"]
        for ax, key in zip(axes, ("validation_accuracy", "validation_loss", "train_loss")):
            mean = np.array([_number(v) for v in p[f"{key}_curve"]])
            std = np.array([_number(v) for v in p[f"{key}_curve_std"]])
            epochs = np.arange(1, len(mean) + 1)
            ax.plot(epochs, mean, color=colours[k], lw=1.6, label=label)
            ax.fill_between(epochs, mean - std, mean + std, color=colours[k], alpha=0.15, lw=0)
    target = study.get("target")
    if target:
        axes[0].axhline(target, color="grey", ls=":", lw=1.2)
        axes[0].annotate(f"target {target:.3f}", (1, target), fontsize=8, color="grey",
                         xytext=(2, 2), textcoords="offset points")
    titles = ("validation accuracy", "validation loss (cross-entropy)", "training loss (with L2)")
    for ax, title in zip(axes, titles):
        ax.set_xlabel("epoch")
        ax.set_title(title, fontsize=11)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylim(0, 1)
    axes[2].set_yscale("log")  # the training loss falls over orders of magnitude; the validation loss does not
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Solver study (fnn on {study.get('feature_set', '?')} features, η={_eta(pts)}; "
                 f"{study.get('note', '')})", fontsize=11)
    return fig


def _eta(pts: list[Mapping[str, Any]]) -> str:
    etas = sorted({float(p["params"].get("eta")) for p in pts if p.get("params", {}).get("eta") is not None})
    return ", ".join(f"{e:g}" for e in etas) or "?"
