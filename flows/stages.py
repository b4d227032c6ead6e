"""Entry points of the one-stage deployments (``prefect.yaml``): featurize, train, submit
and report, each on its own, with the same ``settings`` parameter as the pipeline.

The flows live in :mod:`urbansound.flows.stages`; each stage reads what the one before it
wrote in the workspace, so a stage run after another reuses its results.
"""

from urbansound.flows.stages import featurize_flow, report_flow, submit_flow, train_flow

__all__ = ["featurize_flow", "report_flow", "submit_flow", "train_flow"]
