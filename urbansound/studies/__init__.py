"""The seed project's experiments: what each study varies, and where it is written.

The course report this project grew out of planned four experiments with its own
gradient-descent models (:mod:`urbansound.models.nn`); each is a study here, run by
``urbansound study NAME DATA_DIR`` (:func:`urbansound.studies.run.run_study`) with honest
cross-validation (official folds where the dataset has them, else grouped by recording):

``activations``
    ``fnn`` with hidden layers ``10``, ``10+10``, ``10+10+10`` x each activation
    (linear, sigmoid, tanh, ReLU, leaky ReLU, ELU): the report's Table 1.
``regularization``
    the L2 weight λ over a log grid (0, 1e-6 ... 1) for ``gd-logreg`` and ``fnn``.
``learning-rate``
    the step size η over a log grid for ``fnn`` trained by full-batch GD and by
    minibatch SGD, both without momentum.
``solver``
    ``fnn`` trained by GD, GD with momentum, SGD one clip at a time, minibatch SGD and
    minibatch SGD with momentum, all at one η: validation accuracy and loss after every
    epoch, and the time an epoch takes.

Every point fixes ``early_stopping=False`` (early stopping regularises too, and would cut
the per-epoch curves short); any other parameter the study does not vary comes from the
model's defaults or from ``--set``. This module holds plain definitions only, so the
command line can list them without importing NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from urbansound.exceptions import StudyError
from urbansound.settings import LIMITS

STUDY_NAMES: tuple[str, ...] = ("activations", "regularization", "learning-rate", "solver")

ACTIVATION_HIDDEN: tuple[str, ...] = ("10", "10+10", "10+10+10")
ACTIVATIONS: tuple[str, ...] = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu")
LAMBDAS: tuple[float, ...] = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
ETAS: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
LEARNING_RATE_EPOCHS = 100
SOLVER_EPOCHS = 100
SOLVER_ETA = 0.01
SOLVERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("GD", {"solver": "gd", "momentum": 0.0}),
    ("GD + momentum 0.9", {"solver": "gd", "momentum": 0.9}),
    ("SGD, batch 1", {"solver": "sgd", "batch_size": 1, "momentum": 0.0}),
    ("SGD, batch 64", {"solver": "sgd", "batch_size": 64, "momentum": 0.0}),
    ("SGD, batch 64 + momentum 0.9", {"solver": "sgd", "batch_size": 64, "momentum": 0.9}),
)
"""The solver study's variants, in order: label -> the ``fnn`` parameters it sets."""


@dataclass(frozen=True)
class Point:
    """One setting a study cross-validates: a model and the parameters this point sets."""

    label: str
    model: str
    params: tuple[tuple[str, Any], ...]
    group: str = ""  # the line or column of the study's table it belongs to (a model, a solver)
    x: Any = None  # its value on the study's axis (a hidden spec, λ, η, or the solver label)


def _settle(model: str, varied: dict[str, Any], overrides: dict[str, dict[str, Any]],
            epochs: int | None) -> tuple[tuple[str, Any], ...]:
    clash = sorted(set(overrides.get(model, {})) & set(varied))
    if clash:
        raise StudyError(f"--set {model}.{clash[0]}: this study varies {clash[0]} itself; leave it out")
    params = {**overrides.get(model, {}), "early_stopping": False, **varied}
    if epochs:
        params["epochs"] = epochs
    return tuple(sorted(params.items()))


def points(name: str, *, values: tuple[float, ...] | None = None, epochs: int | None = None,
           overrides: dict[str, dict[str, Any]] | None = None) -> list[Point]:
    """Every point of study ``name``.

    Parameters
    ----------
    values : tuple of float, optional
        The grid of λ (``regularization``) or η (``learning-rate``) instead of the default
        one; the other studies have no numeric grid and refuse it.
    epochs : int, optional
        Epochs of every fit instead of the study's (or the model's) default.
    overrides : dict, optional
        ``--set`` parameters by model, applied to every point of that model; a parameter the
        study varies cannot be set.
    """
    over = dict(overrides or {})
    if name not in STUDY_NAMES:
        raise StudyError(f"unknown study {name!r}; choose from {', '.join(STUDY_NAMES)}")
    if values is not None and name not in ("regularization", "learning-rate"):
        raise StudyError(f"study {name!r} has no numeric grid: --values is for regularization (λ) and "
                         "learning-rate (η)")
    if values is not None:
        valid = LIMITS["eta" if name == "learning-rate" else "lam"]
        bad = [v for v in values if v not in valid]
        if bad or not values:
            raise StudyError(f"--values {','.join(map(str, values)) or '(none)'}: "
                             + (f"η must be above 0, {valid}" if name == "learning-rate"
                                else f"λ must be 0 or more, {valid}"))
    models = {"regularization": ("gd-logreg", "fnn")}.get(name, ("fnn",))
    stray = sorted(set(over) - set(models))
    if stray:
        raise StudyError(f"--set {stray[0]}.…: study {name!r} trains {', '.join(models)} only")
    if name == "activations":
        return [Point(f"fnn {h} {a}", "fnn", _settle("fnn", {"hidden": h, "activation": a}, over, epochs), a, h)
                for h in ACTIVATION_HIDDEN for a in ACTIVATIONS]
    if name == "regularization":
        return [Point(f"{m} lam={lam:g}", m, _settle(m, {"lam": float(lam)}, over, epochs), m, float(lam))
                for m in models for lam in (values or LAMBDAS)]
    if name == "learning-rate":
        return [Point(f"fnn {s.upper()} eta={eta:g}", "fnn",
                      _settle("fnn", {"eta": float(eta), "solver": s, "momentum": 0.0}, over,
                              epochs or LEARNING_RATE_EPOCHS), s.upper(), float(eta))
                for s in ("gd", "sgd") for eta in (values or ETAS)]
    fnn = dict(over.get("fnn", {}))
    eta = fnn.pop("eta", SOLVER_ETA)  # one η for every solver; --set fnn.eta=... chooses it
    over = {"fnn": fnn}
    return [Point(f"fnn {label}", "fnn", _settle("fnn", {**setting, "eta": eta}, over, epochs or SOLVER_EPOCHS),
                  label, label)
            for label, setting in SOLVERS]
