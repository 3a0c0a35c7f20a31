"""How far the mouth moves for speech (`--articulation`): the speech part of the jaw, mouth and tongue curves
scaled about the face the emotion alone makes, with lips that meet still meeting.

1 is the engine as it is. Below it, a mumble: a tired, drunk or far-off character, or a face seen small. Above it,
a performance that reads at a distance or on a stylised character (the network, trained to the mean of many
speakers, moves a new speaker's jaw up to a quarter less than his own face does, the finer mouth shapes more:
docs/EVALUATION.md, "Articulation"). 0 keeps the emotion's face and drops the lip sync. Animators know this as JALI's jaw and lip
sliders or Audio2Face's strength. The emotion's own expression (a smile, anger's pressed lips) is the centre the
speech moves around, so it stays as it is at any articulation.
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation
from emoface.phonetic.animate import LIP_OPENERS

PREFIXES = ("Jaw", "Mouth", "Tongue", "CheekPuff")  # the curves speech moves
LOWEST, HIGHEST = 0.0, 2.0
KNEE = np.float32(0.8)  # scaled speech above this bends towards 1 (ceiling)
SHUT = np.float32(0.05)  # a lip gap under this is closed lips (docs/EVALUATION.md's closure measure): kept as it is


def check(amount: float, name: str = "articulation") -> float:
    """amount as a float in LOWEST..HIGHEST, or a ValueError saying what is wrong with it."""
    try:
        value = float(amount)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {amount!r} is not a number") from None
    if not LOWEST <= value <= HIGHEST:  # NaN fails this too
        raise ValueError(f"{name} {amount!r} must be {LOWEST:g}-{HIGHEST:g} (1: as the engine animates)")
    return value


def ceiling(values: np.ndarray) -> np.ndarray:
    """Values above KNEE bent smoothly towards 1 (tanh): a jaw scaled past its reach rounds off at full
    opening instead of holding flat there for the length of a vowel."""
    over = values > KNEE
    out = values.astype(np.float32, copy=True)
    room = np.float32(1.0) - KNEE
    out[over] = KNEE + room * np.tanh((values[over] - KNEE) / room)
    return out


def articulate(anim: Animation, amount, rest: np.ndarray | None = None) -> None:
    """Scale the speech in `anim` (canonical curves, in place) by `amount` (one for all frames, or one per frame:
    a live change easing in) about `rest` ([frames, curves] on anim's names: what the engine makes of this
    emotion in silence; None: the rest pose, all zeros).

    Lips are treated as a gap, JawOpen - MouthClose: the gap scales about the emotion's own, and a gap already
    narrower than that or than SHUT (lips closing, or closed at a p/b/m) is left as it is, so closures stay shut
    at any amount. The shapes that part the lips keep their value where speech pulled them below the rest (a seal
    zeroes them), for the same reason."""
    amount = np.asarray(amount, np.float32)
    if not anim.n_frames or (amount == 1.0).all():
        return
    per_row = amount.reshape(-1, 1) if amount.ndim else amount
    names = anim.names
    moved = [k for k, n in enumerate(names) if n.startswith(PREFIXES) and n != "MouthClose"]
    centre = np.zeros((anim.n_frames, len(moved)), np.float32) if rest is None else rest[:, moved]
    jaw, close = anim.index("JawOpen"), anim.index("MouthClose")
    rest_gap = np.float32(0.0) if rest is None else rest[:, jaw] - rest[:, close]
    gap = anim.values[:, jaw] - anim.values[:, close]
    values = anim.values[:, moved]
    openers = np.array([names[k] in LIP_OPENERS for k in moved])
    centre = np.where(openers & (values < centre), values, centre)  # below the rest: a seal's doing, kept
    anim.values[:, moved] = ceiling(np.maximum(centre + per_row * (values - centre), 0.0))
    base = np.minimum(np.maximum(rest_gap, SHUT), gap)
    gap = base + amount * (gap - base)
    anim.values[:, close] = np.clip(anim.values[:, jaw] - gap, 0.0, 1.0)
