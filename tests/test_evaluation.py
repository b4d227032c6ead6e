import numpy as np
import pandas as pd
import pytest

from urbansound.evaluation import Candidate, cross_validate, make_folds
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
    inputs = {"mfcc": table[list(iter_feature_columns(table, ("mfcc",)))].to_numpy(np.float32)}
    folds = make_folds(table, "kfold", n_splits=5)
    forest = [Candidate("forest", "mfcc", params=(("n_estimators", 50),))]  # 300 by default: same verdict, 6x the fits
    honest = cross_validate(inputs, table.label, forest, folds, client, dataset="t").best.mean
    shuffled = np.random.default_rng(0).permutation(table.label.to_numpy())
    chance = cross_validate(inputs, shuffled, forest, folds, client, dataset="t").best.mean
    assert honest > 0.5
    assert chance < 0.3


def test_unknown_model_or_input_fails_before_any_work(client):
    t = _table()
    X = {"mfcc": np.ones((len(t), 1), np.float32)}
    with pytest.raises(ModelError, match="unknown model 'boosted-magic'"):
        cross_validate(X, t.label, [Candidate("boosted-magic", "mfcc")], make_folds(t), client, dataset="t")
    with pytest.raises(ModelError, match="no input 'fft'"):
        cross_validate(X, t.label, [Candidate("forest", "fft")], make_folds(t), client, dataset="t")


def test_leaky_split_is_reported_beside_the_honest_one(client):
    """Recordings carry a fingerprint, not the class: only a split that leaks them scores."""
    rng = np.random.default_rng(0)
    t = _table(n_recordings=60, slices=4)
    fingerprint = rng.normal(size=(60, 8))[t.recording.astype(int)]
    X = {"mfcc": (fingerprint + 0.05 * rng.normal(size=fingerprint.shape)).astype(np.float32)}
    labels = rng.choice(["siren", "dog_bark"], 60)[t.recording.astype(int)]
    report = cross_validate(X, labels, [Candidate("knn", "mfcc")], make_folds(t, "grouped"), client,
                            dataset="t", leak_folds=make_folds(t, "kfold"))
    entry = report.best
    assert entry.mean < 0.7 and entry.leaky_mean > 0.9
    assert "random split" in report.markdown() and "leak gap" in report.markdown()
    details = report.to_json()["best_details"]
    assert details["classes"] == ["dog_bark", "siren"] and np.sum(details["confusion"]) == len(t)


# ------------------------------------------------------------- leakage across splits
class _Spy:
    """A learned step that records the rows it is fitted on (column 0 holds each row's id)."""

    fitted_on: list[set[int]] = []

    def fit(self, X, y=None):
        _Spy.fitted_on.append(set(X[:, 0].astype(int).tolist()))
        self.mean_ = X.mean(axis=0)
        return self

    def transform(self, X):
        return X - self.mean_

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


def _augmented_problem(rng):
    """60 clips as recorded (rows 0..59, 6 folds), then two augmented rows per clip."""
    t = _table(n_recordings=20, slices=3)
    n = len(t)
    source = np.concatenate([np.arange(n), np.repeat(np.arange(n), 2)])
    X = np.column_stack([np.arange(len(source)), rng.normal(size=(len(source), 3))]).astype(np.float32)
    y = t["label"].to_numpy()[source]
    return t, X, y, source


def test_augmented_rows_follow_their_source_and_are_never_scored(monkeypatch, rng):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from urbansound import evaluation

    t, X, y, source = _augmented_problem(rng)
    monkeypatch.setattr(evaluation, "make_model", lambda *a, **k: make_pipeline(_Spy(), LogisticRegression()))
    _Spy.fitted_on = []
    folds = make_folds(t, "official")
    for train, test in folds.splits:
        result = evaluation._fit_score(Candidate("logreg", "x"), 0, None, X, y, (train, test), source)
        seen = _Spy.fitted_on[-1]
        # every augmented row of a training clip, no row made from a test clip
        assert seen == {i for i in range(len(source)) if source[i] in set(train)}
        assert not {source[i] for i in seen} & set(test)
        # scored on the clips as recorded of the test fold, nothing else
        assert sorted(result["test_index"]) == sorted(test.tolist()) and max(test) < len(t)
    assert len(_Spy.fitted_on) == len(folds.splits)


def test_a_learned_step_never_sees_a_test_fold(monkeypatch, rng):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from urbansound import evaluation

    t, X, y, _ = _augmented_problem(rng)
    X, y = X[: len(t)], y[: len(t)]
    monkeypatch.setattr(evaluation, "make_model", lambda *a, **k: make_pipeline(_Spy(), LogisticRegression()))
    _Spy.fitted_on = []
    for protocol in ("official", "grouped", "kfold"):
        for train, test in make_folds(t, protocol, n_splits=4).splits:
            evaluation._fit_score(Candidate("logreg", "x"), 0, None, X, y, (train, test))
            assert _Spy.fitted_on[-1] == set(train.tolist())
            assert not _Spy.fitted_on[-1] & set(test.tolist())


def test_training_rows_without_augmentation_are_the_split():
    from urbansound.evaluation import training_rows

    train = np.array([0, 2, 3])
    np.testing.assert_array_equal(training_rows(train, None, 5), train)
    source = np.array([0, 1, 2, 3, 0, 1, 1, 3])
    np.testing.assert_array_equal(training_rows(train, source, len(source)), [0, 2, 3, 4, 7])
    np.testing.assert_array_equal(training_rows(train, source, 4), [0, 2, 3])  # a sequence input: no copies


@pytest.mark.slow  # several seconds of fitting
def test_inner_search_reads_only_the_training_side(monkeypatch, rng):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from urbansound import evaluation

    t, X, y, source = _augmented_problem(rng)
    groups = t["recording"].astype(int).to_numpy()
    made = []

    def fake_model(name, **kw):
        made.append(kw.get("C"))
        return make_pipeline(_Spy(), LogisticRegression(C=kw.get("C", 1.0)))

    monkeypatch.setattr(evaluation, "make_model", fake_model)
    cand = Candidate("logreg", "x", grid=(("C", (0.01, 1.0)),))
    for train, test in make_folds(t, "official").splits:
        _Spy.fitted_on = []
        made.clear()
        result = evaluation._fit_score(cand, 0, None, X, y, (train, test), source, groups)
        allowed = {i for i in range(len(source)) if source[i] in set(train)}
        assert len(_Spy.fitted_on) == 2 * 3 + 1  # grid x inner folds, then the refit
        for seen in _Spy.fitted_on:
            assert seen <= allowed and not {source[i] for i in seen} & set(test)
        for seen in _Spy.fitted_on[:-1]:  # an inner fit never holds a whole training side's recordings
            assert {groups[source[i]] for i in seen} < {groups[i] for i in train}
        assert _Spy.fitted_on[-1] == allowed and result["tuned"]["C"] in (0.01, 1.0)
        assert made[-1] == result["tuned"]["C"]


def test_tune_records_the_choice_per_fold(us8k_dataset, client, tmp_path):
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_dataset
    from urbansound.settings import FeatureSettings, TrainSettings
    from urbansound.training import train

    featurize_dataset(read_dataset(us8k_dataset).clips, FeatureSettings(), tmp_path / "f", client)
    settings = TrainSettings(models=("logreg",), feature_sets=("mfcc",), tune=True,
                             params={"logreg": {"logisticregression__max_iter": 300}})
    result = train(tmp_path / "f", settings, dataset="tiny", reports_dir=tmp_path / "r", models_dir=tmp_path / "m",
                   client=client)
    entry = result.report.entries[0]
    assert len(entry.tuned) == len(entry.fold_accuracy)
    assert all(set(d) == {"logisticregression__C"} and d["logisticregression__C"] in (0.03, 0.1, 0.3, 1.0)
               for d in entry.tuned)
