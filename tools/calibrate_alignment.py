"""Calibrate the transcript check (emoface.phonetic.confidence): for each clip, forced alignment to its own
transcript and to another clip's; prints the two measures the check uses (acoustic fit per frame, agreement
with the phone loop) for both, and how the current thresholds classify them.

    .venv/bin/python tools/calibrate_alignment.py --shared ../shared
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from emoface.audio import SAMPLE_RATE, load_audio
from emoface.phonetic import confidence
from emoface.phonetic.recognize import _align, recognise

SETS = (("vctk", 12), ("ljspeech", 8), ("cmu_arctic", 6), ("kathleen_cc0", 8), ("vctk_extra", 10),
        ("speechocean762", 10))
SPOKEN = ("Bob popped the big map", "We found the treasure before sunset, and nobody saw us leave.",
          "Welcome back, friend. I have something special for you today.",
          "They are coming from the north. We have to move now!", "Hello there, friend.")


def items(shared: Path, tmp: Path) -> list[tuple[Path, str, str]]:
    base = shared / "data" / "speech-en"
    out = []
    for folder, count in SETS:
        rows = list(csv.DictReader(open(base / folder / "transcripts.tsv"), delimiter="\t"))[:count]
        out += [(base / folder / r["file"], r["text"], "real") for r in rows]
    for k, text in enumerate(SPOKEN):  # synthetic voices too: tests and demos speak with espeak-ng
        for rate in (120, 150, 175):
            for voice in ("en-us", "en-gb"):
                path = tmp / f"espeak_{k}_{rate}_{voice}.wav"
                subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True)
                out.append((path, text, "espeak"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clips = items(args.shared, Path(tmp))
        for i, (path, text, kind) in enumerate(clips):
            samples = load_audio(path).samples
            heard = recognise(samples)
            other = next(t for j in range(7, 30) if (t := clips[(i + j) % len(clips)][1]) != text)
            for which, transcript in (("own", text), ("other", other)):
                try:
                    phones, fit = _align(samples, transcript)
                except RuntimeError:  # not alignable at all: already refused
                    rows.append((kind, which, None, None, False))
                    continue
                agree = confidence.agreement(phones, heard, len(samples) / SAMPLE_RATE)
                rows.append((kind, which, fit, agree, confidence.trusted(fit, agree)))
                print(f"{kind:6s} {which:5s} fit {fit:7.1f} agreement {agree:.3f} {path.name}", flush=True)
    print()
    for kind in ("real", "espeak"):
        for which in ("own", "other"):
            sel = [r for r in rows if r[0] == kind and r[1] == which]
            aligned = [r for r in sel if r[2] is not None]
            fit = np.array([r[2] for r in aligned])
            agree = np.array([r[3] for r in aligned])
            print(f"{kind} clips, {which} transcript: {len(sel)}; aligned {len(aligned)}; trusted "
                  f"{sum(r[4] for r in sel)}; fit {fit.min():.1f}..{fit.max():.1f} (median {np.median(fit):.1f}); "
                  f"agreement {agree.min():.2f}..{agree.max():.2f} (median {np.median(agree):.2f})")


if __name__ == "__main__":
    main()
