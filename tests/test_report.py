"""The HTML report: real inputs from a small synthetic run, figures checked as images."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from urbansound import report
from urbansound.datasets import read_dataset
from urbansound.featurize import featurize_dataset, read_features
from urbansound.settings import FeatureSettings, TrainSettings, Workspace
from urbansound.synth import write_dataset
from urbansound.cli import main
from urbansound.training import train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<script>alert('x')</script> & co"


# --------------------------------------------------------------------------- helpers
@dataclass
class Section:
    title: str = ""
    images: list[dict[str, str]] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)


class ReportParser(HTMLParser):
    """Collects, per <section id=...>: its heading, <img> attributes, captions, the
    "not drawn" lines, notes and table cells; plus the page title and every tag seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, Section] = {}
        self.tags: list[str] = []
        self.title = ""
        self._current: Section | None = None
        self._capture: tuple[str, str] | None = None  # (tag, kind) whose text is being read
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "section":
            self._current = self.sections.setdefault(a.get("id", ""), Section())
        elif tag == "img" and self._current is not None:
            self._current.images.append(a)
        kind = {"title": "title", "h2": "title", "figcaption": "captions", "li": "notes", "td": "cells"}.get(tag)
        if tag == "p" and "missing" in a.get("class", ""):
            kind = "missing"
        if kind and self._capture is None:
            self._capture, self._text = (tag, kind), []

    def handle_endtag(self, tag: str) -> None:
        if self._capture and tag == self._capture[0]:
            text, kind = "".join(self._text).strip(), self._capture[1]
            self._capture = None
            if tag == "title":
                self.title = text
            elif self._current is not None:
                if kind == "title":
                    self._current.title = text
                else:
                    getattr(self._current, kind).append(text)
        if tag == "section":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._capture:
            self._text.append(data)


def parse(path: Path) -> ReportParser:
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def assert_non_blank_png(data: bytes) -> None:
    assert data[:8] == PNG_SIGNATURE
    pixels = imread(io.BytesIO(data), format="png")
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 50
    assert float(np.var(pixels[..., :3])) > 0


@dataclass
class Run:
    workspace: Workspace
    data_dir: Path
    html: Path
    broken_clip: str


# -------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory, client) -> Run:
    """A whole small run on the UrbanSound8K layout: one clip undecodable, features, CV with
    the leak shown, the activation study, then the report."""
    root = tmp_path_factory.mktemp("report")
    data = root / "tiny-us8k"
    write_dataset(data, layout="urbansound8k", clips_per_class=8, seed=0, formats="simple")
    clips = read_dataset(data).clips
    broken = clips.sort_values("clip_id").iloc[-1]
    Path(broken["path"]).write_bytes(b"not a wav file at all")
    ws = Workspace(root / "ws", "tiny-us8k")
    featurize_dataset(clips, FeatureSettings(), ws.features, client)
    train(ws.features, TrainSettings(models=("knn", "logreg"), feature_sets=("fft", "mfcc"), show_leak=True),
          dataset=ws.name, reports_dir=ws.reports, models_dir=ws.models, client=client)
    # every study, from the command line, on tiny grids
    common = ["--workspace", str(ws.root), "--scheduler", client.scheduler.address, "--cv", "kfold", "--n-splits", "3"]
    for which, extra in (("activations", ["--epochs", "20"]), ("regularization", ["--values", "0,1e-2", "--epochs", "5"]),
                         ("learning-rate", ["--values", "1e-2,1e6", "--epochs", "5"]), ("solver", ["--epochs", "4"])):
        assert main(["study", which, str(data), *common, *extra]) == 0
    html = report.build_report(ws, data_dir=data, run_facts={
        "stage_seconds": {"featurize": 1.5, "train": 4.25}, "workers": 2, "note": HOSTILE})
    return Run(ws, data, html, str(broken["clip_id"]))


@pytest.fixture(scope="module")
def bare_run(tmp_path_factory: pytest.TempPathFactory, client) -> Run:
    """The AV layout, featurized only (no CV, no study, no folds), with the audio of two
    training clips deleted afterwards and a figure left over from an earlier report."""
    root = tmp_path_factory.mktemp("report-bare")
    data = root / "tiny-av"
    write_dataset(data, layout="av", clips_per_class=2, seed=1, formats="simple")
    ws = Workspace(root / "ws", "tiny-av")
    featurize_dataset(read_dataset(data).clips, FeatureSettings(), ws.features, client)
    table = read_features(ws.features)
    first = report.pick_examples(table)
    label = next(iter(first))
    gone = first[label][0]
    Path(table.set_index("clip_id").loc[gone, "path"]).unlink()
    stale = ws.reports / report.FIGURES_DIR / "cv_scores.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(PNG_SIGNATURE)
    html = report.build_report(ws, data_dir=data)
    return Run(ws, data, html, gone)


# ----------------------------------------------------------------------------- tests
def test_every_figure_is_embedded_and_written(full_run: Run):
    page = parse(full_run.html)
    assert full_run.html == full_run.workspace.reports / report.REPORT_FILE
    assert "tiny-us8k" in page.title
    figures_dir = full_run.workspace.reports / report.FIGURES_DIR
    embedded = set()
    for name in report.FIGURES:
        section = page.sections[name]
        assert not section.missing, f"{name}: {section.missing}"
        (img,) = section.images
        rel = f"{report.FIGURES_DIR}/{name}.png"
        assert img["alt"] == rel and img["title"] == rel
        assert any(rel in c for c in section.captions)
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        data = base64.b64decode(img["src"][len(prefix):], validate=True)
        assert data == (figures_dir / f"{name}.png").read_bytes()
        embedded.add(f"{name}.png")
    on_disk = {p.name for p in figures_dir.iterdir()}
    assert on_disk == embedded
    for name in on_disk:
        assert_non_blank_png((figures_dir / name).read_bytes())


def test_run_facts_and_tables(full_run: Run):
    page = parse(full_run.html)
    cv = json.loads((full_run.workspace.reports / "cv.json").read_text())
    cells = page.sections["run-facts"].cells
    facts = " | ".join(cells)
    assert "urbansound8k" in cells  # the layout
    assert cv["note"] in facts
    assert f"{cv['best']['model']} on {cv['best']['feature_set']}" in facts
    assert f"{cv['best']['mean']:.3f}" in facts
    assert FeatureSettings().fingerprint() in facts
    assert "64 (default)" in facts  # mel_bands=None said as the bands it stood for
    assert "featurize" in facts and "4.25" in facts
    # the failed clip is listed with its reason
    assert full_run.broken_clip in facts and "not a readable audio file" in facts
    # caller-supplied text is shown as text, never as markup
    assert HOSTILE in facts and "script" not in page.tags
    # the CV table holds one row per entry: model, features, then the numbers
    cells = page.sections["cv_scores"].cells
    width = 8 if any(e["leaky_mean"] is not None for e in cv["entries"]) else 6
    assert len(cells) == width * len(cv["entries"])
    assert {(cells[i], cells[i + 1]) for i in range(0, len(cells), width)} == {
        (e["model"], e["feature_set"]) for e in cv["entries"]}
    study = json.loads((full_run.workspace.reports / "study_activations.json").read_text())
    assert len(page.sections["study"].cells) == len(study["activations"]) * (1 + 2 * len(study["hidden"]))
    assert study["activations"] == ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu"]
    assert "linear" in page.sections["study"].cells
    # the other studies: one row per grid value (λ, η) or solver, as their .md files hold
    for name, rows, width in (("study_regularization", 2, 5), ("study_learning_rate", 2, 5), ("study_solver", 5, 10)):
        cells = page.sections[name].cells
        assert len(cells) == rows * width, name
    assert "diverged (3/3 folds)" in page.sections["study_learning_rate"].cells  # η = 1e6, both solvers
    assert [c for c in page.sections["study_solver"].cells if c.startswith(("GD", "SGD"))] == [
        "GD", "GD + momentum 0.9", "SGD, batch 1", "SGD, batch 64", "SGD, batch 64 + momentum 0.9"]


def test_missing_inputs_are_explained_not_drawn(bare_run: Run):
    page = parse(bare_run.html)
    figures_dir = bare_run.workspace.reports / report.FIGURES_DIR
    for name, why in (("cv_scores", "cv.json"), ("confusion", "cv.json"), ("study", "study_activations.json"),
                      ("activation_functions", "activation study"), ("study_solver", "study_solver.json"),
                      ("fold_balance", "no official folds")):
        section = page.sections[name]
        assert not section.images
        assert len(section.missing) == 1 and why in section.missing[0]
        assert not (figures_dir / f"{name}.png").exists()  # the stale cv_scores.png is gone too
    for name in ("examples", "class_balance"):
        assert len(page.sections[name].images) == 1
        assert_non_blank_png((figures_dir / f"{name}.png").read_bytes())
    assert any(bare_run.broken_clip in n and "file not found" in n for n in page.sections["examples"].notes)
    cells = page.sections["run-facts"].cells
    assert "av" in cells  # the layout
    facts = " | ".join(cells)
    assert "not run yet" in facts and "(1 without an audio file)" in facts


def test_report_without_a_feature_table(tmp_path: Path):
    ws = Workspace(tmp_path, "empty")
    html = report.build_report(ws)
    page = parse(html)
    for name in report.FIGURES:
        assert len(page.sections[name].missing) == 1 and not page.sections[name].images
    assert "no feature table" in page.sections["examples"].missing[0]
    assert not list((ws.reports / report.FIGURES_DIR).iterdir())


def test_figure_functions_say_why_on_empty_input():
    assert isinstance(report.examples_figure([], FeatureSettings()), report.Missing)
    assert isinstance(report.cv_figure({"entries": []}), report.Missing)
    assert isinstance(report.confusion_figure({"best_details": {}}), report.Missing)
    assert isinstance(report.activation_study_figure({}), report.Missing)
    assert isinstance(report.grid_study_figure({}, axis="λ"), report.Missing)
    assert isinstance(report.solver_figure({"points": [{"validation_accuracy_curve": []}]}), report.Missing)


def _browser() -> str | None:
    return next((b for b in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if b), None)


@pytest.mark.skipif(_browser() is None, reason="no Chromium installed")
def test_report_renders_in_a_headless_browser(full_run: Run, tmp_path: Path):
    shot = tmp_path / "report.png"
    subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1400,3000",
         full_run.html.resolve().as_uri()],
        check=True, capture_output=True, timeout=90)
    assert shot.is_file()
    assert_non_blank_png(shot.read_bytes())


def test_the_protocol_is_flagged_optimistic_once():
    from urbansound.report.inputs import protocol_text

    leaky = "stratified 5-fold over clips; recordings unknown, so slices of one recording may sit on both sides: optimistic"
    assert protocol_text({"note": leaky, "optimistic": True}).count("optimistic") == 1
    assert protocol_text({"note": "stratified 5-fold over clips", "optimistic": True}).endswith("(optimistic)")
    assert "optimistic" not in protocol_text({"note": "leave one official fold out (10 folds)", "optimistic": False})


def test_a_cv_record_and_model_file_from_different_runs_are_flagged(tmp_path: Path):
    # issue 13.8: the record names its model file by SHA-256; the report says when they differ
    import hashlib

    from urbansound.report import model_file_notes

    model = tmp_path / "model.skops"
    model.write_bytes(b"the model this CV saved")
    cv = {"run": {"id": "r1", "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest()}}
    assert model_file_notes(cv, model) == []
    model.write_bytes(b"another train's model")
    assert "is not the model this CV chose" in model_file_notes(cv, model)[0]
    assert "did not save its model" in model_file_notes({"run": {"id": "r2", "model_sha256": None}}, model)[0]
    assert model_file_notes({}, model) == []  # a record from before runs were recorded
