"""``fnn``: a feed-forward network trained by gradient descent (the seed's Table 1 model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from urbansound.models.nn._base import (
    Params,
    _activate,
    _activation_grad,
    _add_l2_grads,
    _check_real,
    _GradientDescentClassifier,
    _he,
    _l2,
    _parse_activations,
    _parse_hidden,
    _softmax_cross_entropy,
    _xavier,
)


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

    def fit(self, X: Any, y: Any, *, eval_set: tuple[Any, Any] | None = None) -> FeedForwardNetwork:
        super().fit(X, y, eval_set=eval_set)
        n_layers = len(self.params_) // 2
        self.coefs_ = [self.params_[f"W{i}"] for i in range(n_layers)]
        self.intercepts_ = [self.params_[f"b{i}"] for i in range(n_layers)]
        return self
