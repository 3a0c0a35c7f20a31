#!/usr/bin/env python3
"""How `emoface capture` holds up under a webcam's or a phone's conditions rather than a studio's.

    .venv/bin/python tools/evaluate_capture_conditions.py [--shared ../shared] [--clips 20] [-o table.md]

Held-out GRID s1 clips (a real face, 200 x 256 at 25 fps, the face about 130 px wide) are re-encoded by ffmpeg
under each condition below and captured; each capture is compared with the clip's capture as recorded (per-curve
r over the clips' frames end to end, the capture at 25 fps; the curves his captures move), and every capture is checked against the clip's
transcript, force-aligned to its audio: the share of p/b/m whose lips shut (lip gap under 0.05 at the phone or a
frame beside it) and of open vowels whose lips part. "face found" is the share of frames the landmarker found a
face in. A condition's capture falls short of the clean one where the picture, not the face, decides.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name -> ffmpeg video filter (None: the clip as recorded) and output options
CONDITIONS = {
    "as recorded": (None, []),
    "small face (half size, 65 px)": ("scale=100:128", []),
    "far in a wide room (640 x 360, face 65 px, off centre)":
        ("scale=100:128,pad=640:360:420:150:color=0x6e6a64", []),
    "a phone's 1080p across the room (face 130 px)": ("pad=1920:1080:1100:500:color=0x6e6a64", []),
    "dim room (a third of the light, sensor noise)": ("eq=brightness=-0.18:contrast=0.55,noise=alls=14:allf=t", []),
    "backlit (bright window behind, face dark)": ("curves=all='0/0 0.5/0.25 1/0.6',eq=saturation=0.7", []),
    "heavy compression (a video call)": (None, ["-crf", "40"]),
    "15 fps": ("fps=15", []),
}
# the curves GRID s1's captures move (his funnel and smile barely do: their r would be noise)
CURVES = ("JawOpen", "LipOpening", "MouthPucker", "MouthStretchLeft", "MouthLowerDownLeft", "EyeBlinkLeft",
          "BrowInnerUp")
OPEN_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "OW", "OY"}
OPEN_GAP = 0.1


def degrade(video: Path, condition: str, out: Path) -> Path:
    """The clip under a condition, as an MP4 (audio copied)."""
    flt, extra = CONDITIONS[condition]
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(video), "-c:a", "copy"]
    cmd += (["-vf", flt] if flt else []) + ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    cmd += extra if "-crf" in extra else ["-crf", "18", *extra]
    subprocess.run(cmd + [str(out)], check=True)
    return out


def curves_of(anim) -> dict[str, np.ndarray]:
    from emoface.rigs import CANONICAL_RIG, retarget

    canon = retarget(anim.resampled(25.0), CANONICAL_RIG)
    out = {n: canon[n] for n in CURVES if n in canon.names}
    out["LipOpening"] = canon["JawOpen"] - canon["MouthClose"]
    return out


def lips_on_phones(anim, phones) -> tuple[list[bool], list[bool]]:
    """(shut at each p/b/m, parted at each open vowel), a frame of slack either side."""
    from emoface.metrics import lip_gap

    gap = lip_gap(anim)
    shut, parted = [], []
    for name, start, end in phones:
        i0 = int(start * anim.fps)
        i1 = max(i0 + 1, int(np.ceil(end * anim.fps)))
        near = gap[max(i0 - 1, 0):i1 + 1]
        if name in ("P", "B", "M"):
            shut.append(bool(near.min() < 0.05))
        elif name in OPEN_VOWELS:
            parted.append(bool(near.max() > OPEN_GAP))
    return shut, parted


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    from emoface.audio import load_track
    from emoface.capture.take import capture
    from emoface.phonetic.recognize import align
    from emoface.train.data import grid_items

    clips = list(grid_items(args.shared, held_out=True))[:args.clips]
    clean: list[dict] = []
    got = {c: {"curves": [], "shut": [], "parted": [], "found": [], "failed": 0} for c in CONDITIONS}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for k, (clip, video, text) in enumerate(clips):
            phones = [(p.name, p.start, p.end) for p in align(load_track(video).samples, text)]
            for condition in CONDITIONS:
                path = video if condition == "as recorded" else degrade(video, condition, Path(tmp) / f"{clip}-{k}.mp4")
                try:
                    anim = capture(path)
                except Exception as exc:  # noqa: BLE001 - a condition that defeats capture is a result
                    print(f"{clip} {condition}: {exc}", flush=True)
                    got[condition]["failed"] += 1
                    continue
                curves = curves_of(anim)
                if condition == "as recorded":
                    clean.append(curves)
                got[condition]["curves"].append((len(clean) - 1, curves))
                shut, parted = lips_on_phones(anim, phones)
                got[condition]["shut"] += shut
                got[condition]["parted"] += parted
                got[condition]["found"].append(anim.metadata["capture"]["face_found"])
            print(f"{k + 1}/{len(clips)} clips, {time.time() - started:.0f} s", flush=True)
    lines = [f"Command: `python tools/evaluate_capture_conditions.py --clips {args.clips}` "
             f"({time.strftime('%Y-%m-%d')}, {time.time() - started:.0f} s); {len(clips)} held-out GRID s1 clips.", "",
             "| condition | face found | " + " | ".join(f"{c} r" for c in CURVES) +
             " | p/b/m shut | open vowels parted |", "|---" * (len(CURVES) + 4) + "|"]
    for condition, g in got.items():
        rs = []
        for name in CURVES:
            a = np.concatenate([clean[i][name][:len(c[name])] for i, c in g["curves"]]) if g["curves"] else []
            b = np.concatenate([c[name][:len(clean[i][name])] for i, c in g["curves"]]) if g["curves"] else []
            rs.append(float(np.corrcoef(a, b)[0, 1]) if len(a) and np.std(a) > 1e-6 and np.std(b) > 1e-6 else
                      float("nan"))
        found = f"{np.mean(g['found']):.1%}" + (f" ({g['failed']} clips refused)" if g["failed"] else "")
        lines.append(f"| {condition} | {found} | " + " | ".join(f"{r:.2f}" for r in rs) +
                     f" | {np.mean(g['shut']):.0%} of {len(g['shut'])} | {np.mean(g['parted']):.0%} of "
                     f"{len(g['parted'])} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
