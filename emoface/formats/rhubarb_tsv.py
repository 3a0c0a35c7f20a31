"""Rhubarb Lip Sync's TSV, its default export: a line per mouth cue, `start<TAB>shape`, times in seconds with
two decimals, the first at 0.00; the last line is the recording's end (truncated to 0.01 s) with the idle X.
For sprite-based games and every tool that already imports Rhubarb (After Effects, Spine, Moho, Godot plugins).
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation
from emoface.mouth_shapes import CUE_RATE, SHAPES, mouth_cues

NAME, SUFFIX, RIG = "rhubarb", ".tsv", "livelink"  # takes the canonical curves
CARRIES = "rhubarb"


def write(anim: Animation, path) -> None:
    cues = mouth_cues(anim)
    end = cues[-1][1] if cues else 0.0
    with open(path, "w", newline="\n") as f:
        f.writelines(f"{start:.2f}\t{shape}\n" for start, _, shape in cues)
        f.write(f"{end:.2f}\tX\n")


def read(path) -> Animation:
    """The cues as one-hot curves A..X at 100 frames/s (rig "rhubarb"), the cues in its metadata."""
    rows = []
    with open(path) as f:
        for k, line in enumerate(f, 1):
            if line.strip():
                start, _, shape = line.rstrip("\n").partition("\t")
                if shape not in SHAPES:
                    raise ValueError(f"{path}:{k}: not a Rhubarb cue ({line.strip()!r})")
                rows.append((float(start), shape))
    if not rows:
        raise ValueError(f"{path}: no cues")
    cues = [(s, e, shape) for (s, shape), (e, _) in zip(rows, rows[1:])]
    n = int(round(rows[-1][0] * CUE_RATE))
    values = np.zeros((n, len(SHAPES)), np.float32)
    for s, e, shape in cues:
        values[int(round(s * CUE_RATE)):int(round(e * CUE_RATE)), SHAPES.index(shape)] = 1.0
    return Animation(tuple(SHAPES), CUE_RATE, values, "rhubarb", {"mouthCues": cues})
