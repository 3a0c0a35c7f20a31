#!/usr/bin/env python3
"""How strongly a network shows each emotion while it speaks, and what the emotion costs the mouth.

    .venv/bin/python tools/evaluate_emotion_expression.py [--checkpoint X.pt] [--clips N] [-o table.md]

The held-out speech-en speakers of `emoface eval`, each line animated by the network in every emotion at intensity 1
(no transcript; blinks, gaze, head and accents off). Beside it, its teacher: the clip's silver labels with the
emotion layer laid over them (emoface.emotion.layer), as training makes them. Per emotion, over speech frames:
the mean of the curves that carry that emotion's expression, network / teacher (a network that shows less
than it was taught reads fainter than the layer says); and the mouth under the emotion: JawOpen r against the
teacher's jaw, and the lips shut at p/b/m. A person judges an expression by eye as well: tools/emotion_sheet.py
draws the blind sheet for that.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the curves a person reads each emotion by (one side where the rig has two)
KEY_CURVES = {
    "angry": ("BrowDownLeft", "EyeSquintLeft", "MouthPressLeft"),
    "disgust": ("NoseSneerLeft", "MouthUpperUpLeft", "MouthFrownLeft"),
    "fear": ("BrowInnerUp", "EyeWideLeft", "MouthStretchLeft"),
    "happy": ("MouthSmileLeft", "CheekSquintLeft", "EyeSquintLeft"),
    "sad": ("BrowInnerUp", "BrowDownLeft", "MouthFrownLeft"),
    "surprise": ("BrowInnerUp", "BrowOuterUpLeft", "EyeWideLeft"),
}


def main() -> int:
    from emoface.animation import Animation
    from emoface.animator import Animator
    from emoface.emotion import layer
    from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion
    from emoface.evaluate import references
    from emoface.features import FRAME_RATE
    from emoface.metrics import CLOSED_GAP, bilabial_closures, pearson
    from emoface.prosody import analyse
    from emoface.rigs import CANONICAL_RIG, canonical_names

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--cache", type=Path, default=ROOT / "data_cache")
    ap.add_argument("--checkpoint", default=None, help="a network other than the shipped default")
    ap.add_argument("--clips", type=int, default=40, help="the first N held-out speech-en clips")
    ap.add_argument("-o", "--out", type=Path)
    args = ap.parse_args()
    started = time.time()
    names = canonical_names()
    net = Animator(engine="neural", checkpoint=args.checkpoint, fps=FRAME_RATE, blinks=False, gaze=False,
                   head=False, accents=False)
    shown = {e: {c: [[], []] for c in KEY_CURVES.get(e, ())} for e in EMOTIONS}
    jaw_r = {e: [] for e in EMOTIONS}
    shut = {e: [] for e in EMOTIONS}
    clips = 0
    for group, audio, ref, phones in references(args.shared, args.cache):
        if not group.startswith("speech-en") or clips >= args.clips:
            break
        clips += 1
        n = len(ref.labels)
        prosody = analyse(audio.samples, n, FRAME_RATE)
        speech = prosody.speech
        silver = Animation(names, FRAME_RATE, np.asarray(ref.labels, np.float32), CANONICAL_RIG)
        for emotion in EMOTIONS:
            track = EmotionTrack.constant(parse_emotion(emotion))
            teacher = layer.apply(silver, track.weights(n, FRAME_RATE), prosody)
            pred = net.animate_canonical(audio, track)
            m = min(n, pred.n_frames)
            for curve, (got, taught) in shown[emotion].items():
                got.append(float(pred[curve][:m][speech[:m]].mean()))
                taught.append(float(teacher[curve][:m][speech[:m]].mean()))
            jaw_r[emotion].append(pearson(pred["JawOpen"][:m], teacher["JawOpen"][:m]))
            shut[emotion] += list(bilabial_closures(pred, phones) < CLOSED_GAP)
    if not clips:
        print(f"{args.shared}: no held-out speech-en clips found", file=sys.stderr)
        return 1
    label = args.checkpoint or "the shipped default network"
    which = f" --checkpoint {args.checkpoint}" if args.checkpoint else ""
    lines = [f"Command: `python tools/evaluate_emotion_expression.py{which} --clips {args.clips}` "
             f"({time.strftime('%Y-%m-%d')}, {time.time() - started:.0f} s): {label}, "
             f"{clips} held-out speech-en clips, every emotion at intensity 1.", "",
             "| emotion | its curves while speaking: network / teacher | JawOpen r (teacher's jaw) | p/b/m shut |",
             "|---|---|---|---|"]
    for emotion in EMOTIONS:
        curves = ", ".join(f"{c} {np.mean(g):.2f} / {np.mean(t):.2f}" for c, (g, t) in shown[emotion].items()) or "-"
        lines.append(f"| {emotion} | {curves} | {np.mean(jaw_r[emotion]):.3f} | "
                     f"{100 * np.mean(shut[emotion]):.1f}% of {len(shut[emotion])} |")
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
