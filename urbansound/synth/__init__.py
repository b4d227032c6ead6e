"""A deterministic synthetic dataset in either real layout.

Each class has an acoustic signature of its own (a siren sweeps, a jackhammer pulses at
10-20 Hz, a gun shot is an impulse with a decaying tail, an engine idles as a low
periodic rumble, ...). Clips are cut from synthetic *recordings*: the slices of one
recording share its parameters (pitch, rate, background), so that, as in the real data,
a random split of slices leaks across folds. Background noise, volume changes and quiet
events of other classes keep the task from being trivially separable.

Same arguments, same bytes: every clip draws from its own seeded generator.

:func:`write_dataset` (here) writes a dataset in one of the two layouts with its metadata
CSVs; :mod:`urbansound.synth.files` plans the clips (class balance, recordings, folds,
formats) and writes one clip's file; :mod:`urbansound.synth.sounds` holds the class
signals and :func:`render`.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from urbansound.cluster import usable_cores
from urbansound.progress import Tick
from urbansound.settings import CLASSES
from urbansound.synth.files import (
    FOREGROUND_SHARE,
    RATE_MIX,
    REAL_CLASS_SHARE,
    SHORT_SHARE,
    STEREO_SHARE,
    SUBTYPE_MIX,
    _write_clip,
    plan,
)
from urbansound.synth.sounds import CLIP_SECONDS, DEFAULT_SNR_DB, GENERATORS, SR, Clip, Gen, Rng, render

log = logging.getLogger(__name__)

AV_TRAIN_SHARE = 5435 / 8732  # the real AV train/test proportion

__all__ = [
    "AV_TRAIN_SHARE", "CLIP_SECONDS", "DEFAULT_SNR_DB", "FOREGROUND_SHARE", "GENERATORS", "RATE_MIX",
    "REAL_CLASS_SHARE", "SHORT_SHARE", "SR", "STEREO_SHARE", "SUBTYPE_MIX", "Clip", "Gen", "Rng", "plan",
    "render", "write_dataset",
]


def write_dataset(out: Path, *, layout: str = "av", clips_per_class: int = 40, seed: int = 0,
                  snr_db: float = DEFAULT_SNR_DB, formats: str = "real", jobs: int | None = None,
                  on_clip: Tick | None = None) -> pd.DataFrame:
    """Write a synthetic dataset and its metadata.

    Parameters
    ----------
    out : Path
        Destination folder (created; existing files with the same names are overwritten).
    layout : {"av", "urbansound8k"}
        Which real layout to imitate.
    clips_per_class : int
        Clips of each of the common classes; rarer classes get fewer, as in the real data.
    seed : int
        Same arguments, same bytes (whatever ``jobs``).
    snr_db : float
        Difficulty: lower is harder (see :func:`render`).
    formats : {"real", "simple"}
        File formats (see :func:`plan`).
    jobs : int, optional
        Processes writing clips (default: one per usable core).
    on_clip : callable, optional
        A :data:`urbansound.progress.Tick`: told the number of clips, then each clip written.

    Returns
    -------
    pd.DataFrame
        One row per clip written: ``file`` (relative to ``out``), ``label, recording,
        slice, fold, seconds, sr, subtype, channels, salience``.
    """
    out = Path(out)
    if layout not in ("av", "urbansound8k"):
        raise ValueError(f"unknown layout {layout!r}; use 'av' or 'urbansound8k'")
    from urbansound.settings import LIMITS, TrainSettings, field_range

    LIMITS["clips_per_class"].check("clips_per_class", clips_per_class)
    LIMITS["snr_db"].check("snr_db", snr_db)
    field_range(TrainSettings, "seed").check("seed", seed)
    if jobs is not None:
        LIMITS["jobs"].check("jobs", jobs)
    clips = plan(clips_per_class, seed=seed, formats=formats)
    if layout == "urbansound8k":
        files = [f"audio/fold{c.fold}/{c.recording}-{CLASSES.index(c.label)}-0-{c.slice}.wav" for c in clips]
        meta = pd.DataFrame({
            "slice_file_name": [f.rsplit("/", 1)[1] for f in files],
            "fsID": [c.recording for c in clips],
            "start": [c.slice * CLIP_SECONDS for c in clips],
            "end": [c.slice * CLIP_SECONDS + c.seconds for c in clips],
            "salience": [c.salience for c in clips],
            "fold": [c.fold for c in clips],
            "classID": [CLASSES.index(c.label) for c in clips],
            "class": [c.label for c in clips],
        })
        (out / "metadata").mkdir(parents=True, exist_ok=True)
        meta.to_csv(out / "metadata" / "UrbanSound8K.csv", index=False)
    else:
        rng = np.random.default_rng([seed, 0xA7])
        ids = rng.permutation(len(clips))
        is_train = rng.random(len(clips)) < AV_TRAIN_SHARE
        files = [f"{'Train' if t else 'Test'}/{i}.wav" for i, t in zip(ids, is_train)]
        meta = pd.DataFrame({"ID": ids, "Class": [c.label for c in clips], "train": is_train}).sort_values("ID")
        out.mkdir(parents=True, exist_ok=True)
        meta[meta["train"]][["ID", "Class"]].to_csv(out / "train.csv", index=False)  # sorted by ID, as the real ones
        meta[~meta["train"]][["ID"]].to_csv(out / "test.csv", index=False)
    work = [(c, out / f, seed, snr_db) for c, f in zip(clips, files)]
    jobs = jobs or usable_cores()
    tick = on_clip or (lambda *a, **k: None)
    tick(0, total=len(work))
    if jobs > 1 and len(work) > 50:
        with ProcessPoolExecutor(jobs) as pool:
            for _ in pool.map(_write_clip, work, chunksize=16):
                tick()
    else:
        for item in work:
            _write_clip(item)
            tick()
    log.debug("wrote %d clips (%s layout) to %s", len(clips), layout, out)
    return pd.DataFrame({"file": files, **{k: [getattr(c, k) for c in clips] for k in (
        "label", "recording", "slice", "fold", "seconds", "sr", "subtype", "channels", "salience")}})
