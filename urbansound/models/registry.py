"""Models by name.

scikit-learn's, each a pipeline with the scaling it needs:
``logreg, mlp, tree, forest, hgb, svm, knn``; and the seed project's own, trained by
gradient descent in NumPy (:mod:`urbansound.models.nn`): ``gd-logreg, fnn`` on feature
tables and ``rnn`` on MFCC frame sequences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from urbansound.exceptions import ModelError
from urbansound.models.nn import (
    FeedForwardNetwork,
    GDLogisticRegression,
    RecurrentNetwork,
)

SEQUENCE_MODELS = frozenset({"rnn"})
"""Models that take MFCC frame sequences (flattened frame-major) instead of a feature table."""


def pool_frames(X: np.ndarray, *, n_features: int, factor: int) -> np.ndarray:
    """Average every ``factor`` consecutive frames of flattened (n_features, T) sequences.

    Parameters
    ----------
    X : np.ndarray, shape (n_samples, n_features * T)
        Frame matrices flattened in C order (row k is feature k over time).

    Returns
    -------
    np.ndarray, shape (n_samples, n_features * (T // factor))
    """
    n, T = len(X), X.shape[1] // n_features
    keep = T // factor * factor
    M = np.asarray(X).reshape(n, n_features, T)[:, :, :keep]
    return M.reshape(n, n_features, keep // factor, factor).mean(axis=3).reshape(n, -1)


def _rnn(seed: int, n_mfcc: int | None) -> BaseEstimator:
    if not n_mfcc:
        raise ModelError("model 'rnn' reads MFCC frame sequences: give n_mfcc")
    # Pooling 4 frames (~93 ms at the defaults) keeps pulses up to ~5 Hz visible and
    # makes backpropagation through time 4x cheaper. Elman trains ~3x faster than GRU.
    return make_pipeline(
        FunctionTransformer(pool_frames, kw_args={"n_features": n_mfcc, "factor": 4}),
        RecurrentNetwork(cell="elman", hidden=48, n_features=n_mfcc, pooling="mean", clip=5.0, lam=1e-4,
                         eta=0.02, solver="sgd", batch_size=64, momentum=0.9, epochs=40, early_stopping=True,
                         validation_fraction=0.1, patience=8, random_state=seed),
    )


# n_jobs=1 everywhere: parallelism comes from Dask, one fit per task.
_FACTORIES: dict[str, Callable[[int], BaseEstimator]] = {
    "logreg": lambda seed: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
    "mlp": lambda seed: make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-3, max_iter=500, early_stopping=True, random_state=seed)
    ),
    "tree": lambda seed: DecisionTreeClassifier(min_samples_leaf=2, random_state=seed),
    "forest": lambda seed: RandomForestClassifier(n_estimators=300, n_jobs=1, random_state=seed),
    "hgb": lambda seed: HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed),
    "svm": lambda seed: make_pipeline(StandardScaler(), SVC(C=10.0, gamma="scale", random_state=seed)),
    "knn": lambda seed: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5, weights="distance")),
    # The seed project's own (they standardise their inputs themselves).
    "gd-logreg": lambda seed: GDLogisticRegression(
        lam=1e-4, eta=0.01, solver="sgd", batch_size=64, momentum=0.9, epochs=200,
        early_stopping=True, validation_fraction=0.1, patience=10, random_state=seed),
    "fnn": lambda seed: FeedForwardNetwork(
        hidden="64", activation="relu", lam=1e-4, eta=0.02, solver="sgd", batch_size=64, momentum=0.9,
        epochs=200, early_stopping=True, validation_fraction=0.1, patience=10, random_state=seed),
}
MODEL_NAMES: tuple[str, ...] = (*_FACTORIES, "rnn")


def make_model(name: str, *, seed: int = 0, n_mfcc: int | None = None, **params: Any) -> BaseEstimator:
    """A fresh, unfitted estimator by name.

    Parameters
    ----------
    n_mfcc : int, optional
        MFCC rows of the frame sequences (sequence models only).
    **params
        Overrides of the estimator's parameters (``set_params`` names).
    """
    if name == "rnn":
        model = _rnn(seed, n_mfcc)
    elif name in _FACTORIES:
        model = _FACTORIES[name](seed)
    else:
        raise ModelError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)} (or 'all')")
    if params:
        try:
            model.set_params(**params)
        except ValueError as e:
            raise ModelError(f"model {name!r}: {e}") from None
    return model


