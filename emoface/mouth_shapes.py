"""Mouth shapes for engines that do not take curves: Rhubarb Lip Sync's A-X cues (2D sprite mouths) and
Oculus/Meta OVRLipSync's 15 viseme weights per frame (viseme-driven rigs), both from an Animation.

Both are read off the same curves a bake writes, so a sprite mouth, an OVR rig and a blendshape face agree:
how far the lips are apart (emoface.metrics.lip_gap), how rounded they are, the lower lip tucked for F/V.
Where the animation carries timed phones (a transcript was aligned, or the phonetic engine ran), they name
what curves cannot: the tongue of a long L (Rhubarb's H), and which consonant a viseme is (OVR's DD/kk/nn/SS).
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation
from emoface.filters1d import gaussian_filter1d
from emoface.metrics import CLOSED_GAP, lip_gap
from emoface.phonetic.visemes import DIPHTHONGS, PHONE_VISEMES, VISEMES

CUE_RATE = 100.0  # Rhubarb's times are hundredths of a second
SHAPES = "ABCDEFGHX"
OPEN_GAP = 0.1  # lips visibly apart: speech is going on within SPEAKING_S of such a frame
SPEAKING_S = 0.15  # a closure with open lips this close on both sides is a talking A, not the idle X
WIDE_GAP, OPEN_MOUTH_GAP = 0.45, 0.22  # D (AA as in father), C (EH, AE)
PUCKERED, ROUNDED = 0.35, 0.25  # F: pucker alone; E: pucker and funnel together
TUCKED = 0.15  # G: the lower lip rolled in under the teeth (F, V)
LONG_L_S = 0.08  # H: an L held this long shows the tongue
MIN_CUE_S = 0.03  # shorter runs join their neighbour (a closure A is kept at any length)

OVR_VISEMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
# emoface's visemes (emoface.phonetic.visemes) -> OVRLipSync's: the vowels fold into aa/E/ih/oh/ou
TO_OVR = {"sil": "sil", "PP": "PP", "FF": "FF", "TH": "TH", "DD": "DD", "kk": "kk", "CH": "CH", "SS": "SS",
          "nn": "nn", "RR": "RR", "WW": "ou", "YY": "ih", "HH": "sil", "AA": "aa", "AE": "aa", "AH": "aa",
          "AO": "oh", "EH": "E", "ER": "RR", "IH": "ih", "IY": "ih", "UH": "ou", "UW": "ou", "OW": "oh"}
SIMILARITY = 0.02  # curve-space softness of the weights when there are no phones (squared distance units)
BLEND_S = 0.02  # phone-driven weights cross-fade over about this (Gaussian sigma)


def _phones(anim: Animation) -> list[tuple[str, float, float]]:
    return [(str(p[0]), float(p[1]), float(p[2])) for p in anim.metadata.get("phonemes") or []]


def _speaking(open_frames: np.ndarray, rate: float) -> np.ndarray:
    """Frames with open lips within SPEAKING_S both before and after: a closure inside speech."""
    reach, n = int(round(SPEAKING_S * rate)), len(open_frames)
    count = np.concatenate([[0], np.cumsum(open_frames)])
    i = np.arange(n)
    before = count[i + 1] - count[np.maximum(i - reach, 0)] > 0
    after = count[np.minimum(i + reach + 1, n)] - count[i] > 0
    return before & after


def frame_shapes(anim: Animation) -> np.ndarray:
    """One Rhubarb shape letter per 1/100 s frame."""
    a = anim if anim.fps == CUE_RATE else anim.resampled(CUE_RATE)
    gap = lip_gap(a)
    pucker, funnel, tuck = a["MouthPucker"], a["MouthFunnel"], a["MouthRollLower"]
    out = np.full(a.n_frames, "B", "<U1")
    out[gap >= OPEN_MOUTH_GAP] = "C"
    out[gap >= WIDE_GAP] = "D"
    out[pucker + funnel >= ROUNDED] = "E"
    out[(pucker >= PUCKERED) & (pucker >= funnel)] = "F"
    out[(tuck >= TUCKED) & (gap < OPEN_MOUTH_GAP)] = "G"
    closed = gap < CLOSED_GAP
    out[closed] = np.where(_speaking(gap > OPEN_GAP, CUE_RATE)[closed], "A", "X")
    for name, start, end in _phones(anim):
        i0, i1 = int(round(start * CUE_RATE)), max(int(round(start * CUE_RATE)) + 1, int(round(end * CUE_RATE)))
        if name in ("P", "B", "M"):
            out[i0:i1] = "A"
        elif name in ("F", "V"):
            out[i0:i1] = "G"
        elif name == "L" and end - start >= LONG_L_S:
            out[i0:i1] = "H"
        elif name == "SIL":
            out[i0:i1][out[i0:i1] == "A"] = "X"
        else:  # lips shut inside a word are speech, not rest
            out[i0:i1][out[i0:i1] == "X"] = "A"
    return out


def mouth_cues(anim: Animation) -> list[tuple[float, float, str]]:
    """Rhubarb's cues: (start s, end s, shape), contiguous from 0 to the recording's duration truncated to 0.01 s
    (the frames' end where the recording's is not known: at 1 fps they run up to a second past it)."""
    shapes = frame_shapes(anim)
    recorded = anim.metadata.get("duration_s")
    seconds = float(recorded) if isinstance(recorded, (int, float)) and 0 < recorded <= anim.duration else anim.duration
    n = int(np.floor(seconds * CUE_RATE + 1e-6))
    shapes = shapes[:n] if len(shapes) >= n else np.concatenate([shapes, np.full(n - len(shapes), "X")])
    runs: list[list] = []
    for i, s in enumerate(shapes):
        if runs and runs[-1][2] == s:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, s])
    short = int(round(MIN_CUE_S * CUE_RATE))
    merged: list[list] = []
    for run in runs:  # a flicker joins the cue before it (a closure stays: a missed /b/ is what people see)
        if merged and run[1] - run[0] < short and run[2] != "A":
            merged[-1][1] = run[1]
        elif merged and merged[-1][2] == run[2]:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    if merged and merged[0][1] - merged[0][0] < short and len(merged) > 1 and merged[0][2] != "A":
        merged[1][0] = 0
        merged.pop(0)
    return [(s / CUE_RATE, e / CUE_RATE, shape) for s, e, shape in merged]


def _ovr_targets() -> np.ndarray:
    """Each OVR viseme as the mean mouth curves of emoface's visemes that fold into it [15, curves]."""
    from emoface.phonetic.visemes import CURVES

    out = np.zeros((len(OVR_VISEMES), len(CURVES)))
    for k, ovr in enumerate(OVR_VISEMES):
        members = [VISEMES[v].curves for v, o in TO_OVR.items() if o == ovr]
        out[k] = np.mean([[m.get(c, 0.0) for c in CURVES] for m in members], axis=0)
    return out


def ovr_weights(anim: Animation) -> np.ndarray:
    """OVRLipSync's viseme weights [frames, 15], each frame summing to 1, at the animation's own rate."""
    phones = _phones(anim)
    if phones:
        out = np.zeros((anim.n_frames, len(OVR_VISEMES)))
        out[:, 0] = 1.0
        t = np.arange(anim.n_frames) / anim.fps
        for k, (name, start, end) in enumerate(phones):
            if name == "HH" and k + 1 < len(phones):  # /h/ is shaped by the vowel after it
                name = phones[k + 1][0]
            first, second, share = DIPHTHONGS.get(name, (name, name, 1.0))
            split = start + share * (end - start)
            for part, a, b in ((first, start, split), (second, split, end)):
                frames = slice(*np.searchsorted(t, [a, b]))  # the frames with a <= t < b
                out[frames] = 0.0
                out[frames, OVR_VISEMES.index(TO_OVR[PHONE_VISEMES.get(part, "sil")])] = 1.0
        out = gaussian_filter1d(out, BLEND_S * anim.fps, axis=0, mode="nearest") if anim.fps * BLEND_S >= 0.3 \
            else out
        return out / out.sum(axis=1, keepdims=True)
    from emoface.phonetic.visemes import CURVES

    have = [c for c in CURVES if c in anim.names]
    cols = [list(CURVES).index(c) for c in have]
    curves = np.stack([anim[c] for c in have], axis=1)
    d2 = ((curves[:, None, :] - _ovr_targets()[None][:, :, cols]) ** 2).sum(-1)
    logits = -(d2 - d2.min(axis=1, keepdims=True)) / SIMILARITY
    w = np.exp(logits)
    return w / w.sum(axis=1, keepdims=True)
