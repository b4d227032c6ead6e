"""What a user must know about their data before trusting a result, said once, in one block.

Pure functions over the clip table (``label``, ``split``, ``fold``, ``recording``), the
folds a CV used and the predictions of a submission; ``validate``, ``train`` and
``submit`` print what they return under one heading (:func:`block`). Warnings raised by
libraries while fitting (on the Dask workers too) are caught where they happen
(:func:`caught`) and summarised here once, with how often each came.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pandas as pd

from urbansound.settings import CLASSES

DOMINANT_SHARE = 0.5
"""A submission whose most predicted class takes more than this share of the test clips
(and more than twice its share of the training clips) is flagged."""


def class_warnings(train: pd.DataFrame, n_folds: int | None) -> list[str]:
    """Classes missing from the training clips, and classes with fewer clips (or, where
    known, recordings) than ``n_folds``."""
    labels = train["label"].dropna().astype(str)
    out = []
    absent = [c for c in CLASSES if c not in set(labels)]
    if absent:
        out.append(f"{len(absent)} class(es) have no training clip, so no model can ever predict them: "
                   f"{', '.join(absent)}")
    if n_folds and n_folds > 1 and len(labels):
        per_class = labels.value_counts()
        unit = "clip(s)"
        if "recording" in train and train["recording"].notna().all():
            per_class = train.assign(label=labels).groupby("label")["recording"].nunique()
            unit = "recording(s)"
        few = per_class[per_class < n_folds].sort_values()
        if len(few):
            listed = ", ".join(f"{c} ({n})" for c, n in few.items())
            out.append(f"{len(few)} class(es) have fewer training {unit} than the {n_folds} folds, so some folds "
                       f"test none of them and their accuracy rests on a few clips: {listed}")
    return out


def fold_warnings(listed: pd.DataFrame, present: pd.DataFrame) -> list[str]:
    """Official folds that the metadata lists but that hold no usable clip (all missing or
    failed): leave-one-fold-out skips them."""
    if "fold" not in listed or not listed["fold"].notna().any():
        return []
    folds = sorted(int(f) for f in listed["fold"].dropna().unique())
    have = set(int(f) for f in present["fold"].dropna().unique()) if "fold" in present else set()
    empty = [f for f in folds if f not in have]
    if not empty:
        return []
    return [f"{len(empty)} official fold(s) listed in the metadata hold no usable clip (audio missing or "
            f"undecodable): fold {', '.join(map(str, empty))}; leave-one-fold-out runs on the others"]


def reduced_folds_warning(protocol: str, asked: int, got: int, why: str) -> list[str]:
    """Say so when a CV ran on fewer folds than asked."""
    if protocol in ("grouped", "kfold") and got < asked:
        return [f"--n-splits {asked} asked, {got} folds run: {why}"]
    return []


def prediction_warnings(pred: Iterable[str], train_labels: Iterable[str]) -> list[str]:
    """A submission dominated by one class (see :data:`DOMINANT_SHARE`)."""
    pred = pd.Series(list(pred), dtype=object)
    if pred.empty:
        return []
    share = pred.value_counts(normalize=True)
    top, p = str(share.index[0]), float(share.iloc[0])
    prior = pd.Series(list(train_labels), dtype=object).value_counts(normalize=True).get(top, 0.0)
    if p > DOMINANT_SHARE and p > 2 * prior:
        return [f"{p:.0%} of the test clips are predicted {top} (it is {prior:.0%} of the training clips): the "
                "model has collapsed onto one class; check the CV accuracy and the training data before submitting"]
    return []


@contextmanager
def caught() -> Iterator[list[str]]:
    """Record the warnings raised inside (by any library) instead of printing them; the
    list holds ``"Category: message"`` per warning."""
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            yield seen
        finally:
            seen.extend(f"{r.category.__name__}: {str(r.message).strip()}" for r in records)


def summarise(messages: Iterable[str], limit: int = 8) -> list[str]:
    """Library warnings, each once with how often it came (most frequent first)."""
    counts = Counter(messages)
    lines = [f"{n}x {m}" if n > 1 else m for m, n in counts.most_common(limit)]
    if len(counts) > limit:
        lines.append(f"... and {len(counts) - limit} other warning(s)")
    return lines


def block(lines: list[str], library: list[str] | None = None) -> str:
    """One readable block: what the user must know, then the library warnings summarised."""
    if not lines and not library:
        return ""
    out = ["warnings:"] + [f"  - {w}" for w in lines]
    if library:
        out.append("  - warnings from the libraries while fitting (each once, with its count):")
        out += [f"      {w}" for w in library]
    return "\n".join(out)
