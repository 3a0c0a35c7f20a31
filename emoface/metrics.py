"""Measures of animation quality used by tests and docs/ benchmarks (canonical curves)."""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation

CLOSED_GAP = 0.05
BILABIALS = ("P", "B", "M")


def lip_gap(anim: Animation) -> np.ndarray:
    """How far apart the lips are (0 = sealed): jaw opening not compensated by MouthClose, plus the lip
    shapes that part the lips on their own."""
    jaw_part = np.maximum(anim["JawOpen"] - anim["MouthClose"], 0.0)
    lips = 0.5 * (anim["MouthLowerDownLeft"] + anim["MouthLowerDownRight"]) / 2 \
        + 0.5 * (anim["MouthUpperUpLeft"] + anim["MouthUpperUpRight"]) / 2 + 0.3 * anim["MouthFunnel"]
    return jaw_part + lips


def bilabial_closures(anim: Animation, phones) -> np.ndarray:
    """For each p/b/m phone [name, start, end]: the smallest lip gap over its frames (nearest frame if none)."""
    gap = lip_gap(anim)
    out = []
    for name, start, end in phones:
        if name not in BILABIALS:
            continue
        i0, i1 = int(np.ceil(start * anim.fps)), int(np.floor(end * anim.fps))
        frames = np.arange(i0, i1 + 1) if i1 >= i0 else np.array([int(round((start + end) / 2 * anim.fps))])
        frames = frames[frames < anim.n_frames]
        if len(frames):
            out.append(float(gap[frames].min()))
    return np.array(out)


def closed_elsewhere(anim: Animation, phones, margin_s: float = 0.06) -> tuple[int, int]:
    """(frames with the lips closed, frames) over vowels, more than margin_s from any p/b/m: closing the
    lips everywhere would score at bilabials; this counts what it costs."""
    from emoface.phonetic.visemes import VOWELS

    gap = lip_gap(anim)
    t = anim.times
    vowel = np.zeros(anim.n_frames, bool)
    near = np.zeros(anim.n_frames, bool)
    for name, start, end in phones:
        if name in VOWELS:
            vowel |= (t >= start) & (t < end)
        elif name in BILABIALS:
            near |= (t >= start - margin_s) & (t < end + margin_s)
    frames = vowel & ~near
    return int((gap[frames] < CLOSED_GAP).sum()), int(frames.sum())


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
