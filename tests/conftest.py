"""Shared fixtures: small synthetic datasets and one loopback Dask cluster per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
# joblib's loky counts physical cores with a subprocess unless told: not in the unit tier
os.environ.setdefault("LOKY_MAX_CPU_COUNT", str(os.cpu_count() or 1))

# Prefect's test server gets this long to start (its default, 30 s, was missed on this
# two-core machine while other jobs ran: "Timed out while attempting to connect").
HARNESS_STARTUP_S = 120

# librosa (and its Numba gufuncs: compiled or loaded from the cache) before any test starts a
# Dask worker or the Prefect server, under the package's cache lock (issue 26, numba#10128).
import urbansound._librosa  # noqa: E402,F401

# Real clips to check against (never committed): $URBANSOUND_REALDATA, else ../shared/realdata.
REALDATA = Path(os.environ.get("URBANSOUND_REALDATA") or Path(__file__).resolve().parents[2] / "shared" / "realdata")


# ---------------------------------------------------------------- the two tiers
# `make test-fast` runs `-m "not integration"`: the unit tier, with no Dask cluster, no
# Prefect server and no subprocess. A test is in the integration tier when it is marked,
# when its module is listed here, or when it uses a fixture listed here; an unmarked test
# that starts a subprocess or a LocalCluster anyway fails, naming the marker to add.
INTEGRATION_MODULES = frozenset({"test_flows", "test_server", "test_orchestration", "test_compose"})
INTEGRATION_FIXTURES = frozenset({"client", "procs", "harness", "prefect_server", "decoder"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if (module is not None and module.__name__.rpartition(".")[2] in INTEGRATION_MODULES) or (
                INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    if request.node.get_closest_marker("integration"):
        yield
        return
    from distributed import LocalCluster

    def refuse(what: str):
        def refuse(*args, **kwargs):
            raise RuntimeError(f"{request.node.nodeid} starts {what}: mark it @pytest.mark.integration "
                               "(the unit tier, `make test-fast`, starts none)")
        return refuse

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("a subprocess"))
    monkeypatch.setattr(LocalCluster, "__init__", refuse("a Dask LocalCluster"))
    yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def av_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic AV-layout dataset (shared: tests must not modify it)."""
    from urbansound.synth import write_dataset

    root = tmp_path_factory.mktemp("av") / "tiny-av"
    write_dataset(root, layout="av", clips_per_class=12, seed=7)
    return root


@pytest.fixture(scope="session")
def us8k_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic UrbanSound8K-layout dataset (shared: tests must not modify it)."""
    from urbansound.synth import write_dataset

    root = tmp_path_factory.mktemp("us8k") / "tiny-us8k"
    write_dataset(root, layout="urbansound8k", clips_per_class=12, seed=7)
    return root


@pytest.fixture(scope="session")
def client():
    """A real two-process LocalCluster on 127.0.0.1, closed at the end of the session."""
    from distributed import Client, LocalCluster

    from urbansound.cluster import local_cluster_kwargs

    with LocalCluster(**local_cluster_kwargs(2, dashboard_address="127.0.0.1:0")) as cluster, Client(cluster) as c:
        yield c


class _PrefectServer:
    """A temporary Prefect server (SQLite in a temporary folder, 127.0.0.1) whose start-up
    (15-30 s here) runs in a thread: its process is started at once, and it gets ready while
    the tests before the first one that needs it run."""

    def __init__(self) -> None:
        from prefect.server.api.server import SubprocessASGIServer

        from processes import free_port

        self.folder = Path(tempfile.mkdtemp(prefix="urbansound-prefect-"))
        self.server = SubprocessASGIServer(port=free_port())
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._start, name="prefect-server-start", daemon=True)
        self.thread.start()
        # Return once the process exists: a unit test refuses subprocesses (fixture below)
        while self.thread.is_alive() and getattr(self.server, "server_process", None) is None:
            time.sleep(0.01)

    def _start(self) -> None:
        from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL, temporary_settings

        db = f"sqlite+aiosqlite:///{self.folder / 'prefect.db'}"
        try:  # the server process gets these settings in its environment
            with temporary_settings(updates={PREFECT_SERVER_DATABASE_CONNECTION_URL: db}):
                self.server.start(timeout=HARNESS_STARTUP_S)
        except BaseException as e:  # noqa: BLE001 - raised in the test that needs the server
            self.error = e

    def api_url(self) -> str:
        self.thread.join(HARNESS_STARTUP_S + 30)
        if self.error is not None:
            raise self.error
        assert not self.thread.is_alive(), "the Prefect server did not start"
        return self.server.api_url

    def stop(self) -> None:
        self.thread.join(HARNESS_STARTUP_S + 30)
        self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
        if self in _prefect_servers:
            _prefect_servers.remove(self)


_prefect_servers: list[_PrefectServer] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    # Start the session's Prefect server now when a selected test needs one (not in the unit tier)
    if any("prefect_server" in getattr(item, "fixturenames", ()) for item in session.items):
        _prefect_servers.append(_PrefectServer())


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A server started at collection whose tests never ran (-x, a keyboard interrupt) is
    # stopped too: no process is left behind.
    for server in list(_prefect_servers):
        server.stop()


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the session: its API URL. Starting one takes 15-30 s
    here, so the tests that need one share it (started at collection, see _PrefectServer);
    each points Prefect at it only while it runs (fixture ``harness``)."""
    if not _prefect_servers:
        _prefect_servers.append(_PrefectServer())
    server = _prefect_servers[0]
    try:
        yield server.api_url()
    finally:
        server.stop()


@pytest.fixture
def harness(prefect_server: str):
    """Flows of this test report to the session's Prefect server (what Prefect's
    ``prefect_test_harness`` does, without starting a server per use)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from urbansound.flows.server import _drain_logs

    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield prefect_server
        _drain_logs()  # this test's logs and events reach the server before its URL is unset


@pytest.fixture
def procs(tmp_path):
    """Real server processes (see processes.py); all killed at the end, none left behind."""
    from processes import Processes

    p = Processes(tmp_path)
    yield p
    p.stop()
    assert not p.survivors(), "processes left behind"
