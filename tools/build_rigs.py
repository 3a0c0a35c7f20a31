#!/usr/bin/env python3
"""Regenerate rigs/*.json from ../shared/reference (run by a developer; the JSON files are committed).

    python tools/build_rigs.py [--reference ../shared/reference]

The MetaHuman face-board -> CTRL_expressions table below is ours: each board control drives the curve(s)
named after it; a control whose range spans -1..1 drives one curve when positive and its opposite when
negative ("positive" is the direction of the range's max, as the reference CSV gives it: both sides share
one sign, so a symmetric face moves the left and right controls alike).

Canonical -> CTRL_expressions is Epic's mh_arkit_mapping_pose (one pose per ARKit shape), kept where it is
left/right symmetric, plus SOLVER: what a MetaHuman's own solver also moves for speech and emotion (see there).
The build checks that every weight has its mirror image, so left and right curves can only map alike.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LIVELINK_61 = """EyeBlinkLeft, EyeLookDownLeft, EyeLookInLeft, EyeLookOutLeft, EyeLookUpLeft, EyeSquintLeft, EyeWideLeft,
EyeBlinkRight, EyeLookDownRight, EyeLookInRight, EyeLookOutRight, EyeLookUpRight, EyeSquintRight, EyeWideRight,
JawForward, JawLeft, JawRight, JawOpen, MouthClose, MouthFunnel, MouthPucker, MouthLeft, MouthRight,
MouthSmileLeft, MouthSmileRight, MouthFrownLeft, MouthFrownRight, MouthDimpleLeft, MouthDimpleRight,
MouthStretchLeft, MouthStretchRight, MouthRollLower, MouthRollUpper, MouthShrugLower, MouthShrugUpper,
MouthPressLeft, MouthPressRight, MouthLowerDownLeft, MouthLowerDownRight, MouthUpperUpLeft, MouthUpperUpRight,
BrowDownLeft, BrowDownRight, BrowInnerUp, BrowOuterUpLeft, BrowOuterUpRight, CheekPuff, CheekSquintLeft,
CheekSquintRight, NoseSneerLeft, NoseSneerRight, TongueOut,
HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll"""

# Board control stem -> (curve when positive, curve when negative or None). {S} is the side letter.
SIDED = {
    "brow_down": ("browDown{S}", None), "brow_lateral": ("browLateral{S}", None),
    "brow_raiseIn": ("browRaiseIn{S}", None), "brow_raiseOut": ("browRaiseOuter{S}", None),
    "ear_up": ("earUp{S}", None),
    "eye-translateX": ("eyeLookLeft{S}", "eyeLookRight{S}"), "eye-translateY": ("eyeLookUp{S}", "eyeLookDown{S}"),
    "eye_blink": ("eyeBlink{S}", "eyeWiden{S}"), "eye_cheekRaise": ("eyeCheekRaise{S}", None),
    "eye_eyelidD": ("eyeLowerLidUp{S}", "eyeLowerLidDown{S}"), "eye_eyelidU": ("eyeUpperLidUp{S}", "eyeRelax{S}"),
    "eye_faceScrunch": ("eyeFaceScrunch{S}", None), "eye_lidPress": ("eyeLidPress{S}", None),
    "eye_pupil": ("eyePupilWide{S}", "eyePupilNarrow{S}"), "eye_squintInner": ("eyeSquintInner{S}", None),
    "eyelashes_tweakerIn": ("eyelashesUpIN{S}", "eyelashesDownIN{S}"),
    "eyelashes_tweakerOut": ("eyelashesUpOUT{S}", "eyelashesDownOUT{S}"),
    "jaw_ChinRaiseD": ("jawChinRaiseD{S}", None), "jaw_ChinRaiseU": ("jawChinRaiseU{S}", None),
    "jaw_chinCompress": ("jawChinCompress{S}", None), "jaw_clench": ("jawClench{S}", None),
    "mouth_corner-translateX": ("mouthCornerWide{S}", "mouthCornerNarrow{S}"),
    "mouth_corner-translateY": ("mouthCornerUp{S}", "mouthCornerDown{S}"),
    "mouth_cornerDepress": ("mouthCornerDepress{S}", None), "mouth_cornerPull": ("mouthCornerPull{S}", None),
    "mouth_cornerSharpnessD": ("mouthCornerSharpenD{S}", "mouthCornerRounderD{S}"),
    "mouth_cornerSharpnessU": ("mouthCornerSharpenU{S}", "mouthCornerRounderU{S}"),
    "mouth_dimple": ("mouthDimple{S}", None), "mouth_funnelD": ("mouthFunnelD{S}", None),
    "mouth_funnelU": ("mouthFunnelU{S}", None), "mouth_lipBiteD": ("mouthLowerLipBite{S}", None),
    "mouth_lipBiteU": ("mouthUpperLipBite{S}", None), "mouth_lipSticky": ("mouthLipsSticky{S}Ph1", None),
    "mouth_lipsBlow": ("mouthLipsBlow{S}", None), "mouth_lipsPressU": ("mouthLipsPress{S}", None),
    "mouth_lipsRollD": ("mouthLowerLipRollIn{S}", "mouthLowerLipRollOut{S}"),
    "mouth_lipsRollU": ("mouthUpperLipRollIn{S}", "mouthUpperLipRollOut{S}"),
    "mouth_lipsTogetherD": ("mouthLipsTogetherD{S}", None), "mouth_lipsTogetherU": ("mouthLipsTogetherU{S}", None),
    "mouth_lipsTowardsTeethD": ("mouthLowerLipTowardsTeeth{S}", None),
    "mouth_lipsTowardsTeethU": ("mouthUpperLipTowardsTeeth{S}", None),
    "mouth_lowerLipDepress": ("mouthLowerLipDepress{S}", None),
    "mouth_pressD": ("mouthPressD{S}", None), "mouth_pressU": ("mouthPressU{S}", None),
    "mouth_purseD": ("mouthLipsPurseD{S}", None), "mouth_purseU": ("mouthLipsPurseU{S}", None),
    "mouth_pushPullD": ("mouthLipsPushD{S}", "mouthLipsPullD{S}"),
    "mouth_pushPullU": ("mouthLipsPushU{S}", "mouthLipsPullU{S}"),
    "mouth_sharpCornerPull": ("mouthSharpCornerPull{S}", None),
    "mouth_stickyInnerD": ("mouthStickyDIN{S}", None), "mouth_stickyInnerU": ("mouthStickyUIN{S}", None),
    "mouth_stickyOuterD": ("mouthStickyDOUT{S}", None), "mouth_stickyOuterU": ("mouthStickyUOUT{S}", None),
    "mouth_stretch": ("mouthStretch{S}", None), "mouth_stretchLipsClose": ("mouthStretchLipsClose{S}", None),
    "mouth_suckBlow": ("mouthCheekBlow{S}", "mouthCheekSuck{S}"),
    "mouth_thicknessD": ("mouthLipsThickD{S}", "mouthLipsThinD{S}"),
    "mouth_thicknessU": ("mouthLipsThickU{S}", "mouthLipsThinU{S}"),
    "mouth_tightenD": ("mouthLipsTightenD{S}", None), "mouth_tightenU": ("mouthLipsTightenU{S}", None),
    "mouth_towardsD": ("mouthLipsTowardsD{S}", None), "mouth_towardsU": ("mouthLipsTowardsU{S}", None),
    "mouth_upperLipRaise": ("mouthUpperLipRaise{S}", None),
    "neck_mastoidContract": ("neckMastoidContract{S}", None), "neck_stretch": ("neckStretch{S}", None),
    "nose-translateX": ("noseNostrilDilate{S}", "noseNostrilCompress{S}"),
    "nose-translateY": ("noseWrinkle{S}", "noseNostrilDepress{S}"),
    "nose_nasolabialDeepen": ("noseNasolabialDeepen{S}", None), "nose_wrinkleUpper": ("noseWrinkleUpper{S}", None),
}
CENTRE = {
    # The centre eye control moves both eyes; the per-eye controls add to it.
    "C_eye-translateX": (["eyeLookLeftL", "eyeLookLeftR"], ["eyeLookRightL", "eyeLookRightR"]),
    "C_eye-translateY": (["eyeLookUpL", "eyeLookUpR"], ["eyeLookDownL", "eyeLookDownR"]),
    "C_eye_parallelLook": ("eyeParallelLookDirection", None),
    "C_jaw-translateX": ("jawLeft", "jawRight"), "C_jaw-translateY": ("jawOpen", None),
    "C_jaw_fwdBack": ("jawFwd", "jawBack"), "C_jaw_openExtreme": ("jawOpenExtreme", None),
    "C_mouth-translateX": ("mouthLeft", "mouthRight"), "C_mouth-translateY": ("mouthUp", "mouthDown"),
    "C_mouth_lipShiftD": ("mouthLowerLipShiftLeft", "mouthLowerLipShiftRight"),
    "C_mouth_lipShiftU": ("mouthUpperLipShiftLeft", "mouthUpperLipShiftRight"),
    "C_mouth_stickyD": ("mouthStickyDC", None), "C_mouth_stickyU": ("mouthStickyUC", None),
    "C_neck_swallow": ("neckSwallowPh1", None),
    "C_teethD-translateX": ("teethLeftD", "teethRightD"), "C_teethD-translateY": ("teethUpD", "teethDownD"),
    "C_teethU-translateX": ("teethLeftU", "teethRightU"), "C_teethU-translateY": ("teethUpU", "teethDownU"),
    "C_teeth_fwdBackD": ("teethFwdD", "teethBackD"), "C_teeth_fwdBackU": ("teethFwdU", "teethBackU"),
    "C_tongue-translateX": ("tongueLeft", "tongueRight"), "C_tongue-translateY": ("tongueUp", "tongueDown"),
    "C_tongue_inOut": ("tongueOut", "tongueIn"), "C_tongue_narrowWide": ("tongueWide", None),
    "C_tongue_press": ("tonguePress", None),
    "C_tongue_roll-translateX": ("tongueRollLeft", "tongueRollRight"),
    "C_tongue_roll-translateY": ("tongueRollUp", "tongueRollDown"),
    "C_tongue_tip-translateX": ("tongueTipLeft", "tongueTipRight"),
    "C_tongue_tip-translateY": ("tongueTipUp", "tongueTipDown"),
    "neck_digastricUpDown": ("neckDigastricUp", "neckDigastricDown"),
    "neck_throatExhaleInhale": ("neckThroatExhale", "neckThroatInhale"),
    "neck_throatUpDown": ("neckThroatUp", "neckThroatDown"),
    # Switches and corrective multipliers are rig settings, not expressions: no curve.
    "lookAtSwitch": (None, None), "neckCorrectivesMultiplyerD": (None, None),
    "neckCorrectivesMultiplyerM": (None, None), "neckCorrectivesMultiplyerU": (None, None),
}
# ARKit's MouthClose has no pose in Epic's mapping (it maps 51 curves); we bring the lips together with it.
MOUTH_CLOSE = [("mouthLipsTogetherUL", 1.0), ("mouthLipsTogetherUR", 1.0),
               ("mouthLipsTogetherDL", 1.0), ("mouthLipsTogetherDR", 1.0)]

# Ours: the curves a MetaHuman's solver moves for speech and emotion that Epic's one-pose-per-shape mapping
# leaves still (FACS action units in parentheses). Expression curve -> {canonical curve:
# weight}; {S} is the side letter L/R and {Side} the canonical Left/Right of the same side; a canonical name
# without {Side} (MouthClose, JawOpen) drives both sides alike, and a centre curve takes {Side} from both.
# A curve Epic's mapping already makes only gains non-negative terms, so it stays the linear image the
# inverse reads back; every other curve here is "derived" (reading back ignores it) and may be gated by a
# negative weight: 0.6 MouthPress - 1.0 JawOpen clenches the jaw only while it is shut (curves clip at 0).
# Weights keep a full-strength source inside the curve's 0..1, at about what an animator keys.
SOLVER = {
    # brows and eyes
    "browLateral{S}": {"BrowDown{Side}": 0.5},  # the corrugator draws the brows in as it lowers them (AU4)
    "eyeCheekRaise{S}": {"MouthSmile{Side}": 0.35},  # a felt smile lifts the cheek (AU6 with AU12)
    "eyeFaceScrunch{S}": {"NoseSneer{Side}": 0.5, "EyeSquint{Side}": 0.25},  # disgust/anger scrunch (AU9+7)
    "eyeLidPress{S}": {"EyeSquint{Side}": 0.3},  # the lid tightener presses the lids (AU7)
    "eyeLowerLidUp{S}": {"EyeSquint{Side}": 0.4, "CheekSquint{Side}": 0.3},  # AU7 and the cheek push it up
    "eyeUpperLidUp{S}": {"EyeWide{Side}": 0.3},  # the upper lid raiser beyond the widen pose (AU5)
    "eyeLowerLidDown{S}": {"EyeWide{Side}": 0.15},  # ARKit's eyeWide widens the lids around the eye: both part
    "eyeRelax{S}": {"MouthFrown{Side}": 0.2},  # sadness lets the upper lids droop (AU41 with AU15)
    "eyePupilWide{S}": {"EyeWide{Side}": 0.2},  # fear and surprise dilate the pupils (arousal)
    # nose and cheeks
    "noseNasolabialDeepen{S}": {"MouthSmile{Side}": 0.4, "NoseSneer{Side}": 0.4,
                                "MouthUpperUp{Side}": 0.2},  # the fold deepens as lip levators pull
    "noseWrinkleUpper{S}": {"NoseSneer{Side}": 0.5},  # a strong sneer wrinkles the bridge too
    "noseNostrilDilate{S}": {"NoseSneer{Side}": 0.3, "MouthSmile{Side}": 0.15},  # sneer flares, smile widens
    # mouth corners
    "mouthDimple{S}": {"MouthSmile{Side}": 0.15},  # the buccinator dimples a smile's corner
    "mouthCornerUp{S}": {"MouthSmile{Side}": 0.25},  # the smile lifts as well as pulls (AU12)
    "mouthCornerDown{S}": {"MouthFrown{Side}": 0.3},  # the frown drops the corner (AU15)
    "mouthCornerWide{S}": {"MouthStretch{Side}": 0.3, "MouthSmile{Side}": 0.2},  # stretch and smile widen
    "mouthCornerNarrow{S}": {"MouthPucker": 0.3, "MouthFunnel": 0.2},  # rounding brings corners in
    "mouthCornerSharpenU{S}": {"MouthPress{Side}": 0.3, "MouthStretch{Side}": 0.2},  # pressed lips: sharp
    "mouthCornerSharpenD{S}": {"MouthPress{Side}": 0.3, "MouthStretch{Side}": 0.2},
    "mouthCornerRounderU{S}": {"MouthPucker": 0.3, "MouthFunnel": 0.2},  # rounded lips: round corners
    "mouthCornerRounderD{S}": {"MouthPucker": 0.3, "MouthFunnel": 0.2},
    "mouthSharpCornerPull{S}": {"MouthDimple{Side}": 0.4, "MouthSmile{Side}": 0.2},  # tight pull (AU14)
    "mouthStretchLipsClose{S}": {"MouthStretch{Side}": 0.5, "JawOpen": -0.8},  # a stretch on a shut jaw
    # lips: push/pull, thickness, towards the teeth, bites
    "mouthLipsPushU{S}": {"MouthPucker": 0.4, "MouthFunnel": 0.3},  # rounding pushes the lips out
    "mouthLipsPushD{S}": {"MouthPucker": 0.4, "MouthFunnel": 0.3},
    "mouthLipsPullU{S}": {"MouthStretch{Side}": 0.3, "MouthSmile{Side}": 0.2},  # and spreading pulls them in
    "mouthLipsPullD{S}": {"MouthStretch{Side}": 0.3, "MouthSmile{Side}": 0.2},
    "mouthLipsThickU{S}": {"MouthPucker": 0.3},  # pursed lips bunch up
    "mouthLipsThickD{S}": {"MouthPucker": 0.3},
    "mouthLipsThinU{S}": {"MouthPress{Side}": 0.3, "MouthRollUpper": 0.3},  # pressed or rolled lips thin
    "mouthLipsThinD{S}": {"MouthPress{Side}": 0.3, "MouthRollLower": 0.3},
    "mouthLipsTightenU{S}": {"MouthPress{Side}": 0.4},  # the lip tightener of anger (AU23)
    "mouthLipsTightenD{S}": {"MouthPress{Side}": 0.4},
    "mouthLipsPress{S}": {"MouthPress{Side}": 0.5},  # the upper lip presses down on the lower (AU24)
    "mouthUpperLipTowardsTeeth{S}": {"MouthStretch{Side}": 0.25, "MouthSmile{Side}": 0.15},  # spread lips
    "mouthLowerLipTowardsTeeth{S}": {"MouthStretch{Side}": 0.25, "MouthSmile{Side}": 0.15},  # hug the teeth
    "mouthLowerLipBite{S}": {"MouthRollLower": 0.25},  # f/v: the lower lip tucks under the upper teeth
    "mouthUpperLipBite{S}": {"MouthRollUpper": 0.25},
    # closures: sticky lips, lips together, the jaw clenched
    "mouthLipsSticky{S}Ph1": {"MouthClose": 0.5, "MouthPress{Side}": 0.3},  # lips part late after a closure
    "mouthStickyUIN{S}": {"MouthClose": 0.6, "MouthPress{Side}": 0.3},  # stickiest near the middle
    "mouthStickyDIN{S}": {"MouthClose": 0.6, "MouthPress{Side}": 0.3},
    "mouthStickyUOUT{S}": {"MouthClose": 0.3, "MouthPress{Side}": 0.2},
    "mouthStickyDOUT{S}": {"MouthClose": 0.3, "MouthPress{Side}": 0.2},
    "mouthStickyUC": {"MouthClose": 0.6, "MouthPress{Side}": 0.15},
    "mouthStickyDC": {"MouthClose": 0.6, "MouthPress{Side}": 0.15},
    "jawClench{S}": {"MouthPress{Side}": 0.6, "JawOpen": -1.0},  # the masseter bulges only on a shut jaw
    "jawChinCompress{S}": {"MouthShrugLower": 0.4, "MouthPress{Side}": 0.2},  # the mentalis in a pout (AU17)
    "jawChinRaiseD{S}": {"MouthPress{Side}": 0.3},  # and as the lips press on p/b/m it lifts the lower lip (17+24)
    # whole mouth, neck, tongue
    "mouthUp": {"NoseSneer{Side}": 0.1},  # the sneer hikes the whole mouth (AU9/10)
    "mouthDown": {"MouthFrown{Side}": 0.1},  # the frown lets it sag
    "neckStretch{S}": {"MouthStretch{Side}": 0.4, "MouthFrown{Side}": 0.2},  # the platysma tenses (AU21)
    "tongueTipUp": {"TongueOut": 0.3},  # in speech the network's TongueOut is the dental th: tip to teeth
}
SIDES = (("L", "Left"), ("R", "Right"))
# SOLVER terms on a turn, whose mirror image is the opposite turn: {curve: {canonical turn: weight on the R side}}
# (the L side takes -weight). HeadYaw > 0 turns the face to the character's left, which the right
# sternocleidomastoid does: it contracts fully by about 60 degrees (HeadYaw 1/3).
SOLVER_TURNS = {"neckMastoidContract{S}": {"HeadYaw": 3.0}}
TURNS = ("HeadYaw", "HeadRoll")  # canonical curves that change sign in a mirror (left/right swapped)


def lower_camel(name: str) -> str:
    return name[0].lower() + name[1:]


def board_curves(channel: str, control_type: str):
    """(positive, negative) curves of a board channel; 2D (rect) controls keep their axis in the key."""
    key = channel[len("CTRL_"):]
    if control_type != "rect":
        key = key.removesuffix("-translateY")
    if key in CENTRE:
        return CENTRE[key]
    side, rest = key[0], key[2:]
    pos, neg = SIDED[rest]
    return pos.format(S=side), (neg.format(S=side) if neg else None)


def swap_words(name: str) -> str:
    return re.sub("Left|Right", lambda m: "Right" if m.group() == "Left" else "Left", name)


def mirror_expression(name: str) -> str:
    """The curve's left/right mirror image: side letter swapped (eyeBlinkL -> eyeBlinkR) and any direction too
    (eyeLookLeftL -> eyeLookRightR, jawLeft -> jawRight)."""
    for pos, neg in SIDED.values():
        for t in (pos, neg):
            if t and name in (t.format(S="L"), t.format(S="R")):
                return swap_words(t.format(S="R" if name == t.format(S="L") else "L"))
    return swap_words(name)


def symmetric(mapping: dict) -> dict:
    """Epic's mapping without the keys whose mirror image it lacks (a 0.031 browLateralL on ten unrelated
    shapes and never a right one, mouthDimpleR 0.003 on the right smile only, tongueRight on tongue-out)."""
    weight = {(a, c): w for a, pairs in mapping.items() for c, w in pairs}
    out = {}
    for a, pairs in mapping.items():
        kept = [(c, w) for c, w in pairs if weight.get((swap_words(a), mirror_expression(c))) == w]
        for c, w in pairs:
            if (c, w) not in kept:
                print(f"dropped Epic's unmirrored {a} -> {c} {w}")
        out[a] = kept
    return out


def solver_weights() -> dict:
    """SOLVER expanded to both sides: {expression curve: {canonical curve: weight}}."""
    out = {}
    for curve, weights in SOLVER.items():
        sides = SIDES if "{S}" in curve else [(None, None)]
        for letter, side in sides:
            name = curve.format(S=letter) if letter else curve
            for src, w in weights.items():
                for s in ([side] if side else [x for _, x in SIDES]) if "{Side}" in src else [None]:
                    key = src.format(Side=s) if s else src
                    out.setdefault(name, {})[key] = round(out.get(name, {}).get(key, 0.0) + w, 6)
    for curve, weights in SOLVER_TURNS.items():
        for letter, sign in (("L", -1.0), ("R", 1.0)):
            for src, w in weights.items():
                out.setdefault(curve.format(S=letter), {})[src] = sign * w
    return out


def check_mirrored(sources: dict) -> None:
    """Every weight has its mirror image: left and right curves map alike."""
    for c, weights in sources.items():
        for a, w in weights.items():
            m = sources.get(mirror_expression(c), {}).get(swap_words(a))
            want = -w if a in TURNS else w
            assert m == want, f"{c} <- {a} {w}: its mirror {mirror_expression(c)} <- {swap_words(a)} has {m}"


def as_list(x):
    return [] if x is None else ([x] if isinstance(x, str) else list(x))


def build(reference: Path) -> None:
    live = [n.strip() for n in LIVELINK_61.replace("\n", " ").split(",")]
    assert len(live) == 61
    rot = {"HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
           "RightEyeYaw", "RightEyePitch", "RightEyeRoll"}

    def rng(n):
        return [-1.0, 1.0] if n in rot else [0.0, 1.0]

    write("livelink", {
        "name": "livelink",
        "description": "Live Link Face: 52 ARKit blend shapes + head and eye rotations (degrees / 180), "
                       "in the packet order of Unreal's Live Link Face receiver. emoface's canonical curves.",
        "curves": [{"name": n, "from": {n: 1.0}, "range": rng(n)} for n in live],
    })
    write("arkit", {
        "name": "arkit",
        "description": "Apple ARKit 52 blend shapes (ARFaceAnchor.BlendShapeLocation names).",
        "curves": [{"name": lower_camel(n), "from": {n: 1.0}, "range": [0.0, 1.0]} for n in live[:52]],
    })

    mapping = symmetric(json.loads((reference / "arkit_to_metahuman_expressions.json").read_text()))
    mapping["MouthClose"] = MOUTH_CLOSE
    controls = list(csv.DictReader(open(reference / "metahuman_face_controls_174.csv")))
    board = []
    for row in controls:
        pos, neg = board_curves(row["channel"], row["control_type"])
        lo, hi = float(row["min"]), float(row["max"])
        board.append({"name": row["channel"], "type": row["control_type"], "range": [lo, hi],
                      "positive": as_list(pos), "negative": as_list(neg)})
    expr_names = []
    for ctl in board:
        for c in ctl["positive"] + ctl["negative"]:
            if c not in expr_names:
                expr_names.append(c)
    for pairs in mapping.values():
        for c, _ in pairs:
            if c not in expr_names:
                expr_names.append(c)
    sources = {c: {} for c in expr_names}
    for arkit_name, pairs in mapping.items():
        for c, w in pairs:
            sources[c][arkit_name] = round(sources[c].get(arkit_name, 0.0) + float(w), 6)
    basis = {c for c, weights in sources.items() if weights}
    for c, weights in solver_weights().items():
        assert c in sources, f"SOLVER names {c!r}, which is no curve of the face board"
        for a, w in weights.items():
            assert a in live, f"SOLVER: {c} <- unknown canonical curve {a!r}"
            assert w >= 0 or c not in basis, f"SOLVER: {c} is Epic's curve: only non-negative terms ({a} {w})"
            sources[c][a] = round(sources[c].get(a, 0.0) + w, 6)
    check_mirrored(sources)
    write("metahuman-expressions", {
        "name": "metahuman-expressions",
        "description": "MetaHuman CTRL_expressions_* animation curves (what the face board drives), from "
                       "ARKit curves through Epic's mh_arkit_mapping_pose weights (MouthClose -> lipsTogether), "
                       "plus the curves a MetaHuman's solver moves for speech and emotion (derived: cheek raise, "
                       "sticky lips, lip rolls, push/pull, jaw clench, ...; see tools/build_rigs.py SOLVER).",
        "curves": [{"name": "CTRL_expressions_" + c, "from": sources[c], "range": [0.0, 1.0],
                    **({} if c in basis or not sources[c] else {"derived": True})} for c in expr_names],
    })
    for ctl in board:
        ctl["positive"] = ["CTRL_expressions_" + c for c in ctl["positive"]]
        ctl["negative"] = ["CTRL_expressions_" + c for c in ctl["negative"]]
    write("metahuman", {
        "name": "metahuman",
        "description": "MetaHuman face board: the 174 control channels EmoFace writes (its order), driven "
                       "through the CTRL_expressions curves.",
        "kind": "board",
        "expressions": "metahuman-expressions",
        "controls": board,
    })


def write(name: str, data: dict) -> None:
    path = ROOT / "rigs" / f"{name}.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    build(ap.parse_args().reference)
