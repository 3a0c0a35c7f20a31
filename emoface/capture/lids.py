"""Blink, squint and wide from the lids themselves: each lid is one degree of freedom, measured directly.

The upper lid's fall toward the lower one, as a share of the actor's own open eye, is the blink; the lower lid's
rise is the squint; the eye opened beyond its rest is the wide eye. The wide eye is read from the opening (the two
lids' difference), not from the upper lid alone: a widening moves both lids apart, and whatever the head pose
leaves over moves them alike and cancels (on rendered surprise the upper lid alone read r 0.05, the opening 0.79).
How far each ARKit shape moves its lid comes from the basis head (a blink at 1.0 brings the upper lid 0.8 of the
way down on ICT FaceKit, a squint raises the lower lid a quarter). A landmarker rarely brings the lids of a closed
eye all the way together, so a take's blinks are scaled to its own deepest closure (once that is deep enough to be
a closed eye at all). Measured this way the lids beat the general solve: a smile's raised cheeks and lower lids no
longer read as a blink (docs/CAPTURE.md). What is left of a smile on the upper lid (it comes 0.15 of the opening
down on ICT FaceKit, and a rig's smile brings it down again) is taken off: the upper lid's fall less what the
lower face's solved shapes do to it is the blink.
"""

from __future__ import annotations

import numpy as np

from emoface.capture.basis import Basis

UPPER = {"Right": [159, 158, 160], "Left": [386, 385, 387]}  # character's right eye is the image's left
LOWER = {"Right": [145, 153, 144], "Left": [374, 380, 373]}
LID_SHAPES = ("EyeBlink", "EyeSquint", "EyeWide")  # what the lids measure
CLOSED_QUANTILE, MIN_CLOSED = 0.995, 0.35  # the take's deepest closure, if the lid fell at least this far


def _heights(points: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower lid heights (y, face axes) of one eye, points [..., 468, 3]."""
    return points[..., UPPER[side], 1].mean(axis=-1), points[..., LOWER[side], 1].mean(axis=-1)


def _shape_heights(basis: Basis, name: str, side: str) -> tuple[float, float]:
    """Upper and lower lid heights of one eye with the basis shape `name` at 1.0."""
    return _heights(basis.neutral + basis.deltas[basis.names.index(name)], side)


def lid_opening(points: np.ndarray, side: str) -> np.ndarray:
    """How far apart one eye's lids are (face axes units), points [..., 468, 3]."""
    up, low = _heights(points, side)
    return up - low


def shape_reach(basis: Basis, side: str) -> dict[str, float]:
    """How far EyeBlink (the upper lid down), EyeSquint (the lower lid up) and EyeWide (the lids apart) move at
    1.0, as a share of the basis eye's opening."""
    up, low = _heights(basis.neutral, side)
    opening = up - low
    reach = {}
    for shape, moved in (("EyeBlink", lambda du, dl: -du), ("EyeSquint", lambda du, dl: dl),
                         ("EyeWide", lambda du, dl: du - dl)):
        name = shape + side
        if name in basis.names:
            u, lo = _shape_heights(basis, name, side)
            reach[shape] = max(1e-3, float(moved(u - up, lo - low)) / opening)
    return reach


def explained_fall(basis: Basis, side: str, curves: dict[str, np.ndarray], n: int) -> np.ndarray:
    """How far the curves measured otherwise (any shapes of the basis but the lids' own) bring the upper lid down,
    as a share of the eye's opening, per frame: the basis's upper-lid motion per shape, summed."""
    up, low = _heights(basis.neutral, side)
    fall = np.zeros(n)
    for name, values in curves.items():
        if name in basis.names and not name.startswith(LID_SHAPES):
            moved, _ = _shape_heights(basis, name, side)
            fall += np.asarray(values, np.float64) * float(up - moved) / float(up - low)
    return fall


def lid_curves(frames: np.ndarray, neutral: np.ndarray, basis: Basis,
               others: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Pose-free landmarks [n, 468, 3] and the actor's neutral -> EyeBlink/EyeSquint/EyeWide per side, 0..1;
    `others`: the take's other measured curves, whose share of the upper lid's fall is not a blink."""
    out = {}
    for side in ("Left", "Right"):
        reach = shape_reach(basis, side)
        up, low = _heights(frames, side)
        up0, low0 = _heights(neutral, side)
        opening = max(up0 - low0, 1e-9)
        fall = (up0 - up) / opening - explained_fall(basis, side, others or {}, len(frames))
        rise = (low - low0) / opening
        widening = ((up - low) - (up0 - low0)) / opening
        if "EyeBlink" in reach:
            closed = float(np.clip(np.quantile(fall, CLOSED_QUANTILE), MIN_CLOSED, reach["EyeBlink"]))
            out[f"EyeBlink{side}"] = np.clip(fall / closed, 0.0, 1.0)
        if "EyeWide" in reach:
            out[f"EyeWide{side}"] = np.clip(widening / reach["EyeWide"], 0.0, 1.0)
        if "EyeSquint" in reach:
            out[f"EyeSquint{side}"] = np.clip(rise / reach["EyeSquint"], 0.0, 1.0)
    return out
