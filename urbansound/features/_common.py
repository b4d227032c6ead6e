"""Small numerical helpers shared by the feature modules."""

from __future__ import annotations

import numpy as np

from urbansound.features import _kernels

_TINY = 1e-30


def _index_width(n: int) -> int:
    return max(2, len(str(n - 1)))


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and (population) standard deviation of a 1-d array; 0, 0 when empty.

    Compiled: ``x.mean()`` and ``x.std()`` cost ~15 us of call overhead on these short
    arrays, and a clip needs about ten such pairs.
    """
    if x.size == 0:
        return 0.0, 0.0
    return _kernels.mean_std(np.ascontiguousarray(x, dtype=np.float64))


def _parabolic(left: float, centre: float, right: float) -> float:
    """Offset in (-0.5, 0.5) of the vertex of the parabola through three equally spaced points."""
    denom = left - 2.0 * centre + right
    if denom >= 0.0:  # not a strict maximum: keep the sample
        return 0.0
    return float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))
