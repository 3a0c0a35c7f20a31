#!/usr/bin/env python3
"""Build the capture basis (what the face landmarker reports for each ARKit shape of a head).

    .venv/bin/python tools/build_capture_basis.py   # ICT FaceKit + GRID s1 -> checkpoints/capture-basis-ict.npz
    .venv/bin/python tools/build_capture_basis.py --head my_head.npz -o my_basis.npz [--no-rounding]

The shipped basis's pucker is learnt from GRID s1's training clips (emoface.capture.rounding): every
ROUNDING_EVERY-th of them, up to ROUNDING_CLIPS, tracked as a capture is and force-aligned to its transcript
(about 5 minutes on one core); the held-out clips are never seen.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoface.capture.basis import build_basis  # noqa: E402
from emoface.capture.solve import MIN_VISIBLE, NOT_SOLVED, SOLVED  # noqa: E402
from emoface.render.mesh import load_mesh  # noqa: E402

ICT = ROOT.parent / "shared" / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"
SHARED = ROOT.parent / "shared"
ROUNDING_EVERY, ROUNDING_CLIPS = 6, 150


def rounding_takes(shared: Path):
    """(takes for emoface.capture.rounding, the teacher's mean pucker on rounded less spread phones) from GRID
    s1's training clips: each tracked, and its transcript aligned by the phonetic engine, whose curves are the
    teacher's."""
    import numpy as np

    from emoface.animator import Animator
    from emoface.audio import load_track
    from emoface.capture.rounding import ROUNDED, SPREAD, phone_mask
    from emoface.capture.take import track
    from emoface.features import FRAME_RATE
    from emoface.train.data import grid_items

    teacher = Animator(engine="phonetic", fps=FRAME_RATE, blinks=False, gaze=False, head=False, accents=False,
                       smooth=True)
    takes, differences = [], []
    for clip, video, text in list(grid_items(shared, held_out=False))[::ROUNDING_EVERY][:ROUNDING_CLIPS]:
        anim = teacher.animate_canonical(load_track(video), None, text)
        if anim.metadata.get("phoneme_source") != "aligned":
            continue
        phones = anim.metadata["phonemes"]
        rounded, spread = (phone_mask(phones, anim.n_frames, FRAME_RATE, names) for names in (ROUNDED, SPREAD))
        if rounded.any() and spread.any():
            differences.append(float(anim["MouthPucker"][rounded].mean() - anim["MouthPucker"][spread].mean()))
        fps, found = track(video)
        takes.append((found, fps, phones))
        print(f"{len(takes)} {clip}", end="\r", flush=True)
    return takes, float(np.mean(differences))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--head", type=Path, default=ICT)
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "checkpoints" / "capture-basis-ict.npz")
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--no-rounding", action="store_true", help="keep the head's own pucker (no GRID s1 needed)")
    args = ap.parse_args()
    import numpy as np

    basis = build_basis(load_mesh(args.head, paint=False))  # the bare head, as the shipped basis was measured
    if not args.no_rounding:
        from emoface.capture.rounding import rounding_motion, with_learnt_pucker

        takes, teacher = rounding_takes(args.shared)
        motion, used = rounding_motion(takes, basis)
        basis = with_learnt_pucker(basis, motion, teacher)
        print(f"pucker learnt from {used} GRID s1 clips; the teacher's pucker on rounded less spread phones {teacher:.3f}")
    basis.save(args.output)
    size = np.linalg.norm(basis.deltas[:, SOLVED, :2].reshape(len(basis.names), -1), axis=1)
    size /= size.max()
    seen = [n for n, v in zip(basis.names, size) if v >= MIN_VISIBLE and not n.startswith(NOT_SOLVED)]
    unseen = [n for n, v in zip(basis.names, size) if v < MIN_VISIBLE and not n.startswith(NOT_SOLVED)]
    print(f"{args.output}: {len(basis.names)} shapes; solved {len(seen)}; too faint to solve: {', '.join(unseen)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
