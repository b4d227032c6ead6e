"""Tiny log-mel images for the image models' tests (the cnn, skm-fnn)."""

import numpy as np

BANDS, FRAMES = 8, 24


def images(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise images with a tone in a low band (siren) or a high band (dog_bark), at a random
    time; rows flattened band-major as featurize stores them."""
    X = rng.normal(0, 1, (n, BANDS, FRAMES)).astype(np.float32)
    high = rng.random(n) < 0.5
    for i in range(n):
        t = rng.integers(0, FRAMES - 6)
        X[i, 6 if high[i] else 1, t:t + 6] += 4.0
    return X.reshape(n, -1), np.where(high, "dog_bark", "siren")
