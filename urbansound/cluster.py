"""Dask cluster access: a LocalCluster here, or an existing scheduler.

Workers must be able to read the dataset and write the feature folder at the same paths
as the machine that submits the work (a shared disk or the same machine).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
DEFAULT_DASHBOARD = "127.0.0.1:8787"
_TRIM_VAR = "MALLOC_TRIM_THRESHOLD_"


def scheduler_address(explicit: str | None) -> str | None:
    """The scheduler to use: the explicit one, else ``$DASK_SCHEDULER_ADDRESS``, else None."""
    return explicit or os.environ.get(SCHEDULER_ENV) or None


def usable_cores() -> int:
    """Cores this process may run on: the least of the machine's count, its CPU affinity and
    its cgroup CPU quota (a container limited to 2 CPUs on a 64-core host gets 2)."""
    from dask.system import cpu_count

    return max(1, cpu_count())


def local_cluster_kwargs(workers: int | None = None, *, dashboard_address: str = DEFAULT_DASHBOARD) -> dict[str, Any]:
    """Keyword arguments for a loopback-only ``distributed.LocalCluster``.

    One single-threaded process per worker: decoding and feature code hold the GIL for
    part of their time, so processes scale where threads do not. The default is one
    worker per core this process may use (:func:`usable_cores`), not the machine's count.
    """
    from urbansound.settings import LIMITS

    n = usable_cores() if workers is None else int(LIMITS["workers"].check("workers", workers))
    return {
        "n_workers": n,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": dashboard_address,
    }


CONNECT_TIMEOUT_S = 10


def connect(address: str, *, explicit: bool = True) -> Any:
    """A ``distributed.Client`` of an existing scheduler, or a :class:`ClusterError` within
    :data:`CONNECT_TIMEOUT_S` that names the address, where it came from and what to do."""
    from distributed import Client

    from urbansound.exceptions import ClusterError

    origin = "--scheduler" if explicit else f"${SCHEDULER_ENV}"
    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except Exception as e:  # noqa: BLE001 - whatever fails here (refused, timed out, malformed, not Dask) is one error
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ClusterError(
            f"cannot use the Dask scheduler {address!r} (from {origin}; {CONNECT_TIMEOUT_S} s to answer): {reason}. "
            f"Start it (`dask scheduler`), fix the address (tcp://HOST:PORT), or "
            f"{'leave out --scheduler' if explicit else f'unset {SCHEDULER_ENV}'} to use a local cluster."
        ) from e


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None,
                *, dashboard_address: str = DEFAULT_DASHBOARD) -> Iterator[Any]:
    """A Dask client for the duration of the block.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``); falls back to
        ``$DASK_SCHEDULER_ADDRESS``. Without either, a LocalCluster is started on
        127.0.0.1 and closed at the end of the block.
    workers : int, optional
        LocalCluster worker processes (default: one per core).
    """
    from distributed import Client, LocalCluster

    address = scheduler_address(scheduler)
    if address:
        with connect(address, explicit=scheduler is not None) as client:
            log.info("connected to Dask scheduler %s; dashboard: %s", address, client.dashboard_link)
            yield client
        return
    import dask

    # Dask gives each worker MALLOC_TRIM_THRESHOLD_=65536, so every array over 128 KiB
    # gets fresh pages from the kernel: measured 1.6x the CPU per clip in featurize at the
    # same peak memory (benchmarks/README.md). The Nanny prefers the OS environment, so
    # drop an inherited value too.
    os.environ.pop(_TRIM_VAR, None)
    with (dask.config.set({f"distributed.nanny.pre-spawn-environ.{_TRIM_VAR}": None}),
          LocalCluster(**local_cluster_kwargs(workers, dashboard_address=dashboard_address)) as cluster,
          Client(cluster) as client):
        log.info("started a local Dask cluster of %d worker(s); dashboard: %s",
                 len(cluster.workers), client.dashboard_link)
        yield client
