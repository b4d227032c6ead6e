"""Learned representations on real clips: skm-fnn, the cnn (alone, with each augmentation,
in the vote) and their learning curves beside the default's.

Featurizes a real UrbanSound8K-layout dataset once with the default recipe's augmentation
(default: the development set ``data/raw/us8k-dev``), then fits, exactly as ``urbansound
train`` does (same splits, same fitting rows: a split's training clips and the augmented
rows made from them; only clips as recorded are scored):

1. A table, under the official folds (leave one fold out) and grouped by recording
   (stratified 5-fold, seed 0): mean +- std over folds, train accuracy, fitting seconds,
   for the default (``fnn`` on all feature sets), ``skm-fnn`` (the fnn on all feature sets
   and spherical k-means codes of log-mel shingles), the ``cnn`` with the registry's
   settings and the ``cnn-fnn`` soft vote. The vote's probabilities are the mean of its two
   members' (the same fits as the ``fnn`` and ``cnn`` rows: ``TableImageVote`` fits exactly
   these two models on the same rows with the same seeds), so it costs no extra fit.
2. A learning curve under grouped 5-fold: each split's training side cut to 25%, 50% and
   100% of its recordings (per class, one draw), for the fnn, skm-fnn, the cnn and the
   vote; the least-squares slope of accuracy against log2 of the training clips (points per
   doubling), the evidence that carries to the full dataset's ~7,860 training clips.
3. The cnn with each augmentation (mixup, SpecAugment masks) and without the speed rows.

    .venv/bin/python ../shared/realdata/us8k_dev/materialize.py data/raw/us8k-dev
    .venv/bin/python benchmarks/real_cnn.py [--data data/raw/us8k-dev] [--workspace /tmp/w]

Each fit runs in its own process with one PyTorch thread, two at a time on two cores.
About 45 minutes on two idle cores for the development set (see the README, Measured).
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
from real_learning_curve import subsample  # noqa: E402

from urbansound.evaluation import make_folds, training_rows  # noqa: E402
from urbansound.models import InputShape, make_model  # noqa: E402
from urbansound.settings import DEFAULT_AUGMENT, FeatureSettings  # noqa: E402

SHAPE = InputShape.of(FeatureSettings())
SHARES = (0.25, 0.5, 1.0)


def cnn(**params) -> Callable:
    return lambda: make_model("cnn", shape=SHAPE, threads=1, **params)


# label, factory, input ("all" columns, "mel" images or both), fitted on the speed rows too, --set flags
RECIPES: list[tuple[str, Callable, str, bool, str]] = [
    ("default: fnn, all feature sets", lambda: make_model("fnn"), "all", True, "--models fnn"),
    ("skm-fnn: fnn on all feature sets + spherical k-means codes", lambda: make_model("skm-fnn", shape=SHAPE),
     "all+mel", True, "--models skm-fnn"),
    ("cnn", cnn(), "mel", True, "--models cnn"),
]
FNN, CNN = RECIPES[0][0], RECIPES[2][0]
AUGMENTED: list[tuple[str, Callable, str, bool, str]] = [
    ("cnn + mixup 0.2", cnn(mixup=0.2), "mel", True, "--models cnn --set cnn.mixup=0.2"),
    ("cnn + masks (8 bands, 12 frames)", cnn(freq_mask=8, time_mask=12), "mel", True,
     "--models cnn --set cnn.freq_mask=8 --set cnn.time_mask=12"),
    ("cnn without the speed rows", cnn(), "mel", False, "--models cnn --no-augmented"),
]
VOTE = ("cnn-fnn soft vote (the fnn and cnn rows' fits)", "--models cnn-fnn")


def main() -> None:
    a = parse_args(__doc__, "/tmp/urbansound-real-cnn")
    r = featurized(a, tuple(DEFAULT_AUGMENT))
    recorded, source, own, y = r.recorded, r.source, r.own, r.y
    inputs = {spec: r.inputs(spec) for spec in ("all", "mel", "all+mel")}
    protocols = {"official": make_folds(recorded, "official").splits,
                 "grouped": make_folds(recorded, "grouped", n_splits=5).splits}

    def fit(make: Callable, X: np.ndarray, augmented: bool, train: np.ndarray, test: np.ndarray):
        rows = training_rows(train, source, len(source)) if augmented else own[train]
        started = time.perf_counter()
        model = make().fit(X[rows], y[source[rows]])
        seconds = time.perf_counter() - started
        return model.predict_proba(X[own[test]]), model.predict_proba(X[own[train]]), list(model.classes_), seconds

    def accuracy(p: np.ndarray, classes: list[str], truth: np.ndarray) -> float:
        return float(np.mean(np.asarray(classes)[p.argmax(axis=1)] == truth))

    def cell(results: list, splits: list) -> str:
        test = [accuracy(res[0], res[2], y[te]) for res, (_, te) in zip(results, splits)]
        train = [accuracy(res[1], res[2], y[tr]) for res, (tr, _) in zip(results, splits)]
        return f"{np.mean(test):.3f} +- {np.std(test):.3f} ({np.mean(train):.2f})"

    header = "| recipe | " + " | ".join(f"{p} (train) | fit s" for p in protocols) + " | train flags |"
    rule = "|---|" + "---|---|" * len(protocols) + "---|"
    kept: dict[tuple[str, str], list] = {}

    def table(recipes: list) -> None:
        for label, make, name, augmented, flags in recipes:
            cells = []
            for proto, splits in protocols.items():
                out = Parallel(n_jobs=a.workers)(delayed(fit)(make, inputs[name], augmented, tr, te) for tr, te in splits)
                kept[(label, proto)] = out
                cells += [cell(out, splits), f"{sum(o[3] for o in out):.0f}"]
            print(f"| {label} | " + " | ".join(cells) + f" | `{flags}` |", flush=True)

    print(header + "\n" + rule, flush=True)
    table(RECIPES)
    cells = []
    for proto, splits in protocols.items():
        fnn, net = kept[(FNN, proto)], kept[(CNN, proto)]
        vote = [((f[0] + c[0]) / 2, (f[1] + c[1]) / 2, f[2], f[3] + c[3]) for f, c in zip(fnn, net)]
        assert all(f[2] == c[2] for f, c in zip(fnn, net))
        cells += [cell(vote, splits), f"{sum(v[3] for v in vote):.0f}"]
    print(f"| {VOTE[0]} | " + " | ".join(cells) + f" | `{VOTE[1]}` |", flush=True)

    # the learning curve: grouped splits, each training side cut to a share of its recordings
    splits = protocols["grouped"]
    recordings = recorded["recording"].to_numpy()
    sides = {(s, k): subsample(splits[k][0], recordings, y, s, seed=k) for s in SHARES for k in range(len(splits))}
    sizes = {s: np.mean([len(sides[(s, k)]) for k in range(len(splits))]) for s in SHARES}
    print("\n| recipe | " + " | ".join(f"{s:.0%} of recordings: {sizes[s]:.0f} clips" for s in SHARES)
          + " | points per doubling |")
    print("|---|" + "---|" * len(SHARES) + "---|", flush=True)
    curves: dict[str, dict] = {}
    for label, make, name, augmented, _ in RECIPES:
        jobs = [(s, k) for s in SHARES for k in range(len(splits)) if s < 1]
        out = dict(zip(jobs, Parallel(n_jobs=a.workers)(
            delayed(fit)(make, inputs[name], augmented, sides[j], splits[j[1]][1]) for j in jobs)))
        out.update({(1.0, k): res for k, res in enumerate(kept[(label, "grouped")])})
        curves[label] = out
    fnn, net = curves[FNN], curves[CNN]
    curves[VOTE[0]] = {j: ((fnn[j][0] + net[j][0]) / 2,) + fnn[j][1:] for j in fnn}
    for label, out in curves.items():
        accs = {j: accuracy(res[0], res[2], y[splits[j[1]][1]]) for j, res in out.items()}
        cells = [f"{np.mean([accs[(s, k)] for k in range(len(splits))]):.3f}" for s in SHARES]
        slope = np.polyfit([np.log2(len(sides[j])) for j in accs], list(accs.values()), 1)[0]
        print(f"| {label} | " + " | ".join(cells) + f" | {100 * slope:+.1f} |", flush=True)

    print("\n" + header + "\n" + rule, flush=True)
    table(AUGMENTED)


if __name__ == "__main__":
    main()
