#!/usr/bin/env python3
"""Measure `emoface train --capture` on one real actor; writes docs/FINETUNE.md.

    .venv/bin/python tools/evaluate_finetune.py [--shared ../shared] [--from CKPT] [--takes 100] [--minutes 10]

The actor: GRID s1's speaker. Takes: the first --takes of his training clips (by name), captured with
`emoface capture` as a user would (video in, curves and wav out); `emoface train --capture` holds the last fifth
out and scores the network on them before and after (JawOpen r, mean mouth-curve r, mouth L1 against the
captured curves). --from defaults to a checkpoint that never saw GRID (the one before GRID joined the recipe,
from git history), so the gain is the actor's, not a replay.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BEFORE_GRID = "dc0d30d"  # the last commit whose checkpoint was trained without GRID


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--from", dest="source", type=Path)
    ap.add_argument("--takes", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "FINETUNE.md")
    args = ap.parse_args()
    from emoface.train.data import grid_items

    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = args.source
        if source is None:
            source = tmp / "before_grid.pt"
            source.write_bytes(subprocess.run(["git", "show", f"{BEFORE_GRID}:checkpoints/emoface-default.pt"],
                                              cwd=ROOT, capture_output=True, check=True).stdout)
        videos = [str(v) for _, v, _ in list(grid_items(args.shared, held_out=False))[:args.takes]]
        emoface = [sys.executable, "-m", "emoface.cli"]
        subprocess.run([*emoface, "capture", *videos, "-o", str(tmp / "takes"), "-q"], check=True)
        captured = time.time() - start
        out = subprocess.run([*emoface, "train", "--capture", str(tmp / "takes"), "--from", str(source), "-o",
                              str(tmp / "actor.pt"), "--minutes", str(args.minutes), "-q"],
                             check=True, capture_output=True, text=True).stdout
        report = json.loads(out)
    b, a = report["before"], report["after"]
    args.output.write_text(f"""# Fine-tuning on one actor: `emoface train --capture`

Command: `python tools/evaluate_finetune.py --takes {args.takes} --minutes {args.minutes:g}`
({time.strftime('%Y-%m-%d')}, 2 CPU cores). Method: the tool's docstring.

The actor is GRID s1's speaker: {args.takes} of his clips ({args.takes * 3 / 60:g} minutes of video) captured by
`emoface capture` in {captured / 60:.1f} min; {report['train_takes']} takes trained on for {report['minutes']} min,
{report['held_out_takes']} held out. Start: {'a checkpoint that never saw GRID' if args.source is None else source}.

| held-out takes | JawOpen r | mouth curves r (mean) | mouth L1 |
|---|---|---|---|
| before | {b['jaw_r']:.3f} | {b['mouth_r']:.3f} | {b['mouth_l1']:.4f} |
| after | {a['jaw_r']:.3f} | {a['mouth_r']:.3f} | {a['mouth_l1']:.4f} |

Mouth curves: JawOpen, MouthClose, MouthFunnel, MouthPucker, MouthSmileLeft, MouthStretchLeft,
MouthLowerDownLeft, MouthUpperUpLeft (those that move in the reference). Fit on the training takes (mouth L1):
{report['train_fit_l1'][0]:.4f} -> {report['train_fit_l1'][1]:.4f}; loss {report['loss'][0]} -> {report['loss'][1]}.
""")
    print(json.dumps(report, indent=1))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
