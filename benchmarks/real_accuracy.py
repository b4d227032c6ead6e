"""Accuracy on real clips: the evidence table behind the default recipe.

Runs the project's own commands on a real UrbanSound8K-layout dataset (by default the
development set, ``data/raw/us8k-dev``: see ``../shared/realdata/us8k_dev/README.md``) and
prints one Markdown table: each recipe under the official folds (leave one fold out) and
grouped by recording (stratified 5-fold, seed 0), mean +- std over folds, train accuracy
beside validation accuracy, and the fitting time summed over folds. Every row names the
``urbansound train`` command that reproduces it; the table is featurized once with the
default recipe's augmentation, and ``--no-augmented`` leaves those rows out.

    .venv/bin/python ../shared/realdata/us8k_dev/materialize.py data/raw/us8k-dev
    .venv/bin/python benchmarks/real_accuracy.py [--data data/raw/us8k-dev] [--workspace /tmp/ws]

Takes about 15 minutes on two cores for the development set's 1275 clips.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from urbansound.settings import DEFAULT_AUGMENT

# the first default's network (before the tuning), by --set: every row reproducible from the CLI
OLD_FNN = ["--set", "fnn.hidden=64", "--set", "fnn.lam=1e-4", "--set", "fnn.epochs=200", "--set",
           "fnn.early_stopping=true"]
ROWS: list[tuple[str, list[str]]] = [
    ("old default", ["--models", "fnn,logreg", "--feature-sets", "time+fft+mfcc", "--no-augmented", *OLD_FNN]),
    ("+ pcen_* features only", ["--models", "fnn,logreg", "--feature-sets", "all", "--no-augmented", *OLD_FNN]),
    ("+ speed augmentation only", ["--models", "fnn,logreg", "--feature-sets", "time+fft+mfcc", *OLD_FNN]),
    ("+ tuned fnn only", ["--models", "fnn", "--feature-sets", "time+fft+mfcc", "--no-augmented"]),
    ("new default (all three)", []),
    ("soft vote logreg + tuned fnn", ["--models", "vote"]),
    ("rnn on MFCC frames + deviation channels", ["--models", "rnn"]),
]
PROTOCOLS = (("official", ["--cv", "official"]), ("grouped 5-fold", ["--cv", "grouped", "--n-splits", "5"]))


def _cli() -> list[str]:
    return [str(Path(sys.executable).with_name("urbansound"))]


def _run(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(_cli() + args, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed: urbansound {shlex.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("data/raw/us8k-dev"))
    p.add_argument("--workspace", type=Path, default=Path("/tmp/urbansound-real-accuracy"))
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    name = a.data.resolve().name
    features = a.workspace / "features" / name
    cluster = ["--workers", str(a.workers), "--dashboard-address", ":0"]
    seconds = _run(["featurize", str(a.data), "--workspace", str(a.workspace), "--augment", ",".join(DEFAULT_AUGMENT),
                    *cluster])
    manifest = json.loads((features / "_manifest.json").read_text())
    print(f"featurize {a.data} --augment {','.join(DEFAULT_AUGMENT)}: {manifest['clips']} clips + "
          f"{manifest['augmented_rows']} augmented rows in {seconds:.1f} s (wall, incl. cluster start)\n")
    print("| recipe | model | features | " + " | ".join(f"{p} (train) | fit s" for p, _ in PROTOCOLS)
          + " | command (add --cv ...) |")
    print("|---|---|---|" + "---|---|" * len(PROTOCOLS) + "---|")
    for label, args in ROWS:
        results = []
        for _, proto in PROTOCOLS:
            _run(["train", str(features), "--workspace", str(a.workspace), *proto, *args, *cluster])
            cv = json.loads((a.workspace / "reports" / name / "cv.json").read_text())
            results.append({(e["model"], e["feature_set"]): e for e in cv["entries"]})
        command = shlex.join(["urbansound", "train", str(features), *args])
        for key in results[0]:
            cells = [f"{r[key]['mean']:.3f} +- {r[key]['std']:.3f} ({r[key]['train_mean']:.2f}) | {r[key]['seconds']:.0f}"
                     for r in results]
            print(f"| {label} | {key[0]} | {key[1]} | " + " | ".join(cells) + f" | `{command}` |", flush=True)


if __name__ == "__main__":
    main()
