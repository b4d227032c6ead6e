"""Alternatives to the default recipe on real clips: what was tried and left out, and why.

Each row changes one thing of the default recipe (the tuned ``fnn`` on all four feature
sets, fitted on the clips and their ``speed:0.9,speed:1.1`` rows) and is scored exactly as
``urbansound train`` scores it: the same folds (:func:`urbansound.evaluation.make_folds`,
official = leave one fold out, grouped = stratified 5-fold by recording, seed 0), the
same fitting rows (:func:`urbansound.evaluation.training_rows`: a split fits on the
augmented rows of its training clips only) and only clips as recorded scored. The first
row must read what ``benchmarks/real_accuracy.py`` prints for the new default.

    .venv/bin/python ../shared/realdata/us8k_dev/materialize.py data/raw/us8k-dev
    .venv/bin/python benchmarks/real_alternatives.py [--data data/raw/us8k-dev] [--workspace /tmp/w]

Featurizes once with eight augmentations (``AUGMENT``; 4-5 minutes for the development
set's 1275 clips on two cores), then prints one Markdown table: mean +- std over folds,
train accuracy in brackets, fitting seconds summed over folds. About 35 minutes in all
(37 minutes on 2026-12-02 beside the test suite).
The regularisers below (dropout, input noise, mixup) are prototypes in this script, not
options of the package: none of them helped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _realrows import featurized, parse_args  # noqa: E402

from urbansound import augment, table  # noqa: E402
from urbansound.audio import decode  # noqa: E402
from urbansound.evaluation import make_folds, training_rows  # noqa: E402
from urbansound.features import FEATURE_SETS, mel_power, prepare, spectrogram  # noqa: E402
from urbansound.models import make_model  # noqa: E402
from urbansound.models.nn._base import _activate, _activation_grad, _add_l2_grads, _l2  # noqa: E402
from urbansound.models.nn.fnn import FeedForwardNetwork  # noqa: E402
from urbansound.settings import DEFAULT_AUGMENT, FeatureSettings  # noqa: E402

AUGMENT = ("speed:0.8", "speed:0.9", "speed:1.1", "speed:1.2", "pitch:-2", "pitch:2", "noise:20", "gain:-12")
DEFAULT = tuple(DEFAULT_AUGMENT)


class RegularisedFNN(FeedForwardNetwork):
    """The seed's network with dropout, input dropout, Gaussian input noise or mixup
    (Zhang et al. 2018, on the standardised features) in each minibatch: a prototype."""

    def __init__(self, *, dropout: float = 0.0, in_dropout: float = 0.0, noise: float = 0.0, mixup: float = 0.0,
                 **params) -> None:
        super().__init__(**params)
        self.dropout, self.in_dropout, self.noise, self.mixup = dropout, in_dropout, noise, mixup

    def _loss_and_grads(self, params, X, y):
        rng = self.__dict__.setdefault("_rng", np.random.RandomState(12345))
        _, acts, alpha = self._architecture()
        if self.noise:
            X = X + self.noise * rng.standard_normal(X.shape)
        if self.in_dropout:
            X = X * (rng.random_sample(X.shape) >= self.in_dropout) / (1 - self.in_dropout)
        Y = np.eye(len(self.classes_))[y]
        if self.mixup:
            mix, other = rng.beta(self.mixup, self.mixup, size=(X.shape[0], 1)), rng.permutation(X.shape[0])
            X, Y = mix * X + (1 - mix) * X[other], mix * Y + (1 - mix) * Y[other]
        pre, outs, masks, a = [], [X], [], X
        for i, act in enumerate(acts):
            z = a @ params[f"W{i}"] + params[f"b{i}"]
            a = _activate(act, z, alpha)
            mask = (rng.random_sample(a.shape) >= self.dropout) / (1 - self.dropout) if self.dropout else 1.0
            pre.append(z), masks.append(mask), outs.append(a * mask)
            a = outs[-1]
        L = len(acts)
        logits = a @ params[f"W{L}"] + params[f"b{L}"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        n = X.shape[0]
        loss, d = -float((Y * logp).sum() / n), (np.exp(logp) - Y) / n
        grads = {}
        for i in range(L, -1, -1):
            if i < L:
                d = d * masks[i] * _activation_grad(acts[i], pre[i], _activate(acts[i], pre[i], alpha), alpha)
            grads[f"W{i}"], grads[f"b{i}"] = outs[i].T @ d, d.sum(axis=0)
            if i > 0:
                d = d @ params[f"W{i}"].T
        grads = {k: grads[k] for k in params}
        _add_l2_grads(grads, params, float(self.lam))
        return loss + _l2(params, float(self.lam)), grads


def regularised(**extra) -> Callable[[], RegularisedFNN]:
    default = make_model("fnn").get_params()
    return lambda: RegularisedFNN(**default, **extra)


def modulation_spectrum(path: str, spec: str | None, clip_id: str, settings: FeatureSettings) -> np.ndarray:
    """Log power of each of 16 log-mel band envelopes in six modulation bands (0.5-21.5 Hz)."""
    y = decode(path, sr=settings.sample_rate)
    if spec is not None:
        y = augment.apply(y, spec, sr=settings.sample_rate, clip_id=clip_id)
    mel = mel_power(spectrogram(prepare(y, settings)[0], settings), sr=settings.sample_rate, settings=settings)
    bands = 10 * np.log10(mel.reshape(mel.shape[0], 16, -1).mean(axis=2) + 1e-10)
    bands = bands - bands.mean(axis=0)
    frames = max(bands.shape[0], settings.sequence_frames)
    power = np.abs(np.fft.rfft(bands * np.hanning(bands.shape[0])[:, None], n=frames, axis=0)) ** 2 / bands.shape[0]
    freq = np.fft.rfftfreq(frames, settings.hop_length / settings.sample_rate)
    edges = (0.5, 1, 2, 4, 8, 16, 21.6)
    return np.concatenate([np.log10(power[(freq >= lo) & (freq < hi)].mean(axis=0) + 1e-6)
                           for lo, hi in zip(edges[:-1], edges[1:])])


def main() -> None:
    a = parse_args(__doc__, "/tmp/urbansound-real-alternatives")
    r = featurized(a, AUGMENT)
    rows, as_recorded, recorded, source, own, y = r.rows, r.as_recorded, r.recorded, r.source, r.own, r.y
    spec = np.where(as_recorded, "", rows["augmentation"].fillna("").astype(str).to_numpy())  # "": as recorded
    columns, X = r.matrix()
    folds = {"official": make_folds(recorded, "official"), "grouped": make_folds(recorded, "grouped", n_splits=5)}

    def score(make: Callable, *, X: np.ndarray = X, specs: tuple[str, ...] = DEFAULT, tta: bool = False) -> list[str]:
        use = np.isin(spec, specs) | as_recorded
        usable = np.flatnonzero(use)
        cells = []
        for protocol, f in folds.items():
            test_acc, train_acc, fit = [], [], 0.0
            for train, test in f.splits:
                fit_rows = np.intersect1d(training_rows(train, source, len(source)), usable)
                started = time.perf_counter()
                model = make().fit(X[fit_rows], y[source[fit_rows]])
                fit += time.perf_counter() - started
                if tta:  # mean log-probability over the clip and its augmented rows
                    scored = np.flatnonzero(np.isin(source, test) & use)
                    logp = np.zeros((len(recorded), len(model.classes_)))
                    np.add.at(logp, source[scored], np.log(model.predict_proba(X[scored]) + 1e-9))
                    predicted = model.classes_[logp[test].argmax(axis=1)]
                else:
                    predicted = model.predict(X[own[test]])
                test_acc.append(np.mean(predicted == y[test]))
                train_acc.append(np.mean(model.predict(X[own[train]]) == y[train]))
            cells.append(f"{np.mean(test_acc):.3f} +- {np.std(test_acc):.3f} ({np.mean(train_acc):.2f}) | {fit:.0f}")
        return cells

    fnn = lambda: make_model("fnn")  # noqa: E731
    amplitude = [columns.index(c) for c in ("time_rms_mean", "time_rms_std", "time_rms_max", "time_peak")]
    X_log = X.copy()
    X_log[:, amplitude] = np.log10(X_log[:, amplitude] + 1e-7)
    settings = table.read_settings(r.features)
    print("modulation spectra of the clips and their speed rows ...", file=sys.stderr, flush=True)
    mod_rows = np.flatnonzero(np.isin(spec, DEFAULT) | as_recorded)
    X_mod = np.full((len(rows), 96), np.nan, np.float32)
    X_mod[mod_rows] = Parallel(n_jobs=a.workers, batch_size=32)(
        delayed(modulation_spectrum)(rows["path"].iat[i], spec[i] or None, rows["clip_id"].iat[i], settings)
        for i in mod_rows)
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import QuantileTransformer, StandardScaler
    from sklearn.svm import SVC

    variants: list[tuple[str, Callable[[], list[str]]]] = [
        ("the default (fnn, all, speed 0.9/1.1)", lambda: score(fnn)),
        ("fnn seed 1 instead of 0", lambda: score(lambda: make_model("fnn", seed=1))),
        ("soft vote of fnn seeds 0, 1, 2", lambda: score(lambda: VotingClassifier(
            [(f"s{i}", make_model("fnn", seed=i)) for i in range(3)], voting="soft"))),
        ("+ noise:20", lambda: score(fnn, specs=(*DEFAULT, "noise:20"))),
        ("+ gain:-12", lambda: score(fnn, specs=(*DEFAULT, "gain:-12"))),
        ("+ pitch:-2, pitch:2", lambda: score(fnn, specs=(*DEFAULT, "pitch:-2", "pitch:2"))),
        ("pitch:-2, pitch:2 instead of speed", lambda: score(fnn, specs=("pitch:-2", "pitch:2"))),
        ("speed 0.8, 0.9, 1.1, 1.2", lambda: score(fnn, specs=("speed:0.8", "speed:0.9", "speed:1.1", "speed:1.2"))),
        ("all eight augmentations", lambda: score(fnn, specs=AUGMENT)),
        ("test-time augmentation (clip + its speed rows)", lambda: score(fnn, tta=True)),
        ("dropout 0.5 on the hidden layer", lambda: score(regularised(dropout=0.5))),
        ("input dropout 0.2", lambda: score(regularised(in_dropout=0.2))),
        ("Gaussian input noise, 0.3 std", lambda: score(regularised(noise=0.3))),
        ("mixup, alpha 0.4", lambda: score(regularised(mixup=0.4))),
        ("log10 of the amplitude columns", lambda: score(fnn, X=X_log)),
        ("quantile transform to normal", lambda: score(lambda: make_pipeline(
            QuantileTransformer(output_distribution="normal", n_quantiles=200), make_model("fnn")))),
        ("+ modulation spectrum (16 bands x 6)", lambda: score(fnn, X=np.hstack([X, X_mod]))),
        ("modulation spectrum alone", lambda: score(fnn, X=X_mod)),
        ("svm (RBF, C 10) instead of fnn", lambda: score(lambda: make_pipeline(StandardScaler(), SVC(C=10.0)))),
    ]
    variants += [(f"without {left_out}_*", (lambda rest: lambda: score(fnn, X=r.matrix(rest)[1]))(
        "+".join(s for s in FEATURE_SETS if s != left_out))) for left_out in FEATURE_SETS]
    print("| change to the default | " + " | ".join(f"{k} (train) | fit s" for k in folds) + " |")
    print("|---|" + "---|---|" * len(folds))
    for label, run in variants:
        print(f"| {label} | " + " | ".join(run()) + " |", flush=True)


if __name__ == "__main__":
    main()
