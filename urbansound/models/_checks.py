"""Parameter checks the estimators share: a bad value raises a ValueError naming it and its range."""

from __future__ import annotations

from typing import Any

import numpy as np


def whole(owner: Any, name: str, low: int, high: int, allow_none: bool = False) -> None:
    """``owner.<name>`` must be a whole number in [low, high] (or None, with ``allow_none``)."""
    v = getattr(owner, name)
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not low <= v <= high:
        raise ValueError(f"{name}={v!r}: expected a whole number in [{low}, {high}]")


def real(owner: Any, name: str, low: float, high: float, low_open: bool = False) -> None:
    """``owner.<name>`` must be a finite number in [low, high] (or (low, high] with ``low_open``)."""
    v = getattr(owner, name)
    ok = isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and np.isfinite(v)
    if not ok or not (low < v if low_open else low <= v) or v > high:
        raise ValueError(f"{name}={v!r}: expected a number in {'(' if low_open else '['}{low}, {high}]")
