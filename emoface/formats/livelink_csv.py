"""Live Link Face CSV (the app's recorded takes): Timecode,BlendshapeCount,<61 curves>, one row a frame.

Timecode is HH:MM:SS:FF.mmm: FF the frame within the second, .mmm the sub-frame in thousandths.
"""

from __future__ import annotations

import csv

import numpy as np

from emoface.animation import Animation
from emoface.formats import decimals
from emoface.rigs import load_rig

NAME, SUFFIX, RIG = "livelink-csv", ".csv", "livelink"
MAX_FPS, MAX_FPS_WHY = 99, "its timecodes' frame field has two digits; the app records at most 60"
BLOCK = 1000  # frames formatted at a time
# the app's own header lists these pairs right before left (../shared/reference/livelink_face.md); readers that go
# by position, as some take tools do, read the app's order
APP_ORDER_SWAPS = (("JawLeft", "JawRight"), ("MouthLeft", "MouthRight"))


def timecode(frame: int, fps: float) -> str:
    """Non-drop-frame timecode: at 29.97 fps the labels count 30 frames a labelled second, every frame its own label
    (wall-clock labels skipped one every 1000 frames)."""
    seconds, ff = divmod(frame, int(round(fps)))
    hh, rem = divmod(seconds, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.000"


def parse_timecode(text: str, fps: float) -> float:
    hms, _, sub = text.partition(".")
    hh, mm, ss, ff = (int(x) for x in hms.split(":"))
    return hh * 3600 + mm * 60 + ss + (ff + (float("0." + sub) if sub else 0.0)) / round(fps)


def app_order(names: list[str]) -> list[int]:
    """Column order of the app's CSV header for these curve names (indices into names)."""
    order = list(range(len(names)))
    for left, right in APP_ORDER_SWAPS:
        if left in names and right in names:
            i, j = names.index(left), names.index(right)
            order[i], order[j] = order[j], order[i]
    return order


def write(anim: Animation, path) -> None:
    order = app_order(anim.names)
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow(["Timecode", "BlendshapeCount", *[anim.names[k] for k in order]])
        for start in range(0, anim.n_frames, BLOCK):  # values as f"{v:.6f}", formatted a block at a time
            rows = decimals.fixed_rows(anim.values[start:start + BLOCK, order]).splitlines()
            f.write("".join(f"{timecode(start + i, anim.fps)},{len(anim.names)},{row}\n" for i, row in enumerate(rows)))


def read(path, fps: float | None = None) -> Animation:
    """fps: the take's rate, where its timecodes cannot say it (a take under a second; a rate not whole)."""
    with open(path, newline="", encoding="utf-8-sig") as f:  # a spreadsheet's re-save adds a byte-order mark
        rows = [_trimmed(r) for r in csv.reader(f)]
    header, body = rows[0], [r for r in rows[1:] if r]
    if [h.strip().lower() for h in header[:2]] != ["timecode", "blendshapecount"]:  # writers spell it both ways
        raise ValueError(f"{path}: not a Live Link Face CSV (header starts {header[:2]})")
    names = [h.strip() for h in header[2:]]
    for line, r in enumerate(body, 2):
        if len(r) != len(header):
            raise ValueError(f"{path}: line {line} has {len(r)} cells for the header's {len(header)}")
    try:
        values = np.array([[float(v) for v in r[2:]] for r in body], np.float32).reshape(len(body), len(names))
    except ValueError:
        line = next(k for k, r in enumerate(body, 2) if not _numbers(r[2:]))
        raise ValueError(f"{path}: line {line} has a value that is not a number") from None
    if fps is None:  # from the timecodes: a take that passes a whole second has passed FF = fps - 1 on the way
        stamps = [tuple(int(x) for x in r[0].split(".")[0].split(":")) for r in body]
        crosses = len({stamp[:3] for stamp in stamps}) > 1
        fps = float(max(stamp[3] for stamp in stamps) + 1) if crosses else 60.0  # under a second: the app's 60
    rig = load_rig(RIG)
    missing = [n for n in rig.names if n not in names]
    if missing:
        raise ValueError(f"{path}: a Live Link Face CSV has all {len(rig.names)} curves; this one lacks "
                         f"{', '.join(missing[:3])}{' and more' if len(missing) > 3 else ''}")
    order = [names.index(n) for n in rig.names]  # by name, whatever the column order
    return Animation(rig.names, fps, values[:, order], RIG, {"source": str(path)})


def _trimmed(row: list[str]) -> list[str]:
    """A row without the empty cells a trailing comma leaves."""
    while row and not row[-1].strip():
        row = row[:-1]
    return row


def _numbers(cells) -> bool:
    try:
        [float(v) for v in cells]
    except ValueError:
        return False
    return True
