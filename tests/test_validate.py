import shutil

import pandas as pd
import pytest

from urbansound.cli import main
from urbansound.validate import validate

from conftest import REALDATA


def test_clean_synthetic_dataset_is_usable(us8k_dataset, capsys):
    assert main(["validate", str(us8k_dataset)]) == 0
    out = capsys.readouterr().out
    assert "layout:  urbansound8k" in out and "verdict: usable" in out and "fold  1:" in out
    assert "error:" not in out
    assert "class(es) have fewer training recording(s) than the" in out  # a few recordings per fold: said


def test_every_problem_is_listed_at_once(av_dataset, tmp_path):
    root = shutil.copytree(av_dataset, tmp_path / "d")
    train = pd.read_csv(root / "train.csv", dtype=str)
    train.loc[0, "Class"] = "helicopter"
    pd.concat([train, train.iloc[[1]]]).to_csv(root / "train.csv", index=False)
    victim = root / "Test" / f"{pd.read_csv(root / 'test.csv', dtype=str).ID[0]}.wav"
    victim.write_text("not audio")
    (root / "Train" / f"{train.ID[2]}.wav").unlink()
    report = validate(root)
    assert not report.ok
    text = report.text
    assert "helicopter" in text and "repeated ID" in text and str(victim) in text
    assert f"{train.ID[2]}.wav" in text
    assert len(report.errors) == 4  # unknown class, repeated ID, missing file, unreadable file


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not here")
def test_real_urbansound8k_metadata_lists_the_missing_and_the_present(capsys):
    assert main(["validate", str(REALDATA / "urbansound8k"), "--show-all"]) == 1
    out = capsys.readouterr().out
    assert "8732 listed, 15 with audio, 8717 missing" in out
    missing_block = out.split("missing audio files (8717):\n")[1].split("\n\n")[0].splitlines()
    present_block = out.split("clips present (15):\n")[1].split("\n\n")[0].splitlines()
    assert len(missing_block) == 8717 and len(present_block) == 15
    assert "unreadable" not in out
    assert main(["validate", str(REALDATA / "urbansound8k"), "--allow-missing"]) == 0
