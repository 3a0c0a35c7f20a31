"""JSON: self-describing (fps, rig, names, frames, metadata); what the engine importers read."""

from __future__ import annotations

import json

import numpy as np

from emoface.animation import Animation

NAME, SUFFIX, RIG = "json", ".json", None
SCHEMA = "emoface.animation/1"
BLOCK = 1000  # frames per json.dumps call: fast, and a 30-minute take never sits in memory as Python floats


def write(anim: Animation, path) -> None:
    """Streamed a block of frames at a time (the same bytes as one json.dump): a 30-minute take as one Python
    list of float objects would take ~250 MB. Strict JSON: a NaN anywhere is an error, never a file no parser
    reads."""
    head = {
        "schema": SCHEMA,
        "fps": anim.fps,
        "rig": anim.rig,
        "frame_count": anim.n_frames,
        "names": list(anim.names),
        "metadata": anim.metadata,
    }
    with open(path, "w") as f:
        f.write(json.dumps(head, separators=(",", ":"), allow_nan=False)[:-1] + ',"frames":[')
        for start in range(0, anim.n_frames, BLOCK):  # a block of frames per dumps: its loop runs in C
            rows = _rounded(anim.values[start:start + BLOCK])
            f.write(("," if start else "") + json.dumps(rows, separators=(",", ":"), allow_nan=False)[1:-1])
        f.write("]}\n")


def _rounded(block: np.ndarray) -> list:
    """round(v, 6) of every value (Animation holds float32), as Python floats: numpy gives Python's exact
    answer, since v x 1e6 is exact in float64 (24 + 20 bits), rint breaks ties to even as round does, and the
    division is correctly rounded, so both land on the double nearest the 6-decimal value."""
    return np.round(block.astype(np.float64), 6).tolist()


def read(path) -> Animation:
    with open(path) as f:
        doc = json.load(f)
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not an emoface animation (schema {doc.get('schema')!r})")
    values = np.array(doc["frames"], np.float32).reshape(len(doc["frames"]), len(doc["names"]))
    return Animation(doc["names"], doc["fps"], values, doc["rig"], doc.get("metadata", {}))
