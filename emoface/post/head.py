"""Slight head motion: a slow seeded drift, nods on stressed syllables, and an emotion-dependent pose.

Angles are degrees internally and written to HeadYaw/HeadPitch/HeadRoll as degrees / 180 (Live Link Face).
Conventions: yaw > 0 turns toward the character's left, pitch > 0 raises the chin, roll > 0 tilts toward
the character's left shoulder.
"""

from __future__ import annotations

import numpy as np
from emoface.filters1d import circular_gaussian, gaussian_filter1d

from emoface.animation import Animation
from emoface.emotion.spec import EMOTIONS
from emoface.prosody import Prosody

DRIFT_DEG = {"yaw": 2.0, "pitch": 1.2, "roll": 0.8}
# emotion -> (yaw, pitch, roll) offset in degrees at intensity 1
POSE_DEG = {"sad": (0.0, -5.0, 1.0), "happy": (0.0, 1.5, 2.0), "angry": (0.0, -2.5, 0.0),
            "surprise": (0.0, 3.0, 0.0), "fear": (-2.0, -1.5, 0.0), "disgust": (3.0, 0.5, -2.0)}
NOD_PEAK_S = 0.18  # time from a stressed syllable's start to the bottom of its nod
# emotion -> how much the head moves (drift and nods) at intensity 1: sad speech moves the head least, angry and
# happy speech most (Busso et al. 2007, "Rigid head motion in expressive speech animation"); it had moved as much
# in every emotion, only its pose changing
MOTION = {"sad": 0.6, "happy": 1.3, "angry": 1.4, "surprise": 1.3, "fear": 1.15, "disgust": 1.0}


def stressed_syllables(prosody: Prosody, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Frames of prominent syllables (loud and high peaks of voiced speech) and their prominence 0..1."""
    from emoface.post.peaks import find_peaks

    energy = prosody.loudness * (prosody.voiced | prosody.speech) * (1.0 + 0.3 * np.clip(prosody.pitch_z(), 0, 2))
    energy = gaussian_filter1d(energy.astype(np.float64), sigma=0.04 * fps)
    if not energy.any():
        return np.zeros(0, int), np.zeros(0)
    peaks, props = find_peaks(energy, distance=max(1, int(0.35 * fps)), prominence=0.15)
    prom = np.clip(props["prominences"] / max(energy.max(), 1e-6), 0.0, 1.0)
    return peaks, prom


def _drift(n: int, fps: float, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Slow noise of standard deviation `amplitude`, bounded at 3x. Scaled by the filter's own gain, never by
    the sample's spread: a short line's few frames of a slow drift barely move, and must not be blown up."""
    sigma = 0.9 * fps
    noise = circular_gaussian(rng.standard_normal(n + int(4 * fps)), sigma)[:n]
    unit = np.sqrt(2.0 * np.sqrt(np.pi) * sigma)  # 1 / std of unit white noise through this Gaussian
    return np.clip(amplitude * noise * unit, -3 * amplitude, 3 * amplitude)


def nod_pulse(t: np.ndarray, peak_t: float) -> np.ndarray:
    """A nod's shape around a stressed syllable at peak_t (s): eases in, dips, returns more slowly."""
    tau = np.maximum(np.asarray(t) - (peak_t - NOD_PEAK_S * 0.5), 0.0) / NOD_PEAK_S
    return tau ** 2 * np.exp(2.0 * (1.0 - tau))  # gamma pulse


def nod_degrees(prominence: float, rng: np.random.Generator) -> dict:
    """How far (degrees at the pulse's peak) a nod of this prominence moves each axis."""
    return {"pitch": -(1.2 + 2.8 * prominence), "roll": rng.normal(0.0, 0.4) * prominence,
            "yaw": rng.normal(0.0, 0.6) * prominence}


def liveliness(emotion_weights: np.ndarray) -> np.ndarray:
    """Per frame, how much the head's drift and nods move in this emotion (1 for neutral)."""
    return 1.0 + sum((MOTION.get(e, 1.0) - 1.0) * emotion_weights[:, k] for k, e in enumerate(EMOTIONS))


def pose_degrees(emotion_weights: np.ndarray) -> dict:
    """The emotion's head pose (degrees per axis, per frame)."""
    deg = {axis: np.zeros(len(emotion_weights)) for axis in ("yaw", "pitch", "roll")}
    for k, emotion in enumerate(EMOTIONS):
        if emotion in POSE_DEG:
            for axis, offset in zip(("yaw", "pitch", "roll"), POSE_DEG[emotion]):
                deg[axis] += offset * emotion_weights[:, k]
    return deg


def write(anim: Animation, deg: dict) -> None:
    """Add degrees per axis to the head curves (degrees / 180), in place."""
    cols = [anim.index(name) for name in ("HeadYaw", "HeadPitch", "HeadRoll")]
    anim.values[:, cols] = anim.values[:, cols] + np.stack([deg[axis] for axis in ("yaw", "pitch", "roll")], 1) / 180.0


def apply(anim: Animation, prosody: Prosody, emotion_weights: np.ndarray, rng: np.random.Generator,
          stressed: tuple[np.ndarray, np.ndarray] | None = None) -> Animation:
    """stressed: stressed_syllables(prosody, anim.fps), when the caller has it already (the brows accent the same)."""
    out = anim.copy()
    n, fps = anim.n_frames, anim.fps
    deg = {axis: _drift(n, fps, rng, amp) for axis, amp in DRIFT_DEG.items()}
    peaks, prom = stressed if stressed is not None else stressed_syllables(prosody, fps)
    t = np.arange(n) / fps
    for p, s in zip(peaks, prom):
        pulse = nod_pulse(t, p / fps)
        for axis, amount in nod_degrees(s, rng).items():
            deg[axis] += amount * pulse
    lively = liveliness(emotion_weights)
    for axis, offset in pose_degrees(emotion_weights).items():
        deg[axis] = deg[axis] * lively + offset
    write(out, deg)
    return out
