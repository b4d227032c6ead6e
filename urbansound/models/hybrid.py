"""``cnn-fnn``: a soft-voting ensemble of the ``fnn`` on the feature table and the ``cnn``
on the log-mel images of the same clips.

Each row of ``X`` is a clip's feature-table columns followed by its log-mel image
(flattened, ``n_image`` values: :data:`urbansound.models.saved.MEL_INPUT`), as
:func:`urbansound.training.load_training_data` builds it for an input named
``<feature set>+mel``. Both members are fitted on the same rows (so on the training side
of a split only, augmented rows included) and their class probabilities averaged with
``cnn_weight`` for the cnn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted


def split_table_image(X: Any, n_image: int | None) -> tuple[np.ndarray, np.ndarray]:
    """An input ``<set>+mel`` -> (the feature-table columns as float32, the image's ``n_image`` columns)."""
    X = np.asarray(X)
    if n_image is None:
        raise ValueError("n_image=None: give the image columns per row (the registry sets it from the feature "
                         "settings)")
    if X.ndim != 2 or X.shape[1] <= n_image:
        raise ValueError(f"X has shape {X.shape}: expected feature columns followed by {n_image} image "
                         "values per row")
    return X[:, : X.shape[1] - n_image].astype(np.float32, copy=False), X[:, X.shape[1] - n_image:]


class TableImageVote(ClassifierMixin, BaseEstimator):
    """Soft vote of a table model and an image model over one concatenated input.

    Parameters
    ----------
    table : estimator
        Fitted on ``X[:, :-n_image]`` (the ``fnn``).
    image : estimator
        Fitted on ``X[:, -n_image:]`` (the ``cnn``).
    n_image : int or None
        Columns of the image part (mel bands x frames); set by the registry from the
        feature settings.
    cnn_weight : float, default=0.5
        Weight of the image model's probabilities; the table model's is ``1 - cnn_weight``.

    Attributes
    ----------
    table_, image_ : the fitted members
    classes_ : ndarray of shape (n_classes,)
    """

    def __init__(self, *, table: Any = None, image: Any = None, n_image: int | None = None,
                 cnn_weight: float = 0.5) -> None:
        self.table = table
        self.image = image
        self.n_image = n_image
        self.cnn_weight = cnn_weight

    def _check_model_params(self) -> None:
        w = self.cnn_weight
        if isinstance(w, bool) or not isinstance(w, (int, float, np.floating)) or not 0.0 <= w <= 1.0:
            raise ValueError(f"cnn_weight={w!r}: expected a number in [0, 1]")
        if self.n_image is not None and (not isinstance(self.n_image, (int, np.integer)) or self.n_image < 1):
            raise ValueError(f"n_image={self.n_image!r}: expected a whole number >= 1")

    def _split(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        return split_table_image(X, self.n_image)

    def fit(self, X: Any, y: Any) -> "TableImageVote":
        self._check_model_params()
        table, image = self._split(X)
        self.table_ = clone(self.table).fit(table, y)
        self.image_ = clone(self.image).fit(image, y)
        if list(self.table_.classes_) != list(self.image_.classes_):
            raise ValueError("the two members learned different classes")
        self.classes_ = self.table_.classes_
        self.n_features_in_ = int(np.asarray(X).shape[1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "classes_")
        table, image = self._split(X)
        w = float(self.cnn_weight)
        return (1.0 - w) * self.table_.predict_proba(table) + w * self.image_.predict_proba(image)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
