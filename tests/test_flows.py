"""Flows: tasks called directly, and real end-to-end runs against a temporary Prefect server
(the session's, conftest.py)."""

import json

import pandas as pd
import pytest

from urbansound.flows.pipeline import pipeline, run_pipeline
from urbansound.flows.stages import task_runner, validate_dataset
from urbansound.exceptions import DatasetError
from urbansound.settings import PipelineSettings


def test_pipeline_end_to_end_then_resumes_without_redoing_work(harness, av_dataset, tmp_path):
    settings = PipelineSettings(data_dir=av_dataset, workspace=tmp_path / "ws")
    # One worker with one thread: the stage task waiting for its batches must not hold it.
    summary = run_pipeline(settings, workers=1, dashboard_address="127.0.0.1:0")

    sub = pd.read_csv(summary.submission.path, dtype=str)
    test_ids = pd.read_csv(av_dataset / "test.csv", dtype=str).ID
    assert list(sub.columns) == ["ID", "Class"]
    assert sub.ID.is_unique and set(sub.ID) == set(test_ids)
    report = json.loads(summary.training.cv_json.read_text())
    assert report["best"]["mean"] > 0.5  # chance is 0.1: a broken label join would show
    table = pd.read_parquet(summary.features.out_dir)  # the default recipe adds augmented training rows
    assert summary.features.augmented > 0 and table["augmentation"].notna().sum() == summary.features.augmented
    assert summary.features.clips == table["augmentation"].isna().sum() == table["clip_id"].nunique()
    assert set(summary.stage_seconds) == {"featurize", "train", "submit", "report"} and summary.workers == 1
    assert summary.report.is_file() and "Run facts" in summary.report.read_text()
    text = summary.describe()
    assert "CV accuracy" in text and str(summary.submission.path) in text

    # the CV table, the model and the report are artifacts of the run: the Prefect UI shows them
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from urbansound.flows.stages import artifact_key

    keys = {kind: artifact_key(kind, settings.dataset_name) for kind in ("cv", "model", "report")}
    with get_client(sync_client=True) as prefect:
        found = {a.key: a for a in prefect.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=list(keys.values()))))}
    assert set(found) == set(keys.values())
    assert found[keys["cv"]].type == "table" and "fnn" in str(found[keys["cv"]].data)
    assert found[keys["model"]].type == "markdown" and str(summary.training.model_path) in found[keys["model"]].data
    assert summary.report.name in str(found[keys["report"]].data)  # a link (Prefect stores it as markdown)

    model_mtime = summary.training.model_path.stat().st_mtime_ns
    summary.submission.path.unlink()
    again = run_pipeline(settings, workers=2, dashboard_address="127.0.0.1:0")
    assert again.features.cached_batches == again.features.batches  # nothing decoded again
    assert again.training.model_path.stat().st_mtime_ns == model_mtime  # training result reused
    assert again.submission.path.is_file()


def test_validate_task_stops_a_bad_dataset_before_any_work(tmp_path):
    (tmp_path / "train.csv").write_text("ID,Label\n1,siren\n")
    (tmp_path / "test.csv").write_text("ID\n2\n")
    with pytest.raises(DatasetError, match="missing column"):
        validate_dataset.fn(PipelineSettings(data_dir=tmp_path))


def test_task_runner_uses_the_given_scheduler(monkeypatch):
    assert task_runner("tcp://127.0.0.1:1234").address == "tcp://127.0.0.1:1234"
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:4321")
    assert task_runner().address == "tcp://127.0.0.1:4321"
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    local = task_runner(workers=3)
    assert local.address is None and local.cluster_kwargs["n_workers"] == 3
    assert local.cluster_kwargs["host"] == "127.0.0.1"


def test_flow_rejects_a_bad_parameter(harness):
    with pytest.raises(Exception, match="n_mfcc"):
        pipeline(settings={"data_dir": "/nowhere", "features": {"n_mfcc": 0}})

