"""The Prefect API for a run whose tasks execute in Dask worker processes.

Tasks on the ``DaskTaskRunner`` run in the workers and report to the Prefect API from
there, so the workers must know its address. With ``PREFECT_API_URL`` set (a Prefect
server, or the test harness), it is exported to the environment the LocalCluster's
workers inherit. Without it, Prefect would start a temporary server in this process that
worker processes cannot see (each would start one of its own), so one temporary server
is started here and shared by all.

Workers of an existing Dask cluster must have ``PREFECT_API_URL`` set themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_API_URL, temporary_settings


@contextmanager
def prefect_api() -> Iterator[str]:
    """Yield the API URL every process of this run uses, starting a server if needed."""
    url = PREFECT_API_URL.value()
    server = None
    if not url:
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()
        server.start()
        url = server.api_url
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        if server is not None:
            _drain_logs()  # before the server goes, or the log workers retry for a minute
            server.stop()


def _drain_logs() -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    try:
        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
    except RuntimeError:  # the workers never started
        pass
