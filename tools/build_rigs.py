#!/usr/bin/env python3
"""Regenerate rigs/*.json from ../shared/reference (run by a developer; the JSON files are committed).

    python tools/build_rigs.py [--reference ../shared/reference]

The MetaHuman face-board -> CTRL_expressions table below is ours: each board control drives the curve(s)
named after it; a control whose range spans -1..1 drives one curve when positive and its opposite when
negative ("positive" is the direction of the range's max, so mirrored right-side controls stay correct).
"""

from __future__ import annotations

import argparse
import csv
import json
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

    mapping = json.loads((reference / "arkit_to_metahuman_expressions.json").read_text())
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
    write("metahuman-expressions", {
        "name": "metahuman-expressions",
        "description": "MetaHuman CTRL_expressions_* animation curves (what the face board drives), from "
                       "ARKit curves through Epic's mh_arkit_mapping_pose weights; MouthClose -> lipsTogether.",
        "curves": [{"name": "CTRL_expressions_" + c, "from": sources[c], "range": [0.0, 1.0]} for c in expr_names],
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
