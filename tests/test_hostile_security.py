"""Hostile names and URLs (issue 25): names from the data are shown, never run, in the HTML
report and the Prefect artifacts; ``fetch`` follows no redirect off http(s); ``serve``
listens on nothing beyond loopback. (Dashboards, the cluster and compose:
tests/test_reliability.py, section 6.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from urbansound.fetch import FetchError, Remote, download

XSS = "<script>alert(1)</script>"
SR = 22050


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


# ------------------------------------------------------------------ the HTML report
def test_class_and_file_names_holding_markup_are_text_in_the_report(tmp_path):
    """Labels and clip paths holding ``<script>``: shown as text in the report (run facts,
    the failures table, notes), never a tag. Featurized in-process: no cluster needed."""
    from urbansound.featurize import featurize_batch, finalize
    from urbansound.report import build_report
    from urbansound.settings import FeatureSettings
    from urbansound.workspace import Workspace

    folder = tmp_path / "<script>alert(1)<"  # a path string that holds "<script>alert(1)</script>"
    folder.mkdir()
    t = np.arange(SR) / SR
    good, broken = folder / "script>.wav", folder / "script>-broken.wav"
    sf.write(good, 0.3 * np.sin(2 * np.pi * 440 * t), SR, subtype="PCM_16")
    broken.write_bytes(b"not audio")
    records = [{"clip_id": cid, "path": str(p), "split": "train", "label": label, "fold": None, "recording": None}
               for cid, p, label in (("a", good, XSS), ("b", good, "siren"), ("c", broken, XSS))]
    assert XSS in records[0]["path"]
    ws = Workspace(tmp_path / "ws", "hostile")
    settings = FeatureSettings()
    finalize([featurize_batch(records, settings=settings, out_dir=str(ws.features))], settings, ws.features,
             seconds=0)
    html = build_report(ws, run_facts={"note": XSS}).read_text()
    page = _parse(html)
    assert "script" not in page.tags, "markup from the data became a tag"
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = "".join(page.text)
    assert str(broken) in text, "the failed clip's path is listed, as text"


# ------------------------------------------------------------------ Prefect artifacts
def _result(tmp_path: Path) -> SimpleNamespace:
    from urbansound.evaluation import CVEntry

    entry = CVEntry(model=XSS, feature_set="mfcc", fold_accuracy=[0.5, 0.75], mean=0.625, std=0.125,
                    train_mean=0.9, seconds=1.0)
    report = SimpleNamespace(entries=[entry], best=entry, note=f"grouped {XSS}", n_clips=12,
                             run={"id": XSS, "time": XSS, "model_sha256": "`" + XSS, "git_commit": "abc"})
    return SimpleNamespace(report=report, model_path=tmp_path / XSS.replace("/", "|") / "model.skops",
                           cv_json=tmp_path / "cv.json", reused=False)


def test_artifact_markdown_shows_names_from_the_data_as_text(tmp_path):
    import markdown_it

    from urbansound.flows.stages import training_artifacts

    artifacts = training_artifacts(f"data-{XSS}", _result(tmp_path))
    render = markdown_it.MarkdownIt("commonmark")  # raw HTML passes through, as in many renderers
    for what, text in (("model page", artifacts["model"]["markdown"]),
                       ("model description", artifacts["model"]["description"]),
                       ("cv description", artifacts["cv"]["description"])):
        page = _parse(render.render(text))
        assert "script" not in page.tags, f"{what}: {text!r} renders a <script> tag"
        assert "alert(1)" in "".join(page.text), f"{what}: the name is gone"
    assert set(artifacts["cv"]["key"]) <= set("abcdefghijklmnopqrstuvwxyz0123456789-"), artifacts["cv"]["key"]
    assert artifacts["cv"]["table"][0]["model"] == XSS  # table cells are text to the UI: kept as they are


@pytest.mark.parametrize("value", [XSS, "`x`", "``", "a|b *c* [d](javascript:alert(1))", "line\nbreak"])
def test_md_text_and_md_code_keep_the_value_verbatim(value):
    import markdown_it

    from urbansound.tables import md_code, md_text

    render = markdown_it.MarkdownIt("commonmark")
    for fn in (md_text, md_code):
        page = _parse(render.render(fn(value)))
        assert page.tags == ["p"] or page.tags == ["p", "code"], (fn.__name__, value, page.tags)
        assert "".join(page.text).strip() == value.replace("\n", " ").strip(), (fn.__name__, value)


# ------------------------------------------------------------------ fetch redirects
class _Redirects(BaseHTTPRequestHandler):
    """``/to/<n>``: 302 to the server's n-th target; ``/archive``: the payload."""

    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.path == "/archive":
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.server.payload)))
            self.end_headers()
            self.wfile.write(self.server.payload)
            return
        self.send_response(302)
        self.send_header("Location", self.server.targets[int(self.path.rsplit("/", 1)[1])])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    requests: list[str]
    targets: list[str]
    payload: bytes


@pytest.fixture
def redirecting(tmp_path) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Redirects)  # loopback only; stopped below
    server.requests, server.payload = [], b"archive bytes"
    secret = tmp_path / "secret.txt"
    secret.write_text("local file")
    server.targets = [secret.as_uri(), "ftp://127.0.0.1:9/UrbanSound8K.tar.gz", "data:,archive%20bytes", "/archive",
                      "FILE:///etc/passwd"]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-redirects")
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()


@pytest.mark.parametrize("n, scheme", [(0, "file"), (1, "ftp"), (2, "data"), (4, "file")])
def test_fetch_refuses_a_redirect_to_another_scheme(redirecting, tmp_path, n, scheme):
    import hashlib

    url = f"http://127.0.0.1:{redirecting.server_address[1]}/to/{n}"
    remote = Remote(url=url, md5=hashlib.md5(b"archive bytes").hexdigest(), filename="a.tar.gz")
    with pytest.raises(FetchError) as err:
        download(remote, tmp_path / "out", timeout=10)
    message = str(err.value)
    assert "\n" not in message and url in message and "redirected" in message, message
    assert f"{scheme}: redirects are not followed" in message and "--url" in message, message
    assert list((tmp_path / "out").iterdir()) == [] and redirecting.requests == [f"/to/{n}"]


def test_fetch_follows_a_redirect_within_http(redirecting, tmp_path):
    import hashlib

    url = f"http://127.0.0.1:{redirecting.server_address[1]}/to/3"
    remote = Remote(url=url, md5=hashlib.md5(b"archive bytes").hexdigest(), filename="a.tar.gz")
    assert download(remote, tmp_path / "out").read_bytes() == b"archive bytes"
    assert redirecting.requests == ["/to/3", "/archive"]


@pytest.mark.parametrize("url, target, refused", [
    ("http://a/x", "https://b/y", False), ("https://a/x", "https://b/y", False), ("http://a/x", "/y", False),
    ("https://a/x", "http://b/y", True), ("http://a/x", "file:///etc/passwd", True), ("http://a/x", "ftp://b/y", True),
    ("http://a/x", "data:,x", True), ("http://a/x", "javascript:alert(1)", True),
])
def test_which_redirects_are_followed(url, target, refused):
    from urbansound.fetch._download import redirect_refusal

    assert (redirect_refusal(url, target) is not None) == refused


# ------------------------------------------------------------------ serve
def test_serve_starts_no_webserver_beyond_loopback(monkeypatch, tmp_path):
    """``urbansound serve`` is Prefect's ``flow.serve``: its runner webserver stays off (and
    would bind loopback); the temporary API server of ``run`` binds 127.0.0.1."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_RUNNER_SERVER_ENABLE, PREFECT_RUNNER_SERVER_HOST

    import urbansound.flows.pipeline as pipeline_module
    from urbansound.settings import PipelineSettings

    calls = []
    fake = SimpleNamespace(serve=lambda **kw: calls.append(kw))
    monkeypatch.setattr(pipeline_module, "pipeline", fake)
    pipeline_module.serve_pipeline(PipelineSettings(data_dir=tmp_path), interval=60)
    assert calls and not calls[0].get("webserver"), calls
    assert PREFECT_RUNNER_SERVER_ENABLE.value() is False  # Prefect's default, not changed by urbansound
    assert PREFECT_RUNNER_SERVER_HOST.value() in ("localhost", "127.0.0.1", "::1")
    assert SubprocessASGIServer(port=1).api_url.startswith("http://127.0.0.1:")  # not started: its address only
