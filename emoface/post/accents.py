"""The face above the mouth speaks too: the brows rise on stressed syllables and pitch accents and the lids
open a little with them; the tongue shows on TH; an emotion's expression swells with the voice.

Speakers raise their brows on pitch accents and emphasis (Cavé et al. 1996; Flecha-García 2010), more when
surprised or afraid and hardly at all when sad; an angry speaker lowers them on emphasis instead. Accents are
the prominent syllables the head nods on (emoface.post.head.stressed_syllables), so brows and nods agree.
The network learns the mouth from speech but has no reason to move the brows with it (its labels never did),
and it under-shoots the brief TH tongue; with timed phones (a transcript, or the phonetic engine) the tongue
comes out between the teeth on each TH/DH. The network holds an emotion as a near-constant mask (its
smile or frown varies by about 5% over a line); `breathe` lets louder, higher stretches express more and
quieter ones less, as the emotion layer does for the phonetic engine.
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation
from emoface.emotion.spec import EMOTIONS
from emoface.filters1d import gaussian_filter1d
from emoface.post.head import stressed_syllables
from emoface.prosody import Prosody

BROW_RAISE = 0.4  # BrowInnerUp at a fully prominent accent, neutral speech; the outer brows follow at OUTER
OUTER = 0.7
BROW_LOWER = 0.35  # BrowDown at a fully prominent accent where the emotion lowers instead (angry)
LID_WIDE = 0.15  # EyeWide at a fully prominent accent
# emotion -> (raise, lower, wide) gains at intensity 1
GAIN = {"neutral": (1.0, 0.0, 1.0), "happy": (1.1, 0.0, 0.8), "surprise": (1.8, 0.0, 1.8),
        "fear": (1.5, 0.0, 1.6), "sad": (0.3, 0.0, 0.2), "angry": (0.15, 1.0, 0.4), "disgust": (0.3, 0.6, 0.2)}
RISE_S, HOLD_S = 0.07, 0.25  # the raise leads the accent's peak a little and relaxes over a quarter second
TONGUE_OUT = 0.35  # TongueOut at the middle of a TH/DH
TONGUE_PHONES = ("TH", "DH")
TIP_PHONES = ("L", "T", "D", "N", "TH", "DH")  # the tongue tip goes up to the ridge or the teeth
TIP_UP = 0.6
TIP_CURVES = ("CTRL_expressions_tongueTipUp", "CTRL_C_tongue_tip-translateY")  # MetaHuman: up is positive
ARTICULATORS = ("Jaw", "MouthClose", "MouthRoll", "MouthPress", "MouthFunnel", "MouthPucker", "MouthLowerDown",
                "MouthUpperUp", "Tongue")  # curves that make the speech sounds: left alone by breathe
BREATH = 2.5  # how strongly expression follows the voice (the gain's swing around 1, times this)


def accent_pulses(stressed: tuple[np.ndarray, np.ndarray], fps: float, n: int) -> np.ndarray:
    """0..1 per frame: each accent's prominence (stressed_syllables' peaks and prominences) as a quick rise and a
    slower relax, overlapping ones capped."""
    peaks, prominence = stressed
    out = np.zeros(n)
    for peak, p in zip(peaks, prominence):  # each pulse over its own few hundred ms: a long take stays linear
        i0, i1 = max(0, int(peak - 4 * RISE_S * fps)), min(n, int(peak + 8 * HOLD_S * fps) + 1)
        d = np.arange(i0, i1) / fps - peak / fps
        shape = np.where(d < 0, np.exp(-0.5 * (d / RISE_S) ** 2), np.exp(-d / HOLD_S))
        out[i0:i1] = np.maximum(out[i0:i1], p * shape)
    return out


def heard_pulse(t: float, peak: float, prominence: float, heard: float) -> float:
    """The live pulse: an accent is known only once heard, so the brows ease up from then (no jump) and relax
    from the syllable's peak as in a bake."""
    rise = min(max((t - heard) / RISE_S, 0.0), 1.0)
    return prominence * rise * rise * (3 - 2 * rise) * float(np.exp(-max(t - peak, 0.0) / HOLD_S))


def _gains(emotion_weights: np.ndarray) -> np.ndarray:
    table = np.array([GAIN[e] for e in EMOTIONS])  # [7, 3]
    return emotion_weights @ table  # [n, 3]


def apply(anim: Animation, prosody: Prosody, emotion_weights: np.ndarray,
          stressed: tuple[np.ndarray, np.ndarray] | None = None) -> Animation:
    """Accent brows and lids added to the curves, and the TH tongue where the animation has timed phones.
    stressed: stressed_syllables(prosody, anim.fps), when the caller has it already (the head nods on the same)."""
    out = anim.copy()
    if stressed is None:
        stressed = stressed_syllables(prosody, anim.fps)
    add_brows(out, accent_pulses(stressed, anim.fps, anim.n_frames), emotion_weights)
    out["TongueOut"] = np.maximum(out["TongueOut"], tongue(anim))
    return out


def add_brows(anim: Animation, pulse: np.ndarray, emotion_weights: np.ndarray) -> None:
    """Accent pulses (0..1 per frame) as brow raises or lowers and wider lids, by emotion, in place. Each adds
    within the curve's headroom (v + a * (1 - v)): a brow already high in surprise rises less, never flat-tops."""
    raise_, lower, wide = (pulse[:, None] * _gains(emotion_weights)).T
    amounts = {"BrowInnerUp": BROW_RAISE * raise_}
    for side in ("Left", "Right"):
        amounts[f"BrowOuterUp{side}"] = OUTER * BROW_RAISE * raise_
        amounts[f"BrowDown{side}"] = BROW_LOWER * lower
        amounts[f"EyeWide{side}"] = LID_WIDE * wide
    cols = [anim.index(name) for name in amounts]
    v = anim.values[:, cols]
    anim.values[:, cols] = v + np.minimum(np.stack(list(amounts.values()), axis=1), 1.0) * (1.0 - v)


def tongue(anim: Animation) -> np.ndarray:
    """TongueOut per frame from the animation's timed phones: a raised-cosine bump over each TH/DH."""
    return TONGUE_OUT * _bumps(anim, TONGUE_PHONES)


def tongue_tip(anim: Animation) -> Animation:
    """On a rig with a tongue-tip control (the MetaHuman ones), the tip up for L, T, D, N and TH from the timed
    phones: the canonical curves have only TongueOut, so the phones carry what they cannot."""
    names = [n for n in TIP_CURVES if n in anim.names]
    if not names or not anim.metadata.get("phonemes"):
        return anim
    out = anim.copy()
    bump = TIP_UP * _bumps(anim, TIP_PHONES)
    for name in names:
        out[name] = np.clip(np.maximum(out[name], bump), -1.0, 1.0)
    return out


def _bumps(anim: Animation, phones: tuple[str, ...]) -> np.ndarray:
    """0..1 per frame: a raised cosine over each of the animation's timed phones named in `phones`."""
    out = np.zeros(anim.n_frames)
    for name, start, end in anim.metadata.get("phonemes") or []:
        if name in phones and end > start:
            i0 = max(0, int(np.ceil((start - 0.5 / anim.fps) * anim.fps)))
            i1 = min(anim.n_frames, int(np.floor((end + 0.5 / anim.fps) * anim.fps)) + 1)
            x = np.clip((np.arange(i0, i1) / anim.fps - start) / (end - start), 0.0, 1.0)
            out[i0:i1] = np.maximum(out[i0:i1], np.sin(np.pi * x))
    return out


def breathe(anim: Animation, prosody: Prosody, emotion_weights: np.ndarray) -> Animation:
    """Scale the active emotions' expression curves by how the voice carries (louder and higher: more), for
    engines whose output holds the emotion steady; the speech articulators are not touched."""
    from emoface.emotion.layer import expressiveness, prototype

    out = anim.copy()
    carried = expressiveness(prosody, anim.fps) - (0.8 + 0.2 * _smoothed(prosody.speech, anim.fps))
    share = np.clip(1.0 - emotion_weights[:, EMOTIONS.index("neutral")], 0.0, 1.0)
    gain = np.clip(1.0 + BREATH * carried * share, 0.6, 1.4)
    active = [e for k, e in enumerate(EMOTIONS) if e != "neutral" and emotion_weights[:, k].max() > 0.05]
    for curve in sorted({c for e in active for c in prototype(e)}):
        if not curve.startswith(ARTICULATORS):
            out[curve] = np.clip(out[curve] * gain, 0.0, 1.0)
    return out


def _smoothed(speech: np.ndarray, fps: float) -> np.ndarray:
    return gaussian_filter1d(speech.astype(np.float64), sigma=0.15 * fps, mode="nearest")
