"""The cnn (urbansound/models/cnn.py): learns from log-mel images, saves without pickle,
never reads across a split, refuses bad values; a tiny network throughout (fast tier)."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from urbansound.evaluation import Candidate, fit_candidate  # noqa: E402
from urbansound.exceptions import ModelError  # noqa: E402
from urbansound.models import InputShape, TrainedModel, make_model  # noqa: E402
from urbansound.models.cnn import ConvNetClassifier  # noqa: E402
from urbansound.models.registry import check_params  # noqa: E402
from urbansound.settings import FeatureSettings  # noqa: E402

from mel_images import BANDS, FRAMES, images  # noqa: E402

TINY = {"channels": "4+8", "epochs": 12, "patch": 8, "pool": 1, "batch_size": 16, "lr": 1e-2, "threads": 1}


def tiny(**over) -> ConvNetClassifier:
    return ConvNetClassifier(n_bands=BANDS, random_state=0, **{**TINY, **over})


def test_learns_where_a_tone_sits_in_frequency_wherever_it_sits_in_time(rng):
    X, y = images(rng, 160)
    model = tiny().fit(X[:120], y[:120])
    assert model.score(X[120:], y[120:]) > 0.9
    proba = model.predict_proba(X[120:])
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == ["dog_bark", "siren"] and len(model.loss_curve_) == TINY["epochs"]
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_the_same_seed_gives_the_same_network(rng):
    X, y = images(rng, 64)
    a, b = tiny(epochs=2).fit(X, y), tiny(epochs=2).fit(X, y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("aug", [{"mixup": 0.4}, {"freq_mask": 2, "time_mask": 3}, {"pool": 2}])
def test_each_augmentation_trains(rng, aug):
    X, y = images(rng, 64)
    model = tiny(epochs=3, **aug).fit(X, y)
    assert np.isfinite(model.loss_curve_).all() and model.predict(X).shape == (64,)


def test_float16_rows_as_stored_are_read(rng):
    X, y = images(rng, 64)
    model = tiny(epochs=2).fit(X.astype(np.float16), y)
    assert model.predict(X.astype(np.float16)).shape == (64,)


def test_saved_without_pickle_and_predicts_the_same_after_loading(rng, tmp_path):
    import skops.io as sio

    X, y = images(rng, 64)
    model = tiny(epochs=2).fit(X, y)
    trained = TrainedModel(name="cnn", feature_set="mel", estimator=model, features=["mel"],
                           feature_settings=FeatureSettings(), classes=sorted(set(y)), majority="siren")
    trained.save(tmp_path / "model.skops")
    data = (tmp_path / "model.skops").read_bytes()
    assert not [t for t in sio.get_untrusted_types(data=data) if "torch" in t]  # arrays and numbers only
    loaded = TrainedModel.load(tmp_path / "model.skops")
    assert loaded.reads_mels and isinstance(loaded.estimator.weights_, dict)
    np.testing.assert_allclose(loaded.estimator.predict_proba(X), model.predict_proba(X), atol=1e-6)
    assert json.loads((tmp_path / "model.json").read_text())["model"] == "cnn"


def test_a_split_s_fit_never_reads_a_test_clip_or_its_augmented_rows(rng):
    """Test clips and the rows made from them are NaN: fitting (standardisation, crops,
    masks, mixup partners) raises on any NaN it reads, so a clean fit read none."""
    X, y = images(rng, 48)
    X = np.concatenate([X, X + 0.1])  # rows 48..95: an augmented copy of each clip
    y = np.concatenate([y, y])
    source = np.concatenate([np.arange(48), np.arange(48)])
    test = np.arange(36, 48)
    X[np.isin(source, test)] = np.nan
    cand = Candidate("cnn", "mel", params=tuple(sorted({**TINY, "epochs": 2, "mixup": 0.4, "freq_mask": 2}.items())))
    est, _ = fit_candidate(cand, 0, InputShape(n_mfcc=2, mel_bands=BANDS), X, y, np.arange(36), source)
    train_rows = np.flatnonzero(np.isin(source, np.arange(36)))
    pooled = X[train_rows].reshape(len(train_rows), BANDS, FRAMES)
    np.testing.assert_allclose(est.mean_, pooled.mean(axis=(0, 2)), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        tiny(epochs=1).fit(X, y)  # the check itself: a fit over every row meets the NaN


@pytest.mark.parametrize("param, value, message", [
    ("channels", "16+x", "channels='16\\+x'"), ("epochs", 0, "epochs=0"), ("lr", float("nan"), "lr=nan"),
    ("dropout", 1.5, "dropout=1.5"), ("mixup", -1.0, "mixup=-1.0"), ("patch", 2, "patch=2"),
])
def test_bad_values_are_refused_naming_them(param, value, message):
    with pytest.raises(ModelError, match=f"model 'cnn': {message}"):
        check_params("cnn", make_model("cnn", shape=InputShape(mel_bands=8), **{param: value}))


def test_rows_of_another_shape_are_refused(rng):
    X, y = images(rng, 16)
    with pytest.raises(ValueError, match="not n_bands=5 bands"):
        ConvNetClassifier(n_bands=5, **TINY).fit(X[:, :-1], y)


def test_the_registry_sets_the_bands_from_the_feature_settings():
    shape = InputShape.of(FeatureSettings())
    assert shape.mel_bands == 64 and make_model("cnn", shape=shape).n_bands == 64
    assert InputShape.of(FeatureSettings(n_mels=40, n_mfcc=13, pcen_bands=8)).mel_bands == 40


def test_without_torch_the_error_says_how_to_install_it(rng, monkeypatch):
    X, y = images(rng, 16)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelError, match=r"pip install 'urbansound\[cnn\]'"):
        tiny().fit(X, y)


def test_mel_images_are_stored_for_every_row_and_read_in_order(us8k_dataset, tmp_path):
    """featurize writes one log-mel image per row (augmented rows too), read back by key."""
    from urbansound import table
    from urbansound.featurize import featurize_batch, plan_batches
    from urbansound.datasets import read_dataset

    settings = FeatureSettings(n_mels=32, n_mfcc=13, pcen_bands=16, mel_bands=16, sequence_frames=40, augment=("gain:-6",))
    clips = read_dataset(us8k_dataset).clips.head(6)
    out = tmp_path / "features"
    out.mkdir()
    result = featurize_batch(plan_batches(clips, 6)[0], settings=settings, out_dir=str(out))
    (out / "_manifest.json").write_text(json.dumps({"settings": settings.model_dump(mode="json"),
                                                    "parts": [result.part.split("/")[-1]]}))
    rows = table.read_features(out, augmented=True)
    keys = [table.mel_key(c, a) for c, a in zip(rows.clip_id, rows.augmentation)]
    M = table.read_mels(out, keys[::-1])
    assert M.shape == (len(rows), 16 * 40) and M.dtype == np.float16 and np.isfinite(M).all()
    assert (M[0] != M[-1]).any()
    gain = rows.index[rows.augmentation.notna()][0]  # 6 dB quieter: the image sits 6 dB lower
    own = keys.index(rows.clip_id[gain])
    diff = table.read_mels(out, [keys[own]]).astype(float) - table.read_mels(out, [keys[gain]]).astype(float)
    assert abs(np.median(diff) - 6.0) < 0.5
    with pytest.raises(FileNotFoundError, match="no log-mel image"):
        table.read_mels(out, ["nope"])
    assert isinstance(rows, pd.DataFrame)


def test_the_vote_fits_both_members_on_its_columns_and_averages_them(rng):
    from urbansound.models.hybrid import TableImageVote

    X, y = images(rng, 64)
    table = rng.normal(0, 1, (64, 3)).astype(np.float32)
    model = make_model("cnn-fnn", shape=InputShape(n_mfcc=2, mel_bands=BANDS, mel_frames=FRAMES),
                       **{f"image__{k}": v for k, v in {**TINY, "epochs": 2}.items()}, table__epochs=2)
    assert isinstance(model, TableImageVote) and model.n_image == BANDS * FRAMES
    model.fit(np.hstack([table, X]), y)
    both = np.hstack([table, X])
    expected = 0.5 * model.table_.predict_proba(table) + 0.5 * model.image_.predict_proba(X)
    np.testing.assert_allclose(model.predict_proba(both), expected)
    with pytest.raises(ModelError, match="cnn_weight=2"):
        check_params("cnn-fnn", make_model("cnn-fnn", cnn_weight=2.0))
