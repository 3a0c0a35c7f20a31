"""Peaks of a 1-D signal with a minimum spacing and prominence: scipy.signal.find_peaks(x, distance=,
prominence=), the same peaks by the same rules, in numpy. Importing scipy.signal costs a bake almost a second
and ~70 MB (it pulls in scipy.stats) for this one call."""

from __future__ import annotations

import math

import numpy as np


def local_maxima(x: np.ndarray) -> np.ndarray:
    """Samples higher than their neighbours; a flat top counts once, at its middle (rounded down)."""
    peaks = []
    i, last = 1, len(x) - 1
    while i < last:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < last and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                peaks.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    return np.array(peaks, dtype=np.intp)


def keep_apart(x: np.ndarray, peaks: np.ndarray, distance: float) -> np.ndarray:
    """The peaks left when, highest first, each removes the lower ones closer than `distance` samples."""
    distance = math.ceil(distance)
    keep = np.ones(len(peaks), bool)
    order = np.argsort(x[peaks])  # scipy's order, ties included
    for i in order[::-1]:
        if not keep[i]:
            continue
        j = i - 1
        while j >= 0 and peaks[i] - peaks[j] < distance:
            keep[j] = False
            j -= 1
        j = i + 1
        while j < len(peaks) and peaks[j] - peaks[i] < distance:
            keep[j] = False
            j += 1
    return peaks[keep]


def prominences(x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """How far each peak stands above the higher of the lowest points between it and a higher sample (or the
    signal's end) on either side."""
    out = np.empty(len(peaks))
    for k, p in enumerate(peaks):
        left_min, i = x[p], p
        while i >= 0 and x[i] <= x[p]:
            left_min = min(left_min, x[i])
            i -= 1
        right_min, i = x[p], p
        while i < len(x) and x[i] <= x[p]:
            right_min = min(right_min, x[i])
            i += 1
        out[k] = x[p] - max(left_min, right_min)
    return out


def find_peaks(x: np.ndarray, distance: float = 1, prominence: float = 0.0) -> tuple[np.ndarray, dict]:
    """(peak indices, {"prominences": ...}) as scipy.signal.find_peaks(x, distance=, prominence=) gives them."""
    x = np.asarray(x, np.float64)
    peaks = local_maxima(x)
    if distance > 1 and len(peaks):
        peaks = keep_apart(x, peaks, distance)
    prom = prominences(x, peaks)
    keep = prom >= prominence
    return peaks[keep], {"prominences": prom[keep]}
