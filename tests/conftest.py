"""Shared fixtures: small synthetic datasets and one loopback Dask cluster per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")

# Real clips to check against (never committed): $URBANSOUND_REALDATA, else ../shared/realdata.
REALDATA = Path(os.environ.get("URBANSOUND_REALDATA") or Path(__file__).resolve().parents[2] / "shared" / "realdata")


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


@pytest.fixture
def procs(tmp_path):
    """Real server processes (see processes.py); all killed at the end, none left behind."""
    from processes import Processes

    p = Processes(tmp_path)
    yield p
    p.stop()
    assert not p.survivors(), "processes left behind"
