"""Blinks, saccades and head motion made frame by frame, for a live stream that has no end to plan to.

The batch post-processors (emoface.post) plan a whole line at once and may look ahead (a blink waits for a
pause it can see coming; a nod peaks on a syllable it has already heard). Live, the same models run as
event processes: a due blink waits up to a second for a pause or a saccade that actually happens, nods
and accent brows start when a stressed syllable has been heard, and the head drifts on causally filtered
noise. They keep going through silence, so an idle face never freezes.
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation
from emoface.post import accents, blinks, gaze, head


class LiveBlinks:
    def __init__(self, fps: float, rng: np.random.Generator):
        self.fps, self.rng = fps, rng
        self.due = rng.uniform(0.2, 1.5)
        self.waiting_until = None  # a due blink waiting for a pause or saccade
        self.active: list[tuple[float, float]] = []

    def _start(self, t: float, emotion: np.ndarray) -> None:
        if self.active and t < self.active[-1][0] + blinks.MIN_GAP_S:
            return
        dur = blinks.duration(self.rng)
        self.active.append((t, dur))
        if self.rng.random() < blinks.DOUBLE_P:
            self.active.append((t + dur + self.rng.uniform(0.05, 0.15), dur))
        self.due = self.active[-1][0] + blinks.next_interval(emotion, self.rng)
        self.waiting_until = None

    def step(self, i: int, emotion: np.ndarray, anchor: bool) -> float:
        """Eye openness at frame i; anchor: a speech pause or a saccade starts at this frame."""
        t = i / self.fps
        if self.waiting_until is not None:
            if anchor or t >= self.waiting_until:
                self._start(t, emotion)
        elif t >= self.due:
            if self.rng.random() < blinks.SNAP_P:
                self.waiting_until = self.due + blinks.SNAP_WINDOW_S[1]
            else:
                self._start(t, emotion)
        elif anchor and self.due - t < -blinks.SNAP_WINDOW_S[0] and self.rng.random() < blinks.SNAP_P:
            self._start(t, emotion)  # a pause just before the blink was due: take it
        self.active = [b for b in self.active if b[0] + b[1] >= t]
        return float(blinks.openness(self.active, 1, self.fps, first=i)[0]) if self.active else 1.0


class LiveGaze:
    def __init__(self, fps: float, rng: np.random.Generator):
        self.fps, self.rng = fps, rng
        self.cur = np.zeros(2)
        self.saccade = None  # (start s, duration s, target)

    def step(self, i: int, emotion: np.ndarray) -> tuple[float, float, bool]:
        """(yaw, pitch) in degrees at frame i, and whether a saccade starts at this frame."""
        t = i / self.fps
        if self.saccade is None:
            self.saccade = gaze.next_saccade(t, self.cur, emotion, self.rng)
        start, dur, target = self.saccade
        shift = int(round(start * self.fps)) == i
        p = float(gaze.saccade_progress(t, start, dur))
        yaw, pitch = self.cur + (target - self.cur) * p
        if t >= start + dur:
            self.cur, self.saccade = target, gaze.next_saccade(start + dur, target, emotion, self.rng)
        return float(yaw), float(pitch), shift


class _SmoothNoise:
    """White noise through two one-pole low-passes, scaled to unit variance: the batch drift, causally."""

    def __init__(self, fps: float, rng: np.random.Generator, tau_s: float = 0.9):
        self.rng = rng
        self.a = float(np.exp(-1.0 / (tau_s * fps)))
        h1 = (1 - self.a) * self.a ** np.arange(int(20 * tau_s * fps) + 1)
        self.scale = 1.0 / np.sqrt(np.sum(np.convolve(h1, h1) ** 2))
        self.y1 = self.y2 = 0.0
        for _ in range(int(3 * tau_s * fps)):  # start from the stationary state, not from rest
            self.step()

    def step(self) -> float:
        self.y1 = self.a * self.y1 + (1 - self.a) * self.rng.standard_normal()
        self.y2 = self.a * self.y2 + (1 - self.a) * self.y1
        return self.y2 * self.scale


class LiveHead:
    """Drift, nods on stressed syllables (detected once heard), and the emotion's pose."""

    def __init__(self, fps: float, rng: np.random.Generator):
        self.fps, self.rng = fps, rng
        self.drift = {axis: (_SmoothNoise(fps, rng), amp) for axis, amp in head.DRIFT_DEG.items()}
        self.energy = 0.0
        self.peak = 0.0  # the highest smoothed loudness since the last trough (a syllable in progress)
        self.peak_i = -1
        self.last_nod_i = -10 ** 9
        self.nods: list[tuple[float, dict]] = []  # (peak time s, degrees per axis)
        self.accents: list[tuple[float, float, float]] = []  # (peak s, prominence, heard at s) of syllables
        self.pose_of: tuple = (None, {}, 1.0)  # (emotion row's bytes, its pose in degrees, its liveliness)

    def step(self, i: int, emotion: np.ndarray, loudness: float) -> dict:
        t = i / self.fps
        a = float(np.exp(-1.0 / (0.04 * self.fps)))
        self.energy = a * self.energy + (1 - a) * loudness
        if self.energy > self.peak:
            self.peak, self.peak_i = self.energy, i
        elif self.peak - self.energy > 0.15:  # the syllable's loudness has fallen: it was a stressed one
            if (self.peak_i - self.last_nod_i) / self.fps >= 0.35:
                self.nods.append((self.peak_i / self.fps, head.nod_degrees(min(1.0, self.peak), self.rng)))
                self.accents.append((self.peak_i / self.fps, min(1.0, self.peak), t))
                self.last_nod_i = self.peak_i
            self.peak, self.peak_i = self.energy, i
        deg = {axis: noise.step() * amp for axis, (noise, amp) in self.drift.items()}
        self.nods = [(p, d) for p, d in self.nods if t - p < 8 * head.NOD_PEAK_S]
        self.accents = [a for a in self.accents if t - a[0] < 8 * accents.HOLD_S]
        for p, d in self.nods:
            pulse = float(head.nod_pulse(t, p))
            for axis, amount in d.items():
                deg[axis] += amount * pulse
        key = np.asarray(emotion, np.float64).tobytes()
        if key != self.pose_of[0]:  # the emotion's pose and liveliness, again only when the emotion changes
            self.pose_of = key, {axis: float(o[0]) for axis, o in head.pose_degrees(emotion[None]).items()}, \
                float(head.liveliness(np.asarray(emotion)[None])[0])
        for axis, offset in self.pose_of[1].items():
            deg[axis] = deg[axis] * self.pose_of[2] + offset
        return deg


class LiveIdle:
    def __init__(self, fps: float, seed: int = 0, blinks_on=True, gaze_on=True, head_on=True, accents_on=True):
        self.fps, self.seed = fps, seed
        self.on = (blinks_on, gaze_on, head_on)
        self.accents_on = accents_on
        self.reset()

    def reset(self) -> None:
        head_rng, gaze_rng, blink_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(3))
        self.head, self.gaze, self.blinks = LiveHead(self.fps, head_rng), LiveGaze(self.fps, gaze_rng), \
            LiveBlinks(self.fps, blink_rng)
        self.was_speech = False

    def apply(self, anim: Animation, first: int, emotion: np.ndarray, loudness: np.ndarray,
              speech: np.ndarray) -> None:
        """Add head, accents, gaze and blinks to frames first.. of a canonical animation, in place (the batch
        order). Accents ride on the syllables the head's nod detector has heard (the brows rise as it nods)."""
        blinks_on, gaze_on, head_on = self.on
        n = anim.n_frames
        deg = {axis: np.zeros(n) for axis in ("yaw", "pitch", "roll")}
        yaw, pitch, k, pulse = np.zeros(n), np.zeros(n), np.ones(n), np.zeros(n)
        for j in range(n):
            i = first + j
            if head_on or self.accents_on:
                for axis, v in self.head.step(i, emotion[j], float(loudness[j])).items():
                    deg[axis][j] = v
                for peak, prominence, heard in self.head.accents:
                    pulse[j] = max(pulse[j], accents.heard_pulse(i / self.fps, peak, prominence, heard))
            shift = False
            if gaze_on:
                yaw[j], pitch[j], shift = self.gaze.step(i, emotion[j])
            pause = self.was_speech and not speech[j]
            self.was_speech = bool(speech[j])
            if blinks_on:
                k[j] = self.blinks.step(i, emotion[j], anchor=pause or shift)
        if head_on:
            head.write(anim, deg)
        if self.accents_on:
            accents.add_brows(anim, pulse, emotion)
        if gaze_on:
            anim.values[:] = gaze.write(anim, yaw, pitch).values
        if blinks_on or blinks.droop(emotion).any():  # the emotion's heavy lids are expression, not blinking
            anim.values[:] = blinks.write(anim, k, emotion).values
