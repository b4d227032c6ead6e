"""The HTML page: escaping, fact and number tables, the run facts, one section per figure
(its PNG embedded as a data URI) and the style sheet."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from urbansound import table as table_format
from urbansound import tables
from urbansound.datasets import inspect_dataset
from urbansound.exceptions import DatasetError
from urbansound.report.inputs import DPI, FIGURES_DIR, FigureResult, Missing, protocol_text
from urbansound.settings import FeatureSettings
from urbansound.workspace import Workspace

MAX_FAILURES_LISTED = 50


def _e(value: object) -> str:
    return html.escape(str(value))


def _format(value: object) -> str:
    """A fact as escaped HTML: mappings as nested tables, sequences joined, floats rounded."""
    if isinstance(value, Mapping):
        return _table([(k, v) for k, v in value.items()], nested=True)
    if isinstance(value, (list, tuple, set)):
        return _e(", ".join(str(v) for v in value))
    if isinstance(value, float):
        return _e(f"{value:.4g}")
    return _e(value)


def _table(rows: Iterable[tuple[object, object]], *, nested: bool = False) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_format(v)}</td></tr>" for k, v in rows)
    return f'<table class="{"nested" if nested else "facts"}">{body}</table>'


def _grid(header: list[str], rows: list[list[object]], *, numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td{" class=num" if k >= numeric_from else ""}>{_e(v)}</td>'
                                    for k, v in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def cv_table_html(cv: Mapping[str, Any]) -> str:
    """The CV results as an HTML table: the rows ``cv.md`` shows (:func:`urbansound.tables.cv_table`)."""
    t = tables.cv_table(cv)
    return _grid(t["header"], t["rows"], numeric_from=2)


def per_class_table_html(cv: Mapping[str, Any]) -> str:
    """Precision, recall, F1 and clips per class of the best model."""
    t = tables.per_class_table(cv.get("best_details") or {})
    return _grid(t["header"], t["rows"])


def study_table_html(study: Mapping[str, Any]) -> str:
    """A study's table (``study["table"]``, the rows its ``.md`` file shows) as HTML."""
    table = study.get("table") or {}
    if not table.get("header"):
        return ""
    return _grid(list(table["header"]), [list(r) for r in table.get("rows") or []])


@dataclass
class Section:
    """One figure's place on the page: drawn (``result`` a Figure) or absent (``Missing``),
    with its caption, notes (clips skipped) and any HTML table of its numbers."""

    name: str
    title: str
    caption: str
    result: FigureResult
    extra_html: str = ""
    notes: list[str] = field(default_factory=list)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _section_html(number: int, section: Section, png: bytes | None) -> str:
    rel = f"{FIGURES_DIR}/{section.name}.png"
    parts = [f'<section id="{_e(section.name)}"><h2>{number}. {_e(section.title)}</h2>']
    if png is None:
        reason = section.result.reason if isinstance(section.result, Missing) else "not drawn"
        parts.append(f'<p class="missing">Figure not drawn: {_e(reason)}.</p>')
    else:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(f'<figure><img src="{uri}" alt="{_e(rel)}" title="{_e(rel)}">'
                     f'<figcaption><a href="{_e(rel)}">{_e(rel)}</a>: {_e(section.caption)}</figcaption></figure>')
    if section.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in section.notes) + "</ul>")
    parts.append(section.extra_html + "</section>")
    return "\n".join(parts)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 1320px;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { border-bottom: 2px solid #1f4e79; padding-bottom: .2em; }
h2 { margin-top: 1.8em; color: #1f4e79; }
table { border-collapse: collapse; margin: .6em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
table.facts > tbody > tr > th { background: #f2f5f9; white-space: nowrap; }
table.nested th { background: none; font-weight: normal; color: #555; }
table.grid thead th { background: #f2f5f9; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: .5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 14px; color: #444; margin-top: .3em; }
p.missing { background: #fff4e5; border-left: 4px solid #e69500; padding: .5em .8em; }
ul.notes { font-size: 14px; color: #7a4a00; }
"""


def _run_facts_html(workspace: Workspace, data_dir: Path | None, table: pd.DataFrame | Missing,
                    settings: FeatureSettings | Missing, cv: dict[str, Any] | Missing,
                    run_facts: Mapping[str, Any] | None) -> str:
    facts: list[tuple[str, object]] = [("dataset", workspace.name)]
    if data_dir is not None:
        try:
            found = inspect_dataset(data_dir)
            listed = len(found.clips) + len(found.missing)
            facts += [("layout", found.layout), ("data folder", found.root),
                      ("clips listed", f"{listed} ({len(found.missing)} without an audio file)")]
        except DatasetError as e:
            facts += [("layout", f"unknown: {e}")]
    elif not isinstance(table, Missing):
        guess = "urbansound8k" if table["fold"].notna().any() else "av"
        facts.append(("layout", f"{guess} (inferred from the feature table; no data folder given)"))

    failures = table_format.read_failures(workspace.features)
    if isinstance(table, Missing):
        facts.append(("clips decoded", table.reason))
    else:
        per_split = table["split"].value_counts().sort_index(ascending=False)  # train before test
        facts.append(("clips decoded", f"{len(table)} ({', '.join(f'{s}: {n}' for s, n in per_split.items())})"))
    facts.append(("clips failed", len(failures)))
    if isinstance(settings, Missing):
        facts.append(("feature settings", settings.reason))
    else:
        shown = settings.model_dump()
        if shown.get("mel_bands") is None:  # None means "the default": say what it was
            shown["mel_bands"] = f"{settings.image_bands} (default)"
        facts.append(("feature settings", {**shown, "fingerprint": settings.fingerprint()}))
    if isinstance(cv, Missing):
        facts.append(("cross-validation", f"not run yet: {cv.reason}"))
    else:
        best = cv.get("best") or {}
        facts.append(("CV protocol", f"{cv.get('protocol', '?')}: {protocol_text(cv)}"))
        if best:
            accuracy = f"{best.get('mean', float('nan')):.3f} ± {best.get('std', float('nan')):.3f}"
            what = f"{best.get('model')} on {best.get('feature_set')} features"
            facts.append(("best model", f"{what}: accuracy {accuracy} over {cv.get('n_clips', '?')} training clips"))
    for key, value in (run_facts or {}).items():
        facts.append((str(key), value))
    out = ['<section id="run-facts"><h2>Run facts</h2>', _table(facts)]
    if len(failures):
        shown = failures.head(MAX_FAILURES_LISTED)
        more = len(failures) - len(shown)
        out.append(f"<h3>Clips that could not be decoded ({len(failures)}"
                   + (f", first {len(shown)} listed" if more else "") + ")</h3>")
        out.append(_grid(["clip", "path", "reason"], shown[["clip_id", "path", "error"]].to_numpy().tolist(),
                         numeric_from=3))
    out.append("</section>")
    return "\n".join(out)
