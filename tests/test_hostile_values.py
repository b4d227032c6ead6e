"""Hostile values (issue 25): every numeric option at 0, negative, NaN and absurdly large.

Each is refused before any work: by the parser (exit 2, the usage and one error line that
names the option and its range) or by a check right after it (exit 1, one line), never
with a traceback without ``-v``, and never after a cluster, a Prefect server or a file
write started (the unit tier refuses clusters and subprocesses: conftest.py). The ranges
live in one place (``urbansound.settings``: the settings fields' bounds and ``LIMITS``),
so the library refuses the same values.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from urbansound.cli import main
from urbansound.settings import LIMITS, FeatureSettings, TrainSettings

HOSTILE = ("0", "-1", "nan", "1e12", "1000000000000")

# option -> (the commands that take it, the range its message names, the hostile values that are valid)
OPTIONS = {
    "--sample-rate": ("fr", "from 4000 to 192000", ()),
    "--n-fft": ("fr", "from 64 to 16384", ()),
    "--hop-length": ("fr", "from 16 to 16384", ()),
    "--n-mels": ("fr", "from 8 to 512", ()),
    "--n-mfcc": ("fr", "from 2 to 128", ()),
    "--n-bands": ("fr", "from 4 to 512", ()),
    "--pcen-bands": ("fr", "from 1 to 512", ()),
    "--mel-bands": ("fr", "from 1 to 512", ()),
    "--sequence-frames": ("fr", "from 8 to 4096", ()),
    "--max-seconds": ("fr", "(0, 86400]", ()),
    "--batch-size": ("fr", "from 1 to 10000", ()),
    "--workers": ("ftsr", "from 1 to 1024", ()),
    "--n-splits": ("tsr", "from 2 to 20", ()),
    "--seed": ("tsry", "from 0 to 4294967295", ("0",)),
    "--epochs": ("s", "from 1 to 10000", ()),
    "--clips-per-class": ("y", "from 1 to 100000", ()),
    "--jobs": ("y", "from 1 to 1024", ()),
    "--snr-db": ("y", "[-40, 60]", ("0", "-1")),
    "--interval": ("v", "(0, 31622400]", ()),
}
COMMANDS = {  # letter -> argv before the option; DATA and FEATURES need not exist: the parser refuses first
    "f": ["featurize", "DATA"],
    "t": ["train", "FEATURES"],
    "s": ["study", "regularization", "FEATURES"],
    "r": ["run", "--data", "DATA"],
    "v": ["serve", "--data", "DATA"],
    "y": ["synth", "OUT"],
}
PARSER_CASES = [(COMMANDS[c], opt, value, rule) for opt, (cmds, rule, valid) in OPTIONS.items() for c in cmds
                for value in HOSTILE if value not in valid]


@pytest.fixture(autouse=True)
def _no_scheduler(monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)


@pytest.mark.parametrize("command, option, value, rule", PARSER_CASES,
                         ids=[f"{c[0]}{o}={v}" for c, o, v, _ in PARSER_CASES])
def test_a_hostile_number_is_refused_by_the_parser_naming_the_range(tmp_path, capsys, command, option, value, rule):
    argv = [str(tmp_path / a) if a in ("DATA", "FEATURES", "OUT") else a for a in command] + [f"{option}={value}"]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert e.value.code == 2 and f"argument {option}:" in last and rule in last and value in last, err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("spec, message", [
    ("speed:0", "speed must lie in [0.5, 2]"), ("speed:-1", "speed must lie in [0.5, 2]"),
    ("speed:nan", "speed must lie in [0.5, 2]"), ("pitch:1e12", "pitch must lie in [-12, 12]"),
    ("gain:nan", "gain must lie in [-40, 40]"), ("noise:inf", "noise must lie in [-10, 60]"),
    ("stretch:0", "stretch must lie in [0.5, 2]"), ("speed:x", "is not a number"), ("echo:1", "KIND one of"),
])
@pytest.mark.parametrize("command", [["featurize", "DATA"], ["run", "--data", "DATA"]])
def test_a_hostile_augmentation_is_refused_by_the_parser(tmp_path, capsys, command, spec, message):
    argv = [str(tmp_path / a) if a == "DATA" else a for a in command] + ["--augment", f"speed:0.9,{spec}"]
    with pytest.raises(SystemExit) as e:
        main(argv)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert e.value.code == 2 and "argument --augment:" in last and repr(spec) in last and message in last


@pytest.fixture
def features(tmp_path):
    """A folder that train and study take for a feature table (never read: they refuse first)."""
    folder = tmp_path / "features"
    folder.mkdir()
    (folder / "part-0.parquet").touch()
    return folder


@pytest.mark.parametrize("model, setting, message", [
    *[("fnn", f"fnn.hidden={v}", "hidden must be layer sizes from 1 to 4096") for v in ("0", "-1", "1000000000000",
                                                                                      "10+0", "10+1e12")],
    ("fnn", "fnn.hidden=nan", "hidden must be a string like '10+10'"),
    *[("fnn", f"fnn.eta={v}", "eta must be a finite number in (0.0, 1000000.0]") for v in ("0", "-1", "nan", "1e12")],
    *[("fnn", f"fnn.lam={v}", "lam must be a finite number in [0.0, 100.0]") for v in ("-1", "nan", "1e12", "inf")],
    *[("fnn", f"fnn.epochs={v}", "epochs must be an integer from 1 to 10000") for v in ("0", "-1", "1000000000000")],
    ("fnn", "fnn.batch_size=0", "batch_size must be an integer >= 1"),
    ("fnn", "fnn.momentum=nan", "momentum must be a finite number in [0.0, 1.0)"),
    *[("cnn", f"cnn.epochs={v}", "epochs=") for v in ("0", "-1", "1000000000000")],
    *[("cnn", f"cnn.lr={v}", "expected a number in (0.0, 10.0]") for v in ("0", "-1", "nan", "1e12")],
    *[("cnn", f"cnn.batch_size={v}", "expected a whole number in [1, 65536]") for v in ("0", "-1", "1000000000000")],
    ("cnn", "cnn.channels=1000000000000", "channel counts of 1..1024"),
    ("cnn", "cnn.dropout=nan", "expected a number in [0.0, 0.95]"),
    ("cnn", "cnn.weight_decay=1e12", "expected a number in [0.0, 10.0]"),
])
def test_a_hostile_model_setting_is_one_line_before_any_cluster(features, capsys, model, setting, message):
    assert main(["train", str(features), "--models", model, "--set", setting]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and f"model {model!r}" in err and "Traceback" not in err, err


@pytest.mark.parametrize("study, values, message", [
    ("regularization", "-1", "λ must be 0 or more, a number in [0, 100]"),
    ("regularization", "nan", "λ must be 0 or more, a number in [0, 100]"),
    ("regularization", "1e12", "λ must be 0 or more, a number in [0, 100]"),
    ("learning-rate", "0", "η must be above 0, a number in (0, 1000000]"),
    ("learning-rate", "1e12", "η must be above 0, a number in (0, 1000000]"),
    ("learning-rate", "0.1,inf", "η must be above 0, a number in (0, 1000000]"),
])
def test_a_hostile_study_grid_is_one_line_before_any_cluster(features, capsys, study, values, message):
    assert main(["study", study, str(features), "--values", values]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--values " in err and message in err, err


@pytest.mark.parametrize("argv, message", [
    (["--hop-length", "4096", "--n-fft", "1024"], "hop_length=4096 is larger than n_fft=1024"),
    (["--n-mfcc", "64", "--n-mels", "32", "--pcen-bands", "32"], "n_mfcc=64 exceeds n_mels=32"),
    (["--pcen-bands", "48"], "pcen_bands=48 does not divide n_mels=128"),
    (["--augment", "speed:0.9,speed:0.9"], "augment lists a spec twice"),
])
def test_settings_that_clash_are_one_line_exit_2_and_v_adds_the_traceback(av_dataset, tmp_path, capsys, argv,
                                                                         message):
    ws = tmp_path / "ws"
    assert main(["featurize", str(av_dataset), "--workspace", str(ws), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"invalid setting: {message}" in err and "pydantic.dev" not in err, err
    assert main(["-v", "featurize", str(av_dataset), "--workspace", str(ws), *argv]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert not ws.exists()


# ------------------------------------------------------------- the library refuses alike
@pytest.mark.parametrize("field", ["sample_rate", "n_fft", "hop_length", "n_mels", "n_mfcc", "n_bands",
                                   "pcen_bands", "mel_bands", "sequence_frames", "max_seconds", "batch_size"])
@pytest.mark.parametrize("value", [0, -1, float("nan"), 1e12, 10**12])
def test_feature_settings_refuse_what_the_parser_refuses(field, value):
    with pytest.raises(ValidationError, match=field):
        FeatureSettings(**{field: value})


@pytest.mark.parametrize("field, value", [("seed", -1), ("seed", 2**32), ("n_splits", 1), ("n_splits", 10**12)])
def test_train_settings_refuse_what_the_parser_refuses(field, value):
    with pytest.raises(ValidationError, match=field):
        TrainSettings(**{field: value})


@pytest.mark.parametrize("workers", [0, -1, 10**12])
def test_the_cluster_refuses_a_hostile_worker_count(workers):
    from urbansound.cluster import local_cluster_kwargs

    with pytest.raises(ValueError, match="workers must be a whole number from 1 to 1024"):
        local_cluster_kwargs(workers)


@pytest.mark.parametrize("kwargs, message", [
    ({"clips_per_class": 10**12}, "clips_per_class must be a whole number from 1 to 100000"),
    ({"clips_per_class": 0}, "clips_per_class must be"),
    ({"seed": -1}, "seed must be a whole number from 0 to 4294967295"),
    ({"snr_db": float("nan")}, "snr_db must be a number in [-40, 60]"),
    ({"jobs": 10**12}, "jobs must be a whole number from 1 to 1024"),
])
def test_synth_refuses_hostile_numbers_before_writing(tmp_path, kwargs, message):
    from urbansound.synth import write_dataset

    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        write_dataset(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_the_limits_name_their_range():
    assert str(LIMITS["workers"]) == "a whole number from 1 to 1024"
    assert str(LIMITS["interval"]) == "a number in (0, 31622400]"
    assert 1 in LIMITS["workers"] and 0 not in LIMITS["workers"] and 1.5 not in LIMITS["workers"]
    assert float("nan") not in LIMITS["eta"] and float("inf") not in LIMITS["lam"] and 0.0 in LIMITS["lam"]
