"""The default recipe on real clips at their original lengths, beside the looped 4 s copies.

The development set's clips were re-encoded by a public project to 4.0 s: a shorter
clip (217 of the 1275) was looped to fill them. UrbanSound8K as published, and the
Analytics Vidhya problem, serve every clip at its own length (0.05 to 4 s). This script
cuts each looped clip back to its duration in the metadata (``end - start``; the loop
starts with the clip itself), featurizes both copies with the default augmentation and
scores the default as ``urbansound train`` does, under the official folds and grouped
5-fold: accuracy mean +- std over folds, and the share of short and of full-length clips
classified right. It answers whether the default, chosen on looped clips, holds on clips
as the judged data may serve them.

    .venv/bin/python ../shared/realdata/us8k_dev/materialize.py data/raw/us8k-dev
    .venv/bin/python benchmarks/real_original_length.py [--data data/raw/us8k-dev] [--workspace /tmp/w]

About 3 minutes on two cores (2026-12-02).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _realrows import featurized, parse_args  # noqa: E402

from urbansound.evaluation import make_folds, training_rows  # noqa: E402
from urbansound.models import make_model  # noqa: E402
from urbansound.settings import DEFAULT_AUGMENT  # noqa: E402

FULL = 3.99  # seconds: a clip at least this long was not looped


def cut_to_original(data: Path, meta: pd.DataFrame, out: Path) -> int:
    """Copy the UrbanSound8K folder ``data`` (its metadata rows ``meta``) to ``out``, each clip
    shorter than 4 s in the metadata cut back to that length; returns how many were cut."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "metadata").mkdir(parents=True)
    shutil.copy(data / "metadata" / "UrbanSound8K.csv", out / "metadata")
    cut = 0
    for r in meta.itertuples():
        src = data / "audio" / f"fold{r.fold}" / r.slice_file_name
        if not src.exists():
            continue
        dst = out / "audio" / f"fold{r.fold}" / r.slice_file_name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if r.end - r.start < FULL:
            y, sr = sf.read(src, always_2d=True)
            sf.write(dst, y[: max(1, round((r.end - r.start) * sr))], sr, subtype="PCM_16")
            cut += 1
        else:
            shutil.copy(src, dst)
    return cut


def main() -> None:
    a = parse_args(__doc__, "/tmp/urbansound-real-original-length")
    meta = pd.read_csv(a.data / "metadata" / "UrbanSound8K.csv")
    duration = (meta["end"] - meta["start"]).set_axis(meta["slice_file_name"])
    original = a.workspace / f"{a.data.resolve().name}-original-length"
    print(f"{cut_to_original(a.data, meta, original)} clips cut back to their original length in {original}",
          file=sys.stderr, flush=True)
    copies = []
    for label, data in (("looped to 4 s (as the development set holds them)", a.data),
                        ("original length (as UrbanSound8K and AV serve them)", original)):
        a.data = data
        copies.append((label, featurized(a, tuple(DEFAULT_AUGMENT))))
    print("| clips | protocol | accuracy | short clips right | 4 s clips right |\n|---|---|---|---|---|")
    for label, r in copies:
        _, X = r.matrix()
        short = (r.recorded["path"].map(lambda p: duration[Path(p).name]) < FULL).to_numpy()

        def fold(train: np.ndarray, test: np.ndarray, r=r, X=X) -> tuple[np.ndarray, np.ndarray]:
            fit = training_rows(train, r.source, len(r.source))
            return test, make_model("fnn").fit(X[fit], r.y[r.source[fit]]).predict(X[r.own[test]])

        for protocol in ("official", "grouped"):
            right = np.zeros(len(r.y), bool)
            accuracy = []
            for test, predicted in Parallel(n_jobs=a.workers)(
                    delayed(fold)(train, test) for train, test in make_folds(r.recorded, protocol, n_splits=5).splits):
                right[test] = predicted == r.y[test]
                accuracy.append(right[test].mean())
            print(f"| {label} | {protocol} | {np.mean(accuracy):.3f} +- {np.std(accuracy):.3f} | "
                  f"{right[short].mean():.3f} of {short.sum()} | {right[~short].mean():.3f} of {(~short).sum()} |",
                  flush=True)


if __name__ == "__main__":
    main()
