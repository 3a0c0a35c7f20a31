#!/usr/bin/env python3
"""Build the capture basis (what the face landmarker reports for each ARKit shape of a head) and its card.

    .venv/bin/python tools/build_capture_basis.py   # ICT FaceKit -> checkpoints/capture-basis-ict.npz
    .venv/bin/python tools/build_capture_basis.py --head my_head.npz -o my_basis.npz
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--head", type=Path, default=ICT)
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "checkpoints" / "capture-basis-ict.npz")
    args = ap.parse_args()
    import numpy as np

    basis = build_basis(load_mesh(args.head, paint=False))  # the bare head, as the shipped basis was measured
    basis.save(args.output)
    size = np.linalg.norm(basis.deltas[:, SOLVED, :2].reshape(len(basis.names), -1), axis=1)
    size /= size.max()
    seen = [n for n, v in zip(basis.names, size) if v >= MIN_VISIBLE and not n.startswith(NOT_SOLVED)]
    unseen = [n for n, v in zip(basis.names, size) if v < MIN_VISIBLE and not n.startswith(NOT_SOLVED)]
    print(f"{args.output}: {len(basis.names)} shapes; solved {len(seen)}; too faint to solve: {', '.join(unseen)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
