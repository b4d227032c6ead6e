"""urbansound.tables: one table of text cells, built once from a JSON record, rendered as
markdown (cv.md, a study's .md) and as HTML (the report) with the same rows."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from urbansound.tables import cv_table, markdown, per_class_table

CV = {"entries": [
    {"model": "logreg", "feature_set": "mfcc", "mean": 0.61234, "std": 0.0456, "train_mean": 0.9,
     "fold_accuracy": [0.5, 0.6666, 0.7]},
    {"model": "fnn", "feature_set": "all", "mean": 0.75, "std": 0.01, "train_mean": 0.99999,
     "fold_accuracy": [0.74, 0.76]},
    {"model": "knn", "feature_set": "<time>", "mean": 0.2, "std": 0.0, "train_mean": 1.0, "fold_accuracy": None},
]}
LEAKY = {"entries": [{**CV["entries"][0], "leaky_mean": 0.7}, {**CV["entries"][1], "leaky_mean": None},
                     {**CV["entries"][2], "leaky_mean": 0.15}]}
DETAILS = {"per_class": {
    "siren": {"precision": 0.5, "recall": 1.0, "f1-score": 0.66666, "support": 4.0},
    "air_conditioner": {"precision": 1.0, "recall": 0.25, "f1-score": 0.4, "support": 8.0},
}}


def _markdown_cells(text: str) -> tuple[list[str], list[list[str]]]:
    head, rule, *rows = text.split("\n")
    assert rule == "|" + "---|" * len(head.split(" | "))

    def cells(line: str) -> list[str]:
        assert line.startswith("| ") and line.endswith(" |"), line
        return line[2:-2].split(" | ")

    return cells(head), [cells(r) for r in rows]


class _Grid(HTMLParser):
    """The header and body cells of a ``<table class="grid">``, unescaped."""

    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th"):
            text = "".join(self._cell or [])
            (self.header if self._in_head else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _html_cells(html_text: str) -> tuple[list[str], list[list[str]]]:
    grid = _Grid()
    grid.feed(html_text)
    return grid.header, grid.rows


def test_markdown_is_a_github_table_of_the_cells_as_text():
    text = markdown({"header": ["a", "b", "c"], "rows": [[1, "x y", 0.5], ["", None, "-"]]})
    assert text.split("\n") == ["| a | b | c |", "|---|---|---|", "| 1 | x y | 0.5 |", "|  | None | - |"]


def test_a_bar_or_a_line_break_inside_a_cell_does_not_split_it():
    text = markdown({"header": ["class", "n"], "rows": [["a|b", 3], ["two\nlines", 1]]})
    assert text.split("\n")[2:] == ["| a\\|b | 3 |", "| two lines | 1 |"]


def test_markdown_of_no_rows_is_the_header_alone():
    assert markdown({"header": ["model", "mean"], "rows": []}) == "| model | mean |\n|---|---|"


def test_cv_table_lists_every_entry_best_first_with_three_decimals():
    t = cv_table(CV)
    assert t["header"] == ["model", "features", "mean", "std", "train", "per fold"]
    assert t["rows"] == [
        ["fnn", "all", "0.750", "0.010", "1.000", "0.740 0.760"],
        ["logreg", "mfcc", "0.612", "0.046", "0.900", "0.500 0.667 0.700"],
        ["knn", "<time>", "0.200", "0.000", "1.000", ""],
    ]


def test_cv_table_keeps_the_record_order_of_equal_means():
    entries = [{**CV["entries"][0], "model": m, "mean": 0.5} for m in ("b", "a", "c")]
    assert [r[0] for r in cv_table({"entries": entries})["rows"]] == ["b", "a", "c"]


def test_cv_table_adds_the_leak_columns_when_a_random_split_was_scored():
    t = cv_table(LEAKY)
    assert t["header"] == ["model", "features", "mean", "std", "train", "random split", "leak gap", "per fold"]
    by_model = {r[0]: r for r in t["rows"]}
    assert by_model["logreg"][5:7] == ["0.700", "+0.088"]  # the random split scores higher: a leak
    assert by_model["knn"][5:7] == ["0.150", "-0.050"]
    assert by_model["fnn"][5:7] == ["-", "-"]  # not scored both ways
    assert all(len(r) == len(t["header"]) for r in t["rows"])


@pytest.mark.parametrize("cv", [{}, {"entries": None}, {"entries": []}])
def test_cv_table_of_no_entries_has_no_rows(cv):
    t = cv_table(cv)
    assert t["rows"] == [] and "leak gap" not in t["header"]


def test_cv_table_does_not_change_the_record():
    entries = [dict(e) for e in CV["entries"]]
    cv_table({"entries": entries})
    assert entries == CV["entries"]


def test_per_class_table_keeps_the_class_order_and_counts_clips_as_integers():
    t = per_class_table(DETAILS)
    assert t == {"header": ["class", "precision", "recall", "F1", "clips"],
                 "rows": [["siren", "0.500", "1.000", "0.667", 4], ["air_conditioner", "1.000", "0.250", "0.400", 8]]}
    assert markdown(t).split("\n")[2] == "| siren | 0.500 | 1.000 | 0.667 | 4 |"


@pytest.mark.parametrize("details", [{}, {"per_class": None}])
def test_per_class_table_without_details_has_no_rows(details):
    assert per_class_table(details)["rows"] == []


@pytest.mark.parametrize("record", [CV, LEAKY], ids=["cv", "leaky"])
def test_the_report_shows_the_rows_cv_md_shows(record):
    from urbansound.report.page import cv_table_html, per_class_table_html, study_table_html

    t = cv_table(record)
    assert _html_cells(cv_table_html(record)) == _markdown_cells(markdown(t)) == (t["header"], t["rows"])
    assert "&lt;time&gt;" in cv_table_html(record) and "<time>" not in cv_table_html(record)  # escaped, same text
    with_details = {**record, "best_details": DETAILS}
    assert _html_cells(per_class_table_html(with_details)) == _markdown_cells(markdown(per_class_table(DETAILS)))
    study = {"table": {"header": ["η", "GD train", "GD validation"], "rows": [["0.01", "0.5 ± 0.1", "-"]]}}
    assert _html_cells(study_table_html(study)) == _markdown_cells(markdown(study["table"]))
