"""Hostile metadata (issue 25): what a hand-edited, re-exported or truncated CSV does.

Each case writes a few rows of metadata (and tiny WAVs) into ``tmp_path``, in both
layouts where the case applies. A case is either accepted and normalised (the clip table
is checked to be right), or refused by ``validate`` and by every stage that reads a
dataset (``featurize`` here; ``submit`` and ``run`` call the same ``read_dataset``)
before any compute, with one line per problem naming the file, the rows and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from urbansound.cli import main
from urbansound.datasets import read_dataset
from urbansound.exceptions import DatasetError
from urbansound.settings import CLASSES
from urbansound.validate import validate

US8K_HEADER = "slice_file_name,fsID,start,end,salience,fold,classID,class"
US8K_ROWS = [  # name, fsID, start, end, salience, fold, classID, class
    ("101-3-0-0.wav", "101", "0.0", "4.0", "1", "1", "3", "dog_bark"),
    ("102-8-0-0.wav", "102", "0.0", "4.0", "1", "2", "8", "siren"),
    ("103-1-0-0.wav", "103", "0.0", "2.5", "2", "3", "1", "car_horn"),
    ("104-3-0-1.wav", "104", "4.0", "8.0", "1", "1", "3", "dog_bark"),
]
AV_TRAIN = [("1", "dog_bark"), ("2", "siren"), ("3", "car_horn"), ("4", "dog_bark")]
AV_TEST = ["5", "6"]


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(800) / 8000
    sf.write(path, 0.1 * np.sin(2 * np.pi * 440 * t), 8000, subtype="PCM_16")


def _csv(header: str, rows, eol: str = "\n") -> str:
    return eol.join([header, *(",".join(r) if isinstance(r, tuple) else r for r in rows)]) + eol


def us8k(root: Path, rows=US8K_ROWS, *, header: str = US8K_HEADER, text: str | bytes | None = None,
         audio: bool = True) -> Path:
    """An UrbanSound8K-layout folder: the metadata (``text`` as given, else ``header`` and
    ``rows``) and a WAV for every row whose fold is a plain number."""
    csv = root / "metadata" / "UrbanSound8K.csv"
    csv.parent.mkdir(parents=True)
    text = _csv(header, rows) if text is None else text
    csv.write_bytes(text if isinstance(text, bytes) else text.encode())
    for r in rows if audio else ():
        if r[5].isdigit():
            _wav(root / "audio" / f"fold{r[5]}" / r[0].strip('"'))
    return root


def av(root: Path, train=AV_TRAIN, test=AV_TEST, *, train_text: str | bytes | None = None,
       test_text: str | bytes | None = None, audio: bool = True) -> Path:
    """An Analytics Vidhya-layout folder with a WAV for every ID."""
    root.mkdir(parents=True)
    for name, text in (("train.csv", _csv("ID,Class", train) if train_text is None else train_text),
                       ("test.csv", _csv("ID", [(i,) for i in test]) if test_text is None else test_text)):
        (root / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    for folder, ids in (("Train", [r[0] for r in train]), ("Test", list(test))) if audio else ():
        for i in ids:
            _wav(root / folder / f"{i.strip(chr(34))}.wav")
    return root


@pytest.fixture(autouse=True)
def _no_scheduler(monkeypatch):
    # featurize below must refuse before it would ask for a cluster: none is to be found
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)


def refused(root: Path, *needles: str, capsys) -> list[str]:
    """Refused alike by read_dataset, validate (exit 1) and featurize (exit 1, no cluster,
    no feature folder): every needle is in the message, each problem one line naming the
    metadata file. Returns the problem lines."""
    with pytest.raises(DatasetError) as e:
        read_dataset(root)
    lines = str(e.value).splitlines()
    for needle in needles:
        assert needle in str(e.value), (needle, str(e.value))
    csv_names = ("UrbanSound8K.csv", "train.csv", "test.csv")
    assert all(any(n in ln for n in csv_names) or str(root) in ln for ln in lines), lines
    try:  # a file that cannot be read at all is an error, not a report
        errors = "\n".join(validate(root).errors)
    except DatasetError as e:
        errors = str(e)
    assert all(n in errors for n in needles), errors
    assert main(["validate", str(root)]) == 1
    said = capsys.readouterr()
    assert all(n in said.out + said.err for n in needles) and "Traceback" not in said.err
    ws = root.parent / "ws"
    assert main(["featurize", str(root), "--workspace", str(ws)]) == 1
    err = capsys.readouterr().err
    assert all(n in err for n in needles) and "Traceback" not in err
    assert not (ws / "features").exists()
    return lines


def accepted(root: Path, n_clips: int) -> "pd.DataFrame":  # noqa: F821
    ds = read_dataset(root)
    report = validate(root)
    assert report.ok, report.errors
    assert len(ds.clips) == n_clips and ds.missing.empty
    train = ds.clips[ds.clips.split == "train"]
    assert train.label.isin(CLASSES).all()
    return ds.clips


# --------------------------------------------------------------- accepted and normalised
@pytest.mark.parametrize("layout", ["av", "urbansound8k"])
@pytest.mark.parametrize("form", ["bom", "crlf", "bom+crlf", "blank-lines", "comma-only-lines", "spaces-only-lines"])
def test_encoding_and_line_forms_are_read_as_the_plain_file(tmp_path, layout, form):
    def shape(text: str) -> bytes:
        if "crlf" in form:
            text = text.replace("\n", "\r\n")
        if form == "blank-lines":
            text += "\n\n\n"
        if form == "comma-only-lines":  # a spreadsheet's export of empty rows
            text += ("," * text.splitlines()[0].count(",") + "\n") * 2
        if form == "spaces-only-lines":
            text += "   \n\t\n"
        return (b"\xef\xbb\xbf" if "bom" in form else b"") + text.encode()

    if layout == "av":
        root = av(tmp_path / "d", train_text=shape(_csv("ID,Class", AV_TRAIN)),
                  test_text=shape(_csv("ID", [(i,) for i in AV_TEST])))
        clips = accepted(root, len(AV_TRAIN) + len(AV_TEST))
        assert sorted(clips.clip_id) == sorted([r[0] for r in AV_TRAIN] + AV_TEST)
    else:
        root = us8k(tmp_path / "d", text=shape(_csv(US8K_HEADER, US8K_ROWS)))
        clips = accepted(root, len(US8K_ROWS))
        assert sorted(clips.clip_id) == sorted(r[0].removesuffix(".wav") for r in US8K_ROWS)
        assert sorted(clips.fold) == sorted(int(r[5]) for r in US8K_ROWS)


@pytest.mark.parametrize("layout", ["av", "urbansound8k"])
def test_extra_and_reordered_columns_are_read_by_name(tmp_path, layout):
    if layout == "av":
        train = [f"{c},{i},note {i}" for i, c in AV_TRAIN]
        root = av(tmp_path / "d", train_text=_csv("Class,ID,comment", train),
                  test_text=_csv("Usage,ID", [f"Public,{i}" for i in AV_TEST]))
        clips = accepted(root, len(AV_TRAIN) + len(AV_TEST)).set_index("clip_id")
        assert clips.loc["2", "label"] == "siren" and clips.loc["5", "split"] == "test"
    else:
        cols = US8K_HEADER.split(",")
        order = [7, 5, 0, 6, 1, 4, 3, 2]
        rows = [",".join([r[k] for k in order] + ["extra"]) for r in US8K_ROWS]
        root = us8k(tmp_path / "d", US8K_ROWS, text=_csv(",".join([cols[k] for k in order] + ["notes"]), rows))
        clips = accepted(root, len(US8K_ROWS)).set_index("clip_id")
        assert clips.loc["102-8-0-0", "label"] == "siren" and clips.loc["102-8-0-0", "fold"] == 2
        assert clips.loc["102-8-0-0", "recording"] == "102"


@pytest.mark.parametrize("layout", ["av", "urbansound8k"])
def test_class_names_in_other_case_or_with_spaces_become_the_canonical_names(tmp_path, layout):
    spellings = ["Dog_Bark", "  siren ", "car horn", "DOG-BARK"]
    if layout == "av":
        root = av(tmp_path / "d", [(i, s) for (i, _), s in zip(AV_TRAIN, spellings)])
        clips = accepted(root, len(AV_TRAIN) + len(AV_TEST))
        got = clips[clips.split == "train"].set_index("clip_id").label.to_dict()
        assert got == {i: c for i, c in AV_TRAIN}
    else:
        rows = [r[:7] + (s,) for r, s in zip(US8K_ROWS, spellings)]
        root = us8k(tmp_path / "d", [tuple(f'"{v}"' if " " in v else v for v in r) for r in rows])
        got = accepted(root, len(rows)).set_index("clip_id").label.to_dict()
        assert got == {r[0].removesuffix(".wav"): r[7] for r in US8K_ROWS}


def test_a_fold_written_as_a_float_is_that_fold(tmp_path):
    rows = [r[:5] + (f"{r[5]}.0",) + r[6:] for r in US8K_ROWS]
    root = us8k(tmp_path / "d", rows, audio=False)
    for r in US8K_ROWS:
        _wav(root / "audio" / f"fold{r[5]}" / r[0])
    clips = accepted(root, len(rows))
    assert sorted(clips.fold) == sorted(int(r[5]) for r in US8K_ROWS)


@pytest.mark.parametrize("layout", ["av", "urbansound8k"])
def test_unicode_and_commas_in_names_are_read_from_quoted_fields(tmp_path, layout):
    names = ["café-ünï", "a,b", "日本語 クリップ"]
    if layout == "av":
        train = [(f'"{n}"', c) for n, (_, c) in zip(names, AV_TRAIN)]
        root = av(tmp_path / "d", train, ['"x,y"'])
        clips = accepted(root, len(names) + 1)
        assert sorted(clips.clip_id) == sorted([*names, "x,y"])
    else:
        rows = [(f'"{n}.wav"',) + r[1:] for n, r in zip(names, US8K_ROWS)]
        root = us8k(tmp_path / "d", rows)
        clips = accepted(root, len(names))
        assert sorted(clips.clip_id) == sorted(names)
    assert all(Path(p).is_file() for p in clips.path)


def test_a_header_only_test_csv_is_usable_and_said(tmp_path):
    root = av(tmp_path / "d", test=[], test_text="ID\n")
    clips = accepted(root, len(AV_TRAIN))
    assert (clips.split == "train").all()
    assert any("test.csv lists no clip" in w for w in validate(root).warnings)


# ------------------------------------------------------------------------------- refused
def test_a_classid_that_disagrees_with_the_class_is_refused(tmp_path, capsys):
    rows = list(US8K_ROWS)
    rows[1] = rows[1][:6] + ("4",) + rows[1][7:]  # siren is 8
    rows[2] = rows[2][:6] + ("x",) + rows[2][7:]
    root = us8k(tmp_path / "d", rows)
    lines = refused(root, "classID", "102-8-0-0.wav (classID '4'; siren is 8)", "103-1-0-0.wav (classID 'x'",
                    capsys=capsys)
    assert len(lines) == 1 and "2 row(s)" in lines[0]


@pytest.mark.parametrize("fold", ["0", "11", "", "-1", "1.5", "one"])
def test_a_fold_outside_1_to_10_is_refused(tmp_path, capsys, fold):
    rows = list(US8K_ROWS)
    rows[0] = rows[0][:5] + (fold,) + rows[0][6:]
    root = us8k(tmp_path / "d", rows)
    refused(root, f"101-3-0-0.wav ({fold!r})", "bad 'fold'", "whole numbers from 1 to 10", capsys=capsys)


def test_an_end_before_the_start_is_refused(tmp_path, capsys):
    rows = list(US8K_ROWS)
    rows[3] = rows[3][:2] + ("8.0", "4.0") + rows[3][4:]
    root = us8k(tmp_path / "d", rows)
    refused(root, "whose end is before its start", "104-3-0-1.wav (start 8.0, end 4.0)", capsys=capsys)


def test_one_slice_in_two_folds_is_refused(tmp_path, capsys):
    rows = [*US8K_ROWS, US8K_ROWS[0][:5] + ("4",) + US8K_ROWS[0][6:]]
    root = us8k(tmp_path / "d", rows)
    refused(root, "repeated slice_file_name: 101-3-0-0.wav", capsys=capsys)


@pytest.mark.parametrize("layout", ["av", "urbansound8k"])
def test_bytes_that_are_not_utf8_are_refused_naming_the_line(tmp_path, capsys, layout):
    if layout == "av":
        text = _csv("ID,Class", AV_TRAIN).encode() + "caf\xe9,siren\n".encode("latin-1")
        root = av(tmp_path / "d", train_text=text)
        csv_name = "train.csv"
    else:
        text = _csv(US8K_HEADER, US8K_ROWS).encode() + "caf\xe9.wav,1,0,1,1,1,8,siren\n".encode("latin-1")
        root = us8k(tmp_path / "d", text=text)
        csv_name = "UrbanSound8K.csv"
    lines = refused(root, f"{csv_name}: line 6 is not UTF-8", "save it as UTF-8", capsys=capsys)
    assert len(lines) == 1


def test_av_ids_in_both_train_and_test_are_refused(tmp_path, capsys):
    root = av(tmp_path / "d", test=["5", "2", "3"])
    refused(root, "test.csv: 2 row(s) whose ID is in train.csv too: 2, 3", capsys=capsys)


@pytest.mark.parametrize("which", ["test.csv", "train.csv"])
def test_an_empty_csv_is_refused_naming_the_header_it_needs(tmp_path, capsys, which):
    root = av(tmp_path / "d", **{("test_text" if which == "test.csv" else "train_text"): ""})
    needs = "ID" if which == "test.csv" else "ID, Class"
    refused(root, f"{which}: the file is empty", f"header line {needs}", capsys=capsys)


def test_a_class_whose_only_clips_are_refused_or_missing_is_named(tmp_path, capsys):
    # every car_horn row refused: the problem names the row, and nothing runs
    rows = list(US8K_ROWS)
    rows[2] = rows[2][:5] + ("12",) + rows[2][6:]
    refused(us8k(tmp_path / "d", rows), "103-1-0-0.wav ('12')", capsys=capsys)
    # every car_horn clip missing: allowed, but validate names the class no model can predict
    root = us8k(tmp_path / "e")
    (root / "audio" / "fold3" / "103-1-0-0.wav").unlink()
    report = validate(root, allow_missing=True)
    assert report.ok
    assert any("no training clip" in w and "car_horn" in w for w in report.warnings)


def test_a_class_with_clips_in_one_fold_only_is_said(tmp_path):
    report = validate(us8k(tmp_path / "d"))
    assert report.ok
    said = [w for w in report.warnings if "fewer training recording(s) than the 3 folds" in w]
    assert said and "car_horn (1)" in said[0] and "siren (1)" in said[0]


@pytest.mark.parametrize("layout", ["av", "urbansound8k"])
def test_a_huge_csv_with_few_files_stops_before_decoding_naming_the_count(tmp_path, capsys, layout):
    n = 100_000
    if layout == "av":
        train = [(str(i), CLASSES[i % 10]) for i in range(n)]
        root = av(tmp_path / "d", train, [], audio=False)
        for i in range(5):
            _wav(root / "Train" / f"{i}.wav")
    else:
        rows = [(f"{i}-{i % 10}-0-0.wav", str(i), "0", "4", "1", str(i % 10 + 1), str(i % 10), CLASSES[i % 10])
                for i in range(n)]
        root = us8k(tmp_path / "d", rows, audio=False)
        for r in rows[:5]:
            _wav(root / "audio" / f"fold{r[5]}" / r[0])
    # how fast: benchmarks/huge_metadata.py (no timed tests)
    with pytest.raises(DatasetError, match=f"{n - 5} of {n} clip\\(s\\) listed in the metadata have no audio file"):
        read_dataset(root)
    ws = tmp_path / "ws"
    assert main(["featurize", str(root), "--workspace", str(ws)]) == 1  # no cluster: the unit tier refuses one
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{n - 5} of {n} clip(s)" in err and not (ws / "features").exists()
    assert main(["validate", str(root), "--no-audio-check"]) == 1
    out = capsys.readouterr().out
    assert f"{n} listed, 5 with audio, {n - 5} missing" in out and f"error: {n - 5} listed clip(s) have no" in out
