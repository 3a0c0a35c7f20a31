"""Emotion specs: a label, a blend ("happy:0.7+surprise:0.3"), or a keyframed track over time.

Everything becomes an EmotionTrack, whose weights() gives one 7-vector (weight x intensity) per frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from emoface.errors import InputError
from emoface.jsonio import read_json

# EmoFace's 7 classes, in its id order (ang 0, dis 1, fea 2, hap 3, neu 4, sad 5, sur 6).
EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
ALIASES = {"anger": "angry", "ang": "angry", "dis": "disgust", "disgusted": "disgust", "fea": "fear",
           "fearful": "fear", "afraid": "fear", "hap": "happy", "joy": "happy", "neu": "neutral",
           "calm": "neutral", "sadness": "sad", "sur": "surprise", "surprised": "surprise", "happiness": "happy",
           "joyful": "happy", "scared": "fear"}
DEFAULT_TRANSITION_S = 0.4
MAX_TRACK_S = 1e6  # seconds: past any line (11 days)
_TRACK_KEYS = ("transition", "keyframes")
_KEYFRAME_KEYS = ("time", "emotion", "intensity")


def _emotion_index(name: str, source: str) -> int:
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key == "auto":  # bake, render and plot take it whole; a live stream has no whole line to hear
        raise InputError(source, "'auto' (the emotion recognised from a whole line) is for the --emotion of bake, "
                                 "render and plot alone, not part of a blend nor a live stream's emotion")
    if key not in EMOTIONS:
        raise InputError(source, f"unknown emotion {name!r} (choose from {', '.join(EMOTIONS)}; synonyms such as "
                                 "joy, anger, fearful, sadness and surprised are read as those)")
    return EMOTIONS.index(key)


def parse_emotion(spec: str, intensity: float = 1.0, source: str = "--emotion") -> np.ndarray:
    """'happy', 'happy:0.7+surprise:0.3' -> 7-vector of weight x intensity, neutral where nothing is left
    ('happy:0' and intensity 0 are neutral).

    A blend's weights share one face, so they may not sum past 1 ('happy:1+happy:1' is not 'happy:2')."""
    if not 0.0 <= intensity <= 1.0:  # also refuses NaN
        raise InputError(source, f"intensity {intensity} is outside 0-1")
    vec = np.zeros(len(EMOTIONS), np.float32)
    if not str(spec).strip():
        raise InputError(source, f"empty emotion {spec!r} (give a label like 'happy' or a blend like "
                                 "'happy:0.7+surprise:0.3')")
    for part in (p.strip() for p in str(spec).split("+")):
        if not part:  # 'happy++sad', '+happy', 'happy+': a blend's part left out
            raise InputError(source, f"empty part in {spec!r} (a blend is label:weight parts joined by '+', "
                                     "e.g. happy:0.7+surprise:0.3)")
        name, colon, weight = part.partition(":")
        if not name.strip():
            raise InputError(source, f"{part!r} in {spec!r} names no emotion (choose from {', '.join(EMOTIONS)})")
        if colon and not weight.strip():  # 'happy:' - a weight left out, not weight 1
            raise InputError(source, f"{part!r} in {spec!r} has ':' but no weight (write 'happy' or 'happy:0.5')")
        try:
            w = float(weight) if colon else 1.0
        except ValueError:
            raise InputError(source, f"bad weight {weight!r} in {spec!r}") from None
        if not 0.0 <= w <= 1.0:
            raise InputError(source, f"weight {w} for {name!r} is outside 0-1")
        vec[_emotion_index(name, source)] += w
    if vec.sum() > 1.0 + 1e-4:
        raise InputError(source, f"weights in {spec!r} sum to {vec.sum():g}, past 1 (a blend shares one face: "
                                 "e.g. happy:0.7+surprise:0.3)")
    return with_neutral(vec * intensity)


def with_neutral(vec: np.ndarray) -> np.ndarray:
    """The face's share no emotion takes is neutral's: 'happy' at intensity 0.3 is happy:0.3+neutral:0.7.
    Without it a mild emotion lost the accents neutral speech has, and intensity 0 (all zeros, a vector the
    network never learnt from) pursed the lower lip."""
    vec = np.array(vec, np.float32)  # one vector [7] or one per keyframe [k, 7]
    vec[..., EMOTIONS.index("neutral")] += np.maximum(1.0 - vec.sum(-1), 0.0)
    return vec


def describe(vec: np.ndarray) -> str:
    """Inverse of parse_emotion for metadata: 'happy:0.70+surprise:0.30'."""
    order = sorted(np.flatnonzero(vec > 1e-6), key=lambda i: EMOTIONS[i] == "neutral")  # neutral, the rest, last
    return "+".join(f"{EMOTIONS[i]}:{vec[i]:.2f}" for i in order) or "neutral:0.00"


@dataclass
class EmotionTrack:
    """Keyframes (time s, 7-vector). A keyframe's emotion is whole at its time, as in an animation tool: the face
    eases into it (smoothstep) over the `transition` s before, never from before the keyframe ahead of it, and the
    first keyframe holds from the start. `starts`, where given, says when each keyframe's ease begins instead
    (live changes: from the moment they are asked for)."""

    times: np.ndarray
    vectors: np.ndarray
    transition: float = DEFAULT_TRANSITION_S
    starts: np.ndarray | None = None

    @classmethod
    def constant(cls, vec: np.ndarray) -> "EmotionTrack":
        return cls(np.zeros(1), np.asarray(vec, np.float32)[None, :])

    def weights(self, n_frames: int, fps: float) -> np.ndarray:
        return self.at(np.arange(n_frames) / fps)

    def ease_starts(self) -> np.ndarray:
        if self.starts is not None:
            return self.starts
        return np.maximum(np.concatenate([[-np.inf], self.times[:-1]]), self.times - self.transition)

    def at(self, t: np.ndarray) -> np.ndarray:
        """Weights [len(t), 7] at times t (s)."""
        t = np.asarray(t, np.float64)
        out = np.repeat(self.vectors[:1], len(t), axis=0).astype(np.float32)
        starts = self.ease_starts()
        for k in range(1, len(self.times)):
            a = np.clip((t - starts[k]) / max(self.times[k] - starts[k], 1e-6), 0.0, 1.0)
            a = a * a * (3 - 2 * a)
            out = out * (1 - a[:, None]) + self.vectors[k][None, :] * a[:, None]
        return out.astype(np.float32)

    def shifted(self, seconds: float) -> "EmotionTrack":
        """The same track on a clock that starts `seconds` later."""
        starts = None if self.starts is None else self.starts - seconds
        return EmotionTrack(self.times - seconds, self.vectors, self.transition, starts)

    def then(self, time: float, vec: np.ndarray) -> "EmotionTrack":
        """This track with a change to vec that starts easing in at `time` (live control); an ease under way goes on
        beneath it."""
        starts = self.ease_starts()
        settled = np.flatnonzero(self.times <= time)
        keep = np.arange(settled[-1] if len(settled) else 0, len(self.times))  # what came before no longer matters
        return EmotionTrack(np.append(self.times[keep], time + self.transition),
                            np.concatenate([self.vectors[keep], np.asarray(vec, np.float32)[None]]),
                            self.transition, np.append(starts[keep], time))

    def summary(self) -> str:
        if len(self.times) == 1:
            return describe(self.vectors[0])
        return ", ".join(f"{t:.2f}s {describe(v)}" for t, v in zip(self.times, self.vectors))


def load_emotion_track(path) -> EmotionTrack:
    """JSON: [{"time": 0, "emotion": "neutral", "intensity": 0.5}, ...] or {"keyframes": [...],
    "transition": 0.4}; "emotion" may be a blend like "happy:0.7+surprise:0.3"."""
    data = read_json(path, "emotion track")
    transition = DEFAULT_TRANSITION_S
    if isinstance(data, dict):
        _known_keys(data, _TRACK_KEYS, path, "an emotion track")
        transition = _number(data.get("transition", transition), path, "transition")
        if transition < 0:
            raise InputError(path, f"transition {transition} is negative")
        if transition > MAX_TRACK_S:
            raise InputError(path, f"transition {transition:g} s is past any line (at most {MAX_TRACK_S:g})")
        data = data.get("keyframes")
    if not isinstance(data, list) or not data:
        raise InputError(path, "emotion track needs a non-empty list of keyframes")
    times, vecs = [], []
    for k in data:
        if not isinstance(k, dict) or "time" not in k or "emotion" not in k:
            raise InputError(path, f"keyframe {k!r} needs 'time' and 'emotion'")
        _known_keys(k, _KEYFRAME_KEYS, path, "a keyframe")  # a misspelt 'intensty' must not pass as 1
        time = _number(k["time"], path, "keyframe time")
        intensity = _number(k.get("intensity", 1.0), path, "keyframe intensity")
        if time < 0:
            raise InputError(path, f"keyframe time {time} is negative")
        if time > MAX_TRACK_S:  # 1e308 had overflowed in the easing and gone into the metadata
            raise InputError(path, f"keyframe time {time:g} is past any line (times are seconds, at most "
                                   f"{MAX_TRACK_S:g})")
        times.append(time)
        if not isinstance(k["emotion"], str):
            raise InputError(path, f"keyframe at {time:g} s: emotion must be a string such as "
                                   f"\"happy:0.7+surprise:0.3\" (got {json.dumps(k['emotion'])[:60]})")
        vecs.append(parse_emotion(k["emotion"], intensity, str(path)))
    order = np.argsort(times, kind="stable")
    same = np.flatnonzero(np.diff(np.array(times)[order]) == 0)
    if len(same):  # the later one would win unseen: which face did the writer mean?
        raise InputError(path, f"two keyframes at {times[order[same[0]]]:g} s (one emotion per moment)")
    return EmotionTrack(np.array(times)[order], np.array(vecs, np.float32)[order], transition)


def _known_keys(entry: dict, keys: tuple[str, ...], path, what: str) -> None:
    unknown = [key for key in entry if key not in keys]
    if unknown:
        raise InputError(path, f"unknown key {str(unknown[0])!r} ({what} has {', '.join(keys)})")


def _number(value, path, what: str) -> float:
    """A finite number from a user's JSON (bools, strings, NaN and infinities are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InputError(path, f"{what} {value!r} is not a finite number")
    return float(value)
