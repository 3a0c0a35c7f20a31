#!/usr/bin/env python3
"""How the mouth holds up in emotional speech: RAVDESS's 12 actors, 8 emotions, said normally and strongly.

    .venv/bin/python tools/evaluate_emotional_speech.py [--shared ../shared] [--repetitions 2] [--checkpoint X.pt]
        [-o table.md]

The training speech is read aloud (speech-en, GRID s1, FACEGOOD); a game's lines are shouted, sobbed, whispered.
Each clip's sentence ("Kids are talking by the door", "Dogs are sitting by the door") is force-aligned to its audio
by the phonetic engine with the transcript: the phones, and the silver labels (the teacher's shapes) to correlate
with. No system sees the transcript: the network told the line's own emotion (as a dialogue sheet would: RAVDESS's
normal intensity at 0.6, strong at 1.0; calm as neutral), the network told neutral, the phonetic engine and the
loudness baseline (emoface.evaluate's). Scored per emotion and intensity, and by the actors' gender: JawOpen r and
mouth-curve r against the silver labels, the share of the sentence's /b/ ("by") whose lips shut (a lip gap under
0.05 at the phone or a frame beside it), lips shut on vowel frames. RAVDESS is CC BY-NC-SA: evaluation only; nothing
here trains on it.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoface.animator import Animator  # noqa: E402
from emoface.audio import load_audio  # noqa: E402
from emoface.emotion.spec import EmotionTrack, parse_emotion  # noqa: E402
from emoface.evaluate import loudness_baseline, score  # noqa: E402
from emoface.features import FRAME_RATE  # noqa: E402
from emoface.phonetic.recognize import align  # noqa: E402
from emoface.train.data import clip_from, silver_labels  # noqa: E402

AS_OURS = {"calm": "neutral", "fearful": "fear", "surprised": "surprise"}  # RAVDESS's names -> emoface's
STRENGTH = {"normal": 0.6, "strong": 1.0}
TOLD, NEUTRAL, PHONETIC, LOUDNESS = ("network, told the emotion", "network, told neutral",
                                     "phonetic engine", "loudness baseline")


def clips(shared: Path, repetitions: int):
    """(file, emotion, intensity, actor's gender, text) of each RAVDESS clip, its first `repetitions` takes of each
    sentence."""
    folder = shared / "data" / "ravdess"
    with open(folder / "labels.csv") as f:
        for row in csv.DictReader(f):
            if int(row["file"].split("-")[5]) <= repetitions:
                yield (folder / "clips" / f"{row['file']}.flac", row["emotion"], row["intensity"], row["gender"],
                       row["text"])


def measure(shared: Path, repetitions: int, checkpoint: str | None = None) -> dict:
    """{(emotion, intensity, gender): {system: [scores per clip], "takes": clips tried}}; checkpoint: the network's
    (default: the shipped one)."""
    def animator(engine):
        return Animator(engine=engine, fps=FRAME_RATE, blinks=False, gaze=False, head=False, accents=False,
                        checkpoint=checkpoint if engine == "neural" else None)

    network, phonetic = animator("neural"), animator("phonetic")
    out: dict = {}
    for path, emotion, intensity, gender, text in clips(shared, repetitions):
        audio = load_audio(path)
        data = silver_labels(audio, text, path.stem, source="ravdess")
        takes = out.setdefault((emotion, intensity, gender), {"takes": 0})
        takes["takes"] += 1
        if data is None:  # the sentence could not be aligned to the take (the engine warns which)
            continue
        ref = clip_from(path.stem, data)
        phones = [[p.name, p.start, p.end] for p in align(audio.samples, text)]
        told = EmotionTrack.constant(parse_emotion(f"{AS_OURS.get(emotion, emotion)}:{STRENGTH[intensity]}"))
        preds = {TOLD: network.animate_canonical(audio, told).values,
                 NEUTRAL: network.animate_canonical(audio).values,
                 PHONETIC: phonetic.animate_canonical(audio).values,
                 LOUDNESS: loudness_baseline(audio, len(ref.labels))}
        for name, pred in preds.items():
            takes.setdefault(name, []).append(score(pred, ref, phones))
    return out


def markdown(results: dict, command: str, seconds: float) -> str:
    systems = (TOLD, NEUTRAL, PHONETIC, LOUDNESS)

    def cell(scores: list) -> str:
        closed = [c for s in scores for c in s.get("closed", [])]
        shut, frames = np.sum([s["shut_vowels"][0] for s in scores], axis=0)
        return (f"{np.mean([s['jaw_r'] for s in scores]):.2f} / {np.mean([s['mouth_r'] for s in scores]):.2f} / "
                f"{100 * np.mean(closed):.0f}% / {100 * shut / max(frames, 1):.1f}%")

    lines = ["# The mouth in emotional speech (RAVDESS)", "",
             f"`{command}` ({time.strftime('%Y-%m-%d')}, {seconds / 60:.0f} min). Method: the tool's docstring. "
             "Each cell: JawOpen r / mouth-curve r (against the silver labels) / /b/ shut / vowel frames shut.", "",
             "| emotion | intensity | clips aligned | " + " | ".join(systems) + " |",
             "|---|---|---|" + "---|" * len(systems)]

    def rows(keys, group) -> None:  # a row per value of group(key) in keys' order, each system's scores pooled
        pooled: dict = {}
        for key in keys:
            into = pooled.setdefault(group(key), {"takes": 0})
            into["takes"] += results[key]["takes"]
            for name in systems:
                into.setdefault(name, []).extend(results[key].get(name, []))
        for label, by in pooled.items():
            lines.append(f"| {' | '.join(label)} | {len(by[TOLD])} of {by['takes']} | "
                         + " | ".join(cell(by[s]) for s in systems) + " |")

    keys = sorted(results, key=lambda k: (k[0] != "neutral", k[0], k[1] != "normal"))
    rows(keys, lambda k: (k[0], k[1]))
    rows(keys, lambda k: ("**all**", ""))
    lines += ["", "By the actors' gender (6 women, 6 men), every emotion but neutral and calm:", "",
              "| actors | intensity | clips aligned | " + " | ".join(systems) + " |",
              "|---|---|---|" + "---|" * len(systems)]
    keys = sorted((k for k in results if k[0] not in ("neutral", "calm")), key=lambda k: (k[2] != "female", k[1]))
    rows(keys, lambda k: ("women" if k[2] == "female" else "men", k[1]))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--repetitions", type=int, default=2, choices=(1, 2), help="takes of each sentence (default 2)")
    ap.add_argument("--checkpoint", help="the network to measure (default: the shipped one)")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    start = time.perf_counter()
    results = measure(args.shared, args.repetitions, args.checkpoint)
    text = markdown(results, "python tools/evaluate_emotional_speech.py " + " ".join(sys.argv[1:]),
                    time.perf_counter() - start)
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
