"""``rnn``: an Elman or GRU network over frame sequences, backpropagation through time."""

from __future__ import annotations

import numpy as np

from urbansound.models.nn._base import (
    _CELLS,
    _POOLINGS,
    MAX_LAYER,
    Params,
    _add_l2_grads,
    _check_choice,
    _check_int,
    _check_real,
    _GradientDescentClassifier,
    _l2,
    _nonzero_scale,
    _orthogonal,
    _safe_std,
    _sigmoid,
    _softmax_cross_entropy,
    _xavier,
)


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
        _check_int("hidden", self.hidden, 1, MAX_LAYER)
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
