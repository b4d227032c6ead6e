import shutil
from pathlib import Path

import pandas as pd
import pytest

from urbansound.datasets import CLIP_COLUMNS, detect_layout, read_dataset
from urbansound.exceptions import DatasetError
from urbansound.settings import CLASSES

from conftest import REALDATA


def test_av_layout_reads_into_the_clip_table(av_dataset):
    ds = read_dataset(av_dataset)
    assert ds.layout == "av"
    assert tuple(ds.clips.columns) == CLIP_COLUMNS
    train, test = ds.clips[ds.clips.split == "train"], ds.clips[ds.clips.split == "test"]
    assert len(train) == len(pd.read_csv(av_dataset / "train.csv"))
    assert len(test) == len(pd.read_csv(av_dataset / "test.csv"))
    assert set(train.label) <= set(CLASSES) and test.label.isna().all()
    assert ds.clips.fold.isna().all() and ds.clips.recording.isna().all()
    assert all(Path(p).is_file() for p in ds.clips.path)


def test_urbansound8k_layout_reads_folds_and_recordings(us8k_dataset):
    ds = read_dataset(us8k_dataset)
    assert ds.layout == "urbansound8k" and ds.has_folds and ds.has_recordings
    meta = pd.read_csv(us8k_dataset / "metadata" / "UrbanSound8K.csv")
    assert len(ds.clips) == len(meta)
    assert (ds.clips.split == "train").all()
    assert ds.clips.fold.between(1, 10).all()
    first = ds.clips.set_index("clip_id").loc[meta.slice_file_name[0].removesuffix(".wav")]
    assert first.label == meta["class"][0] and first.recording == str(meta.fsID[0])


def test_parent_of_the_unpacked_archive_is_accepted(us8k_dataset, tmp_path):
    outer = tmp_path / "download"
    outer.mkdir()
    (outer / "UrbanSound8K").symlink_to(us8k_dataset)
    layout, root = detect_layout(outer)
    assert layout == "urbansound8k" and root == outer / "UrbanSound8K"


def test_neither_layout_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="neither dataset layout"):
        read_dataset(tmp_path)
    with pytest.raises(DatasetError, match="no such folder"):
        read_dataset(tmp_path / "absent")


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_missing_column_names_the_file_and_column(av_dataset, tmp_path):
    root = _copy(av_dataset, tmp_path / "d")
    pd.read_csv(root / "train.csv").rename(columns={"Class": "Label"}).to_csv(root / "train.csv", index=False)
    with pytest.raises(DatasetError, match=r"train.csv: missing column\(s\) Class"):
        read_dataset(root)


def test_unknown_class_and_duplicate_ids_are_named(av_dataset, tmp_path):
    root = _copy(av_dataset, tmp_path / "d")
    train = pd.read_csv(root / "train.csv")
    train.loc[0, "Class"] = "helicopter"
    train.to_csv(root / "train.csv", index=False)
    with pytest.raises(DatasetError, match="helicopter"):
        read_dataset(root)
    train.loc[0, "Class"] = "siren"
    pd.concat([train, train.head(1)]).to_csv(root / "train.csv", index=False)
    with pytest.raises(DatasetError, match=f"repeated ID: {train.ID[0]}"):
        read_dataset(root)


def test_class_name_variant_with_float_times_bom_and_crlf(us8k_dataset, tmp_path):
    root = _copy(us8k_dataset, tmp_path / "d")
    csv = root / "metadata" / "UrbanSound8K.csv"
    meta = pd.read_csv(csv).rename(columns={"class": "class_name"})
    meta["fold"] = meta["fold"].astype(float)
    text = meta.to_csv(index=False, lineterminator="\r\n")
    csv.write_bytes(b"\xef\xbb\xbf" + text.encode())
    ds = read_dataset(root)
    assert len(ds.clips) == len(meta) and ds.clips.label.isin(CLASSES).all()


def test_missing_audio_stops_unless_allowed(us8k_dataset, tmp_path):
    root = _copy(us8k_dataset, tmp_path / "d")
    gone = sorted((root / "audio").rglob("*.wav"))[:3]
    for f in gone:
        f.unlink()
    with pytest.raises(DatasetError, match="3 of .* clip\\(s\\) .* no audio file.*--allow-missing"):
        read_dataset(root)
    ds = read_dataset(root, allow_missing=True)
    assert sorted(ds.missing.path) == sorted(str(f.absolute()) for f in gone)
    assert not ds.clips.path.isin(ds.missing.path).any()


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not here")
def test_real_metadata_both_spellings(tmp_path):
    ds = read_dataset(REALDATA / "urbansound8k", allow_missing=True)
    assert len(ds.clips) == 15 and len(ds.missing) == 8732 - 15
    # The class_name/float-times variant, in place of the original, with the same audio.
    variant = REALDATA / "urbansound8k" / "metadata_variants" / "UrbanSound8K_class_name_header.csv"
    (tmp_path / "metadata").mkdir()
    shutil.copy(variant, tmp_path / "metadata" / "UrbanSound8K.csv")
    (tmp_path / "audio").symlink_to(REALDATA / "urbansound8k" / "audio")
    same = read_dataset(tmp_path, allow_missing=True)
    cols = ["clip_id", "label", "fold", "recording"]
    pd.testing.assert_frame_equal(same.clips[cols], ds.clips[cols])
    av = read_dataset(REALDATA / "av", allow_missing=True)
    assert len(av.clips) + len(av.missing) == 5435 + 3297


@pytest.mark.parametrize("layout", ["av", "urbansound8k"])
@pytest.mark.parametrize("name", ["../../outside", "/etc/hostname", "..", "sub/dir", "a\\..\\b"])
def test_metadata_naming_files_outside_the_dataset_is_refused(av_dataset, us8k_dataset, tmp_path, layout, name,
                                                             capsys):
    # issue 13.6: a name with a folder in it is refused in validate and every stage, even
    # when the file it points at exists; audio folders that are symlinks still work
    from urbansound.cli import main

    outside = tmp_path / "outside.wav"
    root = _copy(av_dataset if layout == "av" else us8k_dataset, tmp_path / "d")
    if layout == "av":
        shutil.copy(next((root / "Train").glob("*.wav")), outside)
        csv, key = root / "train.csv", "ID"
    else:
        shutil.copy(next((root / "audio").rglob("*.wav")), outside)
        csv, key = root / "metadata" / "UrbanSound8K.csv", "slice_file_name"
    meta = pd.read_csv(csv, dtype=str)
    meta.loc[0, key] = name
    meta.to_csv(csv, index=False)
    with pytest.raises(DatasetError, match="not a plain file name") as e:
        read_dataset(root, allow_missing=True)
    assert repr(name) in str(e.value)
    assert main(["validate", str(root)]) != 0
    said = capsys.readouterr()
    assert "not a plain file name" in said.out + said.err


def test_symlinked_audio_folders_are_read(us8k_dataset, tmp_path):
    root = tmp_path / "d"
    (root / "audio").mkdir(parents=True)
    shutil.copytree(us8k_dataset / "metadata", root / "metadata")
    for fold in (us8k_dataset / "audio").iterdir():
        (root / "audio" / fold.name).symlink_to(fold.resolve())
    assert len(read_dataset(root).clips) == len(pd.read_csv(root / "metadata" / "UrbanSound8K.csv"))
