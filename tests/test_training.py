"""The train stage and the activation study on a small synthetic UrbanSound8K-layout set."""

import json

import numpy as np
import pandas as pd
import pytest

from urbansound.datasets import read_dataset
from urbansound.exceptions import ModelError
from urbansound.featurize import featurize_dataset, read_sequences
from urbansound.models import TrainedModel
from urbansound.settings import FeatureSettings, TrainSettings
from urbansound.training import expand_models, feature_columns, train


@pytest.fixture(scope="module")
def features(us8k_dataset, client, tmp_path_factory):
    out = tmp_path_factory.mktemp("feat") / "tiny-us8k"
    featurize_dataset(read_dataset(us8k_dataset).clips, FeatureSettings(), out, client)
    return out


def test_feature_sets_and_combinations(features):
    table = pd.read_parquet(features)
    time, fft, mfcc, pcen = (feature_columns(table, s) for s in ("time", "fft", "mfcc", "pcen"))
    assert all(c.startswith("time_") for c in time) and all(c.startswith("fft_") for c in fft)
    assert all(c.startswith("pcen_") for c in pcen) and len(pcen) == 5 * FeatureSettings().pcen_bands
    assert feature_columns(table, "time+mfcc") == time + mfcc
    assert feature_columns(table, "all") == time + fft + mfcc + pcen
    with pytest.raises(ModelError, match="unknown feature set.*wavelet"):
        feature_columns(table, "wavelet")


def test_all_expands_to_every_model():
    assert "rnn" in expand_models(("all",)) and "forest" in expand_models(("all",))
    with pytest.raises(ModelError, match="'nope'"):
        expand_models(("forest", "nope"))


def test_sequences_are_stored_beside_the_table(features):
    ids = pd.read_parquet(features).clip_id.tolist()[:5]
    seq = read_sequences(features, ids)
    s = FeatureSettings()
    assert seq.shape == (5, s.n_mfcc * s.sequence_frames) and seq.dtype == np.float32
    assert np.isfinite(seq).all() and (seq != 0).any()


def test_own_models_with_leak_and_the_sequence_model(features, client, tmp_path):
    # two feature sets, 10 rnn epochs, 50 trees: what is checked is the wiring, not the accuracy
    settings = TrainSettings(models=("gd-logreg", "fnn", "rnn", "forest"), feature_sets=("fft", "mfcc"),
                             show_leak=True, params={"rnn": {"recurrentnetwork__epochs": 10}, "forest": {"n_estimators": 50}})
    result = train(features, settings, dataset="tiny", reports_dir=tmp_path / "r", models_dir=tmp_path / "m",
                   client=client)
    report = json.loads(result.cv_json.read_text())
    pairs = {(e["model"], e["feature_set"]) for e in report["entries"]}
    assert pairs == {(m, f) for m in ("gd-logreg", "fnn", "forest") for f in ("fft", "mfcc")} | {("rnn", "mfcc-seq")}
    assert report["protocol"] == "official"
    assert all(e["leaky_mean"] is not None for e in report["entries"])
    best = result.report.best
    assert best.mean > 0.3  # ten classes: chance is 0.1
    model = TrainedModel.load(result.model_path)
    assert (model.name, model.feature_set) == (best.model, best.feature_set)
    md = (tmp_path / "r" / "cv.md").read_text()
    assert "| rnn | mfcc-seq |" in md and "per class (best)" in md


def test_set_overrides_reach_the_fits_and_the_cv_record(features, client, tmp_path):
    settings = TrainSettings(models=("fnn",), feature_sets=("mfcc",), cv="official",
                             params={"fnn": {"hidden": "10+10", "activation": "tanh", "epochs": 3}})
    result = train(features, settings, dataset="tiny", reports_dir=tmp_path / "r", models_dir=tmp_path / "m",
                   client=client)
    record = json.loads(result.cv_json.read_text())
    assert record["entries"][0]["params"] == {"activation": "tanh", "epochs": 3, "hidden": "10+10"}
    est = TrainedModel.load(result.model_path).estimator
    assert (est.hidden, est.activation, est.epochs, est.n_iter_) == ("10+10", "tanh", 3, 3)


@pytest.mark.parametrize("overrides, message", [
    ({"fnn": {"nope": 1}}, "no parameter 'nope'; valid names: activation"),
    ({"fnn": {"lam": -1.0}}, "lam must be"),
    ({"logreg": {"logisticregression__C": 0}}, "'C' parameter"),
    ({"forest": {"n_estimators": 10}}, "not among --models"),
])
def test_bad_overrides_fail_before_any_work(features, overrides, message, tmp_path):
    settings = TrainSettings(models=("fnn", "logreg"), params=overrides)
    with pytest.raises(ModelError, match=message):
        train(features, settings, dataset="tiny", reports_dir=tmp_path / "r", models_dir=tmp_path / "m", client=None)


def test_override_values_are_typed():
    from urbansound.models.registry import parse_override

    assert parse_override("fnn.lam=1e-3") == ("fnn", "lam", 1e-3)
    assert parse_override("fnn.epochs=50") == ("fnn", "epochs", 50)
    assert parse_override("fnn.early_stopping=False") == ("fnn", "early_stopping", False)
    assert parse_override("fnn.hidden=10,10") == ("fnn", "hidden", "10+10")
    assert parse_override("fnn.activation=linear") == ("fnn", "activation", "linear")
    for bad in ("fnn.lam", "lam=1", "cnn.x=1"):
        with pytest.raises(ModelError, match="--set"):
            parse_override(bad)


def test_a_train_result_is_reused_only_while_its_record_names_the_model_file(features, client, tmp_path):
    from urbansound.training import reuse

    settings = TrainSettings(models=("logreg",), feature_sets=("mfcc",))
    dirs = {"reports_dir": tmp_path / "r", "models_dir": tmp_path / "m"}
    assert reuse(features, settings, **dirs) is None  # nothing yet
    result = train(features, settings, dataset="tiny", client=client, **dirs)
    record = json.loads(result.cv_json.read_text())
    assert record["run"]["model_sha256"] and TrainedModel.load(result.model_path).run_id == record["run"]["id"]

    again = reuse(features, settings, **dirs)
    assert again.reused and again.report.best.mean == result.report.best.mean
    assert again.report.markdown() == result.report.markdown()  # per-class details read back too
    # other settings: train again
    assert reuse(features, TrainSettings(models=("logreg",), feature_sets=("mfcc",), seed=1), **dirs) is None
    # the model file replaced (e.g. by a `train` of another model into the same workspace)
    model = TrainedModel.load(result.model_path)
    model.cv_mean = 0.0
    model.save(result.model_path)
    assert reuse(features, settings, **dirs) is None
    # an interrupted train: the CV record of the new run, no model file of it yet
    record["run"]["model_sha256"] = None
    result.cv_json.write_text(json.dumps(record))
    assert reuse(features, settings, **dirs) is None
