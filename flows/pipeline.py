"""The whole pipeline as one Prefect flow on a Dask cluster.

Stage tasks are thin wrappers over the library. They run on the Dask cluster through
prefect-dask's ``DaskTaskRunner``; inside, each stage fans its work out as Dask tasks at
batch granularity (one per batch of clips, one per CV fold) through ``get_dask_client``.

No ``from __future__ import annotations`` here: Prefect builds the flow's parameter
model from the real annotation types, also when a served run loads this file afresh.
"""


from dataclasses import dataclass

from prefect import flow, get_run_logger, task
from prefect_dask import DaskTaskRunner, get_dask_client

from flows.server import prefect_api
from urbansound.cluster import DEFAULT_DASHBOARD, local_cluster_kwargs, scheduler_address
from urbansound.datasets import Dataset, read_dataset
from urbansound.featurize import FeaturizeSummary, featurize_dataset
from urbansound.settings import PipelineSettings
from urbansound.submission import SubmissionResult, submit
from urbansound.training import TrainResult, train


@dataclass
class PipelineSummary:
    """What one pipeline run produced."""

    dataset: str
    features: FeaturizeSummary
    training: TrainResult
    submission: SubmissionResult | None

    def describe(self) -> str:
        best = self.training.report.best
        lines = [
            f"dataset:     {self.dataset}",
            f"features:    {self.features.out_dir} ({self.features.clips} clips, {self.features.failed} failed)",
            f"CV report:   {self.training.cv_json} (and cv.md)",
            f"model:       {self.training.model_path}",
            f"submission:  {self.submission.path if self.submission else 'none (the dataset has no test split)'}",
            f"CV accuracy: {best.mean:.3f} +- {best.std:.3f} ({best.model} on {best.feature_set} features; "
            f"{self.training.report.note})",
        ]
        return "\n".join(lines)


@task(name="validate-dataset")
def validate_dataset(settings: PipelineSettings) -> Dataset:
    dataset = read_dataset(settings.data_dir, allow_missing=settings.allow_missing)
    get_run_logger().info("%s: %s layout, %d clip(s)", dataset.root, dataset.layout, len(dataset.clips))
    return dataset


@task(name="featurize", retries=2, retry_delay_seconds=[5, 30])
def featurize_stage(settings: PipelineSettings, dataset: Dataset) -> FeaturizeSummary:
    logger = get_run_logger()

    def progress(done: int, total: int, failed: int, rate: float) -> None:
        logger.info("featurize: %d/%d clips, %.1f clips/s, %d failed", done, total, rate, failed)

    with get_dask_client() as client:
        logger.info("Dask dashboard: %s (%d worker(s))", client.dashboard_link,
                    len(client.scheduler_info()["workers"]))
        summary = featurize_dataset(dataset.clips, settings.features, settings.paths.features, client,
                                    on_progress=progress)
    logger.info(summary.describe())
    for f in summary.failures[:20]:
        logger.warning("failed: %s: %s", f["path"], f["error"])
    return summary


@task(name="train", retries=1, retry_delay_seconds=10)
def train_stage(settings: PipelineSettings) -> TrainResult:
    paths = settings.paths
    with get_dask_client() as client:
        result = train(paths.features, settings.train, dataset=settings.dataset_name,
                       reports_dir=paths.reports, models_dir=paths.models, client=client)
    get_run_logger().info(result.describe())
    return result


@task(name="submit", retries=2, retry_delay_seconds=[5, 30])
def submit_stage(settings: PipelineSettings, dataset: Dataset) -> SubmissionResult | None:
    logger = get_run_logger()
    if not (dataset.clips["split"] == "test").any() and not (dataset.missing["split"] == "test").any():
        logger.info("no test split in this dataset (%s layout): no submission to write", dataset.layout)
        return None
    paths = settings.paths
    result = submit(dataset, paths.features, paths.models / "model.pkl", paths.submission)
    logger.info(result.describe())
    return result


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


@flow(name="urbansound-pipeline", log_prints=True, task_runner=task_runner())
def pipeline(settings: PipelineSettings) -> PipelineSummary:
    """Validate, featurize, train and submit: the whole pipeline for one dataset."""
    dataset = validate_dataset(settings)
    features = featurize_stage.submit(settings, dataset).result()
    training = train_stage.submit(settings, wait_for=[features]).result()
    submission = submit_stage.submit(settings, dataset, wait_for=[training]).result()
    return PipelineSummary(settings.dataset_name, features, training, submission)


def run_pipeline(settings: PipelineSettings, *, scheduler: str | None = None, workers: int | None = None,
                 dashboard_address: str = DEFAULT_DASHBOARD) -> PipelineSummary:
    """Run :func:`pipeline` once on the chosen Dask cluster."""
    runner = task_runner(scheduler, workers, dashboard_address)
    with prefect_api():
        return pipeline.with_options(task_runner=runner)(settings)


def serve_pipeline(settings: PipelineSettings, *, cron: str | None = None, interval: float | None = None,
                   name: str = "scheduled") -> None:
    """Serve :func:`pipeline` as a Prefect deployment on a schedule; blocks until stopped.

    Needs a Prefect server (``PREFECT_API_URL``). Each scheduled run imports this module
    in a fresh process, so the Dask cluster comes from ``$DASK_SCHEDULER_ADDRESS`` (or a
    new LocalCluster), and the run's settings are the deployment's parameters.
    """
    pipeline.serve(
        name=name,
        cron=cron,
        interval=interval,
        parameters={"settings": settings.model_dump(mode="json")},
        description=f"urbansound pipeline on {settings.data_dir}",
        tags=["urbansound"],
    )


__all__ = ["pipeline", "run_pipeline", "serve_pipeline", "task_runner", "PipelineSummary"]
