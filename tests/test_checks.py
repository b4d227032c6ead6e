"""What validate, train and submit warn about, in one block (urbansound.checks)."""

from __future__ import annotations

import warnings

import pandas as pd

from urbansound import checks
from urbansound.settings import CLASSES


def _clips(counts: dict[str, int], *, folds: int | None = None, recordings_per_class: int | None = None) -> pd.DataFrame:
    rows = []
    for label, n in counts.items():
        for i in range(n):
            rows.append({"label": label, "split": "train", "fold": (i % folds) + 1 if folds else None,
                         "recording": f"{label}-{i % (recordings_per_class or n)}"})
    return pd.DataFrame(rows)


def test_missing_classes_and_classes_rarer_than_the_folds_are_named():
    counts = {c: 10 for c in CLASSES[:8]} | {CLASSES[8]: 3}
    said = checks.class_warnings(_clips(counts), n_folds=5)
    assert len(said) == 2
    assert "1 class(es) have no training clip" in said[0] and CLASSES[9] in said[0]
    assert "fewer training recording(s) than the 5 folds" in said[1] and f"{CLASSES[8]} (3)" in said[1]
    # recordings, not clips, are what a grouped split spreads over folds
    said = checks.class_warnings(_clips({c: 10 for c in CLASSES}, recordings_per_class=2), n_folds=5)
    assert len(said) == 1 and "10 class(es) have fewer training recording(s)" in said[0]
    assert checks.class_warnings(_clips({c: 10 for c in CLASSES}), n_folds=5) == []


def test_empty_official_folds_and_reduced_folds():
    listed = _clips({c: 4 for c in CLASSES}, folds=4)
    present = listed[listed["fold"] != 3]
    (said,) = checks.fold_warnings(listed, present)
    assert "fold 3" in said and "1 official fold(s)" in said
    assert checks.fold_warnings(listed, listed) == []
    (said,) = checks.reduced_folds_warning("grouped", 5, 3, "only three recordings")
    assert "--n-splits 5 asked, 3 folds run: only three recordings" == said
    assert checks.reduced_folds_warning("official", 5, 3, "x") == []


def test_a_submission_dominated_by_one_class():
    train = list(CLASSES) * 10
    (said,) = checks.prediction_warnings(["siren"] * 9 + ["dog_bark"], train)
    assert said.startswith("90% of the test clips are predicted siren (it is 10% of the training clips)")
    assert checks.prediction_warnings(list(CLASSES), train) == []
    # a class that really dominates the training clips may dominate the predictions too
    assert checks.prediction_warnings(["siren"] * 6 + ["dog_bark"] * 4, ["siren"] * 70 + ["dog_bark"] * 30) == []


def test_library_warnings_are_caught_and_summarised_once():
    with checks.caught() as seen:
        for _ in range(3):
            warnings.warn("the least populated class has 1 member", UserWarning)
        warnings.warn("ill-conditioned", RuntimeWarning)
    assert seen == ["UserWarning: the least populated class has 1 member"] * 3 + ["RuntimeWarning: ill-conditioned"]
    lines = checks.summarise(seen)
    assert lines == ["3x UserWarning: the least populated class has 1 member", "RuntimeWarning: ill-conditioned"]
    text = checks.block(["a data warning"], lines)
    assert text.splitlines()[0] == "warnings:" and "  - a data warning" in text and "      3x UserWarning" in text
    assert checks.block([], []) == ""
