"""Orchestration for real use, with real processes on 127.0.0.1: a multi-process Dask
cluster started with the `dask scheduler` and `dask worker` commands, its dashboard, and a
scheduled deployment served against a temporary Prefect server."""

from __future__ import annotations

import asyncio
import json
import time

import pandas as pd

from processes import BIN, final_flow_run, free_port, wait_http




def test_local_cluster_binds_to_loopback_by_default():
    from urbansound.cli import build_parser
    from urbansound.cluster import DEFAULT_DASHBOARD, dask_client, local_cluster_kwargs

    assert local_cluster_kwargs(2)["host"] == "127.0.0.1" and DEFAULT_DASHBOARD.startswith("127.0.0.1:")
    assert build_parser().parse_args(["featurize", "x"]).dashboard_address.startswith("127.0.0.1:")
    with dask_client(workers=1, dashboard_address="127.0.0.1:0") as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert client.dashboard_link.startswith("http://127.0.0.1:")
        for worker in client.scheduler_info()["workers"]:
            assert worker.startswith("tcp://127.0.0.1:")


def test_pipeline_on_a_multi_process_cluster_with_dashboard(procs, harness, av_dataset, tmp_path):
    from urbansound.flows.pipeline import run_pipeline
    from urbansound.settings import PipelineSettings

    port, dash = free_port(), free_port()
    address = f"tcp://127.0.0.1:{port}"
    api = harness  # the stage tasks report to it from the workers
    scheduler = procs.start("scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                          "--dashboard-address", f"127.0.0.1:{dash}"])
    status = wait_http(f"http://127.0.0.1:{dash}/status", proc=scheduler)
    assert b"Dask" in status
    for i in range(2):
        procs.start(f"worker{i}", [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                   "--name", f"w{i}"], env={"PREFECT_API_URL": api})
    from distributed import Client

    with Client(address, timeout=60) as c:
        c.wait_for_workers(2, timeout=60)
    settings = PipelineSettings(data_dir=av_dataset, workspace=tmp_path / "ws", name="multi-process-av")
    summary = run_pipeline(settings, scheduler=address)
    with Client(address, timeout=60) as c:
        executed = c.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and all(n > 0 for n in executed.values()), executed  # both workers worked
    sub = pd.read_csv(summary.submission.path, dtype=str)
    assert set(sub.ID) == set(pd.read_csv(av_dataset / "test.csv", dtype=str).ID) and sub.ID.is_unique
    assert summary.training.report.best.mean > 0.5
    assert "Dask" in wait_http(f"http://127.0.0.1:{dash}/status").decode()


def test_serve_creates_a_scheduled_deployment_that_runs(procs, prefect_server, av_dataset, tmp_path):
    api = prefect_server  # the session's temporary Prefect server (conftest.py)
    # The served process asks the server for runs to start every second, not every 10 s (Prefect's default).
    env = {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DASK_SCHEDULER_ADDRESS": "",
           "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    # No augmented rows: the served run featurizes 104 clips, not 242 rows (the default recipe runs in
    # test_flows and in the multi-process test above); the deployment must carry the option.
    serve = procs.start("serve", [str(BIN / "urbansound"), "serve", "--cron", "0 3 * * *", "--data", str(av_dataset),
                                  "--workspace", str(tmp_path / "ws"), "--deployment", "nightly", "--augment", "none"],
                        env=env)

    async def drive() -> tuple[list, str, dict]:
        from prefect.client.orchestration import PrefectClient

        async with PrefectClient(api) as client:
            deadline = time.monotonic() + 120
            while True:
                assert serve.poll() is None, procs.log("serve")
                found = [d for d in await client.read_deployments() if d.name == "nightly"]
                if found:
                    break
                assert time.monotonic() < deadline, "no deployment appeared"
                await asyncio.sleep(0.5)
            deployment = found[0]
            schedules = [s.schedule.cron for s in deployment.schedules]
            run = await client.create_flow_run_from_deployment(deployment.id)
            run = await final_flow_run(client, run.id, 300, lambda: procs.log('serve')[-3000:])
            return schedules, run.state.type.value, deployment.parameters

    schedules, state, parameters = asyncio.run(drive())
    assert schedules == ["0 3 * * *"]
    assert state == "COMPLETED", procs.log("serve")[-3000:]
    assert parameters["settings"]["data_dir"] == str(av_dataset) and parameters["settings"]["features"]["augment"] == []
    submission = tmp_path / "ws" / "submissions" / f"{av_dataset.name}.csv"
    assert submission.is_file() and len(pd.read_csv(submission)) == len(pd.read_csv(av_dataset / "test.csv"))
    assert json.loads((tmp_path / "ws" / "reports" / av_dataset.name / "cv.json").read_text())["best"]["mean"] > 0.5
