"""Neural models written in NumPy and trained by their own gradient descent.

Three scikit-learn classifiers whose forward pass, backward pass and optimiser are all
written here, so every step of training can be read and tested:

``gd-logreg``  :class:`GDLogisticRegression`, multinomial softmax regression.
``fnn``        :class:`FeedForwardNetwork`, a multilayer perceptron.
``rnn``        :class:`RecurrentNetwork`, an Elman or GRU network over sequences
               (for example MFCC frame matrices), trained by backpropagation through
               time.

All three follow the scikit-learn estimator contract (``__init__`` stores its keyword
arguments, ``fit`` validates them and returns ``self``, fitted attributes end in ``_``)
and pass :func:`sklearn.utils.estimator_checks.parametrize_with_checks`.
:mod:`urbansound.models.registry` gives them by name with defaults for this data.

Notes
-----
Behaviour common to the three models:

Inputs
    Standardised inside ``fit`` (``mean_`` and ``scale_`` are stored), so the models
    take raw features. Computation is float64 throughout; the softmax is computed
    through log-sum-exp and the sigmoid only exponentiates non-positive numbers, so
    extreme inputs give finite probabilities.
Objective
    Mean softmax cross-entropy plus ``lam / 2`` times the squared Frobenius norm of
    every weight matrix; biases are not penalised.
Optimiser
    ``solver="gd"`` takes one full-batch step per epoch, ``solver="sgd"`` takes one
    step per shuffled minibatch of ``batch_size``. With ``momentum`` > 0 the update is
    heavy-ball momentum: ``v = momentum * v - eta * grad; w += v``.
Early stopping
    With ``early_stopping=True`` a stratified ``validation_fraction`` of the training
    set is held out; training stops once the validation cross-entropy has not improved
    by ``tol`` for ``patience`` epochs, and the weights of the best epoch are kept.
Errors
    Bad hyperparameters raise :class:`ValueError` naming the parameter and the value,
    from ``fit`` (never from ``__init__``). A loss that becomes non-finite (``eta``
    far too large) raises :class:`FloatingPointError`.
Testing hooks
    Every model has ``_init_params(n_inputs, n_classes, rng)`` and
    ``_loss_and_grads(params, X, y)``: ``params`` is a dict of named arrays, ``X`` the
    standardised 2-D design, ``y`` class indices ``0 .. n_classes - 1``; it returns the
    objective and a dict of its gradients, for checking against finite differences.

Examples
--------
>>> from sklearn.datasets import make_classification
>>> X, y = make_classification(n_samples=200, n_features=8, random_state=0)
>>> FeedForwardNetwork(hidden="16", epochs=20, random_state=0).fit(X, y).score(X, y) > 0.8
True
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

log = logging.getLogger(__name__)

Params = dict[str, np.ndarray]

__all__ = [
    "ACTIVATIONS",
    "FeedForwardNetwork",
    "GDLogisticRegression",
    "RecurrentNetwork",
]

ACTIVATIONS: tuple[str, ...] = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu")
_SOLVERS = ("gd", "sgd")
_CELLS = ("elman", "gru")
_POOLINGS = ("last", "mean")
_ELU_ALPHA = 1.0


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


def _check_int(name: str, v: Any, low: int) -> int:
    if not _is_int(v) or v < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {name}={v!r}")
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
        if not _is_int(p) or p < 1:
            raise ValueError(
                f"hidden must be positive layer sizes joined by '+' (e.g. '10+10') or a tuple of ints; "
                f"{p!r} is not a positive integer in hidden={hidden!r}"
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
            eta=_check_real("eta", self.eta, 0.0, low_open=True),
            lam=_check_real("lam", self.lam, 0.0),
            solver=_check_choice("solver", self.solver, _SOLVERS),
            batch_size=_check_int("batch_size", self.batch_size, 1),
            momentum=_check_real("momentum", self.momentum, 0.0, 1.0),
            epochs=_check_int("epochs", self.epochs, 1),
            early_stopping=bool(early),
            validation_fraction=_check_real("validation_fraction", self.validation_fraction, 0.0, 1.0,
                                            low_open=True),
            patience=_check_int("patience", self.patience, 1),
            tol=_check_real("tol", self.tol, 0.0),
        )

    # ---- fit / predict ----------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> _GradientDescentClassifier:
        """Train on ``X`` (n_samples, n_features) and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Raw features; standardised inside.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self
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

        params = self._init_params(Xs.shape[1], len(self.classes_), rng)
        self._train(params, X_tr, y_tr, X_va, y_va, cfg, rng)
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

    def _train(self, params: Params, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None,
               y_val: np.ndarray | None, cfg: _Training, rng: np.random.RandomState) -> None:
        n = X.shape[0]
        batch = n if cfg.solver == "gd" else min(cfg.batch_size, n)
        velocity = {k: np.zeros_like(w) for k, w in params.items()}
        clip = self._clip_norm()
        loss_curve: list[float] = []
        val_losses: list[float] = []
        val_scores: list[float] = []
        best_val = math.inf
        best_params = params
        stale = 0
        epoch = 0
        for epoch in range(1, cfg.epochs + 1):
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


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------

class GDLogisticRegression(_GradientDescentClassifier):
    """Multinomial softmax regression trained by (minibatch) gradient descent.

    Parameters
    ----------
    lam : float, default=1e-4
        L2 penalty on the weights (``lam / 2 * ||W||^2``; the bias is not penalised).
    eta : float, default=0.01
        Learning rate, > 0.
    solver : {"gd", "sgd"}, default="sgd"
        Full-batch or minibatch gradient descent.
    batch_size : int, default=32
        Minibatch size for ``solver="sgd"``.
    momentum : float, default=0.9
        Heavy-ball momentum in [0, 1); 0 means none.
    epochs : int, default=100
        Passes over the training set (at most, with early stopping).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` and stop when its loss stalls for ``patience``
        epochs, keeping the best weights.
    validation_fraction : float, default=0.1
    patience : int, default=10
    tol : float, default=1e-4
        Smallest decrease of the validation loss that counts as an improvement.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, shuffling and the validation split.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features_in_)
        Weights on the raw (unstandardised) inputs; one row per class, also for two
        classes.
    intercept_ : ndarray of shape (n_classes,)
    params_ : dict
        ``W`` (n_features_in_, n_classes) and ``b`` on standardised inputs.
    mean_, scale_ : ndarray of shape (n_features_in_,)
        The standardisation learnt in ``fit``.
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Training objective per epoch (mean over the epoch's minibatches).
    validation_loss_curve_, validation_scores_ : list of float or None
        Validation cross-entropy and accuracy per epoch, with early stopping.
    best_validation_loss_ : float or None
    n_features_in_ : int
    """

    def __init__(self, *, lam: float = 1e-4, eta: float = 0.01, solver: str = "sgd", batch_size: int = 32,
                 momentum: float = 0.9, epochs: int = 100, early_stopping: bool = False,
                 validation_fraction: float = 0.1, patience: int = 10, tol: float = 1e-4,
                 random_state: int | np.random.RandomState | None = None) -> None:
        self.lam = lam
        self.eta = eta
        self.solver = solver
        self.batch_size = batch_size
        self.momentum = momentum
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.random_state = random_state

    def _check_model_params(self) -> None:
        pass

    def _init_params(self, n_inputs: int, n_classes: int, rng: np.random.RandomState) -> Params:
        # The objective is convex, so small random weights only break the tie between classes.
        return {"W": rng.normal(0.0, 0.01, size=(n_inputs, n_classes)), "b": np.zeros(n_classes)}

    def _logits(self, params: Params, X: np.ndarray) -> np.ndarray:
        return X @ params["W"] + params["b"]

    def _loss_and_grads(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        lam = float(self.lam)
        loss, d = _softmax_cross_entropy(self._logits(params, X), y)
        grads = {"W": X.T @ d, "b": d.sum(axis=0)}
        _add_l2_grads(grads, params, lam)
        return loss + _l2(params, lam), grads

    def fit(self, X: Any, y: Any) -> GDLogisticRegression:
        super().fit(X, y)
        W, b = self.params_["W"], self.params_["b"]
        self.coef_ = (W / self.scale_[:, None]).T
        self.intercept_ = b - (self.mean_ / self.scale_) @ W
        return self


class FeedForwardNetwork(_GradientDescentClassifier):
    """A multilayer perceptron with softmax output, trained by (minibatch) gradient descent.

    Parameters
    ----------
    hidden : str, int or tuple of int, default="64"
        Hidden layer sizes: ``"10"``, ``"10+10"``, ``"10+10+10"``, ``(10, 10)``.
    activation : str, default="relu"
        One of ``linear, sigmoid, tanh, relu, leaky_relu, elu`` for every hidden layer,
        or one per layer joined by ``+`` (``"relu+tanh"``). Weights are He-initialised
        before relu, leaky_relu and elu, Xavier-initialised otherwise.
    alpha_leaky : float, default=0.01
        Slope of leaky_relu below zero.
    lam, eta, solver, batch_size, momentum, epochs, early_stopping, validation_fraction, \
patience, tol, random_state
        As in :class:`GDLogisticRegression`; defaults ``lam=1e-4, eta=0.01, solver="sgd",
        batch_size=32, momentum=0.9, epochs=200, early_stopping=False,
        validation_fraction=0.1, patience=10, tol=1e-4``.

    Attributes
    ----------
    classes_, params_, mean_, scale_, n_iter_, loss_curve_, validation_loss_curve_, \
validation_scores_, best_validation_loss_, n_features_in_
        As in :class:`GDLogisticRegression`; ``params_`` holds ``W0, b0, ..., WL, bL``,
        the last pair for the output layer.
    coefs_, intercepts_ : list of ndarray
        The same weights as lists, layer by layer (as in ``MLPClassifier``).
    """

    def __init__(self, *, hidden: str | int | tuple[int, ...] = "64", activation: str = "relu",
                 alpha_leaky: float = 0.01, lam: float = 1e-4, eta: float = 0.01, solver: str = "sgd",
                 batch_size: int = 32, momentum: float = 0.9, epochs: int = 200, early_stopping: bool = False,
                 validation_fraction: float = 0.1, patience: int = 10, tol: float = 1e-4,
                 random_state: int | np.random.RandomState | None = None) -> None:
        self.hidden = hidden
        self.activation = activation
        self.alpha_leaky = alpha_leaky
        self.lam = lam
        self.eta = eta
        self.solver = solver
        self.batch_size = batch_size
        self.momentum = momentum
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.random_state = random_state

    def _architecture(self) -> tuple[tuple[int, ...], tuple[str, ...], float]:
        sizes = _parse_hidden(self.hidden)
        acts = _parse_activations(self.activation, len(sizes))
        alpha = _check_real("alpha_leaky", self.alpha_leaky, 0.0)
        return sizes, acts, alpha

    def _check_model_params(self) -> None:
        self._architecture()

    def _init_params(self, n_inputs: int, n_classes: int, rng: np.random.RandomState) -> Params:
        sizes, acts, _ = self._architecture()
        params: Params = {}
        fan_in = n_inputs
        for i, (size, act) in enumerate(zip(sizes, acts)):
            init = _he if act in ("relu", "leaky_relu", "elu") else _xavier
            params[f"W{i}"] = init(rng, fan_in, size)
            params[f"b{i}"] = np.zeros(size)
            fan_in = size
        params[f"W{len(sizes)}"] = _xavier(rng, fan_in, n_classes)
        params[f"b{len(sizes)}"] = np.zeros(n_classes)
        return params

    def _forward(self, params: Params, X: np.ndarray,
                 acts: tuple[str, ...], alpha: float) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        pre: list[np.ndarray] = []
        outs: list[np.ndarray] = [X]
        a = X
        for i, act in enumerate(acts):
            z = a @ params[f"W{i}"] + params[f"b{i}"]
            a = _activate(act, z, alpha)
            pre.append(z)
            outs.append(a)
        L = len(acts)
        return pre, outs, a @ params[f"W{L}"] + params[f"b{L}"]

    def _logits(self, params: Params, X: np.ndarray) -> np.ndarray:
        _, acts, alpha = self._architecture()
        return self._forward(params, X, acts, alpha)[2]

    def _loss_and_grads(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        _, acts, alpha = self._architecture()
        lam = float(self.lam)
        pre, outs, logits = self._forward(params, X, acts, alpha)
        loss, d = _softmax_cross_entropy(logits, y)
        grads: Params = {}
        L = len(acts)
        for i in range(L, -1, -1):
            if i < L:
                d = d * _activation_grad(acts[i], pre[i], outs[i + 1], alpha)
            grads[f"W{i}"] = outs[i].T @ d
            grads[f"b{i}"] = d.sum(axis=0)
            if i > 0:
                d = d @ params[f"W{i}"].T
        grads = {k: grads[k] for k in params}
        _add_l2_grads(grads, params, lam)
        return loss + _l2(params, lam), grads

    def fit(self, X: Any, y: Any) -> FeedForwardNetwork:
        super().fit(X, y)
        n_layers = len(self.params_) // 2
        self.coefs_ = [self.params_[f"W{i}"] for i in range(n_layers)]
        self.intercepts_ = [self.params_[f"b{i}"] for i in range(n_layers)]
        return self


class RecurrentNetwork(_GradientDescentClassifier):
    """An Elman or GRU network over sequences, trained by backpropagation through time.

    Each row of ``X`` is one sequence: an (n_features, n_steps) matrix flattened in C
    order (``M.reshape(-1)``), so row k of the matrix (feature k over time) occupies
    columns ``k * n_steps .. (k + 1) * n_steps - 1``. MFCC matrices from librosa have
    exactly this layout.

    Parameters
    ----------
    cell : {"elman", "gru"}, default="gru"
        Elman: ``h' = tanh(x Wx + h Wh + bh)``. GRU (gates z, r):
        ``n = tanh(x Wn + r * (h Un) + bn)``, ``h' = (1 - z) * n + z * h``.
    hidden : int, default=32
        Hidden units.
    n_features : int or None, default=None
        Rows per frame matrix; the number of columns of ``X`` must be a multiple of it.
        None treats each column as one time step of a single feature.
    pooling : {"last", "mean"}, default="mean"
        Classify from the last hidden state or from the mean over time steps.
    clip : float or None, default=5.0
        Rescale each minibatch gradient to at most this global L2 norm; None for no
        clipping.
    lam, eta, solver, batch_size, momentum, epochs, early_stopping, validation_fraction, \
patience, tol, random_state
        As in :class:`GDLogisticRegression`; defaults ``lam=1e-4, eta=0.01, solver="sgd",
        batch_size=32, momentum=0.9, epochs=30, early_stopping=False,
        validation_fraction=0.1, patience=10, tol=1e-4``.

    Attributes
    ----------
    classes_, params_, n_iter_, loss_curve_, validation_loss_curve_, validation_scores_, \
best_validation_loss_, n_features_in_
        As in :class:`GDLogisticRegression`. ``params_`` holds ``Wx, Wh, bh`` (Elman) or
        ``Wx`` (input to z, r, n gates), ``Uzr``, ``Un``, ``b`` (GRU), and the output
        layer ``Wo, bo``.
    mean_, scale_ : ndarray of shape (n_features,)
        Per-feature standardisation, pooled over time steps so that every step sees
        the same input scale.
    n_steps_ : int
        Time steps per sequence.
    """

    def __init__(self, *, cell: str = "gru", hidden: int = 32, n_features: int | None = None,
                 pooling: str = "mean", clip: float | None = 5.0, lam: float = 1e-4, eta: float = 0.01,
                 solver: str = "sgd", batch_size: int = 32, momentum: float = 0.9, epochs: int = 30,
                 early_stopping: bool = False, validation_fraction: float = 0.1, patience: int = 10,
                 tol: float = 1e-4, random_state: int | np.random.RandomState | None = None) -> None:
        self.cell = cell
        self.hidden = hidden
        self.n_features = n_features
        self.pooling = pooling
        self.clip = clip
        self.lam = lam
        self.eta = eta
        self.solver = solver
        self.batch_size = batch_size
        self.momentum = momentum
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.random_state = random_state

    # ---- configuration ----------------------------------------------------------------

    def _check_model_params(self) -> None:
        _check_choice("cell", self.cell, _CELLS)
        _check_int("hidden", self.hidden, 1)
        _check_choice("pooling", self.pooling, _POOLINGS)
        if self.n_features is not None:
            _check_int("n_features", self.n_features, 1)
        if self.clip is not None:
            _check_real("clip", self.clip, 0.0, low_open=True)

    def _n_frame_features(self) -> int:
        return 1 if self.n_features is None else int(self.n_features)

    def _check_input_shape(self, X: np.ndarray) -> None:
        f = self._n_frame_features()
        if X.shape[1] % f:
            raise ValueError(f"X has {X.shape[1]} columns, not a multiple of n_features={f}; each row must be "
                             f"an (n_features, n_steps) matrix flattened with reshape(-1)")

    def _clip_norm(self) -> float | None:
        return None if self.clip is None else float(self.clip)

    def _fit_scaler(self, X: np.ndarray) -> None:
        f = self._n_frame_features()
        frames = X.reshape(X.shape[0], f, -1)
        self.n_steps_ = frames.shape[2]
        mean = frames.mean(axis=(0, 2))
        self.mean_ = mean
        self.scale_ = _nonzero_scale(_safe_std(frames - mean[None, :, None], axis=(0, 2)), mean)

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        f = self.mean_.shape[0]
        frames = X.reshape(X.shape[0], f, -1)
        return ((frames - self.mean_[None, :, None]) / self.scale_[None, :, None]).reshape(X.shape[0], -1)

    # ---- network ----------------------------------------------------------------------

    def _init_params(self, n_inputs: int, n_classes: int, rng: np.random.RandomState) -> Params:
        self._check_model_params()
        f, h = self._n_frame_features(), int(self.hidden)
        if self.cell == "elman":
            params = {"Wx": _xavier(rng, f, h), "Wh": _orthogonal(rng, h), "bh": np.zeros(h)}
        else:
            params = {
                "Wx": np.hstack([_xavier(rng, f, h) for _ in range(3)]),
                "Uzr": np.hstack([_orthogonal(rng, h) for _ in range(2)]),
                "Un": _orthogonal(rng, h),
                "b": np.zeros(3 * h),
            }
        params["Wo"] = _xavier(rng, h, n_classes)
        params["bo"] = np.zeros(n_classes)
        return params

    @staticmethod
    def _time_major(X: np.ndarray, n_in: int) -> tuple[np.ndarray, int]:
        """(B, F*T) frame-major rows to a contiguous (T*B, F) block, time-major."""
        B = X.shape[0]
        T = X.shape[1] // n_in
        Xt = np.ascontiguousarray(X.reshape(B, n_in, T).transpose(2, 0, 1))
        return Xt.reshape(T * B, n_in), T

    def _run(self, params: Params, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, int]:
        """Forward pass: hidden states (T+1, B, H), cached gate values, the time-major
        input block, and T."""
        B = X.shape[0]
        Xt, T = self._time_major(X, params["Wx"].shape[0])
        H = params["Wo"].shape[0]
        hs = np.zeros((T + 1, B, H))
        cache: dict[str, np.ndarray] = {}
        if "Wh" in params:
            # Input projections of all steps in one matmul; only the recurrence loops.
            A = (Xt @ params["Wx"] + params["bh"]).reshape(T, B, H)
            Wh = params["Wh"]
            for t in range(T):
                hs[t + 1] = np.tanh(A[t] + hs[t] @ Wh)
        else:
            G = (Xt @ params["Wx"] + params["b"]).reshape(T, B, 3 * H)
            Uzr, Un = params["Uzr"], params["Un"]
            Z = np.empty((T, B, H))
            R = np.empty((T, B, H))
            N = np.empty((T, B, H))
            HN = np.empty((T, B, H))
            for t in range(T):
                h = hs[t]
                zr = _sigmoid(G[t, :, :2 * H] + h @ Uzr)
                z, r = zr[:, :H], zr[:, H:]
                hn = h @ Un
                n = np.tanh(G[t, :, 2 * H:] + r * hn)
                hs[t + 1] = n + z * (h - n)
                Z[t], R[t], N[t], HN[t] = z, r, n, hn
            cache = {"Z": Z, "R": R, "N": N, "HN": HN}
        return hs, cache, Xt, T

    def _pool(self, hs: np.ndarray) -> np.ndarray:
        return hs[-1] if self.pooling == "last" else hs[1:].mean(axis=0)

    def _logits(self, params: Params, X: np.ndarray) -> np.ndarray:
        hs, _, _, _ = self._run(params, X)
        return self._pool(hs) @ params["Wo"] + params["bo"]

    def _loss_and_grads(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        self._check_model_params()
        lam = float(self.lam)
        hs, cache, Xt, T = self._run(params, X)
        B, H = hs.shape[1], hs.shape[2]
        pooled = self._pool(hs)
        loss, d = _softmax_cross_entropy(pooled @ params["Wo"] + params["bo"], y)
        grads: Params = {"Wo": pooled.T @ d, "bo": d.sum(axis=0)}
        dpooled = d @ params["Wo"].T
        mean_pool = self.pooling == "mean"
        step_grad = dpooled / T if mean_pool else None
        dh = np.zeros((B, H)) if mean_pool else dpooled.copy()
        h_prev = hs[:-1].reshape(T * B, H)

        if "Wh" in params:
            dA = np.empty((T, B, H))
            WhT = params["Wh"].T
            for t in range(T - 1, -1, -1):
                if mean_pool:
                    dh += step_grad
                h = hs[t + 1]
                da = dh * (1.0 - h * h)
                dA[t] = da
                dh = da @ WhT
            dA2 = dA.reshape(T * B, H)
            grads["Wx"] = Xt.T @ dA2
            grads["Wh"] = h_prev.T @ dA2
            grads["bh"] = dA2.sum(axis=0)
        else:
            Z, R, N, HN = cache["Z"], cache["R"], cache["N"], cache["HN"]
            dG = np.empty((T, B, 3 * H))
            dHN = np.empty((T, B, H))
            UzrT, UnT = params["Uzr"].T, params["Un"].T
            for t in range(T - 1, -1, -1):
                if mean_pool:
                    dh += step_grad
                h, z, r, n, hn = hs[t], Z[t], R[t], N[t], HN[t]
                dn_pre = dh * (1.0 - z) * (1.0 - n * n)
                dz_pre = dh * (h - n) * z * (1.0 - z)
                dr_pre = dn_pre * hn * r * (1.0 - r)
                dhn = dn_pre * r
                dG[t, :, :H] = dz_pre
                dG[t, :, H:2 * H] = dr_pre
                dG[t, :, 2 * H:] = dn_pre
                dHN[t] = dhn
                dh = dh * z + dG[t, :, :2 * H] @ UzrT + dhn @ UnT
            dG2 = dG.reshape(T * B, 3 * H)
            grads["Wx"] = Xt.T @ dG2
            grads["Uzr"] = h_prev.T @ dG2[:, :2 * H]
            grads["Un"] = h_prev.T @ dHN.reshape(T * B, H)
            grads["b"] = dG2.sum(axis=0)
        grads = {k: grads[k] for k in params}
        _add_l2_grads(grads, params, lam)
        return loss + _l2(params, lam), grads
