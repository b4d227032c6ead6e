"""The command line as a user meets it: real commands on a small dataset."""

import json

import pandas as pd
import pytest

from urbansound.cli import main


def test_synth_featurize_train_on_the_urbansound8k_layout(us8k_dataset, client, tmp_path, capsys):
    ws = tmp_path / "ws"
    sched = ["--scheduler", client.scheduler.address]
    assert main(["featurize", str(us8k_dataset), "--workspace", str(ws), *sched]) == 0
    out = capsys.readouterr().out
    assert "clip(s) featurized, 0 failed" in out
    features = ws / "features" / us8k_dataset.name
    assert main(["train", str(features), "--workspace", str(ws), "--models", "forest,knn",
                 "--set", "forest.n_estimators=50", *sched]) == 0  # 300 by default: the wiring is checked here
    out = capsys.readouterr().out
    assert "leave one official fold out" in out and "| forest | all |" in out  # default: all feature sets
    report = json.loads((ws / "reports" / us8k_dataset.name / "cv.json").read_text())
    assert report["protocol"] == "official" and len(report["entries"]) == 2
    n_folds = pd.read_csv(us8k_dataset / "metadata" / "UrbanSound8K.csv").fold.nunique()
    assert all(len(e["fold_accuracy"]) == n_folds for e in report["entries"])
    assert (ws / "models" / us8k_dataset.name / "model.skops").is_file()
    # this layout has no test split: submit says so and fails
    assert main(["submit", str(us8k_dataset), "--workspace", str(ws)]) == 1
    assert "no test clips" in capsys.readouterr().err


def test_featurize_train_submit_on_the_av_layout(av_dataset, client, tmp_path, capsys):
    ws = tmp_path / "ws"
    sched = ["--scheduler", client.scheduler.address]
    assert main(["featurize", str(av_dataset), "--workspace", str(ws), "--n-mfcc", "20", *sched]) == 0
    assert main(["train", str(ws / "features" / av_dataset.name), "--workspace", str(ws), *sched]) == 0
    assert main(["submit", str(av_dataset), "--workspace", str(ws)]) == 0
    assert "submission with" in capsys.readouterr().out
    sub = pd.read_csv(ws / "submissions" / f"{av_dataset.name}.csv", dtype=str)
    test_ids = pd.read_csv(av_dataset / "test.csv", dtype=str).ID
    assert list(sub.columns) == ["ID", "Class"] and sorted(sub.ID) == sorted(test_ids)


@pytest.mark.parametrize("argv, message", [
    (["featurize", "{tmp}"], "neither dataset layout"),
    (["train", "{tmp}"], "neither a dataset folder nor a feature table"),
    (["train", "{features}", "--models", "nope"], "unknown model(s) 'nope'"),
])
def test_errors_are_one_clear_line_and_exit_1(tmp_path, capsys, argv, message, av_dataset, client):
    features = tmp_path / "features"
    argv = [a.format(tmp=tmp_path, features=features) for a in argv] + ["--scheduler", client.scheduler.address]
    if "{features}" in " ".join(argv) or "nope" in argv:
        main(["featurize", str(av_dataset), "--out", str(features), "--scheduler", client.scheduler.address])
        capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_setting_is_refused_before_work(tmp_path, capsys, av_dataset):
    assert main(["featurize", str(av_dataset), "--hop-length", "9999", "--workspace", str(tmp_path)]) == 2
    assert "hop_length" in capsys.readouterr().err
    assert not (tmp_path / "features").exists()


@pytest.mark.integration  # a fresh interpreter
def test_the_command_line_starts_without_the_heavy_libraries():
    # `urbansound --help` and argument errors answer at once: scikit-learn, Dask and
    # Prefect load only in the command that needs them
    import subprocess
    import sys

    code = ("import sys, urbansound.cli; "
            "print(sorted(m for m in ('sklearn', 'dask', 'distributed', 'prefect', 'librosa', 'numpy', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    # an unknown --set name is refused, with the valid names, before any of them is imported
    heavy = ("sklearn", "dask", "distributed", "prefect", "librosa", "numpy", "pandas")
    for argv in (["study", "solver", "nowhere", "--set", "fnn.nonsense=1"],
                 ["train", "nowhere", "--set", "fnn.nonsense=1"]):
        code = ("import sys, urbansound.cli; "
                f"code = urbansound.cli.main({argv!r}); "
                f"print(code, sorted(m for m in {heavy!r} if m in sys.modules))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "1 []", (argv, done.stdout, done.stderr)
        assert "has no parameter 'nonsense'; valid names: activation, alpha_leaky" in done.stderr


def test_model_names_are_the_registry_s():
    from urbansound.models import MODEL_NAMES, registry

    assert set(registry._FACTORIES) | {"rnn"} == set(MODEL_NAMES)


def test_train_takes_the_dataset_folder_too(av_dataset, client, tmp_path, capsys):
    ws = tmp_path / "ws"
    sched = ["--scheduler", client.scheduler.address]
    assert main(["train", str(av_dataset), "--workspace", str(ws), *sched]) == 1  # not featurized yet
    assert f"run `urbansound featurize {av_dataset} --workspace {ws}` first" in capsys.readouterr().err
    assert main(["featurize", str(av_dataset), "--workspace", str(ws), *sched]) == 0
    assert main(["train", str(av_dataset), "--workspace", str(ws), "--models", "logreg", "--feature-sets", "mfcc",
                 *sched]) == 0
    assert (ws / "models" / av_dataset.name / "model.skops").is_file()
    assert main(["train", str(tmp_path), "--workspace", str(ws), *sched]) == 1
    assert "neither a dataset folder nor a feature table" in capsys.readouterr().err


def test_version_and_a_bad_dataset_before_any_server(capsys, tmp_path):
    from urbansound import __version__

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"urbansound {__version__}"
    assert main(["run", "--data", str(tmp_path / "nowhere"), "--workspace", str(tmp_path)]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_runs_lists_every_train_with_its_provenance(av_dataset, client, tmp_path, capsys):
    ws = tmp_path / "ws"
    sched = ["--scheduler", client.scheduler.address]
    assert main(["featurize", str(av_dataset), "--workspace", str(ws), *sched]) == 0
    assert main(["runs", str(av_dataset), "--workspace", str(ws)]) == 1  # none yet
    for seed in ("0", "1"):
        assert main(["train", str(av_dataset), "--workspace", str(ws), "--models", "logreg", "--feature-sets", "mfcc",
                     "--seed", seed, *sched]) == 0
    capsys.readouterr()
    assert main(["runs", str(av_dataset), "--workspace", str(ws)]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if "logreg on mfcc" in ln]
    assert len(rows) == 2
    reports = ws / "reports" / av_dataset.name
    kept = sorted((reports / "runs").glob("*.json"))
    records = [json.loads(p.read_text()) for p in kept]
    latest = json.loads((reports / "cv.json").read_text())
    assert records[-1] == latest and records[0]["run"]["id"] != latest["run"]["id"]
    run = latest["run"]
    assert {"id", "time", "inputs", "table", "code", "git_commit", "versions", "hyper_parameters",
            "model_sha256"} <= set(run)
    assert run["versions"]["scikit-learn"] and run["table"] == records[0]["run"]["table"]  # same table twice
    assert run["hyper_parameters"]["logreg/mfcc"]["logisticregression__C"] == 1.0
    described = json.loads((ws / "models" / av_dataset.name / "model.json").read_text())
    assert described["provenance"]["id"] == run["id"] and described["provenance"]["table"] == run["table"]


def test_the_package_installs_one_top_level_module():
    import tomllib
    from pathlib import Path

    from setuptools import find_packages

    root = Path(__file__).resolve().parents[1]
    include = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.split(".")[0] for p in find_packages(where=str(root), include=include)} == {"urbansound"}
    assert "urbansound.flows" in find_packages(where=str(root), include=include)


def test_small_lopsided_data_is_said_in_one_block(client, tmp_path, capsys):
    from urbansound.synth import write_dataset

    data = tmp_path / "lopsided"
    write_dataset(data, layout="av", clips_per_class=2, seed=3, formats="simple")
    ws, sched = tmp_path / "ws", ["--scheduler", client.scheduler.address]
    assert main(["validate", str(data)]) == 0
    out = capsys.readouterr().out
    problems = out[out.index("problems:"):]
    assert "class(es) have no training clip, so no model can ever predict them: air_conditioner" in problems
    assert "class(es) have fewer training clip(s) than the 5 folds" in problems
    assert main(["featurize", str(data), "--workspace", str(ws), *sched]) == 0
    capsys.readouterr()
    assert main(["train", str(data), "--workspace", str(ws), "--models", "logreg", "--feature-sets", "mfcc",
                 "--cv", "kfold", "--n-splits", "5", *sched]) == 0
    out = capsys.readouterr().out
    block = out[out.index("\nwarnings:"):]
    assert "--n-splits 5 asked, 2 folds run: the largest class has only that many clips" in block
    assert "have no training clip" in block
    assert out.count("warnings:") == 1
    cv = (ws / "reports" / "lopsided" / "cv.json").read_text()
    assert "--n-splits 5 asked" in cv  # kept in the record too


@pytest.mark.parametrize("layout", ["urbansound8k", "av"])
def test_train_skm_fnn_and_submit_with_it(layout, us8k_dataset, av_dataset, client, tmp_path, capsys):
    """`train DATA --models skm-fnn` on both layouts: the codes are learned inside each fit,
    the model file reads a feature set and the images, and a submission comes from it."""
    data = us8k_dataset if layout == "urbansound8k" else av_dataset
    ws = tmp_path / "ws"
    sched = ["--scheduler", client.scheduler.address]
    assert main(["featurize", str(data), "--workspace", str(ws), "--augment", "speed:1.1", *sched]) == 0
    tiny = ["--set", "skm-fnn.encoder__n_codes=16", "--set", "skm-fnn.classifier__epochs=3"]
    assert main(["train", str(data), "--workspace", str(ws), "--models", "skm-fnn", "--feature-sets", "mfcc",
                 *tiny, *sched]) == 0
    assert "| skm-fnn | mfcc+mel |" in capsys.readouterr().out
    report = json.loads((ws / "reports" / data.name / "cv.json").read_text())
    assert report["best"]["model"] == "skm-fnn" and report["best"]["feature_set"] == "mfcc+mel"
    model = json.loads((ws / "models" / data.name / "model.json").read_text())
    assert model["model"] == "skm-fnn" and model["feature_set"] == "mfcc+mel"
    if layout == "av":
        assert main(["submit", str(data), "--workspace", str(ws)]) == 0
        sub = pd.read_csv(ws / "submissions" / f"{data.name}.csv", dtype=str)
        assert sorted(sub.ID) == sorted(pd.read_csv(data / "test.csv", dtype=str).ID)


@pytest.mark.parametrize("layout", ["urbansound8k", "av"])
def test_train_the_cnn_and_submit_with_it(layout, us8k_dataset, av_dataset, client, tmp_path, capsys):
    """`train DATA --models cnn` on both layouts (a tiny network): CV, refit, a model file
    that reads the log-mel images, and on the AV layout a submission from it."""
    pytest.importorskip("torch")
    data = us8k_dataset if layout == "urbansound8k" else av_dataset
    ws = tmp_path / "ws"
    sched = ["--scheduler", client.scheduler.address]
    assert main(["featurize", str(data), "--workspace", str(ws), "--augment", "speed:1.1", *sched]) == 0
    tiny = ["--set", "cnn.epochs=2", "--set", "cnn.channels=4+8", "--set", "cnn.threads=1"]
    assert main(["train", str(data), "--workspace", str(ws), "--models", "cnn", *tiny, *sched]) == 0
    assert "| cnn | mel |" in capsys.readouterr().out
    report = json.loads((ws / "reports" / data.name / "cv.json").read_text())
    assert report["best"]["model"] == "cnn" and report["best"]["feature_set"] == "mel"
    assert report["run"]["hyper_parameters"]["cnn/mel"]["channels"] == "4+8"
    model = json.loads((ws / "models" / data.name / "model.json").read_text())
    assert model["model"] == "cnn" and model["feature_set"] == "mel"
    if layout == "av":
        assert main(["submit", str(data), "--workspace", str(ws)]) == 0
        sub = pd.read_csv(ws / "submissions" / f"{data.name}.csv", dtype=str)
        assert sorted(sub.ID) == sorted(pd.read_csv(data / "test.csv", dtype=str).ID)
