"""Live Link Face UDP packets (ARKit mode, protocol version 6), byte for byte as Unreal's receiver reads them.

See ../shared/reference/livelink_face.md: big-endian throughout; strings are an int32 length then UTF-8
bytes; frame time is (frame number int32, sub-frame float32, rate numerator int32, denominator int32);
then the count (61) and the 61 values in Live Link order (head and eye rotations as degrees / 180).
"""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np

from emoface.rigs import canonical_names

VERSION = 6
N_VALUES = 61
DEFAULT_PORT = 11111
MAX_STRING = 256  # the receive buffer is about 1.3 KB: keep names short


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > MAX_STRING:
        raise ValueError(f"Live Link string {text[:20]!r}... is longer than {MAX_STRING} bytes")
    return struct.pack(">i", len(data)) + data


def frame_rate(fps: float) -> tuple[int, int]:
    """fps as the (numerator, denominator) Live Link carries: 60 -> 60/1, 59.94 -> 60000/1001 (NTSC)."""
    ntsc = round(fps * 1.001)
    if abs(fps - round(fps)) > 1e-6 and abs(fps - ntsc / 1.001) < 5e-3:
        return ntsc * 1000, 1001
    f = Fraction(fps).limit_denominator(1000)
    return f.numerator, f.denominator


def packet(values: np.ndarray, subject: str = "emoface", device_id: str = "", frame: int = 0,
           sub_frame: float = 0.0, fps: float = 60.0) -> bytes:
    """One frame: values are the 61 Live Link curves in canonical order (canonical_names())."""
    values = np.asarray(values, np.float32).reshape(-1)
    if len(values) != N_VALUES:
        raise ValueError(f"a Live Link Face packet holds {N_VALUES} values, not {len(values)}")
    num, den = frame_rate(fps)
    return b"".join([
        struct.pack(">B", VERSION), _string(device_id), _string(subject),
        struct.pack(">ifii", int(frame), float(sub_frame), num, den),
        struct.pack(">B", N_VALUES), values.astype(">f4").tobytes(),
    ])


NAMES = canonical_names()  # the canonical rig is the Live Link order; packet() relies on it
assert len(NAMES) == N_VALUES
