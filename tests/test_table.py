"""urbansound.table: the feature table's on-disk format and its readers, on tables written
here row by row (no featurize, no cluster)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from urbansound import features
from urbansound.settings import FeatureSettings
from urbansound.table import (
    iter_feature_columns,
    read_failures,
    read_features,
    read_sequences,
    read_settings,
    schema,
    table_parts,
    write_atomic,
)
from urbansound.workspace import FAILURES_FILE, MANIFEST_FILE, SEQUENCES_DIR

SETTINGS = FeatureSettings(n_fft=256, hop_length=128, n_mels=8, n_mfcc=2, n_bands=4, pcen_bands=2, sequence_frames=8)
NAMES = features.feature_names(SETTINGS)
CLIP_FIELDS = ["clip_id", "path", "split", "label", "fold", "recording", "augmentation", "decoded_seconds", "padded"]


def _row(clip_id: str, split: str = "train", augmentation: str | None = None, value: float = 0.0) -> dict:
    train = split == "train"
    return {"clip_id": clip_id, "path": f"audio/{clip_id}.wav", "split": split, "label": "dog" if train else None,
            "fold": 1 if train else None, "recording": f"rec-{clip_id}", "augmentation": augmentation,
            "decoded_seconds": 4.0, "padded": False, **dict.fromkeys(NAMES, value)}


def _mfcc(value: float) -> np.ndarray:
    """A clip's (n_mfcc, sequence_frames) matrix: coefficient k at frame t is value + 100 k + t."""
    k, t = np.mgrid[: SETTINGS.n_mfcc, : SETTINGS.sequence_frames]
    return (value + 100 * k + t).astype(np.float32)


def _write(out, parts: dict[str, list[dict]], *, manifest: bool = True, table_schema: pa.Schema | None = None):
    """Write each part, its MFCC sequences (one per clip as recorded) and the manifest, as featurize lays them out."""
    table_schema = table_schema or schema(SETTINGS)
    for name, rows in parts.items():
        rows = [{k: v for k, v in r.items() if k in table_schema.names} for r in rows]
        write_atomic(pa.Table.from_pylist(rows, schema=table_schema), out / name)
        recorded = [r for r in rows if r.get("augmentation") is None]
        seq = out / SEQUENCES_DIR / name.replace(".parquet", ".npz")
        seq.parent.mkdir(parents=True, exist_ok=True)
        np.savez(seq, clip_id=np.array([r["clip_id"] for r in recorded], dtype=str),
                 mfcc=np.stack([_mfcc(r[NAMES[0]]) for r in recorded]))
    if manifest:
        (out / MANIFEST_FILE).write_text(json.dumps({"settings": SETTINGS.model_dump(),
                                                     "fingerprint": SETTINGS.fingerprint(), "parts": list(parts)}))
    return out


@pytest.fixture
def table(tmp_path):
    """Two parts, clips out of order across them, three augmented rows."""
    return _write(tmp_path / "features" / "d", {
        "part-00000.parquet": [_row("b", value=2), _row("z", "test", value=26), _row("b", augmentation="speed:1.1"),
                               _row("b", augmentation="gain:-6")],
        "part-00001.parquet": [_row("c", "test", value=3), _row("a", value=1), _row("a", augmentation="speed:0.9")],
    })


# ---------------------------------------------------------------- schema and the Parquet file


def test_schema_has_the_clip_columns_then_every_feature_in_order():
    s = schema(SETTINGS)
    assert s.names == CLIP_FIELDS + NAMES
    assert [s.field(n).type for n in CLIP_FIELDS] == [pa.string()] * 4 + [pa.int64(), pa.string(), pa.string(),
                                                                          pa.float32(), pa.bool_()]
    assert {n for n in CLIP_FIELDS if not s.field(n).nullable} == {"clip_id", "path", "split", "decoded_seconds",
                                                                   "padded"}
    assert all(s.field(n).type == pa.float32() and not s.field(n).nullable for n in NAMES)
    assert len(schema(SETTINGS.model_copy(update={"n_mfcc": 4}))) == len(s) + 2 * 8  # 8 statistics per coefficient


def test_schema_carries_its_settings_and_survives_the_file(tmp_path):
    path = tmp_path / "part-00000.parquet"
    write_atomic(pa.Table.from_pylist([_row("a", value=0.5)], schema=schema(SETTINGS)), path)
    meta = pq.read_schema(path).metadata
    assert FeatureSettings.model_validate_json(meta[b"urbansound.settings"]) == SETTINGS
    back = pq.read_table(path)
    assert back.schema.names == schema(SETTINGS).names and back.column(NAMES[-1]).to_pylist() == [0.5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-00000.parquet"]  # no temporary left


def test_write_atomic_leaves_no_part_when_writing_fails(tmp_path, monkeypatch):
    def half_then_crash(table, where, **kwargs):
        open(where, "wb").write(b"PAR1 half a part")
        raise OSError("disk gone")

    monkeypatch.setattr(pq, "write_table", half_then_crash)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(pa.Table.from_pylist([_row("a")], schema=schema(SETTINGS)), tmp_path / "part-00000.parquet")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- read_features


def test_read_features_sorts_by_split_then_clip_and_drops_augmented_rows(table):
    df = read_features(table)
    assert list(zip(df.split, df.clip_id)) == [("test", "c"), ("test", "z"), ("train", "a"), ("train", "b")]
    assert df["augmentation"].isna().all()
    assert list(df.index) == [0, 1, 2, 3]
    assert list(df.columns) == CLIP_FIELDS + NAMES
    assert df.set_index("clip_id").loc[["a", "b", "c", "z"], NAMES[0]].tolist() == [1, 2, 3, 26]
    assert df.loc[df.split == "test", "label"].isna().all()  # unlabeled test clips stay unlabeled


def test_read_features_augmented_appends_those_rows_sorted_by_clip_then_spec(table):
    df = read_features(table, augmented=True)
    assert len(df) == 7 and list(df.index) == list(range(7))
    pd.testing.assert_frame_equal(df.iloc[:4].reset_index(drop=True), read_features(table))
    extra = df.iloc[4:]
    assert list(zip(extra.clip_id, extra.augmentation)) == [("a", "speed:0.9"), ("b", "gain:-6"), ("b", "speed:1.1")]


def test_a_table_written_before_the_augmentation_column_reads_as_recorded_clips(tmp_path):
    full = schema(SETTINGS)
    old = full.remove(full.get_field_index("augmentation"))
    out = _write(tmp_path, {"part-00000.parquet": [_row("b"), _row("a")]}, table_schema=old)
    for augmented in (False, True):
        df = read_features(out, augmented=augmented)
        assert list(df.columns) == CLIP_FIELDS + NAMES  # the column put back where it belongs
        assert df.clip_id.tolist() == ["a", "b"] and df.augmentation.isna().all()


def test_a_clip_in_two_parts_is_refused(tmp_path):
    out = _write(tmp_path, {"part-00000.parquet": [_row("a"), _row("dup")],
                            "part-00001.parquet": [_row("dup"), _row("b")]})
    with pytest.raises(FileNotFoundError, match=r"clip\(s\) dup appear in more than one part.*re-run featurize"):
        read_features(out)


def test_read_features_reads_only_the_parts_the_manifest_lists(table, caplog):
    stray = [_row("ghost", value=9)]
    write_atomic(pa.Table.from_pylist(stray, schema=schema(SETTINGS)), table / "part-00099.parquet")
    with caplog.at_level(logging.WARNING, logger="urbansound.table"):
        df = read_features(table)
    assert "ghost" not in set(df.clip_id) and len(df) == 4
    assert "ignoring 1 part(s)" in caplog.text and "part-00099.parquet" in caplog.text


# ---------------------------------------------------------------- table_parts: the refusals


def test_table_parts_are_the_manifests_in_its_order(table):
    assert table_parts(table) == [table / "part-00000.parquet", table / "part-00001.parquet"]


def test_no_table_at_all(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        table_parts(tmp_path / "nowhere")
    assert str(e.value) == f"{tmp_path / 'nowhere'}: no feature table here; run `urbansound featurize` first"


def test_parts_without_a_manifest_mean_featurize_did_not_finish(tmp_path):
    out = _write(tmp_path, {"part-00000.parquet": [_row("a")], "part-00001.parquet": [_row("b")]}, manifest=False)
    with pytest.raises(FileNotFoundError) as e:
        read_features(out)
    assert str(e.value).startswith(f"{out}: 2 part(s) but no {MANIFEST_FILE}: featurize did not finish here")
    assert "run `urbansound featurize` again" in str(e.value)


@pytest.mark.parametrize("text", ["{not json", "[]", '{"settings": {}}', '{"parts": 3}'])
def test_an_unreadable_manifest_is_named(table, text):
    (table / MANIFEST_FILE).write_text(text)
    with pytest.raises(FileNotFoundError) as e:
        table_parts(table)
    assert str(e.value).startswith(f"{table / MANIFEST_FILE}: unreadable (")
    assert str(e.value).endswith("run `urbansound featurize` again")


def test_a_listed_part_that_is_gone_is_named(table):
    (table / "part-00001.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"lists 1 part\(s\) that are not there \(e\.g\. part-00001\.parquet\)"
                                                r".*run `urbansound featurize` again"):
        read_features(table)


def test_an_empty_table_says_so(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"parts": []}))
    with pytest.raises(FileNotFoundError, match="the feature table is empty; run `urbansound featurize` on a dataset"):
        table_parts(tmp_path)


# ---------------------------------------------------------------- read_sequences


def test_read_sequences_in_the_order_asked_flattened_coefficient_by_coefficient(table):
    ids = ["z", "a", "c", "b", "a"]  # across both parts, one twice
    seq = read_sequences(table, ids)
    frames = SETTINGS.sequence_frames
    assert seq.shape == (5, SETTINGS.n_mfcc * frames) and seq.dtype == np.float32
    values = {"a": 1, "b": 2, "c": 3, "z": 26}
    for row, cid in zip(seq, ids):
        np.testing.assert_array_equal(row, _mfcc(values[cid]).reshape(-1))
        np.testing.assert_array_equal(row[frames: 2 * frames], values[cid] + 100 + np.arange(frames))  # coefficient 1


def test_read_sequences_refuses_clips_without_one(table):
    with pytest.raises(FileNotFoundError) as e:
        read_sequences(table, ["a", "nope", "never"])
    assert str(e.value) == (f"{table}: no MFCC sequences for 2 clip(s), e.g. ['nope', 'never']; re-run featurize")


def test_read_sequences_names_a_missing_sequence_file(table):
    missing = table / SEQUENCES_DIR / "part-00001.npz"
    missing.unlink()
    with pytest.raises(FileNotFoundError) as e:
        read_sequences(table, ["b"])
    assert str(e.value) == f"{missing}: sequences missing for part-00001.parquet; re-run featurize"


def test_read_sequences_of_no_clips_is_an_empty_matrix(table):
    assert read_sequences(table, []).shape == (0, SETTINGS.n_mfcc * SETTINGS.sequence_frames)


# ---------------------------------------------------------------- settings, failures, columns


def test_read_settings_round_trips_the_manifest(table):
    assert read_settings(table) == SETTINGS


def test_read_settings_without_a_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"no {MANIFEST_FILE}; run `urbansound featurize` first"):
        read_settings(tmp_path)


def test_read_failures_without_a_file_is_empty_with_the_columns(tmp_path):
    df = read_failures(tmp_path)
    assert df.empty and list(df.columns) == ["clip_id", "path", "error"]


def test_read_failures_keeps_every_cell_as_text(tmp_path):
    (tmp_path / FAILURES_FILE).write_text('clip_id,path,error\n007,NA,\n12,a.wav,"bad header, 0 frames"\n')
    df = read_failures(tmp_path)
    assert df.to_dict("records") == [{"clip_id": "007", "path": "NA", "error": ""},
                                     {"clip_id": "12", "path": "a.wav", "error": "bad header, 0 frames"}]


def test_iter_feature_columns_keeps_table_order_and_whole_prefixes():
    df = pd.DataFrame(columns=["clip_id", "time_rms", "mfcc_mean_00", "mfccx_0", "fft_band_00", "mfcc_std_00"])
    assert list(iter_feature_columns(df, ("mfcc", "time"))) == ["time_rms", "mfcc_mean_00", "mfcc_std_00"]
    assert list(iter_feature_columns(df, ())) == []
    real = pd.DataFrame(columns=CLIP_FIELDS + NAMES)
    assert list(iter_feature_columns(real, features.FEATURE_SETS)) == NAMES
