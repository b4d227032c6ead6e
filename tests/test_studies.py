"""The seed project's studies: their grids, what they refuse, one task's measurements.

The studies running end to end from the command line, and the report drawing them, are in
tests/test_report.py (its ``full_run`` runs all four on tiny grids).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from urbansound.cli import main
from urbansound.exceptions import StudyError
from urbansound.studies import ACTIVATIONS, LAMBDAS, SOLVERS, STUDY_NAMES, points
from urbansound.workspace import study_file
from urbansound.studies.run import fit_watching, study_table, summarise
from urbansound.tables import markdown as markdown_table


def test_each_study_s_grid():
    act = points("activations")
    assert [(p.group, p.x) for p in act] == [(a, h) for h in ("10", "10+10", "10+10+10") for a in ACTIVATIONS]
    assert "linear" in ACTIVATIONS
    reg = points("regularization")
    assert {p.model for p in reg} == {"gd-logreg", "fnn"} and len(reg) == 2 * len(LAMBDAS)
    assert LAMBDAS[0] == 0 and 1e-6 in LAMBDAS and 1e-1 in LAMBDAS
    lr = points("learning-rate", values=(1e-3, 1e-1))
    assert [(p.group, p.x) for p in lr] == [("GD", 1e-3), ("GD", 1e-1), ("SGD", 1e-3), ("SGD", 1e-1)]
    assert all(dict(p.params)["momentum"] == 0 and dict(p.params)["epochs"] == 100 for p in lr)
    solver = points("solver", overrides={"fnn": {"eta": 0.05, "hidden": "10"}}, epochs=7)
    assert [p.group for p in solver] == [label for label, _ in SOLVERS]
    for p in solver:  # one η for all, the --set applied, the study's epochs, never early stopping
        params = dict(p.params)
        assert (params["eta"], params["hidden"], params["epochs"], params["early_stopping"]) == (0.05, "10", 7, False)
    assert study_file("learning-rate") == "study_learning_rate.json"


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "nonsense"}, "unknown study 'nonsense'; choose from activations"),
    ({"name": "activations", "values": (1.0,)}, "no numeric grid"),
    ({"name": "learning-rate", "values": (0.0, 1e-2)}, "η must be above 0"),
    ({"name": "regularization", "values": (-1.0,)}, "λ must be 0 or more"),
    ({"name": "regularization", "overrides": {"fnn": {"lam": 1e-3}}}, "varies lam itself"),
    ({"name": "activations", "overrides": {"fnn": {"activation": "tanh"}}}, "varies activation itself"),
    ({"name": "solver", "overrides": {"logreg": {"C": 1.0}}}, "trains fnn only"),
])
def test_what_a_study_refuses(kwargs, message):
    with pytest.raises(StudyError, match=message):
        points(**kwargs)


@pytest.mark.parametrize("argv, message", [
    (["--set", "fnn.nonsense=1"], "has no parameter 'nonsense'; valid names: activation, alpha_leaky"),
    (["--set", "fnn.eta=-1"], "eta"),
    (["--values", "1e-3"], "no numeric grid"),
])
def test_a_bad_study_option_fails_before_any_cluster(argv, message, tmp_path, capsys, monkeypatch):
    import urbansound.cluster

    def no_cluster(*a, **k):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(urbansound.cluster, "dask_client", no_cluster)
    assert main(["study", "solver", str(tmp_path / "x"), "--workspace", str(tmp_path), *argv]) == 1
    assert message in capsys.readouterr().err


def test_a_task_measures_every_epoch_and_a_diverging_one_says_so():
    X, y = make_classification(n_samples=300, n_features=12, n_informative=6, n_classes=3, random_state=0)
    y = y.astype(str)
    split = (np.arange(200), np.arange(200, 300))
    (good,) = points("solver", epochs=5)[:1]
    runs = [fit_watching(good, 0, X, y, split), fit_watching(good, 1, X, y, split)]
    assert all(r["diverged"] is None and len(r["eval_accuracy_curve"]) == 5 for r in runs)
    s = summarise(good, runs)
    assert s["mean"] == pytest.approx(np.mean([r["accuracy"] for r in runs]))
    assert len(s["validation_accuracy_curve"]) == 5 and s["seconds_per_epoch"] > 0 and s["diverged"] == 0
    # η far too large: a non-finite loss, or one that grows by orders of magnitude, is "diverged"
    bad = points("learning-rate", values=(1e6,), epochs=5)[0]
    r = fit_watching(bad, 0, X, y, split)
    assert r["diverged"] and "eta" in r["diverged"] and "accuracy" not in r
    s = summarise(bad, [r])
    assert s["mean"] is None and s["diverged"] == 1 and s["fold_accuracy"] == [None]
    table = study_table("learning-rate", [s])
    assert table["rows"] == [["1e+06", "-", "diverged (1/1 folds)"]]
    assert markdown_table(table).splitlines()[0] == "| η | GD train | GD validation |"


def test_study_names_are_the_cli_s():
    from urbansound.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    study = sub.choices["study"]
    assert next(a for a in study._actions if a.dest == "which").choices == STUDY_NAMES
