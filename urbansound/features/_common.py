"""Small numerical helpers shared by the feature modules."""

from __future__ import annotations

import numpy as np

_TINY = 1e-30


def _index_width(n: int) -> int:
    return max(2, len(str(n - 1)))


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and (population) standard deviation of a 1-d array; 0, 0 when empty."""
    if x.size == 0:
        return 0.0, 0.0
    return float(x.mean()), float(x.std())


def _parabolic(left: float, centre: float, right: float) -> float:
    """Offset in (-0.5, 0.5) of the vertex of the parabola through three equally spaced points."""
    denom = left - 2.0 * centre + right
    if denom >= 0.0:  # not a strict maximum: keep the sample
        return 0.0
    return float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def _window_sums(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Sums of ``x`` over windows ``[s, s + length)`` for ``s = 0, hop, ..`` (not centred).

    Returns ``1 + (len(x) - length) // hop`` sums (``len(x) >= length``). When ``hop``
    divides ``length`` (as at the defaults) the sums come from per-hop block sums, a few
    times faster than a cumulative sum over every sample.
    Windows of zeros sum to exactly 0 either way (adding 0 is exact).
    """
    n_windows = 1 + (len(x) - length) // hop
    if length % hop == 0:
        per = length // hop
        n_blocks = n_windows - 1 + per
        blocks = x[: n_blocks * hop].reshape(n_blocks, hop).sum(axis=1)
        cum = np.concatenate(([0], np.cumsum(blocks)))
        return cum[per:] - cum[:-per]
    cum = np.concatenate(([0], np.cumsum(x)))
    starts = np.arange(n_windows) * hop
    return cum[starts + length] - cum[starts]


def _weighted_index(x: np.ndarray, block: int = 512) -> float:
    """``sum(i * x[i])`` by blocks: no index array as long as the signal."""
    n_blocks = len(x) // block
    head = x[: n_blocks * block].reshape(n_blocks, block)
    total = block * float(np.arange(n_blocks, dtype=np.float64) @ head.sum(axis=1))
    total += float((head @ np.arange(block, dtype=np.float64)).sum())
    tail = x[n_blocks * block :]
    return total + float(np.arange(n_blocks * block, len(x), dtype=np.float64) @ tail)
