"""Downloading, verifying and unpacking, against a small archive served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import random
import re
import socket
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from urbansound.fetch import REMOTES, FetchError, Remote, download, fetch, unpack

CSV = (
    "slice_file_name,fsID,start,end,salience,fold,classID,class\n"
    "100032-3-0-0.wav,100032,0.0,0.317551,1,1,3,dog_bark\n"
    "100263-2-0-117.wav,100263,58.5,62.5,1,1,2,children_playing\n"
)
FILENAME = "UrbanSound8K.tar.gz"
CHUNK = 8 << 10


def _tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny UrbanSound8K-shaped archive, about 100 KiB of incompressible bytes."""
    rnd = random.Random(0)
    return _tar_gz(
        tmp_path_factory.mktemp("archive") / FILENAME,
        {
            "UrbanSound8K/metadata/UrbanSound8K.csv": CSV.encode(),
            "UrbanSound8K/audio/fold1/100032-3-0-0.wav": rnd.randbytes(50_000),
            "UrbanSound8K/audio/fold1/100263-2-0-117.wav": rnd.randbytes(50_000),
        },
    )


@dataclass
class Behaviour:
    """What the test server does; tests change it between requests."""

    payload: bytes
    cut_after: int | None = None  # send this many body bytes, then drop the connection (once)
    ignore_range: bool = False  # answer 200 with the whole file even to a Range request
    corrupt: bool = False  # flip one byte in the middle
    ranges: list[str | None] = field(default_factory=list)  # the Range header of each request


class RangeHandler(BaseHTTPRequestHandler):
    """GET /UrbanSound8K.tar.gz with ``Range: bytes=N-`` support (SimpleHTTPRequestHandler has none)."""

    server: _Server

    def do_GET(self) -> None:
        b = self.server.behaviour
        b.ranges.append(self.headers.get("Range"))
        if self.path != f"/{FILENAME}":
            self.send_error(404)
            return
        body = b.payload
        if b.corrupt:
            mid = len(body) // 2
            body = body[:mid] + bytes([body[mid] ^ 0xFF]) + body[mid + 1 :]
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if m and not b.ignore_range:
            start = int(m.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if b.cut_after is not None:
            body, b.cut_after = body[: b.cut_after], None
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every request thread
    block_on_close = True
    behaviour: Behaviour


@dataclass
class Served:
    url: str
    behaviour: Behaviour

    def remote(self, md5: str, root: str | None = None) -> Remote:
        return Remote(url=self.url, md5=md5, filename=FILENAME, root=root)


@pytest.fixture
def served(archive: Path) -> Iterator[Served]:
    server = _Server(("127.0.0.1", 0), RangeHandler)
    server.behaviour = Behaviour(payload=archive.read_bytes())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-http")
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}/{FILENAME}", server.behaviour)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()


@pytest.fixture
def good_md5(archive: Path) -> str:
    return _md5(archive.read_bytes())


# ------------------------------------------------------------------ fetch
def test_fetch_downloads_verifies_and_unpacks(served, good_md5, tmp_path):
    calls: list[tuple[int, int | None]] = []
    root = fetch("urbansound8k", tmp_path, remote=served.remote(good_md5), progress=lambda d, t: calls.append((d, t)))
    assert root == tmp_path / "UrbanSound8K"
    assert (root / "metadata" / "UrbanSound8K.csv").read_text() == CSV
    assert sorted(p.name for p in (root / "audio" / "fold1").iterdir()) == ["100032-3-0-0.wav", "100263-2-0-117.wav"]
    assert _md5((tmp_path / FILENAME).read_bytes()) == good_md5
    size = len(served.behaviour.payload)
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert served.behaviour.ranges == [None]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([FILENAME, "UrbanSound8K"])  # no .part, no temp folder


def test_fetch_url_overrides_the_registered_remote(served, tmp_path):
    # The registered md5 is the real archive's: the served file fails it, which shows the
    # download came from the overriding URL and was checked against the registered md5.
    with pytest.raises(FetchError, match=REMOTES["urbansound8k"].md5):
        fetch("urbansound8k", tmp_path, url=served.url)
    assert served.behaviour.ranges == [None]


def test_fetch_again_does_nothing(served, good_md5, tmp_path):
    remote = served.remote(good_md5, root="UrbanSound8K")
    root = fetch("urbansound8k", tmp_path, remote=remote)
    (tmp_path / FILENAME).unlink()  # even without the archive: the dataset is there
    assert fetch("urbansound8k", tmp_path, remote=remote) == root
    assert served.behaviour.ranges == [None]


def test_fetch_can_remove_the_archive(served, good_md5, tmp_path):
    root = fetch("urbansound8k", tmp_path, remote=served.remote(good_md5), keep_archive=False)
    assert (root / "metadata" / "UrbanSound8K.csv").is_file()
    assert not (tmp_path / FILENAME).exists()


def test_fetch_unknown_dataset_names_the_known_ones(tmp_path):
    with pytest.raises(FetchError, match=r"unknown dataset 'urbansound9k'.*urbansound8k"):
        fetch("urbansound9k", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_registered_remote_is_the_zenodo_archive():
    r = REMOTES["urbansound8k"]
    assert r.url.startswith("https://zenodo.org/record/1203745/files/UrbanSound8K.tar.gz")
    assert (r.md5, r.filename, r.root) == ("9aa69802bbf37fb986f71ec1483a196e", "UrbanSound8K.tar.gz", "UrbanSound8K")


# ------------------------------------------------------------------ download
def test_interrupted_download_resumes_with_a_range_request(served, good_md5, tmp_path):
    remote = served.remote(good_md5)
    cut = len(served.behaviour.payload) // 3
    served.behaviour.cut_after = cut
    with pytest.raises(FetchError, match="re-run to resume"):
        download(remote, tmp_path, chunk_size=CHUNK)
    part = tmp_path / f"{FILENAME}.part"
    assert part.stat().st_size == cut
    assert not (tmp_path / FILENAME).exists()

    path = download(remote, tmp_path, chunk_size=CHUNK)
    assert served.behaviour.ranges == [None, f"bytes={cut}-"]
    assert path == tmp_path / FILENAME and _md5(path.read_bytes()) == good_md5
    assert not part.exists()


def test_server_ignoring_range_restarts_from_scratch(served, good_md5, tmp_path):
    served.behaviour.ignore_range = True
    part = tmp_path / f"{FILENAME}.part"
    part.write_bytes(b"x" * 1000)  # bytes that must not survive: appending to them would fail the md5
    path = download(served.remote(good_md5), tmp_path, chunk_size=CHUNK)
    assert served.behaviour.ranges == ["bytes=1000-"]
    assert _md5(path.read_bytes()) == good_md5 and not part.exists()


def test_complete_part_is_verified_without_downloading(served, good_md5, tmp_path):
    # A crash between the last byte and the rename: the server has nothing more to send (416).
    part = tmp_path / f"{FILENAME}.part"
    part.write_bytes(served.behaviour.payload)
    path = download(served.remote(good_md5), tmp_path)
    assert served.behaviour.ranges == [f"bytes={len(served.behaviour.payload)}-"]
    assert _md5(path.read_bytes()) == good_md5 and not part.exists()


def test_corrupt_download_is_moved_aside_and_named(served, good_md5, tmp_path):
    served.behaviour.corrupt = True
    remote = served.remote(good_md5)
    with pytest.raises(FetchError) as err:
        download(remote, tmp_path, chunk_size=CHUNK)
    corrupt = tmp_path / f"{FILENAME}.corrupt"
    bad_md5 = _md5(corrupt.read_bytes())
    msg = str(err.value)
    assert good_md5 in msg and bad_md5 in msg and bad_md5 != good_md5
    assert FILENAME in msg and "re-run" in msg
    assert not (tmp_path / f"{FILENAME}.part").exists() and not (tmp_path / FILENAME).exists()

    served.behaviour.corrupt = False  # the next run downloads afresh, not appending to the bad bytes
    assert _md5(download(remote, tmp_path).read_bytes()) == good_md5
    assert served.behaviour.ranges == [None, None]


def test_verified_archive_is_not_downloaded_again(served, good_md5, archive, tmp_path):
    (tmp_path / FILENAME).write_bytes(archive.read_bytes())
    assert download(served.remote(good_md5), tmp_path) == tmp_path / FILENAME
    root = fetch("urbansound8k", tmp_path, remote=served.remote(good_md5))
    assert (root / "metadata" / "UrbanSound8K.csv").is_file()
    assert served.behaviour.ranges == []


def test_existing_archive_with_wrong_md5_is_left_alone(served, tmp_path):
    (tmp_path / FILENAME).write_bytes(b"someone else's file")
    with pytest.raises(FetchError, match="already exists but its md5 is"):
        download(served.remote("0" * 32), tmp_path)
    assert (tmp_path / FILENAME).read_bytes() == b"someone else's file"
    assert served.behaviour.ranges == []


def test_http_error_names_the_url_and_status(served, good_md5, tmp_path):
    remote = Remote(url=served.url.replace(FILENAME, "missing.tar.gz"), md5=good_md5, filename=FILENAME)
    with pytest.raises(FetchError, match=r"missing\.tar\.gz: HTTP 404"):
        download(remote, tmp_path)


def test_unreachable_server_keeps_the_part(good_md5, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    part = tmp_path / f"{FILENAME}.part"
    part.write_bytes(b"12345")
    url = f"http://127.0.0.1:{port}/{FILENAME}"
    with pytest.raises(FetchError, match=re.escape(url)):
        download(Remote(url=url, md5=good_md5, filename=FILENAME), tmp_path, timeout=5)
    assert part.read_bytes() == b"12345"


def test_not_enough_disk_space_is_said_before_writing(served, good_md5, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr("urbansound.fetch._download.shutil.disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 10))
    with pytest.raises(FetchError, match="not enough space"):
        download(served.remote(good_md5), tmp_path)
    assert not (tmp_path / f"{FILENAME}.part").exists()


def test_file_url_mirror(good_md5, archive, tmp_path):
    remote = Remote(url=archive.as_uri(), md5=good_md5, filename=FILENAME)
    assert _md5(download(remote, tmp_path / "out").read_bytes()) == good_md5


# ------------------------------------------------------------------ unpack
def _evil(tmp_path: Path, kind: str) -> Path:
    ok = {"UrbanSound8K/metadata/UrbanSound8K.csv": CSV.encode()}
    path = tmp_path / "evil.tar.gz"
    if kind == "symlink":
        with tarfile.open(path, "w:gz") as tar:
            for name, data in ok.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo("UrbanSound8K/audio/link")
            link.type, link.linkname = tarfile.SYMTYPE, "../../../evil"
            tar.addfile(link)
        return path
    name = {"dotdot": "UrbanSound8K/../../evil", "absolute": str(tmp_path / "evil")}[kind]
    return _tar_gz(path, {**ok, name: b"pwned"})


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_unsafe_archive_is_refused(tmp_path, kind):
    archive = _evil(tmp_path, kind)
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match="refusing to unpack"):
        unpack(archive, dest)
    assert not (tmp_path / "evil").exists()
    assert list(dest.iterdir()) == []  # no temporary folder, no half dataset


def test_unpack_finds_the_root_and_refuses_to_overwrite(archive, tmp_path):
    root = unpack(archive, tmp_path)
    assert root == tmp_path / "UrbanSound8K" and (root / "metadata" / "UrbanSound8K.csv").is_file()
    with pytest.raises(FetchError, match="already exists"):
        unpack(archive, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["UrbanSound8K"]


def test_unpack_rejects_an_archive_without_the_metadata(tmp_path):
    archive = _tar_gz(tmp_path / "other.tar.gz", {"something/readme.txt": b"hello"})
    with pytest.raises(FetchError, match="metadata/UrbanSound8K.csv"):
        unpack(archive, tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_unpack_reports_a_damaged_archive(archive, tmp_path):
    damaged = tmp_path / FILENAME
    damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(FetchError, match="cannot unpack"):
        unpack(damaged, tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []
