"""Running a study: one Dask task per (point, fold), summaries, the JSON and markdown.

Each task fits a point's model on a split's training clips while watching the held-out
clips after every epoch (``fit(..., eval_set=...)`` of the seed's networks), so the
per-epoch curves are measured on the same honest folds as the final accuracy; nothing
learned (the networks' own standardisation included) sees the held-out clips.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from urbansound import atomic, tables
from urbansound.evaluation import make_folds, write_report
from urbansound.models import make_model
from urbansound.models.registry import check_params
from urbansound.progress import Tick
from urbansound.settings import TrainSettings
from urbansound.training import load_training_data
from urbansound.studies import ACTIVATION_HIDDEN, ACTIVATIONS, Point, points
from urbansound.workspace import study_file

log = logging.getLogger(__name__)

BLOW_UP = 10.0
"""A fit whose last training loss is this many times its first epoch's counts as diverged."""


def check_points(pts: list[Point]) -> None:
    """Build every point's model and check its parameters, before any cluster starts."""
    for p in pts:
        check_params(p.model, make_model(p.model, **dict(p.params)))


def fit_watching(p: Point, seed: int, X: np.ndarray, y: np.ndarray, split: tuple[np.ndarray, np.ndarray]) -> dict:
    """Fit point ``p`` on the split's training clips, watching its held-out clips each epoch.

    Returns train and held-out accuracy, the per-epoch curves (training loss, held-out loss
    and accuracy, seconds) and, when training diverged (a non-finite loss, or a last loss
    :data:`BLOW_UP` times the first epoch's), the reason instead of accuracies.
    """
    train, test = split
    est = make_model(p.model, seed=seed, **dict(p.params))
    start = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging η overflows on its way to the
            est.fit(X[train], y[train], eval_set=(X[test], y[test]))  # non-finite loss reported below
    except FloatingPointError as e:
        return {"diverged": str(e), "seconds": time.perf_counter() - start}
    first, last = est.loss_curve_[0], est.loss_curve_[-1]
    if last > BLOW_UP * first:  # finite, but training made the fit worse by orders of magnitude
        return {"diverged": f"the training loss grew from {first:.3g} to {last:.3g} in {len(est.loss_curve_)} "
                            f"epochs; lower eta (eta={dict(p.params).get('eta')})",
                "seconds": time.perf_counter() - start}
    return {"diverged": None, "seconds": time.perf_counter() - start,
            "accuracy": float(np.mean(est.predict(X[test]) == y[test])),
            "train_accuracy": float(np.mean(est.predict(X[train]) == y[train])),
            "loss_curve": [float(v) for v in est.loss_curve_],
            "eval_loss_curve": [float(v) for v in est.eval_loss_curve_],
            "eval_accuracy_curve": [float(v) for v in est.eval_score_curve_],
            "epoch_seconds": [float(v) for v in est.epoch_seconds_]}


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _curve(runs: list[dict], key: str) -> tuple[list[float | None], list[float | None]]:
    """Mean and std over folds, epoch by epoch (folds that diverged left out)."""
    curves = [r[key] for r in runs if not r["diverged"]]
    if not curves:
        return [], []
    n = max(map(len, curves))
    M = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        M[i, : len(c)] = c
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an epoch no fold reached: nan
        mean, std = np.nanmean(M, axis=0), np.nanstd(M, axis=0)
    return [_finite(v) for v in mean], [_finite(v) for v in std]


def summarise(p: Point, runs: list[dict]) -> dict[str, Any]:
    """One point over its folds: accuracies per fold (None where training diverged), their
    mean and std over the folds that trained, and the mean per-epoch curves."""
    ok = [r for r in runs if not r["diverged"]]
    acc = [r.get("accuracy") for r in runs]
    tr = [r.get("train_accuracy") for r in runs]
    good = [a for a in acc if a is not None]
    good_tr = [a for a in tr if a is not None]
    out: dict[str, Any] = {
        "label": p.label, "model": p.model, "group": p.group, "x": p.x, "params": dict(p.params),
        "fold_accuracy": acc, "fold_train_accuracy": tr,
        "mean": float(np.mean(good)) if good else None, "std": float(np.std(good)) if good else None,
        "train_mean": float(np.mean(good_tr)) if good_tr else None,
        "train_std": float(np.std(good_tr)) if good_tr else None,
        "diverged": sum(1 for r in runs if r["diverged"]),
        "diverged_reason": next((r["diverged"] for r in runs if r["diverged"]), None),
        "seconds": float(sum(r["seconds"] for r in runs)),
        "epochs": int(np.median([len(r["loss_curve"]) for r in ok])) if ok else 0,
        "seconds_per_epoch": float(np.median([np.mean(r["epoch_seconds"]) for r in ok])) if ok else None,
    }
    for key, name in (("loss_curve", "train_loss"), ("eval_loss_curve", "validation_loss"),
                      ("eval_accuracy_curve", "validation_accuracy")):
        out[f"{name}_curve"], out[f"{name}_curve_std"] = _curve(runs, key)
    return out


def _pm(mean: float | None, std: float | None) -> str:
    return "-" if mean is None else f"{mean:.3f} ± {std:.3f}"


def _cell(s: dict[str, Any]) -> str:
    if s["mean"] is None:
        return f"diverged ({s['diverged']}/{len(s['fold_accuracy'])} folds)"
    return _pm(s["mean"], s["std"]) + (f" ({s['diverged']} fold(s) diverged)" if s["diverged"] else "")


def study_table(name: str, summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The study's numbers as one table (header + rows of text), rendered as markdown by
    :func:`urbansound.tables.markdown` and as HTML by the report."""
    by = {(s["group"], _key(s["x"])): s for s in summaries}
    groups = list(dict.fromkeys(s["group"] for s in summaries))
    xs = list(dict.fromkeys(_key(s["x"]) for s in summaries))
    if name == "activations":
        hidden = [h for h in ACTIVATION_HIDDEN if h in xs]
        header = ["activation"] + [f"{h} {part}" for h in hidden for part in ("train", "validation")]
        rows = [[a] + [_pm(by[(a, h)][k], by[(a, h)][k.replace("mean", "std")]) if (a, h) in by else "-"
                       for h in hidden for k in ("train_mean", "mean")]
                for a in ACTIVATIONS if any((a, h) in by for h in hidden)]
        return {"header": header, "rows": rows}
    if name in ("regularization", "learning-rate"):
        axis = "λ" if name == "regularization" else "η"
        header = [axis] + [f"{g} {part}" for g in groups for part in ("train", "validation")]
        rows = [[f"{x:g}"] + [(_pm(by[(g, x)]["train_mean"], by[(g, x)]["train_std"]) if by[(g, x)]["mean"] is not None
                                else "-") if part == "train" else _cell(by[(g, x)])
                               for g in groups for part in ("train", "validation")]
                for x in xs]
        return {"header": header, "rows": rows}
    target, reach = solver_targets(summaries)
    header = ["solver", "η", "updates per epoch", "epochs", "validation accuracy (last epoch)", "best epoch",
              "validation loss (last epoch)", "s per epoch", f"epochs to {target:.3f}" if target else "epochs to target",
              "updates to target"]
    rows = []
    for s in summaries:
        curve = s["validation_accuracy_curve"]
        vals = [v if v is not None else -1.0 for v in curve]
        best = int(np.argmax(vals)) + 1 if curve else None
        e = reach.get(s["label"])
        upe = s.get("updates_per_epoch") or []
        rows.append([s["group"], f"{s['params'].get('eta'):g}", _span(upe), str(s["epochs"]), _cell(s),
                     f"{best} ({curve[best - 1]:.3f})" if best else "-",
                     _pm(*(c[-1] if c else None for c in (s["validation_loss_curve"], s["validation_loss_curve_std"])))
                     if s["validation_loss_curve"] else "-",
                     f"{s['seconds_per_epoch']:.4f}" if s["seconds_per_epoch"] is not None else "-",
                     str(e) if e else "not reached", _span([e * u for u in upe]) if e and upe else "-"])
    return {"header": header, "rows": rows}


def _span(values: list[int]) -> str:
    """``7`` or ``7-14``: a count that differs between folds (their training sides differ)."""
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _key(x: Any) -> Any:
    return float(x) if isinstance(x, (int, float)) else x


def solver_targets(summaries: list[dict[str, Any]]) -> tuple[float | None, dict[str, int]]:
    """The solver study's yardstick: 95 % of the best last-epoch validation accuracy any
    solver reached; for each solver, the first epoch its mean curve reaches it."""
    finals = [s["validation_accuracy_curve"][-1] for s in summaries
              if s["validation_accuracy_curve"] and s["validation_accuracy_curve"][-1] is not None]
    if not finals:
        return None, {}
    target = 0.95 * max(finals)
    reach = {}
    for s in summaries:
        hit = [i + 1 for i, v in enumerate(s["validation_accuracy_curve"]) if v is not None and v >= target]
        if hit:
            reach[s["label"]] = hit[0]
    return target, reach


@dataclass
class StudyResult:
    name: str
    data: dict[str, Any]
    path: Path

    def markdown(self) -> str:
        d = self.data
        head = (f"Study {self.name} on {d['dataset']} ({d['n_clips']} clips, {d['feature_set']} features; "
                f"{d['note']}): {d['what']}")
        extra = ""
        if self.name == "solver" and d.get("target") is not None:
            extra = (f"\n\nepochs to {d['target']:.3f}: the first epoch whose mean validation accuracy reaches "
                     "95 % of the best last-epoch accuracy of any solver")
        return head + "\n\n" + tables.markdown(d["table"]) + extra


_WHAT = {
    "activations": "fnn accuracy by hidden layers x activation, train and validation (mean ± std over folds)",
    "regularization": "accuracy by L2 weight λ for gd-logreg and fnn (mean ± std over folds)",
    "learning-rate": "fnn accuracy by step size η, full-batch GD and minibatch SGD without momentum "
                     "(mean ± std over folds)",
    "solver": "fnn trained by each solver at one η: validation accuracy and loss per epoch, time per epoch",
}


def run_study(name: str, features_dir: Path, settings: TrainSettings, *, feature_set: str, dataset: str,
              reports_dir: Path, client: Any, epochs: int | None = None, values: tuple[float, ...] | None = None,
              overrides: dict[str, dict[str, Any]] | None = None, on_task: Tick | None = None) -> StudyResult:
    """Cross-validate every point of study ``name`` on Dask; write ``study_<name>.json``/``.md``.

    Parameters
    ----------
    settings : TrainSettings
        The CV protocol (``cv``, ``n_splits``, ``seed``); models and feature sets come from
        the study.
    feature_set : str
        The input columns (``mfcc``, ``all``, ...).
    epochs, values, overrides
        See :func:`urbansound.studies.points`.
    on_task : callable, optional
        A :data:`urbansound.progress.Tick`: told the number of fits, then each as it ends.
    """
    pts = points(name, values=values, epochs=epochs, overrides=overrides)
    check_points(pts)
    atomic.check_writable(reports_dir)
    data = load_training_data(features_dir, (feature_set,), sequences=False, augmented=False)
    folds = make_folds(data.table, settings.cv, n_splits=settings.n_splits, seed=settings.seed)
    X = np.asarray(data.inputs[feature_set], dtype=np.float32)
    y = np.asarray(data.y).astype(str)
    X_f, y_f = (client.scatter(a, broadcast=True, hash=False) for a in (X, y))
    jobs = [(p, [client.submit(fit_watching, p, settings.seed, X_f, y_f, s, pure=False) for s in folds.splits])
            for p in pts]
    if on_task is not None:
        from distributed import as_completed

        on_task(0, total=len(pts) * len(folds.splits))
        for _ in as_completed([f for _, futures in jobs for f in futures]):
            on_task()
    summaries = []
    for p, futures in jobs:
        s = summarise(p, client.gather(futures))
        batch = dict(p.params).get("batch_size", 64)
        full = dict(p.params).get("solver", "sgd") == "gd"
        s["updates_per_epoch"] = [1 if full else math.ceil(len(tr) / min(batch, len(tr)))
                                  for tr, _ in folds.splits]  # per fold: training sides differ in size
        summaries.append(s)
        log.info("study %s: %s: %s (%.1f s of fitting)", name, p.label, _cell(s), s["seconds"])
    table = study_table(name, summaries)
    out: dict[str, Any] = {"study": name, "what": _WHAT[name], "dataset": dataset, "protocol": folds.protocol,
                           "note": folds.note, "n_clips": int(len(y)), "n_folds": len(folds.splits),
                           "feature_set": feature_set, "seed": settings.seed, "overrides": overrides or {},
                           "points": summaries, "table": table}
    if name == "activations":  # the heatmap's layout (train/validation by activation, then hidden)
        out.update(hidden=[h for h in ACTIVATION_HIDDEN if any(s["x"] == h for s in summaries)],
                   activations=[a for a in ACTIVATIONS if any(s["group"] == a for s in summaries)])
        for part, key in (("train", "train_mean"), ("validation", "mean")):
            out[part] = {a: {s["x"]: s[key] for s in summaries if s["group"] == a} for a in out["activations"]}
    if name == "solver":
        out["target"], out["epochs_to_target"] = solver_targets(summaries)
    result = StudyResult(name, out, Path(reports_dir) / study_file(name))
    write_report(reports_dir, study_file(name).removesuffix(".json"), out, result.markdown())
    return result
