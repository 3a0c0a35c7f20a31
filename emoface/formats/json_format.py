"""JSON: self-describing (fps, rig, names, frames, metadata); what the engine importers read."""

from __future__ import annotations

import json

import numpy as np

from emoface.animation import Animation
from emoface.errors import InputError
from emoface.formats import decimals

NAME, SUFFIX, RIG = "json", ".json", None
SCHEMA = "emoface.animation/1"
BLOCK = 1000  # frames formatted at a time: a 30-minute take never sits in memory as text at once


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
        for start in range(0, anim.n_frames, BLOCK):  # round(v, 6) of each value, as json.dumps writes it
            f.write(("," if start else "") + decimals.json_rows(anim.values[start:start + BLOCK]))
        f.write("]}\n")


def read(path) -> Animation:
    """The file as written; a missing or malformed field is one InputError naming it (fps and the values
    themselves are checked for every format by formats.read)."""
    from emoface.formats import show

    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        schema = doc.get("schema") if isinstance(doc, dict) else None
        raise ValueError(f"{path}: not an emoface animation (schema {schema!r})")
    for key in ("fps", "rig", "names", "frames"):
        if key not in doc:
            raise InputError(path, f"has no {key!r} field")
    names = doc["names"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InputError(path, f"names must be a list of curve names (got {show(names)})")
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InputError(path, f"metadata must be an object (got {show(metadata)})")
    values = _values(path, doc["frames"], names)
    count = doc.get("frame_count", len(values))
    # a file cut short, or rows edited without the count: which is meant? (none at all: formats.read's "has no
    # frames")
    if len(values) and count != len(values):
        raise InputError(path, f"frame_count says {show(count)} frames but it holds {len(values)}")
    return Animation(names, doc["fps"], values, doc["rig"], metadata)


def _values(path, frames, names: list) -> np.ndarray:
    """frames -> float32 [frames, names]; the one conversion in C, and a row-by-row look only when it fails."""
    from emoface.formats import show

    width = len(names)
    if not isinstance(frames, list):
        raise InputError(path, f"frames must be a list of rows, one per frame (got {show(frames)})")
    if not frames:
        return np.zeros((0, width), np.float32)  # formats.read says "has no frames"
    try:
        values = np.array(frames, np.float32)
        if values.shape == (len(frames), width):
            for i, k in np.argwhere(np.isnan(values))[:1]:  # numpy reads null as NaN
                if frames[i][k] is None:
                    raise InputError(path, f"frame {i}, curve {names[k]} is null, not a number")
            return values
    except (TypeError, ValueError):
        pass
    for i, row in enumerate(frames):
        if not isinstance(row, list):
            raise InputError(path, f"frame {i} must be a list of {width} numbers (got {show(row)})")
        if len(row) != width:
            raise InputError(path, f"frame {i} has {len(row)} values, expected {width} (one per name)")
        for k, v in enumerate(row):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise InputError(path, f"frame {i}, curve {names[k]} is {show(v)}, not a number")
    raise InputError(path, f"frames must be rows of {width} numbers")
