"""Shared machinery of the NumPy networks: numerics, parameter checks, the gradient-descent
training loop (GD/SGD, momentum, L2, early stopping) and the scikit-learn contract."""

from __future__ import annotations

import logging
import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from urbansound.settings import LIMITS

log = logging.getLogger(__name__)

Params = dict[str, np.ndarray]


ACTIVATIONS: tuple[str, ...] = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu")
_SOLVERS = ("gd", "sgd")
_CELLS = ("elman", "gru")
_POOLINGS = ("last", "mean")
_ELU_ALPHA = 1.0
MAX_LAYER = int(LIMITS["hidden"].high)  # a larger layer is a typo: its weights would not fit in memory


# --------------------------------------------------------------------------------------
# Numerics
# --------------------------------------------------------------------------------------

def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive number never overflows; both branches are exact rewrites.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer labels ``y`` and its gradient w.r.t. the logits."""
    n = logits.shape[0]
    logp = _log_softmax(logits)
    rows = np.arange(n)
    loss = -float(logp[rows, y].mean())
    dlogits = np.exp(logp)
    dlogits[rows, y] -= 1.0
    dlogits /= n
    return loss, dlogits


def _activate(name: str, z: np.ndarray, alpha_leaky: float) -> np.ndarray:
    if name == "linear":
        return z
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, alpha_leaky * z)
    if name == "elu":
        # The minimum keeps expm1 away from large positives it would overflow on.
        return np.where(z > 0, z, _ELU_ALPHA * np.expm1(np.minimum(z, 0.0)))
    raise AssertionError(name)  # names are validated before any forward pass


def _activation_grad(name: str, z: np.ndarray, a: np.ndarray, alpha_leaky: float) -> np.ndarray:
    """Derivative of the activation at pre-activation ``z`` (``a`` is its output)."""
    if name == "linear":
        return np.ones_like(z)
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, alpha_leaky)
    if name == "elu":
        return np.where(z > 0, 1.0, a + _ELU_ALPHA)
    raise AssertionError(name)


def _is_bias(name: str) -> bool:
    return name.startswith("b")


def _l2(params: Params, lam: float) -> float:
    if lam == 0.0:
        return 0.0
    return 0.5 * lam * float(sum(np.sum(w * w) for k, w in params.items() if not _is_bias(k)))


def _add_l2_grads(grads: Params, params: Params, lam: float) -> None:
    if lam == 0.0:
        return
    for k, w in params.items():
        if not _is_bias(k):
            grads[k] += lam * w


def _xavier(rng: np.random.RandomState, fan_in: int, fan_out: int) -> np.ndarray:
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def _he(rng: np.random.RandomState, fan_in: int, fan_out: int) -> np.ndarray:
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def _orthogonal(rng: np.random.RandomState, n: int) -> np.ndarray:
    # Orthogonal recurrent weights keep the hidden state's norm at the start of training,
    # so gradients through many time steps neither vanish nor explode at once.
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def _safe_std(X: np.ndarray, axis: Any) -> np.ndarray:
    # Dividing by the largest magnitude first keeps the squares finite for inputs near
    # the float64 limit, where a plain np.std overflows to inf.
    peak = np.max(np.abs(X), axis=axis, keepdims=True)
    peak = np.where(peak > 0, peak, 1.0)
    return np.squeeze(peak, axis=axis) * np.std(X / peak, axis=axis)


def _nonzero_scale(scale: np.ndarray, mean: np.ndarray) -> np.ndarray:
    # A column whose spread is at rounding level is constant: leave it unscaled rather
    # than blow rounding noise up to unit variance.
    eps = np.finfo(np.float64).eps
    constant = scale <= 10 * eps * np.maximum(1.0, np.abs(mean))
    return np.where(constant, 1.0, scale)


# --------------------------------------------------------------------------------------
# Parameter checks: every message names the parameter and the value
# --------------------------------------------------------------------------------------

def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _check_int(name: str, v: Any, low: int, high: int | None = None) -> int:
    if not _is_int(v) or v < low or (high is not None and v > high):
        rule = f">= {low}" if high is None else f"from {low} to {high}"
        raise ValueError(f"{name} must be an integer {rule}, got {name}={v!r}")
    return int(v)


def _check_real(name: str, v: Any, low: float, high: float = math.inf, *, low_open: bool = False,
                high_open: bool = True) -> float:
    ok = _is_real(v) and math.isfinite(float(v))
    if ok:
        f = float(v)
        ok = (f > low if low_open else f >= low) and (f < high if high_open else f <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be a finite number in {lo}{low}, {high}{hi}, got {name}={v!r}")
    return float(v)


def _check_choice(name: str, v: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {name}={v!r}")
    return v


def _parse_hidden(hidden: Any) -> tuple[int, ...]:
    """``"10+10"``, ``"10"``, ``10`` or ``(10, 10)`` to a tuple of positive layer sizes."""
    if _is_int(hidden):
        parts: list[Any] = [hidden]
    elif isinstance(hidden, str):
        parts = [p.strip() for p in hidden.split("+")]
    elif isinstance(hidden, (tuple, list)):
        parts = list(hidden)
    else:
        raise ValueError(f"hidden must be a string like '10+10' or a tuple of ints, got hidden={hidden!r}")
    sizes = []
    for p in parts:
        if isinstance(p, str) and p.isdigit():
            p = int(p)
        if not _is_int(p) or not 1 <= p <= MAX_LAYER:
            raise ValueError(
                f"hidden must be layer sizes from 1 to {MAX_LAYER} joined by '+' (e.g. '10+10') or a tuple of "
                f"ints; {p!r} is not one in hidden={hidden!r}"
            )
        sizes.append(int(p))
    if not sizes:
        raise ValueError(f"hidden must name at least one layer, got hidden={hidden!r}")
    return tuple(sizes)


def _parse_activations(activation: Any, n_layers: int) -> tuple[str, ...]:
    if isinstance(activation, str):
        names = [a.strip() for a in activation.split("+")]
    elif isinstance(activation, (tuple, list)):
        names = list(activation)
    else:
        raise ValueError(f"activation must be a name or '+'-joined names, got activation={activation!r}")
    for a in names:
        if not isinstance(a, str) or a not in ACTIVATIONS:
            raise ValueError(f"activation must be among {', '.join(ACTIVATIONS)}; unknown activation {a!r} "
                             f"in activation={activation!r}")
    if len(names) == 1:
        return tuple(names) * n_layers
    if len(names) != n_layers:
        raise ValueError(f"activation gives {len(names)} names for {n_layers} hidden layer(s): "
                         f"activation={activation!r}; give one name, or one per layer")
    return tuple(names)


@dataclass(frozen=True)
class _Training:
    eta: float
    lam: float
    solver: str
    batch_size: int
    momentum: float
    epochs: int
    early_stopping: bool
    validation_fraction: float
    patience: int
    tol: float


# --------------------------------------------------------------------------------------
# Shared training machinery
# --------------------------------------------------------------------------------------

class _GradientDescentClassifier(ClassifierMixin, BaseEstimator):
    """Shared ``fit``/``predict`` for the models below; subclasses supply the network.

    Subclasses implement ``_check_model_params``, ``_init_params``, ``_logits`` and
    ``_loss_and_grads``; they may override ``_fit_scaler``/``_standardise`` and
    ``_clip_norm``.
    """

    # ---- hooks ------------------------------------------------------------------------

    def _check_model_params(self) -> None:
        raise NotImplementedError

    def _init_params(self, n_inputs: int, n_classes: int, rng: np.random.RandomState) -> Params:
        raise NotImplementedError

    def _logits(self, params: Params, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _loss_and_grads(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        raise NotImplementedError

    def _clip_norm(self) -> float | None:
        return None

    def _check_input_shape(self, X: np.ndarray) -> None:
        """Model-specific checks of the input's shape, run on fit and predict."""

    def _fit_scaler(self, X: np.ndarray) -> None:
        mean = X.mean(axis=0)
        self.mean_ = mean
        self.scale_ = _nonzero_scale(_safe_std(X - mean, axis=0), mean)

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_

    # ---- validation -------------------------------------------------------------------

    def _check_training_params(self) -> _Training:
        early = self.early_stopping
        if not isinstance(early, (bool, np.bool_)):
            raise ValueError(f"early_stopping must be True or False, got early_stopping={early!r}")
        return _Training(
            eta=_check_real("eta", self.eta, LIMITS["eta"].low, LIMITS["eta"].high, low_open=True, high_open=False),
            lam=_check_real("lam", self.lam, LIMITS["lam"].low, LIMITS["lam"].high, high_open=False),
            solver=_check_choice("solver", self.solver, _SOLVERS),
            batch_size=_check_int("batch_size", self.batch_size, 1),
            momentum=_check_real("momentum", self.momentum, 0.0, 1.0),
            epochs=_check_int("epochs", self.epochs, int(LIMITS["epochs"].low), int(LIMITS["epochs"].high)),
            early_stopping=bool(early),
            validation_fraction=_check_real("validation_fraction", self.validation_fraction, 0.0, 1.0,
                                            low_open=True),
            patience=_check_int("patience", self.patience, 1),
            tol=_check_real("tol", self.tol, 0.0),
        )

    # ---- fit / predict ----------------------------------------------------------------

    def fit(self, X: Any, y: Any, *, eval_set: tuple[Any, Any] | None = None) -> _GradientDescentClassifier:
        """Train on ``X`` (n_samples, n_features) and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Raw features; standardised inside.
        y : array-like of shape (n_samples,)
            Class labels.
        eval_set : (X_eval, y_eval), optional
            Clips to watch while training, never trained on (e.g. a held-out CV fold):
            after every epoch their cross-entropy (without the L2 term) and accuracy are
            appended to ``eval_loss_curve_`` and ``eval_score_curve_``. A clip of a class
            absent from ``y`` counts as misclassified and is left out of the loss.

        Returns
        -------
        self

        Notes
        -----
        ``epoch_seconds_`` holds the wall time of each epoch's updates (the watching of
        ``eval_set`` and of the early-stopping clips excluded).
        """
        cfg = self._check_training_params()
        self._check_model_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        self._check_input_shape(X)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        rng = check_random_state(self.random_state)

        self._fit_scaler(X)
        Xs = self._standardise(X)
        n = Xs.shape[0]
        if cfg.early_stopping:
            tr, va = self._validation_split(y_idx, cfg.validation_fraction, rng)
            X_tr, y_tr, X_va, y_va = Xs[tr], y_idx[tr], Xs[va], y_idx[va]
        else:
            X_tr, y_tr, X_va, y_va = Xs, y_idx, None, None

        watch = None
        if eval_set is not None:
            X_ev, y_ev = eval_set
            X_ev = self._standardise(self._check_predict_input_unfitted(X_ev))
            y_ev = np.asarray(y_ev)
            known = np.isin(y_ev, self.classes_)
            watch = (X_ev, np.searchsorted(self.classes_, y_ev), known)
        params = self._init_params(Xs.shape[1], len(self.classes_), rng)
        self._train(params, X_tr, y_tr, X_va, y_va, cfg, rng, watch)
        log.debug("%s: %d epochs on %d samples, final training loss %.4f",
                  type(self).__name__, self.n_iter_, n, self.loss_curve_[-1])
        return self

    @staticmethod
    def _validation_split(y: np.ndarray, fraction: float,
                          rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        n = y.shape[0]
        n_val = int(math.ceil(fraction * n))
        if n_val < 1 or n - n_val < 1:
            raise ValueError(f"early_stopping needs samples both to train on and to validate on; "
                             f"validation_fraction={fraction} of n_samples={n} leaves none for one of them")
        counts = np.bincount(y)
        n_classes = counts.shape[0]
        # Stratify where every class can appear on both sides; otherwise a plain shuffle.
        stratify = y if counts.min() >= 2 and n_val >= n_classes and n - n_val >= n_classes else None
        tr, va = train_test_split(np.arange(n), test_size=n_val, stratify=stratify, random_state=rng)
        return np.sort(tr), np.sort(va)

    def _check_predict_input_unfitted(self, X: Any) -> np.ndarray:
        """An ``eval_set`` matrix checked as ``predict`` will check it (the model is not fitted yet)."""
        X = validate_data(self, X, dtype=np.float64, reset=False)
        self._check_input_shape(X)
        return X

    def _train(self, params: Params, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None,
               y_val: np.ndarray | None, cfg: _Training, rng: np.random.RandomState,
               watch: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        n = X.shape[0]
        batch = n if cfg.solver == "gd" else min(cfg.batch_size, n)
        velocity = {k: np.zeros_like(w) for k, w in params.items()}
        clip = self._clip_norm()
        loss_curve: list[float] = []
        val_losses: list[float] = []
        val_scores: list[float] = []
        eval_losses: list[float] = []
        eval_scores: list[float] = []
        epoch_seconds: list[float] = []
        best_val = math.inf
        best_params = params
        stale = 0
        epoch = 0
        for epoch in range(1, cfg.epochs + 1):
            started = time.perf_counter()
            order = rng.permutation(n) if cfg.solver == "sgd" else np.arange(n)
            total = 0.0
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                loss, grads = self._loss_and_grads(params, X[idx], y[idx])
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"{type(self).__name__}: the training loss became {loss} in epoch {epoch}; "
                        f"training diverged, lower eta (eta={cfg.eta})")
                total += loss * idx.shape[0]
                if clip is not None:
                    norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
                    if norm > clip:
                        for g in grads.values():
                            g *= clip / norm
                for k, g in grads.items():
                    v = velocity[k]
                    v *= cfg.momentum
                    v -= cfg.eta * g
                    params[k] += v
            loss_curve.append(total / n)
            epoch_seconds.append(time.perf_counter() - started)
            if watch is not None:
                X_ev, y_ev, known = watch
                logits = self._logits(params, X_ev)
                eval_losses.append(_softmax_cross_entropy(logits[known], y_ev[known])[0] if known.any()
                                   else math.nan)
                eval_scores.append(float(np.mean((logits.argmax(axis=1) == y_ev) & known)))
            if X_val is None:
                continue
            logits = self._logits(params, X_val)
            val_loss, _ = _softmax_cross_entropy(logits, y_val)
            val_losses.append(val_loss)
            val_scores.append(float(np.mean(logits.argmax(axis=1) == y_val)))
            if val_loss < best_val - cfg.tol:
                best_val, stale = val_loss, 0
                best_params = {k: w.copy() for k, w in params.items()}
            else:
                stale += 1
                if stale >= cfg.patience:
                    log.debug("%s: early stop at epoch %d, best validation loss %.4f",
                              type(self).__name__, epoch, best_val)
                    break
        self.params_ = best_params if X_val is not None else params
        self.n_iter_ = epoch
        self.loss_curve_ = loss_curve
        self.epoch_seconds_ = epoch_seconds
        self.eval_loss_curve_ = eval_losses if watch is not None else None
        self.eval_score_curve_ = eval_scores if watch is not None else None
        self.validation_loss_curve_ = val_losses if X_val is not None else None
        self.validation_scores_ = val_scores if X_val is not None else None
        self.best_validation_loss_ = best_val if X_val is not None else None

    def _check_predict_input(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        self._check_input_shape(X)
        return self._standardise(X)

    def _fitted_logits(self, X: Any) -> np.ndarray:
        Xs = self._check_predict_input(X)
        return self._logits(self.params_, Xs)

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores: the softmax logits, shape (n_samples, n_classes).

        With two classes, the log-odds of ``classes_[1]``, shape (n_samples,), as
        scikit-learn's binary classifiers return.
        """
        logits = self._fitted_logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return _log_softmax(self._fitted_logits(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample."""
        logits = self._fitted_logits(X)
        return self.classes_[np.argmax(logits, axis=1)]
