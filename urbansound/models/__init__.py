"""Models: the registry by name, the seed project's NumPy networks, saved models."""

from urbansound.models.registry import MODEL_NAMES, SEQUENCE_MODELS, make_model
from urbansound.models.saved import TrainedModel

__all__ = ["MODEL_NAMES", "SEQUENCE_MODELS", "TrainedModel", "make_model"]
