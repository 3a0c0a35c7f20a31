"""Blinks: EmoFace's log-normal rate model and blink shape, made to behave like a speaking person.

- rate: blinks/min ~ LogNormal(3.518, 0.532) clamped 15..100 (EmoFace), times RATE_SCALE, scaled by emotion
  (more when afraid or angry, fewer when surprised or sad) and redrawn after every blink. EmoFace's draw
  alone gives ~30/min with the double blinks, and fear 42/min, above the 10-30/min people blink at while
  talking; RATE_SCALE brings every emotion inside it (neutral ~21/min, fear ~26, surprise ~13: measured in
  tests/test_hardening_post.py);
- timing: a due blink moves to a nearby speech pause or gaze shift when there is one (people blink at
  phrase boundaries and with saccades); sometimes a double blink;
- resting lids: a sad face's upper lids hang lower (FACS AU41, lid droop), which the network cannot show since
  the lids are this stage's; blinks close from there;
- shape: EmoFace's 13-frame (60 fps) openness profile, fast close and slow open, duration varied +-20%,
  resampled to any fps and combined with the lid curve as 1 - (1 - lid) * openness (never overwritten).
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation
from emoface.emotion.spec import EMOTIONS

MU, SIGMA, RATE_RANGE = 3.518, 0.532, (15.0, 100.0)
OPENNESS = np.array([1.0, 0.95, 0.75, 0.55, 0.3, 0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.6, 0.75, 0.9, 1.0])
SHAPE_S = (len(OPENNESS) - 1) / 60.0
CLOSED_AT = float(np.argmin(OPENNESS)) / (len(OPENNESS) - 1)
RATE_SCALE = 0.7
RATE_FACTOR = {"angry": 1.15, "disgust": 1.1, "fear": 1.25, "happy": 1.05, "sad": 0.8, "surprise": 0.6}
LID_DROOP = {"sad": 0.3}  # EyeBlink at rest, at intensity 1: heavy lids (0.4 and above read as sleepy)
SNAP_WINDOW_S = (-0.4, 1.0)  # a due blink waits up to 1 s for a pause
SNAP_P = 0.75
DOUBLE_P = 0.06
MIN_GAP_S = 0.6


def _rate_factor(weights: np.ndarray) -> float:
    return 1.0 + sum((RATE_FACTOR.get(e, 1.0) - 1.0) * weights[k] for k, e in enumerate(EMOTIONS))


def next_interval(emotion: np.ndarray, rng: np.random.Generator) -> float:
    """Seconds from one blink to the next: a fresh draw of the rate, scaled by the emotion in force."""
    return 60.0 / (float(np.clip(rng.lognormal(MU, SIGMA), *RATE_RANGE)) * RATE_SCALE * _rate_factor(emotion))


def duration(rng: np.random.Generator) -> float:
    return SHAPE_S * rng.uniform(0.8, 1.2)


def plan(n_frames: int, fps: float, emotion_weights: np.ndarray, anchors: np.ndarray,
         rng: np.random.Generator) -> list[tuple[float, float]]:
    """(start s, duration s) of each blink. anchors: times (s) blinks like to land on (pauses, saccades)."""
    t_end = n_frames / fps
    blinks: list[tuple[float, float]] = []
    t = rng.uniform(0.2, 1.5)  # first blink soon, not at frame 0
    while t < t_end:
        i = min(int(t * fps), n_frames - 1)
        near = anchors[(anchors > t + SNAP_WINDOW_S[0]) & (anchors < t + SNAP_WINDOW_S[1])]
        if len(near) and rng.random() < SNAP_P:
            t = float(near[np.argmin(np.abs(near - t))])
        if blinks and t < blinks[-1][0] + MIN_GAP_S:
            t = blinks[-1][0] + MIN_GAP_S
        dur = duration(rng)
        if t + dur > t_end:
            break
        blinks.append((t, dur))
        if rng.random() < DOUBLE_P and t + 0.3 + 2 * dur < t_end:
            blinks.append((t + dur + rng.uniform(0.05, 0.15), dur))
        t = blinks[-1][0] + next_interval(emotion_weights[i], rng)
    return blinks


def openness(blinks: list[tuple[float, float]], n_frames: int, fps: float, first: int = 0) -> np.ndarray:
    """Eye openness multiplier (1 open, 0 shut) for frames first .. first + n_frames - 1."""
    k = np.ones(n_frames)
    t = np.arange(first, first + n_frames) / fps
    profile_t = np.linspace(0.0, 1.0, len(OPENNESS))
    for start, dur in blinks:
        span = (t >= start) & (t <= start + dur)
        k[span] = np.minimum(k[span], np.interp((t[span] - start) / dur, profile_t, OPENNESS))
        shut = int(round((start + dur * CLOSED_AT) * fps)) - first  # at low fps the shut instant may fall between frames
        if 0 <= shut < n_frames:
            k[shut] = 0.0
    return k


_DROOP_GAINS = np.array([LID_DROOP.get(e, 0.0) for e in EMOTIONS])  # in EMOTIONS order: live runs this every tick


def droop(emotion_weights: np.ndarray) -> np.ndarray:
    """Per-frame resting lid lowering (EyeBlink) from [frames, 7] emotion weights."""
    return np.clip(np.asarray(emotion_weights, np.float64) @ _DROOP_GAINS, 0.0, 1.0)


def write(anim: Animation, k: np.ndarray, emotion_weights: np.ndarray | None = None) -> Animation:
    """Blink openness k (1 open) onto the lids, over the emotion's resting droop when weights are given."""
    out = anim.copy()
    blink, wide = [out.index("EyeBlinkLeft"), out.index("EyeBlinkRight")], [out.index("EyeWideLeft"),
                                                                             out.index("EyeWideRight")]
    k = np.asarray(k)[:, None]
    if emotion_weights is not None:
        out.values[:, blink] = np.minimum(out.values[:, blink] + droop(emotion_weights)[:, None], 1.0)
    out.values[:, blink] = 1.0 - (1.0 - out.values[:, blink]) * k
    out.values[:, wide] = out.values[:, wide] * k
    return out
