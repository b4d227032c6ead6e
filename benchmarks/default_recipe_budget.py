"""Time budgets of the default recipe on a dataset of UrbanSound8K's size.

The budgets, for 8732 clips of real length on two cores: featurize with the default
augmentation in at most 3 minutes and leave-one-fold-out cross-validation of the default
model in at most 10 minutes (issue 12, set for the fnn); the whole of featurize, CV and
refit in at most 45 minutes (issue 23, for a default that learns from the spectrogram). Real audio of that size is not on this machine, so the
clips are synthetic in the UrbanSound8K layout (``urbansound synth``: ten folds, the real
format mix and length distribution, 0.05 to 4 s); only the times are read off them, never
an accuracy.

    .venv/bin/python benchmarks/default_recipe_budget.py [--clips-per-class 1000] [--root /tmp/ub]

Generating the clips (about 7 GB at 1000 per class) is not timed. Each stage runs as a user
runs it (``urbansound featurize``, ``urbansound train``, with their defaults but the cluster
options), in one run; the wall time includes starting the local cluster.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from urbansound.settings import DEFAULT_AUGMENT, TrainSettings

FEATURIZE_BUDGET_S, TRAIN_BUDGET_S, WHOLE_BUDGET_S = 180.0, 600.0, 2700.0


def _run(args: list[str]) -> float:
    cli = str(Path(sys.executable).with_name("urbansound"))
    start = time.perf_counter()
    done = subprocess.run([cli, *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed: urbansound {' '.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips-per-class", type=int, default=1000, help="1000 gives 8727 clips (UrbanSound8K: 8732)")
    p.add_argument("--root", type=Path, default=Path("/tmp/urbansound-budget"))
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    data = a.root / "raw" / f"synthetic-us8k-{a.clips_per_class}"
    if not (data / "metadata" / "UrbanSound8K.csv").is_file():
        print(f"writing {data} (not timed) ...", flush=True)
        _run(["synth", str(data), "--layout", "urbansound8k", "--clips-per-class", str(a.clips_per_class), "--force"])
    cluster = ["--workers", str(a.workers), "--dashboard-address", ":0"]
    ws = a.root / "workspace"
    features = ws / "features" / data.name
    shutil.rmtree(features, ignore_errors=True)  # featurize is incremental: time a table built from nothing
    featurize_s = _run(["featurize", str(data), "--workspace", str(ws), "--augment", ",".join(DEFAULT_AUGMENT),
                        *cluster])
    manifest = json.loads((features / "_manifest.json").read_text())
    train_s = _run(["train", str(features), "--workspace", str(ws), "--cv", "official", *cluster])
    cv = json.loads((ws / "reports" / data.name / "cv.json").read_text())
    fit_s = sum(e["seconds"] for e in cv["entries"])
    d = TrainSettings()
    print(f"clips: {manifest['clips']} (+ {manifest['augmented_rows']} augmented rows, {', '.join(DEFAULT_AUGMENT)}); "
          f"{len(cv['entries'])} candidate(s) {','.join(d.models)} on {','.join(d.feature_sets)}, {cv['note']}")
    print(f"featurize with augmentation: {featurize_s:.1f} s wall (budget {FEATURIZE_BUDGET_S:.0f} s): "
          f"{'met' if featurize_s <= FEATURIZE_BUDGET_S else 'NOT met'}")
    print(f"train (CV + refit + save): {train_s:.1f} s wall, {fit_s:.1f} s of fitting summed over folds "
          f"(budget {TRAIN_BUDGET_S:.0f} s): {'met' if train_s <= TRAIN_BUDGET_S else 'NOT met'}")
    whole = featurize_s + train_s
    print(f"featurize + train: {whole:.1f} s wall (budget {WHOLE_BUDGET_S:.0f} s): "
          f"{'met' if whole <= WHOLE_BUDGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
