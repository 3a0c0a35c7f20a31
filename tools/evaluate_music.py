#!/usr/bin/env python3
"""Does the face talk along to music? Writes docs/MUSIC.md.

    .venv/bin/python tools/evaluate_music.py [--shared ../shared] [--checkpoint NAME=PATH ...] [-o docs/MUSIC.md]

A game's line can carry a score or a stinger, and a headset's microphone hears the game: music without a voice
must leave the mouth at rest. For 40 held-out speech-en clips, each system hears the clip, then music alone of the
clip's length (emoface.evaluate.band: a square-wave bass, an FM arpeggio and a hi-hat, its own tune per clip,
made unlike the music training mixes in) at the clip's level and 10 dB below it. Measured: JawOpen's 95th
percentile and the share of frames with the lips apart (lip gap over 0.1), per clip, averaged. The networks
(--checkpoint, default the shipped default and live ones) beside the phonetic engine and the loudness baseline.
About 3 minutes a network on one core.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoface.animation import Animation  # noqa: E402
from emoface.animator import Animator  # noqa: E402
from emoface.audio import Audio, load_audio  # noqa: E402
from emoface.evaluate import band, loudness_baseline  # noqa: E402
from emoface.features import FRAME_RATE  # noqa: E402
from emoface.metrics import lip_gap  # noqa: E402
from emoface.rigs import CANONICAL_RIG, canonical_names  # noqa: E402
from emoface.train.data import VALID_SPEAKERS, speech_en_items  # noqa: E402

CLIPS = 40
APART = 0.1  # lip gap above which the lips are apart (as docs/CAPTURE.md's open vowels)
CONDITIONS = ("speech (for scale)", "music alone, at the voice's level", "music alone, 10 dB below it")


def heard(samples: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """The clip and its music, each as a system hears it."""
    level = np.sqrt(np.mean(samples.astype(np.float64) ** 2))
    tune = band(len(samples), 1000 + k)
    tune = tune * level / np.sqrt(np.mean(tune ** 2))
    return dict(zip(CONDITIONS, (samples, tune, tune * 10 ** (-10 / 20))))


def measures(values: np.ndarray) -> tuple[float, float]:
    """(JawOpen p95, share of frames with the lips apart) of canonical curves at 100 fps."""
    anim = Animation(canonical_names(), FRAME_RATE, values, CANONICAL_RIG)
    return float(np.quantile(anim["JawOpen"], 0.95)), float(np.mean(lip_gap(anim) > APART))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--checkpoint", action="append", metavar="NAME=PATH",
                    help="a network to score (repeatable); default the shipped default and live networks")
    ap.add_argument("--clips", type=int, default=CLIPS, help=f"held-out clips to hear (default {CLIPS})")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "MUSIC.md")
    args = ap.parse_args()
    named = [c.split("=", 1) for c in args.checkpoint or
             [f"default network={ROOT / 'checkpoints' / 'emoface-default.pt'}",
              f"live network={ROOT / 'checkpoints' / 'emoface-live.pt'}"]]
    quiet = dict(fps=FRAME_RATE, blinks=False, gaze=False, head=False, accents=False)
    systems = {name: Animator(engine="neural", checkpoint=path, **quiet) for name, path in named}
    systems["phonetic engine"] = Animator(engine="phonetic", **quiet)
    items = [i for i in speech_en_items(args.shared) if i[3] in VALID_SPEAKERS]
    items = items[::max(1, len(items) // args.clips)][:args.clips]
    if not items:
        raise SystemExit(f"no held-out speech-en clips under {args.shared}")
    scores = {name: {c: [] for c in CONDITIONS} for name in [*systems, "loudness baseline"]}
    for k, (_, path, _, _) in enumerate(items):
        for condition, samples in heard(load_audio(path).samples, k).items():
            audio = Audio(np.clip(samples, -1, 1).astype(np.float32), str(path), 16000)
            for name, animator in systems.items():
                scores[name][condition].append(measures(animator.animate_canonical(audio).values))
            scores["loudness baseline"][condition].append(
                measures(loudness_baseline(audio, int(len(samples) / 16000 * FRAME_RATE))))
        print(f"{k + 1}/{len(items)}", end="\r", flush=True)
    rows = "\n".join(f"| {name} | " + " | ".join(f"{np.mean([j for j, _ in v]):.3f} / {np.mean([a for _, a in v]):.1%}"
                                                  for v in by.values()) + " |" for name, by in scores.items())
    command = " ".join(["python tools/evaluate_music.py", *(f"--checkpoint '{c}'" for c in args.checkpoint or ())])
    args.output.write_text(f"""# Music without a voice

Command: `{command}` ({time.strftime('%Y-%m-%d')}). Method: the tool's docstring.
{len(items)} held-out speech-en clips; each cell is JawOpen's 95th percentile / the share of frames with the lips
apart (lip gap over {APART}), averaged over the clips. On music alone both should be near 0, as on silence.
What training with music behind the lines, then with music alone, changed: docs/EVALUATION.md, "Music without a voice"
and "Music alone in training".

| system | {' | '.join(CONDITIONS)} |
|---|---|---|---|
{rows}
""", encoding="utf-8")
    print(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
