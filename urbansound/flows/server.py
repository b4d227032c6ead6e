"""The Prefect API for a run whose tasks execute in Dask worker processes.

Tasks on the ``DaskTaskRunner`` run in the workers and report to the Prefect API from
there, so the workers must know its address. With ``PREFECT_API_URL`` set (a Prefect
server, or the test harness), it is exported to the environment the LocalCluster's
workers inherit. Without it, Prefect would start a temporary server in this process that
worker processes cannot see (each would start one of its own), so one temporary server
is started here and shared by all, with no UI links printed (they would be dead once the
run ends: keep a server, see the README, to look at runs afterwards).

Workers of an existing Dask cluster must have ``PREFECT_API_URL`` set themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings


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
    # A temporary server's UI is gone when the run ends: no "View at" links to it
    env = {"PREFECT_API_URL": url, **({"PREFECT_UI_URL": ""} if server is not None else {})}
    updates = {PREFECT_API_URL: url, **({PREFECT_UI_URL: ""} if server is not None else {})}
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with temporary_settings(updates=updates):
            yield url
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
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
