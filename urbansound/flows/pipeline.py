"""The whole pipeline as one Prefect flow on a Dask cluster.

The pipeline flow opens (or joins) the Dask cluster, then runs the stage flows of
``urbansound.flows.stages`` as subflows on it: featurize, train, submit. It reads like the pipeline's
table of contents; the work is in the library.

No ``from __future__ import annotations`` here: Prefect builds the flow's parameter
model from the real annotation types, also when a served run loads this file afresh.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger

from urbansound.flows.server import prefect_api
from urbansound.flows.stages import (
    featurize_flow,
    on_cluster,
    report_flow,
    submit_flow,
    train_flow,
)
from urbansound import checks
from urbansound.cluster import DEFAULT_DASHBOARD, dask_client
from urbansound.featurize import FeaturizeSummary
from urbansound.settings import PipelineSettings
from urbansound.submission import SubmissionResult
from urbansound.training import TrainResult


@dataclass
class PipelineSummary:
    """What one pipeline run produced, and how long each stage took."""

    dataset: str
    features: FeaturizeSummary
    training: TrainResult
    submission: SubmissionResult | None
    report: Path | None = None
    workers: int = 0
    dashboard: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        best = self.training.report.best
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.stage_seconds.items())
        lines = [
            f"dataset:     {self.dataset}",
            f"features:    {self.features.out_dir} ({self.features.clips} clips, {self.features.failed} failed)",
            f"CV report:   {self.training.cv_json} (and cv.md)",
            f"model:       {self.training.model_path}",
            f"submission:  {self.submission.path if self.submission else 'none (the dataset has no test split)'}",
            f"report:      {self.report}",
            f"stages:      {stages} on {self.workers} Dask worker(s)",
            f"CV accuracy: {best.mean:.3f} +- {best.std:.3f} ({best.model} on {best.feature_set} features; "
            f"{self.training.report.note})",
        ]
        said = checks.block(self.training.report.warnings + (self.submission.warnings if self.submission else []),
                            self.training.report.library_warnings)
        return "\n".join(lines + ([said] if said else []))


@flow(name="urbansound-pipeline")
def pipeline(settings: PipelineSettings, scheduler: str | None = None, workers: int | None = None,
             dashboard_address: str = DEFAULT_DASHBOARD, log_summary: bool = True) -> PipelineSummary:
    """Featurize, train and submit one dataset on a Dask cluster.

    Parameters
    ----------
    settings : PipelineSettings
        Validated by Prefect: a bad value fails the run before any work.
    scheduler : str, optional
        An existing Dask scheduler; default ``$DASK_SCHEDULER_ADDRESS``, else a
        LocalCluster on 127.0.0.1 for this run.
    workers : int, optional
        LocalCluster worker processes (default: one per core).
    log_summary : bool
        Log the run's summary (and its warnings) when it ends: where a served run tells
        what it did. ``urbansound run`` prints it instead, once.
    """
    logger = get_run_logger()
    seconds: dict[str, float] = {}
    with dask_client(scheduler, workers, dashboard_address=dashboard_address) as client:
        address = client.scheduler.address
        n_workers = len(client.scheduler_info()["workers"])
        logger.info("Dask cluster %s with %d worker(s); dashboard: %s", address, n_workers, client.dashboard_link)

        start = time.perf_counter()
        features = on_cluster(featurize_flow, address)(settings)
        seconds["featurize"] = time.perf_counter() - start

        start = time.perf_counter()
        training = on_cluster(train_flow, address)(settings)
        seconds["train"] = time.perf_counter() - start

        start = time.perf_counter()
        submission = on_cluster(submit_flow, address)(settings)
        seconds["submit"] = time.perf_counter() - start

        summary = PipelineSummary(settings.dataset_name, features, training, submission, None, n_workers,
                                  client.dashboard_link, seconds)
    start = time.perf_counter()
    facts = {"workers": n_workers, "Dask scheduler": address,
             "stage seconds": {k: round(v, 1) for k, v in seconds.items()},
             "submission": str(submission.path) if submission else "none (no test split)"}
    summary.report = report_flow(settings, facts)
    seconds["report"] = time.perf_counter() - start
    if log_summary:  # a served run's summary lives in its logs; `urbansound run` prints it instead
        for line in summary.describe().splitlines():
            logger.info(line)
    return summary


def run_pipeline(settings: PipelineSettings, *, scheduler: str | None = None, workers: int | None = None,
                 dashboard_address: str = DEFAULT_DASHBOARD, log_summary: bool = True) -> PipelineSummary:
    """Run :func:`pipeline` once, with a Prefect API the Dask workers can reach."""
    with prefect_api():
        return pipeline(settings, scheduler=scheduler, workers=workers, dashboard_address=dashboard_address,
                        log_summary=log_summary)


def serve_pipeline(settings: PipelineSettings, *, cron: str | None = None, interval: float | None = None,
                   name: str = "scheduled") -> None:
    """Serve :func:`pipeline` as a Prefect deployment on a schedule; blocks until stopped.

    Needs a Prefect server (``PREFECT_API_URL``). Each scheduled run loads this module
    in a fresh process; its Dask cluster comes from ``$DASK_SCHEDULER_ADDRESS`` (or a new
    LocalCluster per run), and its settings are the deployment's parameters.
    """
    pipeline.serve(
        name=name,
        cron=cron,
        interval=interval,
        parameters={"settings": settings.model_dump(mode="json")},
        description=f"urbansound pipeline on {settings.data_dir}",
        tags=["urbansound"],
    )


__all__ = ["PipelineSummary", "pipeline", "run_pipeline", "serve_pipeline"]
