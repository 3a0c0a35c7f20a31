"""An Animation on any rig -> what a blendshape mesh needs per frame: shape weights, head and eye rotations.

Curves are matched to shapes by ARKit name, whatever the spelling: eyeBlinkLeft, EyeBlinkLeft, eyeBlink_L and
eyeBlink.L are one shape; an unsided curve (browInnerUp) drives both halves of a split shape (browInnerUp_L/_R)
and a sided pair drives an unsided shape with its mean. Eyes turn as rigid parts (eyeLook* curves -> degrees),
because ICT-style heads move only the lids in their look shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from emoface.animation import Animation
from emoface.post.gaze import LOOK_FULL_DEG
from emoface.rigs import CANONICAL_RIG, retarget

_SIDED = re.compile(r"^(?P<base>.+?)(?:[_.](?P<s1>[lLrR]|left|right|Left|Right)|(?P<s2>Left|Right))$")


def split_side(name: str) -> tuple[str, str | None]:
    """'eyeBlink_L' -> ('eyeblink', 'l'); 'jawOpen' -> ('jawopen', None)."""
    m = _SIDED.match(name)
    if not m:
        return name.lower(), None
    side = (m.group("s1") or m.group("s2"))[0].lower()
    return m.group("base").lower(), side


@dataclass
class MeshMotion:
    weights: np.ndarray  # [frames, shapes] in the mesh's shape order
    head: np.ndarray  # [frames, 3] yaw, pitch, roll in degrees (yaw > 0 turns to the character's left)
    eyes: np.ndarray  # [frames, 2, 2] (left, right) x (yaw, pitch) in degrees
    fps: float
    matched: tuple[str, ...]  # shapes some curve drives

    @property
    def n_frames(self) -> int:
        return len(self.weights)


def shape_sources(shape_names, curve_names) -> dict[int, list[int]]:
    """For each drivable shape index, the curve indices whose mean drives it."""
    curves: dict[tuple[str, str | None], int] = {split_side(n): i for i, n in enumerate(curve_names)}
    out = {}
    for k, name in enumerate(shape_names):
        base, side = split_side(name)
        if (base, side) in curves:
            out[k] = [curves[(base, side)]]
        elif side and (base, None) in curves:
            out[k] = [curves[(base, None)]]
        elif side is None and (base, "l") in curves and (base, "r") in curves:
            out[k] = [curves[(base, "l")], curves[(base, "r")]]
    return out


def mesh_motion(anim: Animation, shape_names) -> MeshMotion:
    canon = retarget(anim, CANONICAL_RIG)
    sources = shape_sources(shape_names, canon.names)
    weights = np.zeros((canon.n_frames, len(shape_names)), np.float32)
    for k, idx in sources.items():
        weights[:, k] = canon.values[:, idx].mean(axis=1)
    _shut_lids_stay(weights, shape_names)
    head = np.stack([canon["HeadYaw"], canon["HeadPitch"], canon["HeadRoll"]], axis=1) * 180.0
    eyes = np.stack([_eye_angles(canon, "Left"), _eye_angles(canon, "Right")], axis=1)
    matched = tuple(shape_names[k] for k in sorted(sources))
    return MeshMotion(weights, head.astype(np.float32), eyes.astype(np.float32), anim.fps, matched)


# shapes that bring a lid toward the other and little else (a cheek's squint also lifts the cheek, which must
# not drop at every blink of a smile)
LID_CLOSERS = ("eyelookdown", "eyesquint")


def _shut_lids_stay(weights: np.ndarray, shape_names) -> None:
    """A blinking lid cannot close further: the other shapes that lower the upper lid or raise the lower one
    fade as that side's blink closes, or the lids of a blink made while looking down or squinting would pass
    through each other and show the eye through a fold (linear shapes add up past shut)."""
    split = [split_side(n) for n in shape_names]
    for side in ("l", "r"):
        blink = [k for k, key in enumerate(split) if key == ("eyeblink", side)]
        if not blink:
            continue
        keep = 1.0 - np.clip(weights[:, blink[0]], 0.0, 1.0)
        for k, (base, s) in enumerate(split):
            if s == side and base in LID_CLOSERS:
                weights[:, k] *= keep


def _eye_angles(canon: Animation, side: str) -> np.ndarray:
    """Degrees from the look shapes: 'out' for the left eye turns it to the character's left (+yaw)."""
    sign = 1.0 if side == "Left" else -1.0
    yaw = sign * (canon[f"EyeLookOut{side}"] * LOOK_FULL_DEG["out"] - canon[f"EyeLookIn{side}"] * LOOK_FULL_DEG["in"])
    pitch = canon[f"EyeLookUp{side}"] * LOOK_FULL_DEG["up"] - canon[f"EyeLookDown{side}"] * LOOK_FULL_DEG["down"]
    return np.stack([yaw, pitch], axis=1)


def rotation(yaw_deg: float, pitch_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """3x3: yaw about +y (toward +x, the character's left), pitch up, roll about +z tilting the top of the head
    toward +x, the character's left shoulder (emoface.post.head's conventions; y up, facing +z)."""
    y, p, r = np.radians([yaw_deg, -pitch_deg, -roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz
