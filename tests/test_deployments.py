"""The Prefect deployments in ``prefect.yaml`` and their entry points under ``flows/``."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from processes import BIN, final_flow_run

REPO = Path(__file__).resolve().parents[1]
EXPECTED = {  # (flow name, deployment name): the urbansound flow object its entry point must be
    ("urbansound-pipeline", "nightly"): "urbansound.flows.pipeline:pipeline",
    ("urbansound-featurize", "on-demand"): "urbansound.flows.stages:featurize_flow",
    ("urbansound-train", "on-demand"): "urbansound.flows.stages:train_flow",
    ("urbansound-submit", "on-demand"): "urbansound.flows.stages:submit_flow",
    ("urbansound-report", "on-demand"): "urbansound.flows.stages:report_flow",
}


def _deployments() -> list[dict]:
    return yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]


def test_every_entry_point_is_the_urbansound_flow_and_takes_its_parameters(monkeypatch):
    import importlib

    from prefect.flows import load_flow_from_entrypoint

    from urbansound.settings import PipelineSettings

    monkeypatch.chdir(REPO)  # prefect deploy reads entry points from the project folder
    default_data = re.search(r"^DATA\s*\?=\s*(\S+)", (REPO / "Makefile").read_text(), re.M).group(1)
    found = {}
    for d in _deployments():
        flow = load_flow_from_entrypoint(d["entrypoint"])
        module, name = EXPECTED[(flow.name, d["name"])].split(":")
        assert flow is getattr(importlib.import_module(module), name), d["entrypoint"]  # thin: no flow of its own
        params = flow.validate_parameters(d["parameters"])  # what a run of the deployment is given
        assert isinstance(params["settings"], PipelineSettings)
        assert str(params["settings"].data_dir) == default_data  # the embedded default `make run` makes
        assert d["work_pool"]["name"] == "urbansound"
        found[(flow.name, d["name"])] = d
    assert set(found) == set(EXPECTED)
    assert [s["cron"] for s in found[("urbansound-pipeline", "nightly")]["schedules"]] == ["0 3 * * *"]
    assert all("schedules" not in d for k, d in found.items() if k[1] == "on-demand")


def test_entry_point_modules_only_import_urbansound_flows():
    for path in sorted((REPO / "flows").glob("*.py")):
        imports = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
        assert all(line.startswith("from urbansound.flows") for line in imports), (path, imports)


@pytest.mark.integration  # a Prefect server, `prefect deploy` and a process worker
def test_prefect_deploy_all_then_a_worker_runs_a_deployment(procs, prefect_server, av_dataset, tmp_path):
    project = tmp_path / "project"  # a copy: deploy records its folder as the runs' working directory
    project.mkdir()
    shutil.copy(REPO / "prefect.yaml", project)
    shutil.copytree(REPO / "flows", project / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": prefect_server,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DASK_SCHEDULER_ADDRESS": ""}

    def prefect(*args: str) -> str:
        done = subprocess.run([str(BIN / "prefect"), *args], cwd=project, env={**os.environ, **env},
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    prefect("work-pool", "create", "urbansound", "--type", "process")
    prefect("--no-prompt", "deploy", "--all")
    assert sorted(p.name for p in project.iterdir()) == ["flows", "prefect.yaml"]  # deploy wrote nothing here

    ws = tmp_path / "ws"
    settings = {"data_dir": str(av_dataset), "workspace": str(ws), "features": {"augment": []}}

    async def deployed_then_run() -> tuple[dict, str]:
        from prefect.client.orchestration import PrefectClient

        async with PrefectClient(prefect_server) as client:
            deployments = {(await client.read_flow(d.flow_id)).name + "/" + d.name: d
                           for d in await client.read_deployments()}
            featurize = deployments["urbansound-featurize/on-demand"]
            run = await client.create_flow_run_from_deployment(featurize.id, parameters={"settings": settings})
            try:
                worker = procs.start("worker", [str(BIN / "prefect"), "worker", "start", "--pool", "urbansound",
                                                "--run-once"], env=env)
                run = await final_flow_run(client, run.id, 300, lambda: procs.log("worker")[-3000:])
                worker.wait(60)
            finally:  # the server is the session's: leave no deployment another test's names could meet
                for key in map("/".join, EXPECTED):
                    if key in deployments:
                        await client.delete_deployment(deployments[key].id)
                await client.delete_work_pool("urbansound")
            return deployments, run.state.type.value

    deployments, state = asyncio.run(deployed_then_run())
    assert set(deployments) >= {"/".join(k) for k in EXPECTED}
    nightly = deployments["urbansound-pipeline/nightly"]
    assert [s.schedule.cron for s in nightly.schedules] == ["0 3 * * *"]
    assert nightly.parameters["settings"]["data_dir"] == "data/raw/synthetic-av"
    assert nightly.work_pool_name == "urbansound"
    assert nightly.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(project)}}]
    assert state == "COMPLETED", procs.log("worker")[-3000:]
    assert (ws / "features" / av_dataset.name / "_manifest.json").is_file()
