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
        out[k] = x[p] - max(_lowest_before_higher(x[p::-1]), _lowest_before_higher(x[p:]))
    return out


def _lowest_before_higher(side: np.ndarray) -> float:
    """The lowest of side[0], side[1], ... up to the first sample higher than side[0] (or the end), looked at in
    windows that double: most peaks meet a higher sample within a few frames, the highest one never."""
    top, lowest, start, size = side[0], side[0], 1, 32
    while start < len(side):
        window = side[start:start + size]
        higher = np.flatnonzero(window > top)
        if len(higher):
            return min(lowest, window[:higher[0]].min()) if higher[0] else lowest
        lowest = min(lowest, window.min())
        start, size = start + size, size * 2
    return lowest


def find_peaks(x: np.ndarray, distance: float = 1, prominence: float = 0.0) -> tuple[np.ndarray, dict]:
    """(peak indices, {"prominences": ...}) as scipy.signal.find_peaks(x, distance=, prominence=) gives them."""
    x = np.asarray(x, np.float64)
    peaks = local_maxima(x)
    if distance > 1 and len(peaks):
        peaks = keep_apart(x, peaks, distance)
    prom = prominences(x, peaks)
    keep = prom >= prominence
    return peaks[keep], {"prominences": prom[keep]}
