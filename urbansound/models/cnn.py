"""``cnn``: a small convolutional network on log-mel patches (PyTorch, CPU).

The network learns from the time-frequency picture itself instead of summary statistics:
a stack of 3x3 convolution blocks (convolution, batch normalisation, ReLU, 2x2 max
pooling) over a patch of the log-mel spectrogram, the feature maps averaged over
frequency, then mean- and max-pooled over time, dropout and one linear layer (the shape
of SB-CNN, Salamon and Bello 2017, at a fraction of its cost: 64 bands, frames pooled in
pairs, ~3 s patches).

Input
    Each row of ``X`` is one clip's log-mel spectrogram, an (n_bands, n_frames) matrix
    flattened in C order (row k is band k over time), as featurize stores it
    (:func:`urbansound.table.read_mels`). float16 or float32.
Training
    AdamW with a one-cycle learning-rate schedule, minibatches of random ``patch``-frame
    crops (a random time shift per example and epoch), and optionally frequency and time
    masking (SpecAugment) and mixup of examples within a minibatch: all drawn inside
    ``fit``, from the rows it is given, so no augmentation or mixup partner ever crosses a
    split. Inputs are standardised per band with the mean and spread of the training
    rows (``mean_``, ``scale_``).
Prediction
    Class probabilities averaged over patches that cover the clip (``predict_proba``).
Saved form
    The fitted weights are plain NumPy arrays (``weights_``, name -> array) and the
    architecture a dict of numbers (``architecture_``): a model file holds no PyTorch
    object and loading one runs no code (:mod:`urbansound.models.saved`). The PyTorch
    module is rebuilt from them on first use.
Threads
    ``threads=None`` uses the cores of the Dask worker running the fit divided by its
    worker threads (one fit per worker thread), or every core outside a worker.

PyTorch is an optional dependency (``pip install 'urbansound[cnn]'``); it is imported
when a network is fitted or used, never when the registry is.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from urbansound.exceptions import ModelError
from urbansound.models._checks import real, whole
from urbansound.settings import LIMITS

log = logging.getLogger(__name__)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ModelError("model 'cnn' needs PyTorch, which is not installed: `pip install 'urbansound[cnn]'` "
                         "(or `make run`, which installs it), or choose another model with --models") from None
    return torch


def _parse_channels(text: str) -> list[int]:
    try:
        out = [int(c) for c in str(text).split("+")]
    except ValueError:
        out = []
    if not out or any(c < 1 or c > 1024 for c in out) or len(out) > 6:
        raise ValueError(f"channels={text!r}: expected 1 to 6 '+'-joined channel counts of 1..1024, e.g. '16+32+64+64'")
    return out


def _worker_threads() -> int:
    """Cores per fit: the Dask worker's share of this machine, else every core."""
    cores = os.cpu_count() or 1
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return cores
    # a LocalCluster worker process with one thread: one fit, one core each
    return max(1, int(worker.state.nthreads))


class ConvNetClassifier(ClassifierMixin, BaseEstimator):
    """A convolutional network on log-mel patches, trained with PyTorch on the CPU.

    Parameters
    ----------
    n_bands : int or None, default=None
        Mel bands per row: ``X`` has ``n_bands * n_frames`` columns. Required.
    pool : int, default=2
        Average this many consecutive frames first (2: ~46 ms frames at the defaults).
    patch : int, default=64
        Frames per patch, after pooling (64: ~3 s at the defaults); a clip shorter than
        one patch is one patch, looped by featurize.
    channels : str, default="16+32+64+64"
        Output channels of the convolution blocks, '+'-joined; each block halves both
        axes.
    epochs : int, default=20
    lr : float, default=3e-3
        Peak learning rate of the one-cycle schedule.
    weight_decay : float, default=1e-3
        AdamW's decoupled weight decay.
    batch_size : int, default=64
    dropout : float, default=0.3
        Before the output layer.
    freq_mask, time_mask : int, default=0
        Largest width (bands, pooled frames) of one band and one span of frames set to
        the (standardised) mean in each training patch; 0 for none.
    mixup : float, default=0.0
        Mixup's Beta(mixup, mixup) concentration: each minibatch is mixed with a shuffled
        copy of itself and the loss weighted alike; 0 for none.
    threads : int or None, default=None
        PyTorch threads for the fit (see the module notes).
    random_state : int or None, default=None

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    mean_, scale_ : ndarray of shape (n_bands,)
        Per-band standardisation of the (pooled) log-mel input.
    weights_ : dict of str to ndarray
        The network's parameters and batch-norm statistics.
    architecture_ : dict
        ``n_bands, channels, n_classes, pool, patch``: enough to rebuild the network.
    loss_curve_ : list of float
        Mean training loss per epoch.
    n_iter_ : int
        Epochs run.
    """

    def __init__(self, *, n_bands: int | None = None, pool: int = 2, patch: int = 64,
                 channels: str = "16+32+64+64", epochs: int = 20, lr: float = 3e-3, weight_decay: float = 1e-3,
                 batch_size: int = 64, dropout: float = 0.3, freq_mask: int = 0, time_mask: int = 0,
                 mixup: float = 0.0, threads: int | None = None, random_state: int | None = None) -> None:
        self.n_bands = n_bands
        self.pool = pool
        self.patch = patch
        self.channels = channels
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.dropout = dropout
        self.freq_mask = freq_mask
        self.time_mask = time_mask
        self.mixup = mixup
        self.threads = threads
        self.random_state = random_state

    # ---- checks ----------------------------------------------------------------------

    def _check_params(self, *, fitting: bool = False) -> None:
        if self.n_bands is None and fitting:
            raise ValueError("n_bands=None: give the mel bands per row (the registry sets it from the feature "
                             "settings)")
        whole(self, "n_bands", 1, 512, allow_none=True)
        whole(self, "pool", 1, 16)
        whole(self, "patch", 8, 4096)
        _parse_channels(self.channels)
        whole(self, "epochs", int(LIMITS["epochs"].low), int(LIMITS["epochs"].high))
        real(self, "lr", 0.0, 10.0, low_open=True)
        real(self, "weight_decay", 0.0, 10.0)
        whole(self, "batch_size", 1, 65536)
        real(self, "dropout", 0.0, 0.95)
        whole(self, "freq_mask", 0, 512)
        whole(self, "time_mask", 0, 4096)
        real(self, "mixup", 0.0, 100.0)
        whole(self, "threads", 1, 1024, allow_none=True)

    def _check_model_params(self) -> None:  # the registry's check_params hook, as the NumPy networks'
        self._check_params()

    def _images(self, X: Any) -> np.ndarray:
        """Rows -> (n, n_bands, n_frames // pool) float32 images, frames pooled."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (clips, n_bands * n_frames); got shape {X.shape}")
        if X.dtype not in (np.float16, np.float32, np.float64):
            X = X.astype(np.float32)
        b = int(self.n_bands)
        if X.shape[1] % b or X.shape[1] // b < self.pool:
            raise ValueError(f"X has {X.shape[1]} columns: not n_bands={b} bands of at least pool={self.pool} "
                             "frames each (the log-mel rows featurize stores)")
        T = X.shape[1] // b // self.pool * self.pool
        M = X.reshape(len(X), b, -1)[:, :, :T].astype(np.float32)
        if self.pool > 1:
            M = M.reshape(len(X), b, T // self.pool, self.pool).mean(axis=3)
        if not np.isfinite(M).all():
            raise ValueError("X holds NaN or infinite values")
        return M

    # ---- the network -----------------------------------------------------------------

    @staticmethod
    def _module(arch: dict[str, Any]) -> Any:
        torch = _torch()
        nn = torch.nn

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                layers: list[Any] = []
                cin = 1
                for co in arch["channels"]:
                    layers += [nn.Conv2d(cin, co, 3, padding=1, bias=False), nn.BatchNorm2d(co), nn.ReLU(),
                               nn.MaxPool2d(2, ceil_mode=True)]
                    cin = co
                self.features = nn.Sequential(*layers)
                self.dropout = nn.Dropout(arch.get("dropout", 0.0))
                self.out = nn.Linear(2 * cin, arch["n_classes"])

            def forward(self, x: Any) -> Any:
                h = self.features(x).mean(dim=2)  # over frequency: (batch, channels, time)
                return self.out(self.dropout(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)))

        return Net()

    def _net(self) -> Any:
        net = getattr(self, "_net_cache", None)
        if net is None:
            torch = _torch()
            net = self._module(self.architecture_)
            net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.weights_.items()})
            net.eval()
            self._net_cache = net
        return net

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_net_cache", None)  # rebuilt from weights_: never serialised
        return state

    # ---- fit / predict ---------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> "ConvNetClassifier":
        """Train on log-mel rows ``X`` (see the module notes) and labels ``y``."""
        self._check_params(fitting=True)
        torch = _torch()
        F = torch.nn.functional
        M = self._images(X)
        y = np.asarray(y)
        if len(y) != len(M):
            raise ValueError(f"X has {len(M)} rows, y has {len(y)} labels")
        check_classification_targets(y)
        self.classes_, yi = np.unique(y, return_inverse=True)
        self.mean_ = M.mean(axis=(0, 2))
        scale = M.std(axis=(0, 2))
        self.scale_ = np.where(scale > 1e-6, scale, 1.0)
        M = (M - self.mean_[None, :, None]) / self.scale_[None, :, None]
        n, bands, T = M.shape
        P = min(int(self.patch), T)
        rng = np.random.default_rng(self.random_state)
        torch.manual_seed(int(rng.integers(2**31)))
        threads_before = torch.get_num_threads()
        torch.set_num_threads(self.threads or _worker_threads())
        arch = {"n_bands": bands, "channels": _parse_channels(self.channels), "n_classes": len(self.classes_),
                "pool": int(self.pool), "patch": P, "dropout": float(self.dropout)}
        net = self._module(arch)
        try:
            opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            per_epoch = int(np.ceil(n / self.batch_size))
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=self.epochs * per_epoch)
            self.loss_curve_ = []
            for _ in range(self.epochs):
                net.train()
                order, total = rng.permutation(n), 0.0
                for i in range(0, n, self.batch_size):
                    b = order[i:i + self.batch_size]
                    xb = self._training_patches(M, b, P, rng)
                    yb = torch.from_numpy(yi[b])
                    xt = torch.from_numpy(xb[:, None])
                    if self.mixup > 0 and len(b) > 1:
                        lam = float(rng.beta(self.mixup, self.mixup))
                        perm = torch.from_numpy(rng.permutation(len(b)))  # partners from this minibatch only
                        out = net(lam * xt + (1 - lam) * xt[perm])
                        loss = lam * F.cross_entropy(out, yb) + (1 - lam) * F.cross_entropy(out, yb[perm])
                    else:
                        loss = F.cross_entropy(net(xt), yb)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
                    total += float(loss.detach()) * len(b)
                if not np.isfinite(total):
                    raise FloatingPointError("the cnn's training loss became non-finite: lower lr")
                self.loss_curve_.append(total / n)
        finally:
            torch.set_num_threads(threads_before)
        net.eval()
        self.architecture_ = arch
        self.weights_ = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
        self.n_iter_ = int(self.epochs)
        self.n_features_in_ = int(np.asarray(X).shape[1])
        self._net_cache = net
        return self

    def _training_patches(self, M: np.ndarray, rows: np.ndarray, P: int, rng: np.random.Generator) -> np.ndarray:
        """Random ``P``-frame crops of ``rows`` with SpecAugment masks: (len(rows), bands, P) float32."""
        T = M.shape[2]
        offsets = rng.integers(0, T - P + 1, len(rows))
        xb = np.stack([M[r, :, o:o + P] for r, o in zip(rows, offsets)])
        for k in range(len(rows)):
            if self.freq_mask:
                w = int(rng.integers(0, self.freq_mask + 1))
                f0 = int(rng.integers(0, max(1, xb.shape[1] - w + 1)))
                xb[k, f0:f0 + w] = 0.0
            if self.time_mask:
                w = int(rng.integers(0, self.time_mask + 1))
                t0 = int(rng.integers(0, max(1, P - w + 1)))
                xb[k, :, t0:t0 + w] = 0.0
        return xb

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, the mean over patches that cover each clip.

        Returns
        -------
        np.ndarray, shape (n_clips, n_classes)
        """
        check_is_fitted(self, "weights_")
        torch = _torch()
        M = self._images(X)
        M = (M - self.mean_[None, :, None]) / self.scale_[None, :, None]
        T, P = M.shape[2], min(self.architecture_["patch"], M.shape[2])
        starts = sorted(set(np.linspace(0, T - P, max(1, -(-T // P) + 1)).round().astype(int).tolist()))
        net = self._net()
        out = np.zeros((len(M), len(self.classes_)))
        with torch.no_grad():
            for i in range(0, len(M), 256):
                for s in starts:
                    xb = torch.from_numpy(np.ascontiguousarray(M[i:i + 256, None, :, s:s + P]))
                    out[i:i + 256] += torch.softmax(net(xb), dim=1).numpy()
        return out / len(starts)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
