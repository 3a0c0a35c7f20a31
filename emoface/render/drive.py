"""An Animation on any rig -> what a blendshape mesh needs per frame: shape weights, head and eye rotations.

Curves are matched to shapes by ARKit name, whatever the spelling: eyeBlinkLeft, EyeBlinkLeft, eyeBlink_L and
eyeBlink.L are one shape; an unsided curve (browInnerUp) drives both halves of a split shape (browInnerUp_L/_R)
and a sided pair drives an unsided shape with its mean. Eyes turn as rigid parts (eyeLook* curves -> degrees),
because ICT-style heads move only the lids in their look shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from emoface.animation import Animation
from emoface.post.gaze import LOOK_FULL_DEG
from emoface.rigs import CANONICAL_RIG, retarget

_SIDE_WORDS = {"l": "l", "left": "l", "r": "r", "right": "r"}
# a side after the name (eyeBlink_L, eyeBlink.L, eye_blink_left, EYEBLINK_L, eyeblinkleft, eyeBlinkL) or before it
# (L_eyeBlink, Left_eyeBlink, LeftEyeBlink), in any case
_SUFFIX = re.compile(r"^(?P<base>.+?)(?:[_.\-\s](?P<s1>l|r|left|right)|(?P<s2>left|right))$", re.I)
_CAMEL_SUFFIX = re.compile(r"^(?P<base>.*[a-z0-9])(?P<s>[LR])$")
_PREFIX = re.compile(r"^(?P<s>l|r|left|right)[_.\-\s](?P<base>.+)$", re.I)
_CAMEL_PREFIX = re.compile(r"^(?P<s>Left|Right)(?P<base>[A-Z0-9].*)$")


def strip_node(name: str) -> str:
    """A shape name without the node or namespace Maya, FBX and Blender put before it: 'blendShape1.jawOpen',
    'face:jawOpen', 'head|jawOpen' -> 'jawOpen'; a '.L' / 'L.' side stays ('blendShape1.eyeBlink.L' ->
    'eyeBlink.L')."""
    name = re.split(r"[:|/]", str(name).strip())[-1]
    parts = name.split(".")
    if len(parts) < 2:
        return name
    if parts[-1].lower() in _SIDE_WORDS or parts[-2].lower() in _SIDE_WORDS:
        return ".".join(parts[-2:])
    return parts[-1] or name


def split_side(name: str) -> tuple[str, str | None]:
    """An ARKit name in any spelling -> (base, side): 'eyeBlink_L', 'eyeblinkleft', 'EYE_BLINK_L', 'L_eyeBlink',
    'blendShape1.eyeBlink.L' -> ('eyeblink', 'l'); 'jawOpen', 'JAW_OPEN' -> ('jawopen', None). The base is
    lower case without separators, so case and underscores do not matter."""
    name = strip_node(name)
    base, side = name, None
    for pattern in (_SUFFIX, _CAMEL_SUFFIX, _PREFIX, _CAMEL_PREFIX):
        m = pattern.match(name)
        if m:
            groups = m.groupdict()
            word = groups.get("s") or groups.get("s1") or groups.get("s2")
            base, side = m.group("base"), _SIDE_WORDS[word.lower()]
            break
    key = re.sub(r"[^0-9a-z]", "", base.lower())
    return (key, side) if key else (re.sub(r"[^0-9a-z]", "", name.lower()), None)


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


@dataclass
class ShapeMatch:
    sources: dict[int, list[int]]  # drivable shape index -> the curve indices whose mean drives it
    duplicates: list[tuple[str, str]]  # (driven shape, a shape with the same ARKit name left undriven)
    overlaps: list[tuple[str, str]] = field(default_factory=list)  # (driven, undriven): a whole shape and its sides


def match_shapes(shape_names, curve_names) -> ShapeMatch:
    """Which curves drive which shapes. A name is read in any spelling (split_side); one the curves do not know is
    tried again without leading words ('ARKit_jawOpen', 'head_geo_jawOpen' -> jawOpen). Two shapes with one ARKit
    name (eyeBlink_L and eyeBlinkLeft merged from two sources) would both take the whole curve and add up to twice
    the motion: the first (a name read as written before one read without a prefix) is driven, the other is left
    at 0 and reported in `duplicates`. A whole shape beside its two sides (browInnerUp, browInnerUp_L, _R) would
    move each side twice: the sides are driven where the curves have sides, else the whole (`overlaps`)."""
    curves: dict[tuple[str, str | None], int] = {split_side(n): i for i, n in enumerate(curve_names)}

    def sources_of(base, side):
        if (base, side) in curves:
            return [curves[(base, side)]]
        if side and (base, None) in curves:
            return [curves[(base, None)]]
        if side is None and (base, "l") in curves and (base, "r") in curves:
            return [curves[(base, "l")], curves[(base, "r")]]
        return None

    found = {}  # shape index -> (rank: 0 read as written / 1 without leading words, key, sources)
    for k, name in enumerate(shape_names):
        key = split_side(name)
        src = sources_of(*key)
        rank = 0
        if src is None:
            words = re.split(r"[_\-\s]+", strip_node(name))
            for i in range(1, len(words)):
                key = split_side("_".join(words[i:]))
                src = sources_of(*key)
                if src is not None:
                    rank = 1
                    break
        if src is not None:
            found[k] = (rank, key, src)
    sources, duplicates, owner = {}, [], {}
    for k in sorted(found, key=lambda k: (found[k][0], k)):
        _, key, src = found[k]
        if key in owner:
            duplicates.append((str(shape_names[owner[key]]), str(shape_names[k])))
            continue
        owner[key] = k
        sources[k] = src
    overlaps = []
    for (base, side), k in list(owner.items()):  # browInnerUp beside browInnerUp_L and _R: each side moved twice
        if side is None and (base, "l") in owner and (base, "r") in owner:
            sided = (base, "l") in curves and (base, "r") in curves  # the curves tell the sides apart: keep them
            kept, dropped = ([owner[(base, "l")], owner[(base, "r")]], [k]) if sided else \
                ([k], [owner[(base, "l")], owner[(base, "r")]])
            for d in dropped:
                del sources[d]
                overlaps.append((" and ".join(str(shape_names[i]) for i in kept), str(shape_names[d])))
    return ShapeMatch(dict(sorted(sources.items())), duplicates, overlaps)


def shape_sources(shape_names, curve_names) -> dict[int, list[int]]:
    """For each drivable shape index, the curve indices whose mean drives it (match_shapes)."""
    return match_shapes(shape_names, curve_names).sources


def undriven_curves(shape_names) -> tuple[int, list[str]]:
    """(how many of the 52 ARKit curves drive some shape, the ARKit names of those that drive none: a pair
    missing on both sides as 'eyeLookUp*')."""
    from emoface.rigs import canonical_names

    arkit = [n for n in canonical_names() if not n.startswith(("Head", "LeftEye", "RightEye"))]
    sources = shape_sources(shape_names, arkit)
    driven = {i for src in sources.values() for i in src}
    missing = [n[0].lower() + n[1:] for i, n in enumerate(arkit) if i not in driven]
    shown = []
    for n in missing:
        for a, b in (("Left", "Right"), ("Right", "Left")):
            if n.endswith(a) and n[:-len(a)] + b in missing and n[:-len(a)] not in ("jaw", "mouth"):
                n = n[:-len(a)] + "*"
        if n not in shown:
            shown.append(n)
    return len(arkit) - len(missing), shown


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
# shapes that open the lids and little else: a shut lid stays shut under them (a surprised blink)
LID_OPENERS = ("eyewide", "eyelookup")
# shapes that raise the brows and with them the upper lid: only their lid part fades under a blink
# (BlendshapeMesh.vertices), the brows stay up
BROW_RAISERS = ("browinnerup", "browouterup")


def _shut_lids_stay(weights: np.ndarray, shape_names) -> None:
    """A blinking lid cannot close further, nor be held open: the other shapes that lower the upper lid or raise
    the lower one, and those that open the lids (eyeWide, eyeLookUp), fade as that side's blink closes, or the lids
    of a blink made while looking down or squinting would pass through each other and show the eye through a fold,
    and a blink made wide-eyed or looking up would stop short and show the eye through a slit (linear shapes add
    up past shut, or short of it)."""
    split = [split_side(n) for n in shape_names]
    for side in ("l", "r"):
        blink = [k for k, key in enumerate(split) if key == ("eyeblink", side)]
        if not blink:
            continue
        keep = 1.0 - np.clip(weights[:, blink[0]], 0.0, 1.0)
        for k, (base, s) in enumerate(split):
            if s == side and (base in LID_CLOSERS or base in LID_OPENERS):
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
