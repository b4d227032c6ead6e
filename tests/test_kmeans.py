"""skm-fnn (urbansound/models/kmeans.py): spherical k-means codes learned from log-mel
shingles on the training rows only, beside the table columns in the fnn; saved without
pickle; bad values refused by name. Tiny dictionaries throughout (fast tier)."""

import numpy as np
import pytest

from urbansound.evaluation import Candidate, fit_candidate
from urbansound.exceptions import ModelError
from urbansound.models import HYBRID_MODELS, InputShape, TrainedModel, make_model
from urbansound.models.kmeans import ShingleKMeansEncoder, TableImageFeatures
from urbansound.models.registry import check_params
from urbansound.settings import FeatureSettings

from mel_images import BANDS, FRAMES, images

SHAPE = InputShape(n_mfcc=2, mel_bands=BANDS, mel_frames=FRAMES)
TINY = {"encoder__n_codes": 8, "encoder__pool": 1, "encoder__shingle": 4, "classifier__epochs": 40}


def tiny(**over) -> TableImageFeatures:
    return make_model("skm-fnn", shape=SHAPE, **{**TINY, **over})


def test_the_codes_tell_apart_what_only_the_image_shows(rng):
    """The table columns are noise: only the learned codes can tell the classes apart."""
    X, y = images(rng, 200)
    table = rng.normal(0, 1, (200, 3)).astype(np.float32)
    both = np.hstack([table, X])
    model = tiny().fit(both[:150], y[:150])
    assert "skm-fnn" in HYBRID_MODELS and model.n_image == BANDS * FRAMES
    assert model.score(both[150:], y[150:]) > 0.85
    codes = model.encoder_.codes_
    assert codes.shape[0] == 8 and np.allclose(np.linalg.norm(codes, axis=1), 1.0, atol=1e-5)
    assert model.encoder_.transform(X[:5]).shape == (5, 16)
    proba = model.predict_proba(both[150:])
    assert proba.shape == (50, 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_the_same_seed_gives_the_same_codes(rng):
    X, _ = images(rng, 40)
    a = ShingleKMeansEncoder(n_bands=BANDS, pool=1, shingle=4, n_codes=6, random_state=3).fit(X)
    b = ShingleKMeansEncoder(n_bands=BANDS, pool=1, shingle=4, n_codes=6, random_state=3).fit(X)
    np.testing.assert_array_equal(a.codes_, b.codes_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_a_split_s_fit_never_reads_a_test_clip_or_its_augmented_rows(rng):
    """Test clips and the rows made from them are NaN: the encoder refuses any NaN it reads,
    so a clean fit read none; and its patch mean is the training rows' alone."""
    X, y = images(rng, 48)
    X = np.concatenate([X, X + 0.1])  # rows 48..95: an augmented copy of each clip
    y = np.concatenate([y, y])
    source = np.concatenate([np.arange(48), np.arange(48)])
    table = rng.normal(0, 1, (96, 3)).astype(np.float32)
    test = np.arange(36, 48)
    both = np.hstack([table, X])
    both[np.isin(source, test)] = np.nan
    cand = Candidate("skm-fnn", "all+mel", params=tuple(sorted({**TINY, "classifier__epochs": 2}.items())))
    est, _ = fit_candidate(cand, 0, SHAPE, both, y, np.arange(36), source)
    train_rows = np.flatnonzero(np.isin(source, np.arange(36)))
    assert np.isfinite(est.encoder_.mean_).all() and np.isfinite(est.encoder_.codes_).all()
    with pytest.raises(ValueError, match="NaN"):
        tiny().fit(both, y)  # the check itself: a fit over every row meets the NaN
    patches = ShingleKMeansEncoder(n_bands=BANDS, pool=1, shingle=4)._shingles(
        X[train_rows].reshape(-1, BANDS, FRAMES))
    assert np.abs(est.encoder_.mean_ - patches.reshape(-1, BANDS * 4).mean(axis=0)).max() < 0.5


def test_saved_without_pickle_and_predicts_the_same_after_loading(rng, tmp_path):
    import skops.io as sio

    X, y = images(rng, 64)
    both = np.hstack([rng.normal(0, 1, (64, 3)).astype(np.float32), X])
    model = tiny(classifier__epochs=2).fit(both, y)
    trained = TrainedModel(name="skm-fnn", feature_set="all+mel", estimator=model, features=["a", "b", "c"],
                           feature_settings=FeatureSettings(), classes=sorted(set(y)), majority="siren")
    trained.save(tmp_path / "model.skops")
    data = (tmp_path / "model.skops").read_bytes()
    assert not [t for t in sio.get_untrusted_types(data=data) if t.startswith("sklearn")]  # arrays only
    loaded = TrainedModel.load(tmp_path / "model.skops")
    assert loaded.reads_mels
    np.testing.assert_allclose(loaded.estimator.predict_proba(both), model.predict_proba(both), atol=1e-6)


@pytest.mark.parametrize("param, value, message", [
    ("encoder__n_codes", 0, "n_codes=0"), ("encoder__shingle", 0, "shingle=0"),
    ("encoder__variance", 1.5, "variance=1.5"), ("encoder__variance", float("nan"), "variance=nan"),
    ("encoder__pool", -1, "pool=-1"), ("encoder__patches_per_clip", 0, "patches_per_clip=0"),
    ("encoder__max_patches", 1, "max_patches=1"),
])
def test_bad_values_are_refused_naming_them(param, value, message):
    with pytest.raises(ModelError, match=f"model 'skm-fnn': {message}"):
        check_params("skm-fnn", make_model("skm-fnn", shape=SHAPE, **{param: value}))


def test_a_large_training_side_draws_at_most_max_patches(rng, monkeypatch):
    from urbansound.models import kmeans

    X, _ = images(rng, 40)
    seen = []
    real = kmeans.spherical_kmeans
    monkeypatch.setattr(kmeans, "spherical_kmeans", lambda Z, k, **kw: seen.append(len(Z)) or real(Z, k, **kw))
    ShingleKMeansEncoder(n_bands=BANDS, pool=1, shingle=4, n_codes=6, patches_per_clip=10, max_patches=120).fit(X)
    ShingleKMeansEncoder(n_bands=BANDS, pool=1, shingle=4, n_codes=6, patches_per_clip=2).fit(X)
    assert seen == [120, 80]


def test_rows_too_short_or_too_few_patches_are_refused(rng):
    X, y = images(rng, 4)
    with pytest.raises(ValueError, match="at least pool\\*shingle=32 frames"):
        ShingleKMeansEncoder(n_bands=BANDS, pool=4, shingle=8).fit(X)
    with pytest.raises(ValueError, match="8 training patches for n_codes=50"):
        ShingleKMeansEncoder(n_bands=BANDS, pool=1, shingle=4, n_codes=50, patches_per_clip=2).fit(X)


def test_the_registry_sets_the_bands_and_image_size_from_the_feature_settings():
    shape = InputShape.of(FeatureSettings())
    model = make_model("skm-fnn", shape=shape)
    assert model.encoder.n_bands == shape.mel_bands == 64
    assert model.n_image == shape.mel_bands * shape.mel_frames
