"""One Prefect flow per stage: featurize, train, submit. Tasks are thin wrappers over the
library; each stage's fan-out (a Dask task per batch of clips, per CV fold) happens inside
the library through the Dask client of the flow's ``DaskTaskRunner``.

No ``from __future__ import annotations``: Prefect builds each flow's parameter model from
the real annotation types, also when a served run loads this file afresh.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client, get_worker, worker_client
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect_dask import DaskTaskRunner, get_dask_client

from urbansound.cluster import (
    DEFAULT_DASHBOARD,
    local_cluster_kwargs,
    scheduler_address,
)
from urbansound.datasets import Dataset, read_dataset
from urbansound.featurize import FeaturizeSummary, featurize_dataset
from urbansound.report import build_report
from urbansound.settings import PipelineSettings
from urbansound.submission import SubmissionResult, submit
from urbansound.tables import md_code, md_text
from urbansound.training import TrainResult, reuse, train
from urbansound.workspace import MODEL_FILE

FILE_RETRIES = {"retries": 2, "retry_delay_seconds": [5, 30]}  # backoff for tasks that touch files


@contextmanager
def stage_client() -> Iterator[Client]:
    """A Dask client for a stage task's fan-out.

    On a Dask worker (the ``DaskTaskRunner`` puts stage tasks there) this is
    ``worker_client()``: the task's thread leaves the worker's pool while it waits for its
    batch tasks, so the worker runs batches meanwhile (a plain client would hold the
    thread: a one-thread worker would wait for ever, two would run at half speed).
    """
    try:
        get_worker()
    except ValueError:  # not on a worker: the flow's own client
        with get_dask_client() as client:
            yield client
        return
    with worker_client() as client:
        yield client


def task_runner(scheduler: str | None = None, workers: int | None = None,
                dashboard_address: str = DEFAULT_DASHBOARD) -> DaskTaskRunner:
    """A DaskTaskRunner on an existing scheduler, or on a new loopback LocalCluster.

    Without arguments it follows ``$DASK_SCHEDULER_ADDRESS``: that is how a served
    deployment's runs, which import this module afresh, find the cluster.
    """
    address = scheduler_address(scheduler)
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs=local_cluster_kwargs(workers, dashboard_address=dashboard_address))


@task(name="validate-dataset", cache_policy=NO_CACHE)
def validate_dataset(settings: PipelineSettings) -> Dataset:
    """Read the dataset and check its metadata: a bad dataset stops here, before any work."""
    dataset = read_dataset(settings.data_dir, allow_missing=settings.allow_missing)
    get_run_logger().info("%s: %s layout, %d clip(s)%s", dataset.root, dataset.layout, len(dataset.clips),
                          f", {len(dataset.missing)} listed without audio (left out)" if len(dataset.missing) else "")
    return dataset


@task(name="featurize", cache_policy=NO_CACHE, **FILE_RETRIES)
def featurize_task(settings: PipelineSettings, dataset: Dataset) -> FeaturizeSummary:
    # No Prefect cache: featurize is incremental by itself, keyed on the clips' bytes.
    logger = get_run_logger()

    def progress(done: int, total: int, failed: int, rate: float) -> None:
        logger.info("featurize: %d/%d clips, %.1f clips/s, %d failed", done, total, rate, failed)

    with stage_client() as client:
        logger.info("Dask dashboard: %s (%d worker(s))", client.dashboard_link,
                    len(client.scheduler_info()["workers"]))
        summary = featurize_dataset(dataset.clips, settings.features, settings.paths.features, client,
                                    on_progress=progress, source=dataset.root)
    logger.info(summary.describe())
    for f in summary.failures[:20]:
        logger.warning("failed: %s: %s", f["path"], f["error"])
    return summary


@task(name="train", cache_policy=NO_CACHE, **FILE_RETRIES)
def train_task(settings: PipelineSettings) -> TrainResult:
    # No Prefect cache (a pickle loaded on a hit): a run that failed after training resumes
    # from the workspace's own JSON record when it still describes the model file there.
    paths = settings.paths
    logger = get_run_logger()
    result = reuse(paths.features, settings.train, reports_dir=paths.reports, models_dir=paths.models)
    if result is None:
        with stage_client() as client:
            result = train(paths.features, settings.train, dataset=settings.dataset_name,
                           reports_dir=paths.reports, models_dir=paths.models, client=client)
    for line in result.report.markdown().splitlines()[:40]:
        logger.info(line)
    logger.info(result.describe())
    publish_training(settings.dataset_name, result)
    return result


def artifact_key(kind: str, dataset: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) for one dataset's ``kind``."""
    return f"urbansound-{kind}-" + "".join(c if c.isalnum() else "-" for c in dataset.lower()).strip("-")


def training_artifacts(dataset: str, result: TrainResult) -> dict[str, dict]:
    """The keyword arguments of the CV table artifact (``"cv"``) and the model's markdown
    artifact (``"model"``). Markdown (the descriptions and the model's page) holds names from
    the data (the dataset folder, paths) escaped: a name holding ``<script>`` is shown as
    text in the Prefect UI. Table cells are text to the UI already."""
    report = result.report
    rows = [{"model": e.model, "features": e.feature_set, "mean": round(e.mean, 4), "std": round(e.std, 4),
             "train": round(e.train_mean, 4), "folds": " ".join(f"{a:.3f}" for a in e.fold_accuracy),
             "fit seconds": round(e.seconds, 1)} for e in sorted(report.entries, key=lambda e: -e.mean)]
    best = report.best
    run = report.run or {}
    markdown = "\n".join([
        f"# {md_text(best.model)} on {md_text(best.feature_set)} features",
        f"accuracy **{best.mean:.3f} ± {best.std:.3f}** ({md_text(report.note)})",
        "", f"- model file: {md_code(result.model_path)} (SHA-256 {md_code(run.get('model_sha256'))})",
        f"- CV record: {md_code(result.cv_json)}, train run {md_code(run.get('id'))} of {md_text(run.get('time'))}"
        + (" (reused: same settings, table and code)" if result.reused else ""),
        f"- git commit: {md_code(run.get('git_commit'))}"])
    return {
        "cv": {"table": rows, "key": artifact_key("cv", dataset),
               "description": f"Cross-validation on {md_text(dataset)}: {md_text(report.note)} "
                              f"({report.n_clips} clips)"},
        "model": {"key": artifact_key("model", dataset), "description": f"The model saved for {md_text(dataset)}",
                  "markdown": markdown},
    }


def publish_training(dataset: str, result: TrainResult) -> None:
    """The CV table and the chosen model as artifacts of the flow run: the Prefect UI lists
    them under the run and, by key, across runs."""
    artifacts = training_artifacts(dataset, result)
    create_table_artifact(**artifacts["cv"])
    create_markdown_artifact(**artifacts["model"])


@task(name="submit", cache_policy=NO_CACHE, **FILE_RETRIES)
def submit_task(settings: PipelineSettings, dataset: Dataset) -> SubmissionResult | None:
    logger = get_run_logger()
    if not (dataset.clips["split"] == "test").any() and not (dataset.missing["split"] == "test").any():
        logger.info("no test split in this dataset (%s layout): no submission to write", dataset.layout)
        return None
    paths = settings.paths
    result = submit(dataset, paths.features, paths.models / MODEL_FILE, paths.submission)
    logger.info(result.describe())
    return result


@task(name="report", cache_policy=NO_CACHE, **FILE_RETRIES)
def report_task(settings: PipelineSettings, run_facts: dict) -> Path:
    path = build_report(settings.paths, data_dir=settings.data_dir, run_facts=run_facts)
    get_run_logger().info("report: %s", path)
    create_link_artifact(key=artifact_key("report", settings.dataset_name), link=path.absolute().as_uri(),
                         link_text=f"report of {md_text(settings.dataset_name)}",
                         description="the HTML report, on the machine that ran the flow")
    return path


def _timed(logger: object, stage: str, start: float) -> float:
    seconds = time.perf_counter() - start
    logger.info("stage %s done in %.1f s", stage, seconds)
    return seconds


@flow(name="urbansound-featurize", task_runner=task_runner())
def featurize_flow(settings: PipelineSettings) -> FeaturizeSummary:
    """Validate the dataset, then decode and featurize every clip into Parquet."""
    start = time.perf_counter()
    dataset = validate_dataset(settings)
    summary = featurize_task.submit(settings, dataset).result()
    _timed(get_run_logger(), "featurize", start)
    return summary


@flow(name="urbansound-train", task_runner=task_runner())
def train_flow(settings: PipelineSettings) -> TrainResult:
    """Cross-validate the models on the feature table, refit the best and save it."""
    start = time.perf_counter()
    result = train_task.submit(settings).result()
    _timed(get_run_logger(), "train", start)
    return result


@flow(name="urbansound-submit", task_runner=task_runner())
def submit_flow(settings: PipelineSettings) -> SubmissionResult | None:
    """Predict every test clip and write the validated submission CSV."""
    start = time.perf_counter()
    dataset = validate_dataset(settings)
    result = submit_task.submit(settings, dataset).result()
    _timed(get_run_logger(), "submit", start)
    return result


@flow(name="urbansound-report")
def report_flow(settings: PipelineSettings, run_facts: dict | None = None) -> Path:
    """Write the HTML report: example clips per class, class balance, CV, study, run facts.

    Runs in this process (figures are drawn locally): no Dask needed.
    """
    start = time.perf_counter()
    path = report_task(settings, run_facts or {})
    _timed(get_run_logger(), "report", start)
    return path


def on_cluster(stage_flow, address: str):  # noqa: ANN001, ANN201 - Prefect Flow in, Flow out
    """The stage flow with a task runner on the given Dask scheduler."""
    return stage_flow.with_options(task_runner=DaskTaskRunner(address=address))


__all__ = ["featurize_flow", "on_cluster", "report_flow", "submit_flow", "task_runner", "train_flow"]
