"""A dataset kept in object storage: metadata and clips read through fsspec.

Unit tests use fsspec's in-process ``memory://`` filesystem; the integration tests start a
real S3-compatible server (moto's, on 127.0.0.1) and read a bucket from Dask workers and
from the command line, with the credentials in the environment only.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from processes import BIN

SECRET = "s3cr3t-never-in-any-output-7f3a"  # the fake credentials' secret key: found nowhere after a run


def _upload(local: Path, url: str) -> None:
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    for p in sorted(local.rglob("*")):
        if p.is_file():
            fs.pipe_file(f"{root}/{p.relative_to(local).as_posix()}", p.read_bytes())


@pytest.fixture
def memory_copy(request):
    """A copy of a shared dataset (fixture named by the test's parameter) in memory://."""
    import fsspec

    local = request.getfixturevalue(request.param)
    url = f"memory://datasets-{os.getpid()}/{local.name}"
    _upload(local, url)
    yield local, url
    fsspec.filesystem("memory").rm(url.removeprefix("memory://"), recursive=True)


def _comparable(clips: pd.DataFrame) -> pd.DataFrame:
    return clips.assign(path=clips["path"].map(lambda p: "/".join(str(p).split("/")[-2:]))).reset_index(drop=True)


@pytest.mark.parametrize("memory_copy", ["av_dataset", "us8k_dataset"], indirect=True)
def test_a_dataset_in_storage_reads_as_its_local_copy(memory_copy):
    from urbansound.datasets import read_dataset
    from urbansound.validate import validate

    local, url = memory_copy
    here, there = read_dataset(local), read_dataset(url)
    assert there.layout == here.layout
    assert all(p.startswith("memory://") for p in there.clips["path"])
    pd.testing.assert_frame_equal(_comparable(there.clips), _comparable(here.clips))
    assert validate(url).ok  # the audio check reads every header through fsspec


@pytest.mark.parametrize("memory_copy", ["av_dataset"], indirect=True)
def test_a_missing_clip_in_storage_is_named_like_a_local_one(memory_copy):
    import fsspec

    from urbansound.datasets import read_dataset
    from urbansound.exceptions import DatasetError

    _, url = memory_copy
    gone = read_dataset(url).clips["path"].iloc[0]
    fsspec.filesystem("memory").rm(gone.removeprefix("memory://"))
    with pytest.raises(DatasetError, match=r"1 of \d+ clip\(s\) listed in the metadata have no audio file: memory://"):
        read_dataset(url)
    assert len(read_dataset(url, allow_missing=True).missing) == 1


@pytest.mark.parametrize("memory_copy", ["av_dataset"], indirect=True)
def test_clips_in_storage_give_the_same_features(memory_copy, tmp_path):
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_batch
    from urbansound.settings import FeatureSettings

    local, url = memory_copy
    settings = FeatureSettings(augment=("speed:1.1",))
    parts = {}
    for where, name in ((local, "here"), (url, "there")):
        records = read_dataset(where).clips.head(6).to_dict("records")
        (tmp_path / name).mkdir()
        result = featurize_batch(records, settings=settings, out_dir=str(tmp_path / name))
        assert not result.failures
        parts[name] = Path(result.part)
    # (the parts' keys differ: a row holds its clip's path, so a moved dataset is a new table)
    here, there = (pd.read_parquet(p).drop(columns=["path"]) for p in parts.values())
    pd.testing.assert_frame_equal(here, there)


def test_where_a_dataset_is_said_and_named():
    from urbansound import storage
    from urbansound.cli import build_parser
    from urbansound.exceptions import DatasetError
    from urbansound.settings import PipelineSettings

    assert storage.is_url("s3://b/x") and not storage.is_url("file:///tmp/x") and not storage.is_url("data/raw")
    assert storage.location("file:///tmp/x") == Path("/tmp/x")
    assert storage.name_of("s3://bucket/sets/tiny-av/") == "tiny-av"
    assert storage.identity("s3://bucket/sets/tiny-av/") == "s3://bucket/sets/tiny-av"
    settings = PipelineSettings(data_dir="s3://bucket/sets/tiny-av")
    assert settings.data_dir == "s3://bucket/sets/tiny-av" and settings.dataset_name == "tiny-av"
    assert PipelineSettings.model_validate_json(settings.model_dump_json()).data_dir == "s3://bucket/sets/tiny-av"
    assert isinstance(PipelineSettings(data_dir="data/raw/x").data_dir, Path)
    a = build_parser().parse_args(["featurize", "s3://bucket/sets/tiny-av"])
    assert a.data_dir == "s3://bucket/sets/tiny-av"
    with pytest.raises(DatasetError, match=r"nosuch://x/y: cannot read nosuch:// URLs here"):
        storage.location("nosuch://x/y")


@pytest.fixture
def s3(monkeypatch):
    """A moto S3 server on 127.0.0.1 (this process, a thread), with the environment every
    process started from here reads its endpoint and credentials from; stopped after."""
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    import logging

    import fsspec

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "urbansound-test",
           "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    fsspec.filesystem("s3", skip_instance_cache=True).mkdir("clips")
    try:
        yield env
    finally:
        fsspec.config.conf.clear()
        server.stop()


@pytest.mark.integration  # a moto S3 server, a LocalCluster, the CLI in a subprocess
def test_the_pipeline_runs_on_a_dataset_in_a_bucket(s3, av_dataset, tmp_path):
    from distributed import Client, LocalCluster

    from urbansound.cluster import local_cluster_kwargs
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_dataset, read_features
    from urbansound.settings import FeatureSettings

    url = f"s3://clips/sets/{av_dataset.name}"
    _upload(av_dataset, url)
    settings = FeatureSettings()
    tables = {}
    # workers started after the environment was set: each opens its clips from the bucket itself
    with LocalCluster(**local_cluster_kwargs(2, dashboard_address="127.0.0.1:0")) as cluster, Client(cluster) as c:
        for where, name in ((av_dataset, "here"), (url, "there")):
            summary = featurize_dataset(read_dataset(where).clips, settings, tmp_path / name, c, source=where)
            assert summary.failed == 0
            tables[name] = read_features(tmp_path / name).sort_values("clip_id").reset_index(drop=True)
    assert tables["there"]["path"].str.startswith(url + "/").all()
    pd.testing.assert_frame_equal(tables["here"].drop(columns=["path"]), tables["there"].drop(columns=["path"]))

    ws = tmp_path / "ws"
    done = subprocess.run([str(BIN / "urbansound"), "run", "--data", url, "--workspace", str(ws), "--augment", "none",
                           "--workers", "2", "--dashboard-address", "127.0.0.1:0"],
                          capture_output=True, text=True, env={**os.environ, **s3, "DASK_SCHEDULER_ADDRESS": ""},
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    submission = pd.read_csv(ws / "submissions" / f"{av_dataset.name}.csv")
    assert sorted(submission["ID"].astype(str)) == sorted(pd.read_csv(av_dataset / "test.csv")["ID"].astype(str))
    assert (ws / "reports" / av_dataset.name / "report.html").is_file()
    # the credentials live in the environment only: no output and no file written holds the secret
    assert SECRET not in done.stdout + done.stderr
    for p in ws.rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), p
