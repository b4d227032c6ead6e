"""``gd-logreg``: multinomial softmax regression trained by gradient descent."""

from __future__ import annotations

from typing import Any

import numpy as np

from urbansound.models.nn._base import (
    Params,
    _add_l2_grads,
    _GradientDescentClassifier,
    _l2,
    _softmax_cross_entropy,
)


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

    def fit(self, X: Any, y: Any, *, eval_set: tuple[Any, Any] | None = None) -> GDLogisticRegression:
        super().fit(X, y, eval_set=eval_set)
        W, b = self.params_["W"], self.params_["b"]
        self.coef_ = (W / self.scale_[:, None]).T
        self.intercept_ = b - (self.mean_ / self.scale_) @ W
        return self
