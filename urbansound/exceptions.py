"""Exceptions raised by urbansound: one base class, a few precise subclasses.

Every message names the file, row or value at fault and says what would fix it.
"""


class UrbanSoundError(Exception):
    """Base class of every error this package raises on purpose."""


class DatasetError(UrbanSoundError):
    """A dataset folder or its metadata cannot be used; the run stops before any work."""


class DecodeError(UrbanSoundError):
    """One audio file cannot be decoded; featurize records it and goes on.

    Parameters
    ----------
    path : str
        The file that failed.
    reason : str
        Why, in words a user can act on.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class ModelError(UrbanSoundError):
    """A model cannot be trained, loaded or applied (unknown name, feature mismatch)."""


class StudyError(ModelError):
    """A study asked to vary or set what it cannot (an unknown study, a bad grid, a --set it varies)."""


class FetchError(UrbanSoundError):
    """A dataset cannot be downloaded, verified or unpacked; the message says what to do."""


class SubmissionError(UrbanSoundError):
    """A submission would be invalid (missing or repeated IDs, unknown classes)."""


class ClusterError(UrbanSoundError):
    """The Dask scheduler or Prefect server named in the options or environment cannot be used."""


class WorkspaceError(UrbanSoundError):
    """An output folder cannot be written; found before any work is done."""
