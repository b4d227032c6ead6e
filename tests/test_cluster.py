"""urbansound.cluster without starting one: defaults and addresses."""

from __future__ import annotations


def test_the_default_worker_count_is_the_cores_this_process_may_use(monkeypatch):
    import dask.system

    from urbansound.cluster import local_cluster_kwargs, usable_cores

    monkeypatch.setattr(dask.system, "cpu_count", lambda: 3)  # e.g. a cgroup quota of 3 CPUs on a big host
    assert usable_cores() == 3 and local_cluster_kwargs()["n_workers"] == 3
    assert local_cluster_kwargs(5)["n_workers"] == 5
