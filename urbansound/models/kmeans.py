"""``skm-fnn``: features learned from the log-mel spectrogram by spherical k-means, beside the
feature table, in the ``fnn``.

Unsupervised feature learning as Salamon and Bello (ICASSP 2015) did it for UrbanSound8K:
short time-frequency patches ("shingles": ``shingle`` consecutive frames of every band) of
the log-mel image are PCA-whitened and cut to unit length; spherical k-means learns a
dictionary of ``n_codes`` unit vectors (the codes) from a sample of the training patches;
a clip is then described by how strongly each code fires along it, the mean and the
standard deviation over its patches of the dot products with every code. These
``2 * n_codes`` columns are appended to the clip's summary-statistic columns and the
network (the ``fnn``) learns from both. On the real development clips this adds 2 to 5
points to the ``fnn`` on the summary statistics alone (README, Measured).

Everything learned, the band means, the whitening and the codes, is fitted on the rows
``fit`` is given (the training side of a split, augmented rows included) and only applied
to the rows ``transform`` is given: no patch of a test clip is ever seen while learning.
The fitted encoder is three NumPy arrays (``mean_``, ``whiten_``, ``codes_``), so a model
file holds no other object (:mod:`urbansound.models.saved`). scikit-learn's
:class:`~sklearn.decomposition.PCA` learns the whitening; the spherical k-means is a few
lines of NumPy (:func:`spherical_kmeans`): scikit-learn has no spherical variant (its
``KMeans`` moves centres to Euclidean means and, on first use, starts a subprocess to count
physical cores).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from urbansound.models._checks import real, whole
from urbansound.models.hybrid import split_table_image


def _unit(Z: np.ndarray) -> np.ndarray:
    return Z / (np.linalg.norm(Z, axis=1, keepdims=True) + 1e-8)


def spherical_kmeans(Z: np.ndarray, k: int, *, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` unit-length codes for the unit rows of ``Z`` (Dhillon and Modha's spherical k-means).

    Each iteration assigns every row to the code it has the largest dot product with and
    moves each code to the normalised sum of its rows; a code left without rows restarts
    at a random row. Starts at ``k`` distinct random rows.

    Returns
    -------
    np.ndarray, shape (k, Z.shape[1]), float32
    """
    codes = Z[rng.choice(len(Z), k, replace=False)].astype(np.float32)
    for _ in range(iterations):
        nearest = (Z @ codes.T).argmax(axis=1)
        sums = np.zeros_like(codes)
        np.add.at(sums, nearest, Z)
        empty = np.linalg.norm(sums, axis=1) < 1e-8
        sums[empty] = Z[rng.choice(len(Z), int(empty.sum()))]
        codes = _unit(sums)
    return codes


class ShingleKMeansEncoder(TransformerMixin, BaseEstimator):
    """Spherical k-means codes of log-mel shingles, pooled per clip.

    Parameters
    ----------
    n_bands : int or None
        Mel bands per row: ``X`` has ``n_bands * n_frames`` columns (band-major, as
        featurize stores the images). Required; the registry sets it.
    pool : int, default=2
        Average this many consecutive frames first (2: ~46 ms at the defaults).
    shingle : int, default=8
        Frames per patch after pooling (8: ~0.37 s at the defaults).
    n_codes : int, default=500
        Dictionary size; the encoder returns ``2 * n_codes`` columns.
    patches_per_clip : int, default=20
        Patches drawn at random from each training row to learn the whitening and codes.
    max_patches : int, default=100000
        At most this many in all (fewer per row on a large training side): bounds the
        fit's memory (100,000 patches of 512 values: 200 MB) and time.
    variance : float, default=0.99
        Share of the patches' variance the whitening keeps (PCA components).
    max_iter : int, default=10
        Spherical k-means iterations (one start).
    random_state : int or None, default=None

    Attributes
    ----------
    mean_ : ndarray of shape (n_bands * shingle,)
        The training patches' mean.
    whiten_ : ndarray of shape (n_bands * shingle, n_components)
        Whitening projection (PCA components over their spread).
    codes_ : ndarray of shape (n_codes, n_components)
        The unit-length codes.
    """

    def __init__(self, *, n_bands: int | None = None, pool: int = 2, shingle: int = 8, n_codes: int = 500,
                 patches_per_clip: int = 20, max_patches: int = 100_000, variance: float = 0.99, max_iter: int = 10,
                 random_state: int | None = None) -> None:
        self.n_bands = n_bands
        self.pool = pool
        self.shingle = shingle
        self.n_codes = n_codes
        self.patches_per_clip = patches_per_clip
        self.max_patches = max_patches
        self.variance = variance
        self.max_iter = max_iter
        self.random_state = random_state

    def _check_model_params(self, *, fitting: bool = False) -> None:
        if self.n_bands is None and fitting:
            raise ValueError("n_bands=None: give the mel bands per row (the registry sets it from the feature "
                             "settings)")
        whole(self, "n_bands", 1, 512, allow_none=True)
        whole(self, "pool", 1, 16)
        whole(self, "shingle", 1, 256)
        whole(self, "n_codes", 2, 8192)
        whole(self, "patches_per_clip", 1, 10000)
        whole(self, "max_patches", 2, 10_000_000)
        whole(self, "max_iter", 1, 1000)
        real(self, "variance", 0.0, 1.0, low_open=True)

    def _images(self, X: Any) -> np.ndarray:
        """Rows -> (n, n_bands, frames // pool) float32 images."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (clips, n_bands * n_frames); got shape {X.shape}")
        b = int(self.n_bands)
        frames = X.shape[1] // b if X.shape[1] % b == 0 else 0
        if frames // self.pool < self.shingle:
            raise ValueError(f"X has {X.shape[1]} columns: not n_bands={b} bands of at least "
                             f"pool*shingle={self.pool * self.shingle} frames (the log-mel rows featurize stores)")
        T = frames // self.pool * self.pool
        M = X.reshape(len(X), b, frames)[:, :, :T].astype(np.float32)
        M = M.reshape(len(X), b, T // self.pool, self.pool).mean(axis=3)
        if not np.isfinite(M).all():
            raise ValueError("X holds NaN or infinite values")
        return M

    def _shingles(self, M: np.ndarray) -> np.ndarray:
        """(n, bands, T) -> (n, T - shingle + 1, bands * shingle): every patch, band-major."""
        w = sliding_window_view(M, self.shingle, axis=2)  # (n, bands, positions, shingle)
        return w.transpose(0, 2, 1, 3).reshape(len(M), w.shape[2], -1)

    def fit(self, X: Any, y: Any = None) -> "ShingleKMeansEncoder":
        from sklearn.decomposition import PCA

        self._check_model_params(fitting=True)
        M = self._images(X)
        rng = np.random.default_rng(self.random_state)
        positions = M.shape[2] - self.shingle + 1
        take = max(1, min(int(self.patches_per_clip), positions, int(self.max_patches) // len(M)))
        sample = np.concatenate([self._shingles(M[i:i + 1])[0, rng.choice(positions, take, replace=False)]
                                 for i in range(len(M))])
        if len(sample) < self.n_codes:
            raise ValueError(f"{len(sample)} training patches for n_codes={self.n_codes}: give more clips, more "
                             "patches_per_clip (or max_patches) or fewer codes")
        pca = PCA(n_components=float(self.variance) if self.variance < 1 else None, svd_solver="full").fit(sample)
        self.mean_ = pca.mean_.astype(np.float32)
        spread = np.sqrt(pca.explained_variance_) + 1e-6
        self.whiten_ = (pca.components_.T / spread).astype(np.float32)
        Z = _unit((sample - self.mean_) @ self.whiten_)
        self.codes_ = spherical_kmeans(Z, int(self.n_codes), iterations=int(self.max_iter), rng=rng)
        self.n_features_in_ = int(np.asarray(X).shape[1])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Per clip: the mean, then the standard deviation, of each code's activation over
        the clip's patches. Shape (n_clips, 2 * n_codes), float32."""
        check_is_fitted(self, "codes_")
        M = self._images(X)
        out = np.empty((len(M), 2 * len(self.codes_)), dtype=np.float32)
        for i in range(0, len(M), 64):
            S = self._shingles(M[i:i + 64])
            A = _unit((S.reshape(-1, S.shape[2]) - self.mean_) @ self.whiten_) @ self.codes_.T
            A = A.reshape(S.shape[0], S.shape[1], -1)
            out[i:i + 64] = np.concatenate([A.mean(axis=1), A.std(axis=1)], axis=1)
        return out


class TableImageFeatures(ClassifierMixin, BaseEstimator):
    """A classifier on a feature table's columns and features an encoder learns from the image.

    Each row of ``X`` is a clip's feature-table columns followed by its log-mel image
    (``n_image`` values), as for ``cnn-fnn`` (input ``<set>+mel``). ``fit`` fits the
    encoder on the rows' images, then the classifier on the columns with the encoded
    images appended; both on the same rows only.

    Parameters
    ----------
    encoder : transformer
        Fitted on ``X[:, -n_image:]`` (:class:`ShingleKMeansEncoder`).
    classifier : estimator
        Fitted on the table columns and the encoder's output (the ``fnn``).
    n_image : int or None
        Columns of the image part; set by the registry from the feature settings.

    Attributes
    ----------
    encoder_, classifier_ : the fitted steps
    classes_ : ndarray of shape (n_classes,)
    """

    def __init__(self, *, encoder: Any = None, classifier: Any = None, n_image: int | None = None) -> None:
        self.encoder = encoder
        self.classifier = classifier
        self.n_image = n_image

    def _check_model_params(self) -> None:
        if self.n_image is not None and (isinstance(self.n_image, bool) or not isinstance(self.n_image, (int, np.integer))
                                         or self.n_image < 1):
            raise ValueError(f"n_image={self.n_image!r}: expected a whole number >= 1")

    def _inputs(self, X: Any, *, fitting: bool) -> tuple[np.ndarray, np.ndarray]:
        table, image = split_table_image(X, self.n_image)
        if fitting:
            self.encoder_ = clone(self.encoder).fit(image)
        return table, self.encoder_.transform(image)

    def fit(self, X: Any, y: Any) -> "TableImageFeatures":
        self._check_model_params()
        table, learned = self._inputs(X, fitting=True)
        self.classifier_ = clone(self.classifier).fit(np.hstack([table, learned]), y)
        self.classes_ = self.classifier_.classes_
        self.n_features_in_ = int(np.asarray(X).shape[1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "classifier_")
        table, learned = self._inputs(X, fitting=False)
        return self.classifier_.predict_proba(np.hstack([table, learned]))

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
