"""Rhubarb Lip Sync's JSON (metadata, mouthCues of shapes A-X, laid out as Rhubarb writes it) with OVRLipSync's
15 viseme weights per frame beside the cues under "visemes": one file for a sprite mouth and an OVR rig.
Rhubarb's readers ignore keys they do not know (its documented compatibility rule), so either reads it.
"""

from __future__ import annotations

import json

import numpy as np

from emoface.animation import Animation
from emoface.mouth_shapes import OVR_VISEMES, mouth_cues, ovr_weights

NAME, SUFFIX, RIG = "visemes", ".visemes.json", "livelink"  # takes the canonical curves
CARRIES = "visemes"


def sound_file(anim: Animation) -> str:
    return str(anim.metadata.get("source_abs") or anim.metadata.get("source") or "")


def write(anim: Animation, path) -> None:
    cues = mouth_cues(anim)
    duration = cues[-1][1] if cues else 0.0
    weights = ovr_weights(anim)
    lines = ["{", '  "metadata": {', f'    "soundFile": {json.dumps(sound_file(anim))},',
             f'    "duration": {duration:.2f}', "  },", '  "mouthCues": [']
    lines += [f'    {{ "start": {s:.2f}, "end": {e:.2f}, "value": "{v}" }}' + ("," if k < len(cues) - 1 else "")
              for k, (s, e, v) in enumerate(cues)]
    lines += ["  ],", '  "visemes": {', f'    "names": {json.dumps(list(OVR_VISEMES))},',
              f'    "fps": {json.dumps(anim.fps)},', '    "frames": [']
    lines += ["      [" + ",".join(f"{w:.4f}" for w in row) + "]" + ("," if i < len(weights) - 1 else "")
              for i, row in enumerate(weights)]
    lines += ["    ]", "  }", "}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def read(path) -> Animation:
    """The OVR weights as an Animation (one curve per viseme, rig "visemes"); the cues in its metadata."""
    with open(path) as f:
        doc = json.load(f)
    if "mouthCues" not in doc or "visemes" not in doc:
        raise ValueError(f"{path}: not an emoface visemes file (needs mouthCues and visemes)")
    v = doc["visemes"]
    values = np.array(v["frames"], np.float32).reshape(len(v["frames"]), len(v["names"]))
    cues = [(c["start"], c["end"], c["value"]) for c in doc["mouthCues"]]
    return Animation(v["names"], v.get("fps"), values, "visemes", {"mouthCues": cues, **doc.get("metadata", {})})
