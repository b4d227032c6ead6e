import pytest
from pydantic import ValidationError

from urbansound.settings import FeatureSettings, PipelineSettings, TrainSettings


def test_fingerprint_ignores_batch_size_but_not_feature_settings():
    base = FeatureSettings()
    assert base.fingerprint() == FeatureSettings(batch_size=7).fingerprint()
    assert base.fingerprint() != FeatureSettings(n_mfcc=20).fingerprint()


@pytest.mark.parametrize("kwargs, field", [
    ({"hop_length": 4096, "n_fft": 1024}, "hop_length"),
    ({"n_mfcc": 64, "n_mels": 32}, "n_mfcc"),
    ({"sample_rate": 100}, "sample_rate"),
])
def test_bad_feature_settings_name_the_field(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        FeatureSettings(**kwargs)


def test_settings_are_frozen_and_reject_unknown_fields():
    s = FeatureSettings()
    with pytest.raises(ValidationError):
        s.n_mfcc = 3
    with pytest.raises(ValidationError, match="n_mfccs"):
        FeatureSettings(n_mfccs=3)
    with pytest.raises(ValidationError, match="cv"):
        TrainSettings(cv="random")


def test_workspace_paths_follow_the_dataset_name(tmp_path):
    s = PipelineSettings(data_dir=tmp_path / "my-set", workspace=tmp_path / "ws")
    assert s.dataset_name == "my-set"
    assert s.paths.features == tmp_path / "ws" / "features" / "my-set"
    assert s.paths.submission == tmp_path / "ws" / "submissions" / "my-set.csv"
    assert PipelineSettings(data_dir=tmp_path, name="x").dataset_name == "x"


def test_pcen_bands_must_divide_the_mel_bands():
    import pytest
    from pydantic import ValidationError

    from urbansound.settings import FeatureSettings

    assert FeatureSettings(n_mels=96, pcen_bands=32).pcen_bands == 32
    with pytest.raises(ValidationError, match="pcen_bands=48 does not divide n_mels=128"):
        FeatureSettings(pcen_bands=48)
