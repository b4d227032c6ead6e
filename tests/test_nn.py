"""Tests of the NumPy models in urbansound.nn: the estimator contract, gradients, accuracy
against scikit-learn, determinism, early stopping, sequence learning, parameter errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from urbansound.models.nn import (
    ACTIVATIONS,
    FeedForwardNetwork,
    GDLogisticRegression,
    RecurrentNetwork,
)

# --------------------------------------------------------------------------------------
# scikit-learn's estimator checks, on small-epoch instances covering both solvers,
# early stopping, mixed activations and both recurrent cells.
# --------------------------------------------------------------------------------------


@parametrize_with_checks(
    [
        GDLogisticRegression(epochs=20, random_state=0),
        FeedForwardNetwork(hidden="8", epochs=20, eta=0.05, random_state=0),
        FeedForwardNetwork(hidden="8+8", activation="tanh+elu", solver="gd", eta=0.2, epochs=30,
                           early_stopping=True, random_state=0),
        RecurrentNetwork(cell="elman", hidden=8, epochs=20, eta=0.05, random_state=0),
        RecurrentNetwork(cell="gru", hidden=8, epochs=20, eta=0.05, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------------------
# Gradients against central finite differences
# --------------------------------------------------------------------------------------


def _gradient_error(est, n_inputs: int, n_classes: int = 3, n_samples: int = 6) -> float:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, n_inputs))
    y = rng.integers(0, n_classes, n_samples)
    y[:n_classes] = np.arange(n_classes)
    params = est._init_params(n_inputs, n_classes, np.random.RandomState(0))
    # Non-zero biases too, so their gradients (and any bias-penalty slip) are exercised.
    params = {k: w + 0.1 * rng.normal(size=w.shape) for k, w in params.items()}
    _, grads = est._loss_and_grads(params, X, y)
    assert set(grads) == set(params)
    eps = 1e-6
    analytic, numeric = [], []
    for k, w in params.items():
        assert grads[k].shape == w.shape
        for i in np.ndindex(w.shape):
            old = w[i]
            w[i] = old + eps
            up, _ = est._loss_and_grads(params, X, y)
            w[i] = old - eps
            down, _ = est._loss_and_grads(params, X, y)
            w[i] = old
            numeric.append((up - down) / (2 * eps))
            analytic.append(grads[k][i])
    a, n = np.array(analytic), np.array(numeric)
    return float(np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)))


def test_gradients_logreg():
    assert _gradient_error(GDLogisticRegression(lam=0.1), n_inputs=4) < 1e-5


@pytest.mark.parametrize("hidden", ["5", "5+4+3"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_fnn(activation, hidden):
    est = FeedForwardNetwork(hidden=hidden, activation=activation, lam=0.1)
    assert _gradient_error(est, n_inputs=4) < 1e-5


def test_gradients_fnn_mixed_activations():
    est = FeedForwardNetwork(hidden="5+4+3", activation="sigmoid+leaky_relu+elu", lam=0.1)
    assert _gradient_error(est, n_inputs=4) < 1e-5


@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("cell", ["elman", "gru"])
def test_gradients_rnn(cell, pooling):
    est = RecurrentNetwork(cell=cell, hidden=4, n_features=3, pooling=pooling, lam=0.1)
    assert _gradient_error(est, n_inputs=3 * 5) < 1e-5


# --------------------------------------------------------------------------------------
# Accuracy against scikit-learn
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def four_class_split():
    X, y = make_classification(n_samples=600, n_features=20, n_informative=10, n_redundant=4, n_classes=4,
                               n_clusters_per_class=1, random_state=0)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def test_logreg_matches_sklearn(four_class_split):
    X_tr, X_te, y_tr, y_te = four_class_split
    ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_tr, y_tr).score(X_te, y_te)
    ours = GDLogisticRegression(random_state=0).fit(X_tr, y_tr).score(X_te, y_te)
    assert ours >= ref - 0.03, (ours, ref)


def test_fnn_matches_sklearn_mlp(four_class_split):
    X_tr, X_te, y_tr, y_te = four_class_split
    ref = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), max_iter=1000, random_state=0))
    ref_score = ref.fit(X_tr, y_tr).score(X_te, y_te)
    ours = FeedForwardNetwork(hidden="32", random_state=0).fit(X_tr, y_tr).score(X_te, y_te)
    assert ours >= ref_score - 0.05, (ours, ref_score)


def test_logreg_coef_is_on_raw_inputs(four_class_split):
    X_tr, X_te, y_tr, _ = four_class_split
    X_tr, X_te = X_tr * 50 + 7, X_te * 50 + 7
    est = GDLogisticRegression(epochs=5, random_state=0).fit(X_tr, y_tr)
    np.testing.assert_allclose(X_te @ est.coef_.T + est.intercept_, est.decision_function(X_te), rtol=1e-9,
                               atol=1e-9)


def test_full_batch_gd_decreases_the_loss(four_class_split):
    X_tr, _, y_tr, _ = four_class_split
    est = GDLogisticRegression(solver="gd", eta=0.1, momentum=0.0, epochs=50, random_state=0).fit(X_tr, y_tr)
    assert np.all(np.diff(est.loss_curve_) < 0)


# --------------------------------------------------------------------------------------
# Determinism and early stopping
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda s: GDLogisticRegression(epochs=10, random_state=s),
    lambda s: FeedForwardNetwork(hidden="8+8", epochs=10, early_stopping=True, random_state=s),
    lambda s: RecurrentNetwork(hidden=6, epochs=3, random_state=s),
])
def test_same_seed_same_model(make, four_class_split):
    X_tr, X_te, y_tr, _ = four_class_split
    a = make(3).fit(X_tr, y_tr).predict_proba(X_te)
    b = make(3).fit(X_tr, y_tr).predict_proba(X_te)
    c = make(4).fit(X_tr, y_tr).predict_proba(X_te)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_early_stopping_stops_and_keeps_the_best_weights():
    # Labels independent of the inputs: the validation loss can only stall or rise.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 10))
    y = rng.integers(0, 3, 300)
    kw = dict(hidden="32", eta=0.05, early_stopping=True, validation_fraction=0.2, random_state=0)
    est = FeedForwardNetwork(epochs=500, patience=5, **kw).fit(X, y)
    assert est.n_iter_ < 500
    assert len(est.loss_curve_) == len(est.validation_loss_curve_) == len(est.validation_scores_) == est.n_iter_
    best_epoch = int(np.argmin(est.validation_loss_curve_)) + 1
    assert est.n_iter_ == best_epoch + 5
    assert est.best_validation_loss_ == min(est.validation_loss_curve_)
    # The same run cut at the best epoch draws the same random numbers up to there, so
    # its final weights are the weights early stopping should have kept.
    cut = FeedForwardNetwork(epochs=best_epoch, patience=1000, **kw).fit(X, y)
    for k, w in est.params_.items():
        np.testing.assert_array_equal(w, cut.params_[k])


def test_no_early_stopping_runs_every_epoch():
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    est = FeedForwardNetwork(hidden="4", epochs=7, random_state=0).fit(X, y)
    assert est.n_iter_ == 7 and len(est.loss_curve_) == 7
    assert est.validation_scores_ is None


# --------------------------------------------------------------------------------------
# The recurrent network
# --------------------------------------------------------------------------------------


def _pulse_sequences(n: int, n_steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One pulse per noisy sequence, in the first half (class 0) or the second (class 1).

    The sequences of both classes hold the same multiset of values in distribution, so
    only the order of the frames tells the classes apart.
    """
    y = rng.integers(0, 2, n)
    half = n_steps // 2
    pos = np.where(y == 0, rng.integers(0, half, n), rng.integers(half, n_steps, n))
    X = rng.normal(0.0, 0.5, size=(n, n_steps))
    X[np.arange(n), pos] += 3.0
    return X, y


def test_rnn_learns_order_a_bag_of_frames_cannot():
    rng = np.random.default_rng(0)
    X_tr, y_tr = _pulse_sequences(400, 20, rng)
    X_te, y_te = _pulse_sequences(400, 20, rng)
    bag = LogisticRegression().fit(np.sort(X_tr, axis=1), y_tr).score(np.sort(X_te, axis=1), y_te)
    assert bag < 0.65
    est = RecurrentNetwork(cell="gru", hidden=16, pooling="last", epochs=40, random_state=0).fit(X_tr, y_tr)
    assert est.score(X_te, y_te) > 0.9


def test_rnn_elman_learns_order():
    rng = np.random.default_rng(1)
    X_tr, y_tr = _pulse_sequences(400, 20, rng)
    X_te, y_te = _pulse_sequences(400, 20, rng)
    est = RecurrentNetwork(cell="elman", hidden=16, pooling="last", epochs=40, random_state=0).fit(X_tr, y_tr)
    assert est.score(X_te, y_te) > 0.9


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("cell", ["elman", "gru"])
def test_rnn_reads_frame_major_rows(cell):
    """Each row is an (n_features, n_steps) matrix flattened with reshape(-1): compare with
    a per-sample, per-step loop over the matrix's columns."""
    rng = np.random.default_rng(0)
    F, T, H, K = 3, 7, 5, 2
    mats = rng.normal(size=(4, F, T))
    X = mats.reshape(4, -1)
    est = RecurrentNetwork(cell=cell, hidden=H, n_features=F, pooling="last")
    p = est._init_params(F * T, K, np.random.RandomState(0))
    got = est._logits(p, X)
    for i, M in enumerate(mats):
        h = np.zeros(H)
        for t in range(T):
            x = M[:, t]
            if cell == "elman":
                h = np.tanh(x @ p["Wx"] + h @ p["Wh"] + p["bh"])
            else:
                g = x @ p["Wx"] + p["b"]
                z = _sigmoid(g[:H] + h @ p["Uzr"][:, :H])
                r = _sigmoid(g[H:2 * H] + h @ p["Uzr"][:, H:])
                n = np.tanh(g[2 * H:] + r * (h @ p["Un"]))
                h = (1 - z) * n + z * h
        np.testing.assert_allclose(got[i], h @ p["Wo"] + p["bo"], rtol=1e-12, atol=1e-12)


def test_rnn_standardises_per_feature():
    rng = np.random.default_rng(0)
    mats = rng.normal(size=(30, 2, 6)) * np.array([1.0, 100.0])[:, None] + np.array([5.0, -3.0])[:, None]
    y = rng.integers(0, 2, 30)
    est = RecurrentNetwork(hidden=3, n_features=2, epochs=1, random_state=0).fit(mats.reshape(30, -1), y)
    assert est.mean_.shape == est.scale_.shape == (2,) and est.n_steps_ == 6
    np.testing.assert_allclose(est.mean_, mats.mean(axis=(0, 2)))
    np.testing.assert_allclose(est.scale_, mats.std(axis=(0, 2)))


# --------------------------------------------------------------------------------------
# Numerical care
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_extreme_inputs_stay_finite(activation):
    X, y = make_classification(n_samples=80, n_features=6, n_informative=4, n_classes=3, random_state=0)
    est = FeedForwardNetwork(hidden="8+8", activation=activation, epochs=5, random_state=0).fit(X * 1e200, y)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        proba = est.predict_proba(np.vstack([X * 1e206, -X * 1e206]))
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_extreme_sequences_stay_finite():
    rng = np.random.default_rng(0)
    X, y = _pulse_sequences(40, 8, rng)
    for cell in ("elman", "gru"):
        est = RecurrentNetwork(cell=cell, hidden=4, epochs=2, random_state=0).fit(X * 1e200, y)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            proba = est.predict_proba(X * 1e206)
        assert np.all(np.isfinite(proba))


# --------------------------------------------------------------------------------------
# Parameter errors: raised by fit, naming the parameter and the value
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, kwargs, message", [
    (FeedForwardNetwork, {"activation": "relu6"}, "activation 'relu6'"),
    (FeedForwardNetwork, {"hidden": "10+x", "activation": "relu"}, r"hidden='10\+x'"),
    (FeedForwardNetwork, {"hidden": "10+0"}, r"hidden='10\+0'"),
    (FeedForwardNetwork, {"hidden": ""}, "hidden=''"),
    (FeedForwardNetwork, {"hidden": "10+10", "activation": "relu+tanh+elu"}, r"activation='relu\+tanh\+elu'"),
    (FeedForwardNetwork, {"alpha_leaky": -0.1}, "alpha_leaky=-0.1"),
    (FeedForwardNetwork, {"eta": 0.0}, "eta=0.0"),
    (GDLogisticRegression, {"eta": -1}, "eta=-1"),
    (GDLogisticRegression, {"eta": float("nan")}, "eta=nan"),
    (GDLogisticRegression, {"lam": -1e-3}, "lam=-0.001"),
    (GDLogisticRegression, {"solver": "adam"}, "solver='adam'"),
    (GDLogisticRegression, {"batch_size": 0}, "batch_size=0"),
    (GDLogisticRegression, {"momentum": 1.0}, "momentum=1.0"),
    (GDLogisticRegression, {"epochs": 2.5}, "epochs=2.5"),
    (GDLogisticRegression, {"early_stopping": "yes"}, "early_stopping='yes'"),
    (GDLogisticRegression, {"validation_fraction": 1.5}, "validation_fraction=1.5"),
    (GDLogisticRegression, {"patience": 0}, "patience=0"),
    (RecurrentNetwork, {"cell": "lstm"}, "cell='lstm'"),
    (RecurrentNetwork, {"pooling": "max"}, "pooling='max'"),
    (RecurrentNetwork, {"hidden": 0}, "hidden=0"),
    (RecurrentNetwork, {"clip": -1.0}, "clip=-1.0"),
    (RecurrentNetwork, {"n_features": 0}, "n_features=0"),
    (RecurrentNetwork, {"n_features": 3}, "n_features=3"),  # 10 columns are not frames of 3
])
def test_bad_parameters_raise_in_fit(cls, kwargs, message):
    est = cls(**kwargs)  # must not raise: scikit-learn validates in fit
    X, y = make_classification(n_samples=30, n_features=10, random_state=0)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)


def test_diverging_training_is_reported():
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    # numpy's own overflow warnings on the way to divergence are expected here.
    with pytest.raises(FloatingPointError, match="eta"), np.errstate(over="ignore", invalid="ignore"):
        FeedForwardNetwork(hidden="8", activation="linear", eta=1e6, momentum=0.99, epochs=200,
                           random_state=0).fit(X * 1e3, y)


@pytest.mark.parametrize("make", [lambda: FeedForwardNetwork(hidden="16", epochs=6, random_state=0),
                                  lambda: GDLogisticRegression(epochs=6, early_stopping=False, random_state=0)])
def test_eval_set_is_watched_every_epoch_and_changes_nothing(make, four_class_split):
    X_tr, X_te, y_tr, y_te = four_class_split
    watched = make().fit(X_tr, y_tr, eval_set=(X_te, y_te))
    plain = make().fit(X_tr, y_tr)
    np.testing.assert_array_equal(watched.predict_proba(X_te), plain.predict_proba(X_te))
    assert plain.eval_loss_curve_ is None and plain.eval_score_curve_ is None
    assert len(watched.eval_loss_curve_) == len(watched.eval_score_curve_) == len(watched.epoch_seconds_) == 6
    # the last epoch's watch is the fitted model's own score and loss on those clips
    assert watched.eval_score_curve_[-1] == pytest.approx(watched.score(X_te, y_te))
    proba = watched.predict_proba(X_te)[np.arange(len(y_te)), np.searchsorted(watched.classes_, y_te)]
    assert watched.eval_loss_curve_[-1] == pytest.approx(-np.mean(np.log(proba)))
    assert all(s >= 0 for s in watched.epoch_seconds_)


def test_eval_set_with_a_class_never_trained_on(four_class_split):
    X_tr, X_te, y_tr, y_te = four_class_split
    y_odd = np.where(y_te == y_te[0], 99, y_te)  # a label the model never saw: always wrong, not in the loss
    m = FeedForwardNetwork(hidden="8", epochs=3, random_state=0).fit(X_tr, y_tr, eval_set=(X_te, y_odd))
    assert m.eval_score_curve_[-1] == pytest.approx(np.mean(m.predict(X_te) == y_odd))
    assert np.isfinite(m.eval_loss_curve_).all()
