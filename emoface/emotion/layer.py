"""The emotion layer for engines that do not model emotion themselves (the phonetic engine).

Three effects, each scaled by the per-frame emotion weights:
- expression: FACS prototypes (Ekman & Friesen action units) written as ARKit curves, added on top;
- articulation: emotion changes how the mouth moves (smiles widen it, anger presses the lips, sadness
  narrows the jaw, surprise drops it);
- breathing with the speech: louder, higher-pitched stretches express more, pauses relax a little.
"""

from __future__ import annotations

import numpy as np
from emoface.filters1d import gaussian_filter1d

from emoface.animation import Animation, expand_sides
from emoface.emotion.spec import EMOTIONS
from emoface.prosody import Prosody

# action units as ARKit curves ('*' = both sides), each near its full reach: intensity 1 is the whole expression
# (at about half of it, anger read as a relaxed face: docs/EVALUATION.md, "Emotions a person can read")
AU = {
    1: {"BrowInnerUp": 0.9},
    2: {"BrowOuterUp*": 0.8},
    4: {"BrowDown*": 0.85},
    5: {"EyeWide*": 0.7},
    6: {"CheekSquint*": 0.7, "EyeSquint*": 0.3},
    7: {"EyeSquint*": 0.6},
    9: {"NoseSneer*": 0.85, "CheekSquint*": 0.25},
    10: {"MouthUpperUp*": 0.55},
    12: {"MouthSmile*": 0.85, "MouthDimple*": 0.2},
    15: {"MouthFrown*": 0.8},
    17: {"MouthShrugLower": 0.45},
    20: {"MouthStretch*": 0.65},
    23: {"MouthPress*": 0.55, "MouthRollLower": 0.15, "MouthRollUpper": 0.15},
    26: {"JawOpen": 0.15},
}
# emotion -> action units with their strength at intensity 1
PROTOTYPES = {
    "angry": {4: 1.0, 5: 0.25, 7: 0.8, 23: 1.0, 9: 0.3},  # a glare: brows down over a barely raised lid
    "disgust": {9: 1.0, 10: 1.0, 15: 0.6, 17: 0.5, 4: 0.4},
    "fear": {1: 1.0, 2: 0.7, 4: 0.4, 5: 1.0, 7: 0.3, 20: 1.0, 26: 0.5},  # lids raised above, tensed below
    "happy": {6: 1.0, 12: 1.0},
    "neutral": {},
    "sad": {1: 1.0, 4: 0.3, 15: 1.0, 17: 0.6},  # little AU4: ARKit's BrowDown lowers the whole brow, flattening it
    "surprise": {1: 1.0, 2: 1.0, 5: 1.0, 26: 1.0},
}
# emotion -> (curve, gain per unit weight) applied multiplicatively to the speech articulation
ARTICULATION = {
    "happy": {"MouthPucker": -0.35, "MouthFunnel": -0.25},
    "angry": {"JawOpen": -0.15, "MouthPucker": -0.2},
    "sad": {"JawOpen": -0.35, "MouthLowerDownLeft": -0.3, "MouthLowerDownRight": -0.3},
    "surprise": {"JawOpen": 0.2},
    "fear": {"JawOpen": -0.1, "MouthPucker": -0.2},
    "disgust": {"JawOpen": -0.15, "MouthFunnel": -0.2},
}
LIP_OPENERS = ("MouthUpperUpLeft", "MouthUpperUpRight", "MouthLowerDownLeft", "MouthLowerDownRight",
               "MouthFunnel")
# emotion -> curves added while speaking (a smiling speaker talks with wider lips)
WHILE_SPEAKING = {"happy": {"MouthStretch*": 0.15}, "fear": {"MouthStretch*": 0.1}}
PRESS_WHEN_CLOSED = {"angry": 0.45, "disgust": 0.15}  # lips pressed between syllables
# a closure whose lips take up a third of the jaw's opening or more is held shut through an expression: the edges of a
# p/b/m, not only its core (a surprised jaw had parted a third to a half of a closure's frames, and the network learns
# its seals from these faces)
SEAL_HOLD = 3.0


def prototype(emotion: str) -> dict:
    """The expression of one emotion at intensity 1, as canonical curve values."""
    total: dict = {}
    for au, strength in PROTOTYPES[emotion].items():
        for curve, value in expand_sides(AU[au]).items():
            total[curve] = min(1.0, total.get(curve, 0.0) + strength * value)
    return total


def expressiveness(prosody: Prosody, fps: float) -> np.ndarray:
    """Per-frame gain around 1: louder and higher-pitched speech expresses more, pauses relax to 0.8."""
    loud_z = np.zeros_like(prosody.loudness)
    if prosody.speech.sum() >= 3:
        sp = prosody.loudness[prosody.speech]
        loud_z[prosody.speech] = (sp - sp.mean()) / max(sp.std(), 0.05)
    gain = 0.8 + 0.2 * prosody.speech + 0.12 * np.tanh(loud_z) + 0.1 * np.tanh(prosody.pitch_z())
    return np.clip(gaussian_filter1d(gain.astype(np.float64), sigma=0.15 * fps, mode="nearest"), 0.6, 1.3)


def apply(anim: Animation, weights: np.ndarray, prosody: Prosody) -> Animation:
    """Add the emotion layer to a canonical animation; weights is [frames, 7] (weight x intensity)."""
    out = anim.copy()
    gain = expressiveness(prosody, anim.fps)
    speaking = out["JawOpen"].copy()
    # How far the lips are sealed (1 at p/b/m): expressions may move the jaw or lips, not break a seal. Where it is
    # held, the lips stay as far apart as they were (the jaw the expression adds is taken up by MouthClose).
    sealed = np.clip(out["MouthClose"] / np.maximum(speaking, 1e-3), 0.0, 1.0) * (speaking > 1e-3)
    held = np.clip(SEAL_HOLD * sealed, 0.0, 1.0)
    gap = np.maximum(speaking - out["MouthClose"], 0.0)
    before = {c: out[c].copy() for c in LIP_OPENERS}
    talking = gaussian_filter1d(prosody.speech.astype(np.float64), sigma=0.08 * anim.fps, mode="nearest")
    for k, emotion in enumerate(EMOTIONS):
        w = weights[:, k].astype(np.float64)
        if not w.any():
            continue
        for curve, g in ARTICULATION.get(emotion, {}).items():
            out[curve] = out[curve] * np.maximum(1.0 + g * w, 0.0)
        for curve, value in expand_sides(WHILE_SPEAKING.get(emotion, {})).items():
            out[curve] = out[curve] + value * w * talking
        if emotion in PRESS_WHEN_CLOSED:
            closed = np.clip(1.0 - speaking / 0.25, 0.0, 1.0) * talking
            for side in ("Left", "Right"):
                out["MouthPress" + side] = out["MouthPress" + side] + PRESS_WHEN_CLOSED[emotion] * w * closed
        for curve, value in prototype(emotion).items():
            out[curve] = out[curve] + value * w * gain
    for c in LIP_OPENERS:
        out[c] = before[c] + (out[c] - before[c]) * (1.0 - held)
    added = np.maximum(out["JawOpen"] - speaking, 0.0)
    out["MouthClose"] = np.maximum(out["MouthClose"], out["JawOpen"] - gap - (1.0 - held) * added)
    out["MouthClose"] = np.minimum(out["MouthClose"], out["JawOpen"])
    np.clip(out.values, 0.0, 1.0, out=out.values)
    return out
