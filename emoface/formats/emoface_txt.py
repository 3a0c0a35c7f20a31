"""EmoFace's text format: 174 MetaHuman face-board values per line (its channel order), no header.

Their Maya/Unreal tools read it; frame rate is implicit (EmoFace uses 60 fps).
"""

from __future__ import annotations

import warnings

import numpy as np

from emoface.animation import Animation
from emoface.formats import decimals
from emoface.rigs import load_rig

NAME, SUFFIX, RIG = "emoface-txt", ".txt", "metahuman"
BLOCK = 1000  # frames formatted at a time


def write(anim: Animation, path) -> None:
    with open(path, "w", newline="\n") as f:
        for start in range(0, anim.n_frames, BLOCK):  # values as f"{v:.6f}", formatted a block at a time
            f.write(decimals.fixed_rows(anim.values[start:start + BLOCK]))


def read(path, fps: float = 60.0) -> Animation:
    rig = load_rig(RIG)
    with warnings.catch_warnings():  # an empty file: numpy warns, then formats.read says "has no frames"
        warnings.simplefilter("ignore", UserWarning)
        values = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
    if values.size == 0:
        values = np.zeros((0, len(rig.names)), np.float32)
    if values.shape[1] != len(rig.names):
        raise ValueError(f"{path}: {values.shape[1]} columns, expected {len(rig.names)}")
    return Animation(rig.names, fps, values, RIG, {"source": str(path)})
