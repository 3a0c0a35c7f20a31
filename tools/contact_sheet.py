#!/usr/bin/env python3
"""Contact sheets of the heads people see: rest, each ARKit shape at 1.0, the seven emotions (the shipped
network on a held breath), and frames of a spoken line at a p/b/m, an open vowel, a rounded vowel, F/V and TH.
To judge a face by eye, not only by numbers.

    .venv/bin/python tools/contact_sheet.py [-o /tmp/sheets] [--size 160] [--shared ../shared]
        -> default.png, and ict_facekit.png when ../shared has the ICT FaceKit head

`--small docs/faces.png` also writes a one-row sample (rest, a few shapes, emotions, speech) for the README.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

LINE = "Bob's father saw two fish with three thin fins."
SPOKEN = (("p/b/m", ("B", "P", "M")), ("open vowel", ("AA",)), ("rounded vowel", ("UW",)), ("F/V", ("F", "V")),
          ("TH", ("TH", "DH")))
SMALL = ("rest", "JawOpen", "MouthFunnel", "MouthPucker", "MouthSmileLeft", "BrowInnerUp", "happy", "sad", "angry",
         "surprise", "p/b/m", "open vowel", "rounded vowel", "F/V")


def frames(tmp: Path) -> list[tuple[str, np.ndarray]]:
    """(label, canonical curve values) for every tile, in sheet order."""
    import soundfile as sf

    from emoface.animator import Animator
    from emoface.audio import load_audio
    from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion
    from emoface.rigs import canonical_names

    names = canonical_names()
    shapes = [n for n in names if not n.startswith(("Head", "LeftEye", "RightEye"))]
    out = [("rest", np.zeros(len(names), np.float32))]
    for shape in shapes:
        values = np.zeros(len(names), np.float32)
        values[names.index(shape)] = 1.0
        if shape == "MouthClose":  # it closes the lips against an open jaw (Apple's reference shows the pair)
            values[names.index("JawOpen")] = 1.0
            shape = "MouthClose+JawOpen"
        out.append((shape, values))
    quiet = Animator(fps=30.0, blinks=False, gaze=False, head=False, accents=False)
    sf.write(tmp / "breath.wav", np.zeros(16000, np.float32), 16000)
    for emotion in EMOTIONS:
        anim = quiet.animate_canonical(load_audio(tmp / "breath.wav"), EmotionTrack.constant(parse_emotion(emotion)))
        out.append((emotion, anim.values[anim.n_frames // 2]))
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(tmp / "line.wav"), LINE], check=True)
    spoken = Animator(fps=100.0, blinks=False, gaze=False, head=False).animate_canonical(
        load_audio(tmp / "line.wav"), text=LINE)
    phones = spoken.metadata["phonemes"]
    for label, wanted in SPOKEN:
        hit = next(((s, e) for n, s, e in phones if n in wanted), None)
        if hit:
            out.append((f"{label} ({next(n for n, s, e in phones if n in wanted)})",
                        spoken.values[int((hit[0] + hit[1]) / 2 * spoken.fps)]))
    return out


def sheet(mesh, tiles: list[tuple[str, np.ndarray]], size: int, columns: int = 10):
    """One PNG-ready image: each tile rendered and labelled."""
    from PIL import Image, ImageDraw

    from emoface.animation import Animation
    from emoface.render import drive
    from emoface.render.renderer import FaceRenderer
    from emoface.rigs import CANONICAL_RIG, canonical_names

    values = np.stack([v for _, v in tiles])
    motion = drive.mesh_motion(Animation(canonical_names(), 30.0, values, CANONICAL_RIG), mesh.shape_names)
    label_h = 14
    rows = (len(tiles) + columns - 1) // columns
    page = Image.new("RGB", (columns * size, rows * (size + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    with FaceRenderer(mesh, 3 * size) as renderer:
        box = _face_box(mesh, renderer)
        for k, (label, _) in enumerate(tiles):
            eyes = {side: tuple(motion.eyes[k, side]) for side in (0, 1)}
            image = renderer.render(motion.weights[k], head=tuple(motion.head[k]), eyes=eyes)
            x, y = (k % columns) * size, (k // columns) * (size + label_h)
            page.paste(Image.fromarray(image).crop(box).resize((size, size), Image.LANCZOS), (x, y))
            draw.text((x + 3, y + size + 1), label[:24], fill=(0, 0, 0))
    return page


def _face_box(mesh, renderer) -> tuple[int, int, int, int]:
    """A square around what the shapes move (the face, not the bust), with a margin, in the render's pixels."""
    reach = np.abs(mesh.deltas).max(axis=1).toarray().reshape(-1, 3).max(axis=1)
    moved = reach > 0.15 * np.percentile(reach[reach > 0], 99)  # not the faint tails some shapes have
    pixels = renderer.project(mesh.neutral[moved])
    lo, hi = np.percentile(pixels, 1, axis=0), np.percentile(pixels, 99, axis=0)
    centre, half = (lo + hi) / 2, 0.62 * float((hi - lo).max())
    left, top = np.clip(centre - half, 0, renderer.size - 2 * half).astype(int)
    side = int(2 * half)
    return int(left), int(top), int(left) + side, int(top) + side


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=Path("/tmp/sheets"))
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--small", type=Path, help="also write a one-row sample here (README image)")
    args = ap.parse_args()
    from emoface.render.default_head import default_head
    from emoface.render.mesh import load_mesh

    heads = {"default": default_head()}
    ict = args.shared / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"
    if ict.is_file():
        heads["ict_facekit"] = load_mesh(ict)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tiles = frames(Path(tmp))
    for name, mesh in heads.items():
        path = args.out / f"{name}.png"
        sheet(mesh, tiles, args.size).save(path)
        print(f"wrote {path} ({len(tiles)} tiles)")
    if args.small:
        chosen = [(t[0].split(" (")[0], t[1]) for t in tiles if t[0].split(" (")[0] in SMALL]
        sheet(heads["default"], chosen, 112, columns=len(chosen)).save(args.small)
        print(f"wrote {args.small}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
