"""Entry point of the ``urbansound-pipeline`` deployments (``prefect.yaml``).

The flow itself lives in :mod:`urbansound.flows.pipeline`: validate, featurize, train,
submit and report one dataset on a Dask cluster (``$DASK_SCHEDULER_ADDRESS``, else a
LocalCluster on 127.0.0.1 per run). Its one required parameter is ``settings``, a
:class:`urbansound.settings.PipelineSettings` as JSON.
"""

from urbansound.flows.pipeline import pipeline

__all__ = ["pipeline"]
