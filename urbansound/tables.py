"""The result tables, built once from the JSON records and rendered as markdown (``cv.md``,
a study's ``.md``, the command line) or as HTML (the report), so both always agree.

A table is ``{"header": [...], "rows": [[...], ...]}`` of text cells.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

Table = dict[str, list[Any]]

_MD_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def md_text(value: Any) -> str:
    """``value`` as literal text inside markdown (a Prefect artifact, its description): HTML
    escaped, so a class, file or folder name holding ``<script>`` is shown, never run;
    markdown punctuation backslash-escaped; on one line."""
    text = html.escape(str(value).replace("\r", " ").replace("\n", " "), quote=False)
    return _MD_PUNCTUATION.sub(r"\\\1", text)


def md_code(value: Any) -> str:
    """``value`` as a markdown code span (shown verbatim: markup inside is not interpreted),
    fenced with more backticks than any run inside it so it cannot close the span early."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(value: Any) -> str:
    # a "|" or a line break inside a cell (a class name from a dataset's CSV) would split it
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown(table: Mapping[str, Any]) -> str:
    """A table as GitHub markdown (``|`` inside a cell escaped, line breaks made spaces)."""
    lines = ["| " + " | ".join(map(_cell, table["header"])) + " |", "|" + "---|" * len(table["header"])]
    return "\n".join(lines + ["| " + " | ".join(map(_cell, r)) + " |" for r in table["rows"]])


def cv_table(cv: Mapping[str, Any]) -> Table:
    """Every CV entry, best first: model, features, mean, std, train, the leak columns where
    a random split was scored, and the accuracy of each fold (a ``cv.json`` record)."""
    entries = sorted(cv.get("entries") or [], key=lambda e: -e["mean"])
    leak = any(e.get("leaky_mean") is not None for e in entries)
    header = ["model", "features", "mean", "std", "train", *(["random split", "leak gap"] if leak else []), "per fold"]
    rows = []
    for e in entries:
        row: list[Any] = [e["model"], e["feature_set"], f"{e['mean']:.3f}", f"{e['std']:.3f}", f"{e['train_mean']:.3f}"]
        if leak:
            lm = e.get("leaky_mean")
            row += [f"{lm:.3f}", f"{lm - e['mean']:+.3f}"] if lm is not None else ["-", "-"]
        rows.append(row + [" ".join(f"{a:.3f}" for a in e.get("fold_accuracy") or [])])
    return {"header": header, "rows": rows}


def per_class_table(details: Mapping[str, Any]) -> Table:
    """Precision, recall, F1 and clips per class of the best entry (``best_details``)."""
    per_class = details.get("per_class") or {}
    return {"header": ["class", "precision", "recall", "F1", "clips"],
            "rows": [[c, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1-score']:.3f}", int(m["support"])]
                     for c, m in per_class.items()]}
