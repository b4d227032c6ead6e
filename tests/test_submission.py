import pandas as pd
import pytest

from urbansound.exceptions import SubmissionError
from urbansound.submission import validate, write

IDS = ["1", "2", "3"]


def _sub(ids, classes=None):
    return pd.DataFrame({"ID": ids, "Class": classes or ["siren"] * len(ids)})


@pytest.mark.parametrize("sub, message", [
    (_sub(["1", "2"]), "missing"),
    (_sub(["1", "2", "3", "3"]), "repeated: 3"),
    (_sub(["1", "2", "3", "9"]), "not test IDs"),
    (_sub(IDS, ["siren", "helicopter", "siren"]), "unknown class.*helicopter"),
    (_sub(IDS).rename(columns={"Class": "class"}), "header"),
])
def test_invalid_submissions_are_refused_and_not_written(tmp_path, sub, message):
    with pytest.raises(SubmissionError, match=message):
        write(sub, IDS, tmp_path / "s.csv")
    assert not list(tmp_path.iterdir())


def test_valid_submission_is_written(tmp_path):
    path = write(_sub(IDS), IDS, tmp_path / "out" / "s.csv")
    assert path.read_text().splitlines() == ["ID,Class", "1,siren", "2,siren", "3,siren"]
    validate(pd.read_csv(path, dtype=str), IDS)
