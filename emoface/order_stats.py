"""Median and percentile of a 1-D array, the numbers numpy's np.median and np.percentile (linear method) give:
numpy's own check for NaNs imports numpy.ma, about 20 ms of a bake's start-up, for one number per line.

Same partition, same index arithmetic and the same interpolation as numpy 2's, so the same bits
(tests/test_order_stats.py holds them to numpy); a NaN anywhere gives NaN, as numpy's do."""

from __future__ import annotations

import numpy as np


def median(x: np.ndarray) -> float:
    """np.median of a non-empty 1-D array."""
    x = np.asarray(x)
    n = len(x)
    if n == 0:
        raise ValueError("median of an empty array")
    if np.isnan(x).any():
        return float("nan")
    low = (n - 1) // 2  # the middle one, or the lower of the middle two
    return float(np.mean(np.partition(x, sorted({low, n // 2}))[low:n // 2 + 1]))


def percentile(x: np.ndarray, q: float) -> float:
    """np.percentile(x, q) of a non-empty 1-D array, q from 0 to 100."""
    x = np.asarray(x)
    n = len(x)
    if n == 0:
        raise ValueError("percentile of an empty array")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0-100")
    if np.isnan(x).any():
        return float("nan")
    at = (n - 1) * np.true_divide(q, 100)  # numpy's virtual index for the linear method
    below = int(np.floor(at))
    if at >= n - 1:
        below = above = n - 1
    elif at < 0:
        below = above = 0
    else:
        above = below + 1
    ordered = np.partition(x, sorted({0, n - 1, below, above}))
    a, b = ordered[below], ordered[above]
    weight = float(at - np.floor(at))  # numpy's gamma, also where the index is clipped (a == b there)
    step = b - a
    return float(b - step * (1 - weight) if weight >= 0.5 else a + step * weight)
