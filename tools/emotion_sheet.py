#!/usr/bin/env python3
"""A blind emotion-recognition sheet: can a person tell the network's emotions apart by the face alone?

    .venv/bin/python tools/emotion_sheet.py -o sheet.png [--checkpoint X.pt] [--seed N] [--size 300]

Two spoken lines (espeak-ng) animated in each of the 7 emotions at intensity 1, one frame of each caught mid-speech,
drawn on the built-in head, shuffled by the seed and numbered (14 tiles, each emotion twice). The answer key goes
beside the sheet (sheet.png.key.json). Give the sheet to judges who have not seen the key and ask them to name
each tile's emotion; count the tiles named right. Numbers a script cannot give: how a face reads to a person.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

LINES = (("I can't believe you did that to me again.", 0.45),
         ("We should leave before the storm reaches the valley.", 0.7))  # line, where in it the frame is caught


def main() -> int:
    import contact_sheet
    from emoface.animator import Animator
    from emoface.audio import load_audio
    from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion
    from emoface.render.default_head import default_head

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--checkpoint", default=None, help="a network other than the shipped default")
    ap.add_argument("--seed", type=int, default=0, help="the tiles' order")
    ap.add_argument("--size", type=int, default=300)
    args = ap.parse_args()
    animator = Animator(fps=30.0, blinks=False, gaze=False, head=False, accents=False, checkpoint=args.checkpoint)
    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (line, at) in enumerate(LINES):
            wav = Path(tmp) / f"line{k}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(wav), line], check=True)
            audio = load_audio(wav)
            for emotion in EMOTIONS:
                anim = animator.animate_canonical(audio, EmotionTrack.constant(parse_emotion(emotion)))
                tiles.append((emotion, anim.values[int(anim.n_frames * at)]))
    random.Random(args.seed).shuffle(tiles)
    sheet = contact_sheet.sheet(default_head(), [(str(k + 1), v) for k, (_, v) in enumerate(tiles)], args.size,
                                columns=len(EMOTIONS))
    sheet.save(args.out)
    Path(f"{args.out}.key.json").write_text(json.dumps({str(k + 1): e for k, (e, _) in enumerate(tiles)}))
    print(f"{args.out}: {len(tiles)} tiles; key in {args.out}.key.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
