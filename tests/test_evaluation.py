import numpy as np
import pandas as pd
import pytest

from urbansound.evaluation import cross_validate, make_folds
from urbansound.exceptions import ModelError


def _table(n_recordings=40, slices=3, folds=True, recordings=True):
    rows = []
    for r in range(n_recordings):
        label = ["siren", "dog_bark", "drilling", "gun_shot"][r % 4]
        for s in range(slices):
            rows.append({"label": label, "fold": r % 10 + 1 if folds else pd.NA,
                         "recording": str(r) if recordings else pd.NA})
    df = pd.DataFrame(rows)
    df["fold"] = df["fold"].astype("Int64")
    return df


def test_auto_protocol_prefers_official_then_grouped_then_kfold():
    assert make_folds(_table()).protocol == "official"
    assert make_folds(_table(folds=False)).protocol == "grouped"
    f = make_folds(_table(folds=False, recordings=False))
    assert f.protocol == "kfold" and f.optimistic and "optimistic" in f.note


def test_official_never_trains_on_the_held_out_fold():
    t = _table()
    folds = make_folds(t, "official")
    assert len(folds.splits) == 10
    for train, test in folds.splits:
        assert t.fold.iloc[test].nunique() == 1
        assert not set(t.fold.iloc[train]) & set(t.fold.iloc[test])


def test_grouped_never_splits_a_recording():
    t = _table(folds=False)
    for train, test in make_folds(t, "grouped", n_splits=4).splits:
        assert not set(t.recording.iloc[train]) & set(t.recording.iloc[test])


def test_protocols_that_need_missing_columns_say_so():
    with pytest.raises(ModelError, match="official folds"):
        make_folds(_table(folds=False), "official")
    with pytest.raises(ModelError, match="recording ids"):
        make_folds(_table(folds=False, recordings=False), "grouped")


def test_label_permutation_drops_accuracy_to_chance(av_dataset, client, tmp_path):
    """Real features, shuffled labels: a leak-free CV must score near chance (0.1)."""
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_dataset, iter_feature_columns, read_features
    from urbansound.settings import FeatureSettings

    featurize_dataset(read_dataset(av_dataset).clips, FeatureSettings(), tmp_path / "f", client)
    table = read_features(tmp_path / "f").query("split == 'train'").reset_index(drop=True)
    cols = {"mfcc": list(iter_feature_columns(table, ("mfcc",)))}
    folds = make_folds(table, "kfold", n_splits=5)
    honest = cross_validate(table, cols, ("forest",), folds, client, dataset="t").best.mean
    shuffled = table.assign(label=np.random.default_rng(0).permutation(table.label.to_numpy()))
    chance = cross_validate(shuffled, cols, ("forest",), folds, client, dataset="t").best.mean
    assert honest > 0.5
    assert chance < 0.3


def test_unknown_model_fails_before_any_work(client):
    t = _table().assign(x=1.0)
    with pytest.raises(ModelError, match="unknown model 'boosted-magic'"):
        cross_validate(t, {"mfcc": ["x"]}, ("boosted-magic",), make_folds(t), client, dataset="t")
