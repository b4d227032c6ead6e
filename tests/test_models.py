import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from urbansound.exceptions import ModelError
from urbansound.models import (HYBRID_MODELS, MEL_MODELS, MODEL_NAMES, SEQUENCE_MODELS, TrainedModel,
                               make_model)
from urbansound.models.registry import pool_frames
from urbansound.settings import FeatureSettings


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=300, n_features=16, n_informative=10, n_classes=4,
                               n_clusters_per_class=1, class_sep=2.0, random_state=0)
    return X.astype(np.float32), np.array(["siren", "dog_bark", "drilling", "gun_shot"])[y]


SLOW_MODELS = {"hgb", "forest", "svm", "vote"}  # seconds each: the full suite only


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_MODELS else n
                                  for n in MODEL_NAMES
                                  if n not in SEQUENCE_MODELS | MEL_MODELS | HYBRID_MODELS])
def test_every_table_model_learns(name, data):
    X, y = data
    model = make_model(name, seed=3)
    assert clone(model).get_params().keys() == model.get_params().keys()
    model.fit(X[:200], y[:200])
    assert model.score(X[200:], y[200:]) > 0.6, name


@pytest.mark.slow  # several seconds of fitting
def test_rnn_reads_frame_sequences():
    """Class = whether a burst sits early or late: order matters, frame means do not."""
    rng = np.random.default_rng(0)
    n, n_mfcc, T = 240, 4, 64
    M = rng.normal(0, 0.3, (n, n_mfcc, T))
    late = rng.random(n) < 0.5
    for i in range(n):
        start = 40 if late[i] else 8
        M[i, :, start:start + 12] += 2.0
    y = np.where(late, "siren", "dog_bark")
    model = make_model("rnn", seed=0, n_mfcc=n_mfcc, recurrentnetwork__epochs=60,
                       recurrentnetwork__pooling="last", recurrentnetwork__early_stopping=False)
    X = M.reshape(n, -1)
    model.fit(X[:180], y[:180])
    assert model.score(X[180:], y[180:]) > 0.85
    with pytest.raises(ModelError, match="n_mfcc"):
        make_model("rnn")


def test_pool_frames_averages_consecutive_frames():
    M = np.arange(2 * 3 * 8, dtype=float).reshape(2, 3, 8)
    out = pool_frames(M.reshape(2, -1), n_features=3, factor=4).reshape(2, 3, 2)
    np.testing.assert_allclose(out, M.reshape(2, 3, 2, 4).mean(axis=3))


def test_unknown_model_and_bad_parameter_are_clear():
    with pytest.raises(ModelError, match="unknown model 'xgboost'.*forest"):
        make_model("xgboost")
    with pytest.raises(ModelError, match="fnn"):
        make_model("fnn", no_such_param=1)
    assert make_model("fnn", hidden="10+10", activation="tanh").get_params()["hidden"] == "10+10"


@pytest.mark.slow  # several seconds of fitting
def test_saved_model_refuses_other_features(tmp_path, data):
    X, y = data
    settings = FeatureSettings()
    cols = [f"mfcc_mean_{i:02d}" for i in range(X.shape[1])]
    model = TrainedModel("forest", "mfcc", make_model("forest").fit(X, y), cols, settings, sorted(set(y)), 0.9, "siren")
    model.save(tmp_path / "m.skops")
    loaded = TrainedModel.load(tmp_path / "m.skops")
    assert loaded.features == cols and (tmp_path / "m.json").is_file()
    loaded.check_features(cols, settings)
    with pytest.raises(ModelError, match="lacks 1 column"):
        loaded.check_features(cols[1:], settings)
    with pytest.raises(ModelError, match="computed with"):
        loaded.check_features(cols, FeatureSettings(n_mfcc=13))
    (tmp_path / "junk.skops").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="junk.skops: not an urbansound model file"):
        TrainedModel.load(tmp_path / "junk.skops")
    (tmp_path / "cut.skops").write_bytes((tmp_path / "m.skops").read_bytes()[:2000])
    with pytest.raises(ModelError, match="cut.skops: not a readable model file"):
        TrainedModel.load(tmp_path / "cut.skops")


def test_deviation_channels_hold_distance_from_the_clip_mean():
    from urbansound.models.registry import deviation_channels, rnn_inputs

    M = np.array([[[1.0, 3.0, 1.0, 3.0], [0.0, 0.0, 4.0, 4.0]]], dtype=np.float32)  # 1 clip, 2 features, 4 frames
    out = deviation_channels(M.reshape(1, -1), n_features=2).reshape(1, 4, 4)
    np.testing.assert_array_equal(out[0, :2], M[0])
    np.testing.assert_array_equal(out[0, 2:], [[1, 1, 1, 1], [2, 2, 2, 2]])
    pooled = rnn_inputs(M.reshape(1, -1), n_features=2, factor=2).reshape(1, 4, 2)
    np.testing.assert_array_equal(pooled[0], [[2, 2], [0, 4], [1, 1], [2, 2]])


def test_param_names_are_the_registry_s():
    # the command line checks --set names against this table without importing scikit-learn
    from urbansound.models._param_names import PARAM_NAMES
    from urbansound.models.registry import param_names_source, valid_params

    assert PARAM_NAMES == {m: tuple(valid_params(m)) for m in MODEL_NAMES}, \
        "urbansound/models/_param_names.py is stale: run `python -m urbansound.models.registry`"
    assert param_names_source().startswith('"""Every parameter name')
