"""Learning curve on real clips: how the default's accuracy grows with the training side.

The development set trains on at most 1,020 clips per split; the project is judged leaving
one fold out of all ten, about 7,900 training clips per split. This script measures what
it can of that gap: under stratified 5-fold grouped by recording (seed 0, as ``train
--cv grouped`` splits), each split's training side is cut to a share of its recordings
(drawn per class, so every class keeps at least one; three draws per share below 100%), the models
are fitted on what is left (and, for the recipes that use them, the augmented rows of
those clips only) and scored on the whole test side, clips as recorded. It prints one
Markdown table (accuracy mean +- std over splits and draws, per share) and, per recipe,
the least-squares slope of accuracy against log2 of the training clips: points gained per
doubling of the training side on these clips. A line through five shares of one small
set is a rough guide, not a measurement of the full dataset.

    .venv/bin/python ../shared/realdata/us8k_dev/materialize.py data/raw/us8k-dev
    .venv/bin/python benchmarks/real_learning_curve.py [--data data/raw/us8k-dev] [--workspace /tmp/w]

Featurizes once with the default recipe's augmentation (about a minute), then fits
7 recipes x 5 splits x 13 training sides: about 3 minutes on two cores for the first six (2026-12-02); skm-fnn costs about ten times the fnn.
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

from urbansound.evaluation import make_folds, training_rows  # noqa: E402
from urbansound.models import InputShape, make_model  # noqa: E402
from urbansound.settings import DEFAULT_AUGMENT, FeatureSettings  # noqa: E402

SHARES = (0.25, 0.35, 0.5, 0.7, 1.0)
DRAWS = 3  # subsamples per share below 1
SHAPE = InputShape.of(FeatureSettings())  # the default table's image shape, for skm-fnn
FULL_TRAINING_CLIPS = 7859  # 9 of UrbanSound8K's 10 folds: 8732 * 0.9


def old_fnn():
    """The first default's network (benchmarks/real_accuracy.py's OLD_FNN)."""
    return make_model("fnn").set_params(hidden="64", lam=1e-4, epochs=200, early_stopping=True)


# recipe: (label, model factory, feature set, fitted on the augmented rows too)
RECIPES: list[tuple[str, Callable, tuple[str, ...], bool]] = [
    ("old default (fnn as first shipped, time+fft+mfcc, no augmentation)", old_fnn, "time+fft+mfcc", False),
    ("logreg, all, speed rows", lambda: make_model("logreg"), "all", True),
    ("new default (fnn, all, speed rows)", lambda: make_model("fnn"), "all", True),
    ("skm-fnn (the default since 2026-12-06: fnn on all + spherical k-means codes of the log-mel images)",
     lambda: make_model("skm-fnn", shape=SHAPE), "all+mel", True),
    ("new default, L2 1e-3 (`--set fnn.lam=1e-3`)", lambda: make_model("fnn").set_params(lam=1e-3), "all", True),
    ("new default, 256 units (`--set fnn.hidden=256`)", lambda: make_model("fnn").set_params(hidden="256"), "all", True),
    ("new default, 128+128 units (`--set fnn.hidden=128,128`)", lambda: make_model("fnn").set_params(hidden="128+128"),
     "all", True),
]


def subsample(train: np.ndarray, recordings: np.ndarray, labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """The training clips of a random ``share`` of each class's recordings (at least one)."""
    if share >= 1:
        return train
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels[train]):
        pool = np.unique(recordings[train][labels[train] == label])
        keep.extend(rng.choice(pool, size=max(1, round(share * len(pool))), replace=False))
    return train[np.isin(recordings[train], keep)]


def main() -> None:
    a = parse_args(__doc__, "/tmp/urbansound-real-learning-curve")
    r = featurized(a, tuple(DEFAULT_AUGMENT))
    recorded, source, own, y = r.recorded, r.source, r.own, r.y
    recordings = recorded["recording"].to_numpy()
    splits = make_folds(recorded, "grouped", n_splits=5).splits

    def fit_score(make: Callable, X: np.ndarray, augmented: bool, train: np.ndarray, test: np.ndarray):
        fit_rows = training_rows(train, source, len(source)) if augmented else own[train]
        started = time.perf_counter()
        model = make().fit(X[fit_rows], y[source[fit_rows]])
        fitted = time.perf_counter() - started
        return (np.mean(model.predict(X[own[test]]) == y[test]),
                np.mean(model.predict(X[own[train]]) == y[train]), fitted)

    jobs = [(share, draw, k) for share in SHARES for draw in (range(DRAWS) if share < 1 else [0])
            for k in range(len(splits))]
    sides = {job: subsample(splits[job[2]][0], recordings, y, job[0], seed=1000 * job[1] + job[2]) for job in jobs}
    sizes = {share: np.mean([len(sides[j]) for j in jobs if j[0] == share]) for share in SHARES}
    print("| recipe | " + " | ".join(f"{share:.0%} of recordings: {sizes[share]:.0f} clips (train)" for share in SHARES)
          + " | points per doubling | fit s |")
    print("|---|" + "---|" * len(SHARES) + "---|---|", flush=True)
    for label, make, feature_set, augmented in RECIPES:
        X = r.inputs(feature_set)
        out = dict(zip(jobs, Parallel(n_jobs=a.workers)(
            delayed(fit_score)(make, X, augmented, sides[j], splits[j[2]][1]) for j in jobs)))
        cells, xs, accs = [], [], []
        for share in SHARES:
            got = [out[j] for j in jobs if j[0] == share]
            test = np.array([g[0] for g in got])
            cells.append(f"{test.mean():.3f} +- {test.std():.3f} ({np.mean([g[1] for g in got]):.2f})")
            xs.extend(np.log2(len(sides[j])) for j in jobs if j[0] == share)
            accs.extend(test)
        slope = np.polyfit(xs, accs, 1)[0]
        fitting = sum(o[2] for o in out.values())
        print(f"| {label} | " + " | ".join(cells) + f" | {100 * slope:+.1f} | {fitting:.0f} |", flush=True)
    print(f"\nA log-linear line through these points would reach the full dataset's {FULL_TRAINING_CLIPS} "
          f"training clips after {np.log2(FULL_TRAINING_CLIPS / sizes[1.0]):.1f} more doublings.")


if __name__ == "__main__":
    main()
