"""Models: the registry by name, the seed project's NumPy networks, saved models.

The names are constants here, so the command line lists them without importing
scikit-learn (seconds); :func:`make_model` and :class:`TrainedModel` load on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from urbansound.exceptions import ModelError

MODEL_NAMES: tuple[str, ...] = (
    "logreg", "mlp", "tree", "forest", "hgb", "svm", "knn", "gd-logreg", "fnn", "vote", "cnn", "cnn-fnn", "skm-fnn",
    "rnn",
)
"""Every model the registry builds (:func:`urbansound.models.registry.make_model`)."""

SEQUENCE_MODELS = frozenset({"rnn"})
"""Models that take MFCC frame sequences (flattened frame-major) instead of a feature table."""

MEL_MODELS = frozenset({"cnn"})
"""Models that take log-mel images (flattened band-major, every row of the table) instead of columns."""

HYBRID_MODELS = frozenset({"cnn-fnn", "skm-fnn"})
"""Models that take a feature set's columns followed by the log-mel image (input ``<set>+mel``)."""


@dataclass(frozen=True)
class InputShape:
    """Rows per frame of the frame inputs, from the feature settings: MFCC coefficients
    (the ``rnn``'s sequences) and log-mel bands (the ``cnn``'s images)."""

    n_mfcc: int | None = None
    mel_bands: int | None = None
    mel_frames: int | None = None

    @classmethod
    def of(cls, settings: Any) -> "InputShape":
        """The shape of a table's frame inputs (a :class:`urbansound.settings.FeatureSettings`)."""
        return cls(n_mfcc=settings.n_mfcc, mel_bands=settings.image_bands, mel_frames=settings.sequence_frames)


__all__ = ["HYBRID_MODELS", "InputShape", "MEL_MODELS", "MODEL_NAMES", "SEQUENCE_MODELS", "TrainedModel", "make_model",
           "parse_override"]


def parse_override(text: str) -> tuple[str, str, Any]:
    """``MODEL.PARAM=VALUE`` -> (model, param, value); the value is read as a bool
    (true/false), None (none), an int, a float, or else kept as text (``10,10`` is a
    hidden-layer spec)."""
    target, sep, raw = text.partition("=")
    model, dot, param = target.strip().partition(".")
    if not sep or not dot or not model or not param:
        raise ModelError(f"--set {text!r}: expected MODEL.PARAM=VALUE, e.g. fnn.lam=1e-3")
    if model not in MODEL_NAMES:
        raise ModelError(f"--set {text!r}: unknown model {model!r}; choose from {', '.join(MODEL_NAMES)}")
    from urbansound.models._param_names import PARAM_NAMES

    if param not in PARAM_NAMES[model]:  # known without building the model (no scikit-learn import)
        raise ModelError(f"--set {text!r}: model {model!r} has no parameter {param!r}; valid names: "
                         f"{', '.join(PARAM_NAMES[model])}")
    raw = raw.strip()
    value: Any = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif raw.lower() == "none":
        value = None
    else:
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
    if isinstance(value, str) and "," in value and model in ("fnn",) and param == "hidden":
        value = value.replace(",", "+")  # fnn.hidden=10,10 as the seed's report writes it
    return model, param, value



def __getattr__(name: str) -> Any:
    if name == "make_model":
        from urbansound.models.registry import make_model

        return make_model
    if name == "TrainedModel":
        from urbansound.models.saved import TrainedModel

        return TrainedModel
    raise AttributeError(f"module 'urbansound.models' has no attribute {name!r}")
