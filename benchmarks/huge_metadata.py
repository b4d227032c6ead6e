"""How fast a dataset whose metadata lists 100,000 clips, of which 5 exist, is refused.

Issue 25: such a CSV must fail in seconds, before any cluster starts or any clip is
decoded. Both layouts are built in a temporary folder (the metadata and five tiny WAVs);
each refusal is timed as a user meets it: ``read_dataset`` (what every stage calls
first) and ``urbansound validate --no-audio-check``. Prints seconds per reading.

    .venv/bin/python benchmarks/huge_metadata.py
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from urbansound.cli import main as cli
from urbansound.datasets import read_dataset
from urbansound.exceptions import DatasetError

N = 100_000
CLASSES = ["air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling",
           "engine_idling", "gun_shot", "jackhammer", "siren", "street_music"]


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, 0.1 * np.sin(np.arange(800) / 8000 * 2 * np.pi * 440), 8000, subtype="PCM_16")


def av(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "train.csv").write_text("ID,Class\n" + "".join(f"{i},{CLASSES[i % 10]}\n" for i in range(N)))
    (root / "test.csv").write_text("ID\n")
    (root / "Test").mkdir()
    for i in range(5):
        _wav(root / "Train" / f"{i}.wav")
    return root


def us8k(root: Path) -> Path:
    rows = [(f"{i}-{i % 10}-0-0.wav", i, 0, 4, 1, i % 10 + 1, i % 10, CLASSES[i % 10]) for i in range(N)]
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "UrbanSound8K.csv").write_text(
        "slice_file_name,fsID,start,end,salience,fold,classID,class\n"
        + "".join(",".join(map(str, r)) + "\n" for r in rows))
    for r in rows[:5]:
        _wav(root / "audio" / f"fold{r[5]}" / r[0])
    return root


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in (("av", av), ("urbansound8k", us8k)):
            root = build(Path(tmp) / name)
            start = time.perf_counter()
            try:
                read_dataset(root)
                raise SystemExit(f"{name}: read_dataset accepted {N} rows with 5 files")
            except DatasetError:
                read_s = time.perf_counter() - start
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                code = cli(["validate", str(root), "--no-audio-check"])
            validate_s = time.perf_counter() - start
            print(f"{name}: {N} rows, 5 files: read_dataset refused in {read_s:.2f} s; "
                  f"validate exit {code} in {validate_s:.2f} s")


if __name__ == "__main__":
    main()
