#!/usr/bin/env python3
"""The pitch a bake's head nods, brow accents and emotion strength follow (emoface.prosody), against librosa's pYIN.

    .venv/bin/python tools/evaluate_pitch.py [--shared ../shared] [--lines 120] [-o table.md]

Sets: read English lines (speech-en, `--lines` drawn at random, seed 0) and RAVDESS's takes by gender and
intensity (the first take of each sentence, every emotion but neutral and calm; RAVDESS is evaluation only). Each
line is analysed as a bake does (emoface.prosody.analyse on its 20 ms pitch frames) and by pYIN (fmin 60, fmax 1000
Hz, the same frames and frame length). Scores, pooled over a set's frames:
Only the frames a bake reads pitch on count (speech at least MEASURED_LOUDNESS loud): pYIN's voiced frames there
are the reference.
- voiced, as pYIN: the share of the frames pYIN calls voiced that emoface does too;
- within 3 semitones: of the frames both call voiced, the share whose pitch is within 3 semitones of pYIN's, and
  the shares an octave or more low and high;
- strays: the share of emoface's voiced frames more than an octave from the line's median pYIN pitch (a breath or
  a fricative read at a garbage pitch, or an octave error), which pitch_z's spread feels most;
- spread: the median over lines of the standard deviation of emoface's pitch (in octaves) over pYIN's: a spread
  gone wide divides every accent's pitch_z;
- pitch_z off: the median over lines of the mean absolute difference between emoface's pitch_z (what the head and
  brows follow: a frame's pitch in standard deviations of the line's) and the same z-score made of pYIN's pitch, on
  the frames both call voiced: an octave error and a spread gone wide both show.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoface.audio import load_audio  # noqa: E402
from emoface.prosody import MEASURED_LOUDNESS, PITCH_HOP, analyse  # noqa: E402


def sets(shared: Path, lines: int) -> dict[str, list[Path]]:
    files = sorted((shared / "data" / "speech-en").glob("*/audio/*"))
    rng = np.random.default_rng(0)
    out = {f"speech-en, {lines} read lines": [files[i] for i in sorted(rng.choice(len(files), lines, replace=False))]}
    folder = shared / "data" / "ravdess"
    with open(folder / "labels.csv") as f:
        rows = [r for r in csv.DictReader(f)
                if r["emotion"] not in ("neutral", "calm") and r["file"].split("-")[5] == "01"]  # the first take
    for gender in ("female", "male"):
        for intensity in ("normal", "strong"):
            out[f"RAVDESS {'women' if gender == 'female' else 'men'}, {intensity}"] = [
                folder / "clips" / f"{r['file']}.flac" for r in rows
                if r["gender"] == gender and r["intensity"] == intensity]
    return out


def measure(files: list[Path]) -> dict:
    import librosa

    tally = dict(pyin_voiced=0, found=0, both=0, within=0, low=0, high=0, voiced=0, strays=0)
    spread, z_off = [], []
    for path in files:
        x = load_audio(path).samples
        n = 1 + len(x) // PITCH_HOP
        ours = analyse(x, n, 16000 / PITCH_HOP)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref, rv, _ = librosa.pyin(x.astype(np.float64), fmin=60, fmax=1000, sr=16000, frame_length=1024,
                                      hop_length=PITCH_HOP)
        m = min(n, len(ref))
        measured = ours.speech[:m] & (ours.loudness[:m] > MEASURED_LOUDNESS)
        f0, voiced, ref, rv = ours.f0[:m], ours.voiced[:m], ref[:m], rv[:m] & np.isfinite(ref[:m]) & measured
        both = voiced & rv
        off = np.log2(f0[both] / ref[both])
        tally["pyin_voiced"] += int(rv.sum())
        tally["found"] += int((rv & voiced).sum())
        tally["both"] += int(both.sum())
        tally["within"] += int((np.abs(off) < 0.25).sum())
        tally["low"] += int((off < -0.75).sum())
        tally["high"] += int((off > 0.75).sum())
        if rv.any():
            tally["voiced"] += int(voiced.sum())
            tally["strays"] += int((np.abs(np.log2(f0[voiced] / np.median(ref[rv]))) > 1).sum())
        if voiced.sum() > 5 and rv.sum() > 5:
            spread.append(np.std(np.log2(f0[voiced])) / np.std(np.log2(ref[rv])))
        if both.sum() > 20:
            semis = 12 * np.log2(ref[rv])
            ref_z = (12 * np.log2(ref[both]) - np.median(semis)) / max(np.std(semis), 1.0)  # as Prosody.pitch_z
            z_off.append(np.mean(np.abs(ours.pitch_z()[:m][both] - ref_z)))
    tally["spread"] = float(np.median(spread)) if spread else float("nan")
    tally["z_off"] = float(np.median(z_off)) if z_off else float("nan")
    return tally


def markdown(results: dict, command: str, seconds: float) -> str:
    def pct(a, b):
        return f"{100 * a / max(b, 1):.1f}%"

    out = [f"`{command}` ({time.strftime('%Y-%m-%d')}, {seconds / 60:.0f} min). Method: the tool's docstring.", "",
           "| set | files | voiced, as pYIN | within 3 semitones | an octave low / high | strays | spread | "
           "pitch_z off |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, (files, t) in results.items():
        out.append(f"| {name} | {files} | {pct(t['found'], t['pyin_voiced'])} | {pct(t['within'], t['both'])} | "
                   f"{pct(t['low'], t['both'])} / {pct(t['high'], t['both'])} | {pct(t['strays'], t['voiced'])} | "
                   f"{t['spread']:.2f} | {t['z_off']:.2f} |")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--lines", type=int, default=120)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    if not (args.shared / "data" / "ravdess").is_dir() or not (args.shared / "data" / "speech-en").is_dir():
        print(f"error: {args.shared}/data needs ravdess and speech-en", file=sys.stderr)
        return 2
    start = time.time()
    results = {name: (len(files), measure(files)) for name, files in sets(args.shared, args.lines).items()}
    text = markdown(results, "python tools/evaluate_pitch.py" + (f" --lines {args.lines}" if args.lines != 120 else ""),
                    time.time() - start)
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
