"""OSC datagrams for live curves: the VMC protocol for avatar apps, and emoface's own addresses.

VMC (../shared/reference/osc_vmc.md): `/VMC/Ext/Blend/Val` (name, value) per blend shape, then
`/VMC/Ext/Blend/Apply`, in bundles of at most 1500 bytes (split as needed; Apply goes in the last).

emoface's addresses (docs/LIVE.md), every curve of a frame in one message:
  /emoface/frame    int frame, float audio time (s), float x N   values in /emoface/names order
  /emoface/names    int offset, int total, string rig, string x k   the curve names, in parts
  /emoface/emotion  string summary, float x 7                     weights in EMOTIONS order
  /emoface/state    string "speaking" | "idle"
"""

from __future__ import annotations

import struct
from functools import lru_cache

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

MAX_DATAGRAM = 1500
VMC_VAL, VMC_APPLY, VMC_TIME = "/VMC/Ext/Blend/Val", "/VMC/Ext/Blend/Apply", "/VMC/Ext/T"
# OSC 1.0 bundle: "#bundle\0", a 64-bit time tag (1 = immediately), then (int32 size, element) pairs.
# Assembled here rather than with python-osc's builder, which re-parses every message (~1 ms a frame).
_BUNDLE_START = b"#bundle\x00" + struct.pack(">Q", 1)


def message(address: str, *args) -> OscMessage:
    builder = OscMessageBuilder(address)
    for a in args:
        builder.add_arg(a if isinstance(a, (str, int)) else float(a))
    return builder.build()


@lru_cache(maxsize=4096)
def _val_prefix(name: str) -> bytes:
    """/VMC/Ext/Blend/Val (name, value) up to the value: its last four bytes are the float."""
    return message(VMC_VAL, name, 0.0).dgram[:-4]


def pack_bundles(messages: list[bytes], limit: int = MAX_DATAGRAM) -> list[bytes]:
    """Bundles of at most `limit` bytes holding the encoded messages in order."""
    bundles, part, size = [], [], len(_BUNDLE_START)
    for m in messages:
        need = 4 + len(m)
        if len(_BUNDLE_START) + need > limit:
            raise ValueError(f"an OSC message of {len(m)} bytes does not fit a {limit}-byte bundle")
        if size + need > limit:
            bundles.append(_BUNDLE_START + b"".join(part))
            part, size = [], len(_BUNDLE_START)
        part.append(struct.pack(">i", len(m)) + m)
        size += need
    if part:
        bundles.append(_BUNDLE_START + b"".join(part))
    return bundles


def vmc_bundles(names, values, time_s: float | None = None) -> list[bytes]:
    """One frame of blend shapes as VMC bundles; the receiver applies them on the last one's Apply."""
    msgs = [message(VMC_TIME, float(time_s)).dgram] if time_s is not None else []
    msgs += [_val_prefix(name) + struct.pack(">f", v) for name, v in zip(names, values)]
    msgs.append(message(VMC_APPLY).dgram)
    return pack_bundles(msgs)


def frame_message(frame: int, time_s: float, values) -> bytes:
    return message("/emoface/frame", int(frame), float(time_s), *[float(v) for v in values]).dgram


def names_messages(rig: str, names) -> list[bytes]:
    """The names in as many /emoface/names messages as keep each under one datagram."""
    return list(_names_messages(rig, tuple(names)))


@lru_cache(maxsize=64)
def _names_messages(rig: str, names: tuple[str, ...]) -> tuple[bytes, ...]:
    """Made once per rig: the sinks send them every second, and building them (10-13 ms for the MetaHuman rigs)
    had been the OSC stream's jitter (p99 11-16 ms against 4 ms for Live Link's 61 names)."""
    out, start = [], 0
    names = list(names)
    while start < len(names) or not out:
        stop = start
        while stop < len(names) and message("/emoface/names", start, len(names), rig,
                                            *names[start:stop + 1]).size <= MAX_DATAGRAM:
            stop += 1
        out.append(message("/emoface/names", start, len(names), rig, *names[start:stop]).dgram)
        start = stop
    return tuple(out)


def emotion_message(summary: str, weights) -> bytes:
    return message("/emoface/emotion", summary, *[float(w) for w in weights]).dgram


def state_message(state: str) -> bytes:
    return message("/emoface/state", state).dgram
