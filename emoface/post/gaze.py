"""Eye saccades: fixations held for human-like times, joined by quick main-sequence saccades.

Starts from EmoFace's scheme (hold, move, return to centre with p 0.4) with measured timings instead of
fixed frame counts: saccade duration = 21 ms + 2.2 ms per degree (the main sequence), minimum-jerk
profile. Gaze adds to the engine's eye curves, never overwrites them; the lids follow vertical gaze; the eyes
converge a little on the listener.
Sign conventions as in head.py: yaw > 0 toward the character's left, pitch > 0 up.
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation
from emoface.emotion.spec import EMOTIONS

RETURN_P = 0.4
AMPLITUDE_DEG = (2.0, 10.0)
HOLD_MEDIAN_S, HOLD_SIGMA, HOLD_RANGE_S = 0.9, 0.55, (0.25, 3.5)
# degrees of rotation at which the ARKit look shapes reach 1
LOOK_FULL_DEG = {"out": 35.0, "in": 35.0, "up": 25.0, "down": 30.0}
# each eye turned toward the nose: eyes 6.3 cm apart converge on a listener about 1.2 m away (parallel eyes look
# through people)
VERGENCE_DEG = 1.5
# emotion -> (hold time factor, pitch bias in degrees)
EMOTION_GAZE = {"fear": (0.6, 0.0), "angry": (1.4, -1.0), "sad": (1.3, -6.0), "surprise": (0.8, 2.0),
                "disgust": (0.9, -2.0), "happy": (1.0, 1.0)}


def saccade_duration(amplitude_deg: float) -> float:
    return 0.021 + 0.0022 * amplitude_deg


def _min_jerk(x: np.ndarray) -> np.ndarray:
    return x ** 3 * (10 - 15 * x + 6 * x * x)


def next_saccade(t: float, cur: np.ndarray, emotion: np.ndarray, rng: np.random.Generator):
    """After a fixation that began at t (s) looking at cur: (saccade start s, duration s, new target)."""
    factor, bias = 1.0, 0.0
    for k, name in enumerate(EMOTIONS):
        if name in EMOTION_GAZE:
            f, b = EMOTION_GAZE[name]
            factor += (f - 1.0) * emotion[k]
            bias += b * emotion[k]
    hold = float(np.clip(rng.lognormal(np.log(HOLD_MEDIAN_S * factor), HOLD_SIGMA), *HOLD_RANGE_S))
    if rng.random() < RETURN_P:
        target = np.array([0.0, bias])
    else:
        angle, amp = rng.uniform(0, 2 * np.pi), rng.uniform(*AMPLITUDE_DEG)
        target = np.array([amp * np.cos(angle), 0.7 * amp * np.sin(angle) + bias])
    return t + hold, saccade_duration(float(np.hypot(*(target - cur)))), target


def saccade_progress(t, start: float, dur: float):
    """0 before the saccade, 1 after, minimum-jerk between."""
    return _min_jerk(np.clip((np.asarray(t) - start) / dur, 0.0, 1.0))


def plan(n_frames: int, fps: float, emotion_weights: np.ndarray, rng: np.random.Generator):
    """Per-frame gaze (yaw, pitch) in degrees and the start frames of saccades."""
    yaw, pitch = np.zeros(n_frames), np.zeros(n_frames)
    shifts = []
    t_end, t = n_frames / fps, 0.0
    cur = np.zeros(2)
    while t < t_end:
        start_t, dur, target = next_saccade(t, cur, emotion_weights[min(int(t * fps), n_frames - 1)], rng)
        if start_t >= t_end:
            break
        start = int(round(start_t * fps))
        shifts.append(start)
        span = np.arange(start, n_frames)
        progress = saccade_progress(span / fps, start_t, dur)
        yaw[span] = cur[0] + (target[0] - cur[0]) * progress
        pitch[span] = cur[1] + (target[1] - cur[1]) * progress
        cur = target
        t = start_t + dur
    return yaw, pitch, np.array(shifts, int)


def look_curves(yaw: np.ndarray, pitch: np.ndarray, vergence: float = 0.0) -> dict[str, np.ndarray]:
    """A gaze (degrees) as look shapes (unclipped) and eye rotations (degrees / 180); vergence turns each eye
    that many degrees toward the nose on top of the shared yaw."""
    left_eye, right_eye = yaw - vergence, yaw + vergence  # the left eye (at +x) turns in toward -x
    up, down = np.maximum(pitch, 0), np.maximum(-pitch, 0)
    return {
        "EyeLookOutLeft": np.maximum(left_eye, 0) / LOOK_FULL_DEG["out"],
        "EyeLookInLeft": np.maximum(-left_eye, 0) / LOOK_FULL_DEG["in"],
        "EyeLookInRight": np.maximum(right_eye, 0) / LOOK_FULL_DEG["in"],
        "EyeLookOutRight": np.maximum(-right_eye, 0) / LOOK_FULL_DEG["out"],
        "EyeLookUpLeft": up / LOOK_FULL_DEG["up"], "EyeLookUpRight": up / LOOK_FULL_DEG["up"],
        "EyeLookDownLeft": down / LOOK_FULL_DEG["down"], "EyeLookDownRight": down / LOOK_FULL_DEG["down"],
        "LeftEyeYaw": left_eye / 180.0, "RightEyeYaw": right_eye / 180.0,
        "LeftEyePitch": pitch / 180.0, "RightEyePitch": pitch / 180.0,
    }


def write(anim: Animation, yaw: np.ndarray, pitch: np.ndarray) -> Animation:
    """Add a gaze (degrees) to the eye rotations and look shapes, the eyes converged on a listener; lids follow
    vertical gaze."""
    out = anim.copy()
    up, down = np.maximum(pitch, 0), np.maximum(-pitch, 0)
    add = {
        **look_curves(yaw, pitch, VERGENCE_DEG),
        "EyeBlinkLeft": 0.35 * down / LOOK_FULL_DEG["down"], "EyeBlinkRight": 0.35 * down / LOOK_FULL_DEG["down"],
        "EyeWideLeft": 0.25 * up / LOOK_FULL_DEG["up"], "EyeWideRight": 0.25 * up / LOOK_FULL_DEG["up"],
    }
    cols = [out.index(name) for name in add]  # all columns in a few calls: live, this runs every frame
    values = out.values[:, cols] + np.stack(list(add.values()), axis=1)
    shapes = [k for k, name in enumerate(add) if not name.endswith(("Yaw", "Pitch"))]
    values[:, shapes] = np.clip(values[:, shapes], 0.0, 1.0)
    out.values[:, cols] = values
    return out
