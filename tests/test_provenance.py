"""urbansound.provenance: the run record's fields (code digest, versions, git commit, dataset
fingerprint, hyper-parameters) and the history of runs, without git or training (the git
calls are faked: the unit tier starts no subprocess)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from urbansound import provenance
from urbansound.workspace import RUNS_DIR

HEX = re.compile(r"[0-9a-f]+")


# ---------------------------------------------------------------- code digest and versions


def test_code_digest_is_a_stable_sha256():
    digest = provenance.code_digest()
    assert len(digest) == 64 and HEX.fullmatch(digest) and digest == provenance.code_digest()


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A package folder of our own for code_digest (it hashes the .py files beside provenance.py)."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "provenance.py").write_text("x = 1\n")
    (pkg / "sub" / "mod.py").write_text("y = 2\n")
    monkeypatch.setattr(provenance, "__file__", str(pkg / "provenance.py"))
    return pkg


def test_code_digest_changes_with_any_source_file_and_only_those(fake_package):
    before = provenance.code_digest()
    (fake_package / "notes.txt").write_text("not code")
    (fake_package / "sub" / "mod.cpython-311.pyc").write_bytes(b"compiled")
    assert provenance.code_digest() == before
    (fake_package / "sub" / "mod.py").write_text("y = 3\n")
    edited = provenance.code_digest()
    assert edited != before
    (fake_package / "sub" / "mod.py").rename(fake_package / "sub" / "renamed.py")  # same bytes, another module
    assert provenance.code_digest() not in (before, edited)


def test_package_versions_lists_every_library_as_text_or_none(monkeypatch):
    versions = provenance.package_versions()
    assert list(versions) == list(provenance.PACKAGES)
    assert all(isinstance(v, str) and v for v in versions.values())  # all installed in the test venv
    real = provenance.metadata.version

    def without_skops(name):
        if name == "skops":
            raise provenance.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(provenance.metadata, "version", without_skops)
    versions = provenance.package_versions()
    assert versions["skops"] is None and versions["numpy"] == real("numpy")


# ---------------------------------------------------------------- git commit


def _fake_git(monkeypatch, head: str, status: str, calls: list | None = None):
    def run(args, **kwargs):
        if calls is not None:
            calls.append(args)
        out = head if "rev-parse" in args else status
        return subprocess.CompletedProcess(args, 0, stdout=out + "\n", stderr="")

    monkeypatch.setattr(provenance.subprocess, "run", run)


@pytest.fixture
def checkout(tmp_path, monkeypatch) -> Path:
    """A project checkout (a .git beside the package) for git_commit to ask about."""
    (tmp_path / "project" / ".git").mkdir(parents=True)
    (tmp_path / "project" / "urbansound").mkdir()
    monkeypatch.setattr(provenance, "__file__", str(tmp_path / "project" / "urbansound" / "provenance.py"))
    return tmp_path / "project"


def test_git_commit_of_a_clean_checkout(monkeypatch, checkout):
    calls: list = []
    _fake_git(monkeypatch, "a" * 40, "", calls)
    assert provenance.git_commit() == "a" * 40
    assert calls == [["git", "-C", str(checkout), "rev-parse", "HEAD"],
                     ["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"]]


def test_git_commit_of_a_changed_checkout_says_dirty(monkeypatch, checkout):
    _fake_git(monkeypatch, "b" * 40, " M urbansound/table.py")
    assert provenance.git_commit() == "b" * 40 + "+dirty"


@pytest.mark.parametrize("error", [FileNotFoundError(2, "git"), subprocess.CalledProcessError(128, "git"),
                                   subprocess.TimeoutExpired("git", 10)])
def test_git_commit_is_none_when_git_fails(monkeypatch, checkout, error):
    def run(*args, **kwargs):
        raise error

    monkeypatch.setattr(provenance.subprocess, "run", run)
    assert provenance.git_commit() is None


def test_git_commit_is_none_outside_a_checkout(tmp_path, monkeypatch):
    (tmp_path / "site-packages" / "urbansound").mkdir(parents=True)
    monkeypatch.setattr(provenance, "__file__", str(tmp_path / "site-packages" / "urbansound" / "provenance.py"))
    _fake_git(monkeypatch, "c" * 40, "")  # never asked
    assert provenance.git_commit() is None


# ---------------------------------------------------------------- dataset fingerprint and parameters


def test_table_fingerprint_follows_settings_and_parts_not_their_order():
    manifest = {"fingerprint": "0123abcd", "parts": ["part-b.parquet", "part-a.parquet"], "clips": 10}
    fp = provenance.table_fingerprint(manifest)
    assert len(fp) == 24 and HEX.fullmatch(fp)
    assert provenance.table_fingerprint({**manifest, "parts": manifest["parts"][::-1]}) == fp
    assert provenance.table_fingerprint({**manifest, "clips": 11, "source": "/elsewhere"}) == fp  # counts, folder
    assert provenance.table_fingerprint({**manifest, "fingerprint": "0123abce"}) != fp
    assert provenance.table_fingerprint({**manifest, "parts": ["part-a.parquet"]}) != fp
    assert len(provenance.table_fingerprint({})) == 24


class _Estimator:
    def get_params(self, deep=True):
        return {}


def test_jsonable_params_keeps_plain_values_and_drops_nested_estimators():
    params = {"C": 1.5, "max_iter": 100, "fit_intercept": True, "solver": "lbfgs", "random_state": None,
              "hidden": (128, 64), "steps": [("scale", _Estimator())], "clf": _Estimator(), "clf__C": 2.0,
              "dtype": float, "class_weight": {"dog": 2}}
    out = provenance.jsonable_params(params)
    assert list(out) == sorted(out)
    assert out == {"C": 1.5, "max_iter": 100, "fit_intercept": True, "solver": "lbfgs", "random_state": None,
                   "hidden": [128, 64], "clf__C": 2.0, "dtype": repr(float), "class_weight": repr({"dog": 2})}
    assert json.loads(json.dumps(out)) == out


# ---------------------------------------------------------------- the history of runs


def _record(run_id: str, time: str, mean: float, commit: str | None = "d" * 40) -> dict:
    return {"protocol": "official", "n_clips": 40,
            "run": {"id": run_id, "time": time, "git_commit": commit, "versions": {"numpy": "2.0"}},
            "best": {"model": "logreg", "feature_set": "mfcc", "mean": mean, "std": 0.01}}


def test_write_history_numbers_runs_and_names_them_by_time_and_id(tmp_path):
    first = provenance.write_history(tmp_path, _record("abc123", "2026-01-02T03:04:05+00:00", 0.5))
    second = provenance.write_history(tmp_path, _record("def456", "2026-01-02T03:04:05+00:00", 0.6))
    assert first == tmp_path / RUNS_DIR / "00001-20260102T030405Z-abc123.json"
    assert second.name == "00002-20260102T030405Z-def456.json"
    assert json.loads(first.read_text()) == _record("abc123", "2026-01-02T03:04:05+00:00", 0.5)
    assert sorted(p.name for p in (tmp_path / RUNS_DIR).iterdir()) == [first.name, second.name]  # nothing else


def test_write_history_continues_after_the_highest_number_on_disk(tmp_path):
    runs = tmp_path / RUNS_DIR
    runs.mkdir()
    (runs / "00007-20250101T000000Z-old.json").write_text("{}")
    (runs / "notes-1.json").write_text("{}")  # not numbered: ignored
    path = provenance.write_history(tmp_path, _record("new", "2026-01-02T03:04:05+00:00", 0.5))
    assert path.name.startswith("00008-")


def test_list_runs_oldest_first_with_the_best_entry_and_commit(tmp_path):
    provenance.write_history(tmp_path, _record("one", "2026-01-02T03:04:05+00:00", 0.5))
    provenance.write_history(tmp_path, _record("two", "2025-12-31T23:59:59+00:00", 0.75, commit=None))
    rows = provenance.list_runs(tmp_path)
    assert [r["id"] for r in rows] == ["one", "two"]  # by sequence, not by clock
    assert rows[1] == {"id": "two", "time": "2025-12-31T23:59:59+00:00", "protocol": "official", "clips": 40,
                       "best": "logreg on mfcc", "mean": 0.75, "std": 0.01, "git_commit": None,
                       "file": "00002-20251231T235959Z-two.json"}


def test_list_runs_skips_what_is_not_a_run_record(tmp_path):
    assert provenance.list_runs(tmp_path) == []  # no runs folder yet
    good = provenance.write_history(tmp_path, _record("ok", "2026-01-02T03:04:05+00:00", 0.5))
    runs = tmp_path / RUNS_DIR
    (runs / "00000-broken.json").write_text("{not json")
    (runs / "00003-list.json").write_text("[1, 2]")
    (runs / "00004-nobest.json").write_text(json.dumps({"run": {"id": "x"}}))
    (runs / "00005-notes.txt").write_text("{}")
    assert [r["file"] for r in provenance.list_runs(tmp_path)] == [good.name]
