"""Models: the registry by name, the seed project's NumPy networks, saved models.

The names are constants here, so the command line lists them without importing
scikit-learn (seconds); :func:`make_model` and :class:`TrainedModel` load on first use.
"""

from __future__ import annotations

from typing import Any

MODEL_NAMES: tuple[str, ...] = (
    "logreg", "mlp", "tree", "forest", "hgb", "svm", "knn", "gd-logreg", "fnn", "vote", "rnn",
)
"""Every model the registry builds (:func:`urbansound.models.registry.make_model`)."""

SEQUENCE_MODELS = frozenset({"rnn"})
"""Models that take MFCC frame sequences (flattened frame-major) instead of a feature table."""

__all__ = ["MODEL_NAMES", "SEQUENCE_MODELS", "TrainedModel", "make_model"]


def __getattr__(name: str) -> Any:
    if name == "make_model":
        from urbansound.models.registry import make_model

        return make_model
    if name == "TrainedModel":
        from urbansound.models.saved import TrainedModel

        return TrainedModel
    raise AttributeError(f"module 'urbansound.models' has no attribute {name!r}")
