import json
import os
import shutil

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pytest

from urbansound import features
from urbansound.datasets import read_dataset
from urbansound.featurize import (FAILURES_FILE, MANIFEST_FILE, featurize_batch, featurize_dataset, finalize,
                                  plan_batches, read_failures, read_features)
from urbansound.settings import FeatureSettings

from conftest import REALDATA

SETTINGS = FeatureSettings(batch_size=16)
S_FRAME = SETTINGS.n_fft / SETTINGS.sample_rate


@pytest.fixture
def dataset(av_dataset, tmp_path):
    """A private copy of the AV dataset with one corrupt clip and one text file named .wav."""
    root = shutil.copytree(av_dataset, tmp_path / "data")
    train = sorted((root / "Train").glob("*.wav"))
    train[0].write_bytes(train[0].read_bytes()[:30])
    train[1].write_text("not audio")
    return root, {train[0].stem, train[1].stem}


def test_feature_table_is_one_table_for_pandas_dask_and_pyarrow(dataset, client, tmp_path):
    root, broken = dataset
    ds = read_dataset(root)
    out = tmp_path / "features"
    summary = featurize_dataset(ds.clips, SETTINGS, out, client)
    assert summary.clips == len(ds.clips) - 2 and summary.failed == 2
    assert {f["clip_id"] for f in summary.failures} == broken

    table = read_features(out)
    assert len(table) == summary.clips and table.clip_id.is_unique
    assert set(table.clip_id) == set(ds.clips.clip_id) - broken
    assert len(pd.read_parquet(out)) == len(dd.read_parquet(out).compute()) == pads.dataset(out).count_rows()
    names = features.feature_names(SETTINGS)
    assert (table[names].dtypes == np.float32).all() and np.isfinite(table[names].to_numpy()).all()
    # labels joined to the right clips: compare with the CSV
    truth = pd.read_csv(root / "train.csv", dtype=str).set_index("ID").Class
    train = table[table.split == "train"].set_index("clip_id")
    assert (train.label == truth.loc[train.index]).all()

    failures = read_failures(out)
    assert set(failures.clip_id) == broken and failures.error.str.len().gt(0).all()
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["clips"] == summary.clips and manifest["fingerprint"] == SETTINGS.fingerprint()


def test_rerun_recomputes_nothing_and_a_changed_clip_only_its_batch(av_dataset, client, tmp_path):
    root = shutil.copytree(av_dataset, tmp_path / "data")
    clips = read_dataset(root).clips
    out = tmp_path / "features"
    first = featurize_dataset(clips, SETTINGS, out, client)
    assert first.cached_batches == 0
    again = featurize_dataset(clips, SETTINGS, out, client)
    assert again.cached_batches == again.batches and "nothing recomputed" in again.describe()

    victim = sorted((root / "Test").glob("*.wav"))[0]
    blob = bytearray(victim.read_bytes())
    blob[-2] ^= 0xFF  # one sample changes; size and (restored) mtime stay the same
    stat = victim.stat()
    victim.write_bytes(bytes(blob))
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = featurize_dataset(clips, SETTINGS, out, client)
    assert changed.batches - changed.cached_batches == 1
    assert len(list(out.glob("part-*.parquet"))) == changed.batches  # the stale part is gone
    assert len(read_features(out)) == len(clips)

    other = featurize_dataset(clips, FeatureSettings(batch_size=16, n_mfcc=13), out, client)
    assert other.cached_batches == 0
    assert len(read_features(out).filter(like="mfcc_mean_").columns) == 13


def test_batch_of_one_equals_batch_of_many(av_dataset, tmp_path):
    clips = read_dataset(av_dataset).clips.head(8)
    [batch] = plan_batches(clips, 8)
    finalize([featurize_batch(batch, settings=SETTINGS, out_dir=str(tmp_path / "many"))], SETTINGS,
             tmp_path / "many", seconds=0)
    finalize([featurize_batch([rec], settings=SETTINGS, out_dir=str(tmp_path / "one")) for rec in batch], SETTINGS,
             tmp_path / "one", seconds=0)
    many, one = read_features(tmp_path / "many"), read_features(tmp_path / "one")
    pd.testing.assert_frame_equal(many, one)


def test_one_worker_gives_the_same_table_as_two(av_dataset, client, tmp_path):
    from distributed import Client, LocalCluster

    from urbansound.cluster import local_cluster_kwargs

    clips = read_dataset(av_dataset).clips.head(40)
    featurize_dataset(clips, SETTINGS, tmp_path / "two", client)
    with LocalCluster(**local_cluster_kwargs(1, dashboard_address="127.0.0.1:0")) as cluster, Client(cluster) as one:
        featurize_dataset(clips, SETTINGS, tmp_path / "one", one)
    pd.testing.assert_frame_equal(read_features(tmp_path / "one"), read_features(tmp_path / "two"))


def test_a_worker_that_cannot_see_the_data_stops_the_run_with_a_clear_message(av_dataset, client, tmp_path):
    from urbansound.exceptions import DatasetError

    clips = read_dataset(av_dataset).clips.head(3).copy()
    clips.loc[:, "path"] = str(tmp_path / "elsewhere" / "0.wav")  # as a worker on another machine sees it
    with pytest.raises(DatasetError, match="cannot see the data.*cannot read .*elsewhere.*shared disk"):
        featurize_dataset(clips, SETTINGS, tmp_path / "f", client)
    assert not list((tmp_path / "f").glob("part-*"))


def test_no_stray_temporaries_and_failures_file_is_beside(dataset, client, tmp_path):
    root, _ = dataset
    out = tmp_path / "f"
    featurize_dataset(read_dataset(root).clips, SETTINGS, out, client)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert (out / FAILURES_FILE).is_file()


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not here")
@pytest.mark.parametrize("layout, clips", [("urbansound8k", 15), ("av", 8)])
def test_every_real_clip_gets_finite_features(client, tmp_path, layout, clips):
    ds = read_dataset(REALDATA / layout, allow_missing=True)
    summary = featurize_dataset(ds.clips, SETTINGS, tmp_path / "f", client)
    assert summary.clips == clips and summary.failed == 0
    table = read_features(tmp_path / "f")
    values = table[features.feature_names(SETTINGS)].to_numpy()
    assert np.isfinite(values).all()
    if layout == "av":  # one AV clip is 0.05 s, shorter than one FFT frame
        assert table.padded.sum() == 1 and table.decoded_seconds.min() < S_FRAME
