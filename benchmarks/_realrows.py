"""What the in-process benchmarks on real clips share: their arguments, one featurize run
through the CLI, and the table's rows with each row's source clip."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from real_accuracy import _run  # the same subprocess runner
from urbansound import table
from urbansound.training import feature_columns


@dataclass
class RealRows:
    """The feature table, every row; ``recorded`` its clips as recorded, in order."""

    rows: pd.DataFrame
    as_recorded: np.ndarray  # bool per row
    recorded: pd.DataFrame
    source: np.ndarray  # per row: the row of ``recorded`` it was made from
    own: np.ndarray  # per clip of ``recorded``: its own row of ``rows``
    y: np.ndarray  # label per clip of ``recorded``
    features: Path

    def matrix(self, feature_set: str = "all") -> tuple[list[str], np.ndarray]:
        """Columns of ``feature_set`` (as ``train --feature-sets`` names them) and every row's values."""
        columns = feature_columns(self.rows, feature_set)
        return columns, self.rows[columns].to_numpy(np.float32)

    def inputs(self, spec: str) -> np.ndarray:
        """A model's input: a feature set's columns (``all``, ``mfcc``, ...), the log-mel
        images (``mel``), or a feature set's columns with the images after them
        (``all+mel``, what ``skm-fnn`` and ``cnn-fnn`` are given)."""
        if spec == "mel":
            return self.mels()
        if spec.endswith("+mel"):
            return np.hstack([self.matrix(spec[:-4])[1], self.mels().astype(np.float32)])
        return self.matrix(spec)[1]

    def mels(self) -> np.ndarray:
        """Every row's log-mel image (the cnn's input, float16), in the order of ``rows``."""
        keys = [table.mel_key(c, aug) for c, aug in zip(self.rows["clip_id"], self.rows["augmentation"])]
        return table.read_mels(self.features, keys)


def parse_args(doc: str, workspace: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("data/raw/us8k-dev"))
    p.add_argument("--workspace", type=Path, default=Path(workspace))
    p.add_argument("--workers", type=int, default=2)
    return p.parse_args()


def featurized(a: argparse.Namespace, augment: tuple[str, ...]) -> RealRows:
    """``urbansound featurize`` the dataset with these augmentations (a no-op when the table
    is already there with the same settings), then read every row."""
    features = a.workspace / "features" / a.data.resolve().name
    seconds = _run(["featurize", str(a.data), "--workspace", str(a.workspace), "--augment", ",".join(augment),
                    "--workers", str(a.workers), "--dashboard-address", ":0"])
    print(f"featurize {a.data} --augment {','.join(augment)}: {seconds:.1f} s (wall)\n")
    rows = table.read_features(features, augmented=True)
    as_recorded = rows["augmentation"].isna().to_numpy()
    recorded = rows[as_recorded].reset_index(drop=True)
    index = {c: i for i, c in enumerate(recorded["clip_id"])}
    return RealRows(rows, as_recorded, recorded, rows["clip_id"].map(index).to_numpy(), np.flatnonzero(as_recorded),
                    recorded["label"].to_numpy(), features)
