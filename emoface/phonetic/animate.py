"""Timed phones -> canonical mouth/jaw curves with coarticulation.

Each segment pulls every curve toward its viseme target with a dominance that is full over the segment's
core and decays outside it, so neighbours blend (Cohen & Massaro 1993). Lips and jaw have separate
dominances: a /p/ owns the lips but lets the vowel after it start opening the jaw. Then the hard
constraints real speech obeys: p/b/m close the lips completely, and the jaw follows loudness.
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation
from emoface.phonetic.recognize import Phone
from emoface.phonetic.visemes import BILABIALS, CURVES, DIPHTHONGS, JAW_CURVES, viseme_of
from emoface.prosody import Prosody
from emoface.rigs import CANONICAL_RIG, canonical_names

LIP_OPENERS = ("MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight",
               "MouthFunnel", "TongueOut")
CLOSED_JAW = 0.06


def _segments(phones: list[Phone]):
    """Split diphthongs into their two vowel targets; yield (phone, start, end)."""
    for ph in phones:
        if ph.name in DIPHTHONGS:
            a, b, share = DIPHTHONGS[ph.name]
            mid = ph.start + share * (ph.end - ph.start)
            yield a, ph.start, mid
            yield b, mid, ph.end
        else:
            yield ph.name, ph.start, ph.end


def closure_envelope(phones: list[Phone], times: np.ndarray, fps: float, which=BILABIALS) -> np.ndarray:
    """1 over the core of each listed consonant (always covering its nearest frame), easing to 0 in 30 ms."""
    env = np.zeros(len(times))
    for ph in phones:
        if ph.name not in which:
            continue
        centre, half = (ph.start + ph.end) / 2, max(0.3 * (ph.end - ph.start), 0.5 / fps)
        dist = np.maximum(np.abs(times - centre) - half, 0.0)
        env = np.maximum(env, np.clip(1.0 - dist / 0.03, 0.0, 1.0))
    return env


def animate(phones: list[Phone], prosody: Prosody, n_frames: int, fps: float, metadata=None) -> Animation:
    names = canonical_names()
    anim = Animation.zeros(names, fps, n_frames, CANONICAL_RIG, metadata)
    t = anim.times
    curves = CURVES
    num = {c: np.zeros(n_frames) for c in curves}
    den = {"lips": np.full(n_frames, 1e-3), "jaw": np.full(n_frames, 1e-3)}
    for phone, start, end in _segments(phones or []):
        vis = viseme_of(phone)
        targets = vis.curves
        centre, half = (start + end) / 2, max((end - start) / 2, 0.015)
        outside = np.maximum(np.abs(t - centre) - 0.5 * half, 0.0)
        shape = np.exp(-((outside / vis.reach) ** 2))
        for group, alpha in (("lips", vis.lips), ("jaw", vis.jaw)):
            d = alpha * shape
            den[group] += d
            for c in curves:
                if (c in JAW_CURVES) == (group == "jaw"):
                    num[c] += d * targets.get(c, 0.0)
    for c in curves:
        anim[c] = num[c] / den["jaw" if c in JAW_CURVES else "lips"]

    # Jaw opening follows loudness as well as vowel height: shouting opens wider than murmuring.
    gain = 0.5 + 0.65 * prosody.loudness
    anim["JawOpen"] = anim["JawOpen"] * gain
    for c in ("MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight"):
        anim[c] = anim[c] * (0.7 + 0.4 * prosody.loudness)

    close_bilabials(anim, phones or [])
    np.clip(anim.values, 0.0, 1.0, out=anim.values)
    return anim


def close_bilabials(anim: Animation, phones: list[Phone]) -> None:
    """p/b/m: the lips meet, whatever the neighbours (or a network) are doing. In place, canonical curves."""
    seal_lips(anim, closure_envelope(phones, anim.times, anim.fps))


def seal_lips(anim: Animation, env: np.ndarray, jaw_share: float = 1.0) -> None:
    """Where env is 1 the lips are pressed together: lip-parting shapes off, the jaw moved `jaw_share` of the
    way to nearly shut, MouthClose taking up what jaw opening is left. In place.
    jaw_share 1 (the phonetic engine) shuts the jaw whatever the rig; a real speaker's jaw only rises part of
    the way and the lips close the rest (GRID s1's captured jaw barely dips at p/b/m), which a rig shows
    through MouthClose."""
    jaw = anim["JawOpen"].copy()
    shut = jaw * (1 - env) + np.minimum(jaw, CLOSED_JAW) * env
    anim["JawOpen"] = shut if jaw_share == 1 else jaw + jaw_share * (shut - jaw)  # 1: the silver labels' bits
    for c in LIP_OPENERS:
        anim[c] = anim[c] * (1 - env)
    anim["MouthClose"] = np.maximum(anim["MouthClose"], anim["JawOpen"] * env)

