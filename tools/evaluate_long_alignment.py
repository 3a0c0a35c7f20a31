#!/usr/bin/env python3
"""How well a transcript is aligned to a line longer than alignment takes at once: writes docs/LONG_ALIGNMENT.md.

    .venv/bin/python tools/evaluate_long_alignment.py [--shared ../shared] [-o docs/LONG_ALIGNMENT.md]

Long lines are made of speech-en clips end to end with 0.2-0.8 s pauses between them (seeded), their transcripts
joined: about 150 s of VCTK's many speakers, 130 s and 10 minutes of one reader (kathleen_cc0). The reference is
each clip aligned on its own (a short line, the ordinary path), moved to where the clip lies in the long line.
Each long line is then aligned whole with its joined transcript (emoface.phonetic.long_align, in pieces), and
every word's start is compared with the reference's; each cut's word split with the reference's word at the cut.
Then `emoface bake LINE --text-file TEXT` in a fresh process: wall time and peak memory (getrusage of the child).
About 6 minutes on one core.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoface.audio import SAMPLE_RATE, load_audio  # noqa: E402
from emoface.phonetic import long_align  # noqa: E402
from emoface.phonetic.recognize import ALIGN_MAX_S, checked_align, normalise_text, pieces, recognise  # noqa: E402

LINES = (("vctk", 150.0, "VCTK, 21 speakers"), ("kathleen_cc0", 130.0, "kathleen_cc0, one reader"),
         ("kathleen_cc0", 600.0, "kathleen_cc0, one reader"))


def word_starts(phones, offset: float = 0.0) -> list[tuple[str, float]]:
    """(word, start s) of each aligned word in order (a pronunciation's number, as in on(2), left out)."""
    out = []
    for a, b in zip([None] + list(phones), phones):
        if b.word and (a is None or a.word != b.word or a.end < b.start - 1e-6):
            out.append((b.word.split("(")[0], b.start + offset))
    return out


def long_line(folder: Path, seconds: float, skip: int, seed: int):
    """(samples, transcript, reference word starts) of clips end to end up to `seconds`."""
    rng = np.random.default_rng(seed)
    rows = list(csv.DictReader(open(folder / "transcripts.tsv", encoding="utf-8"), delimiter="\t"))
    rows = rows[::max(1, len(rows) // 60)] if folder.name == "vctk" else rows[skip:]
    parts, texts, reference, at = [], [], [], 0
    for row in rows:
        samples = load_audio(folder / row["file"]).samples
        try:
            phones, _ = checked_align(samples, row["text"])
        except RuntimeError:
            continue  # a clip whose own transcript does not align is no reference
        gap = np.zeros(int(rng.uniform(0.2, 0.8) * SAMPLE_RATE), np.float32)
        reference += word_starts(phones, at / SAMPLE_RATE)
        parts += [samples, gap]
        texts.append(row["text"])
        at += len(samples) + len(gap)
        if at >= seconds * SAMPLE_RATE:
            break
    return np.concatenate(parts), " ".join(texts), reference


def bake_cost(samples: np.ndarray, text: str) -> tuple[float, float]:
    """(wall s, peak MB) of `emoface bake` with the transcript, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        wav, txt = Path(tmp) / "line.wav", Path(tmp) / "line.txt"
        sf.write(wav, samples, SAMPLE_RATE)
        txt.write_text(text, encoding="utf-8")
        start = time.perf_counter()
        proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "emoface"), "bake", str(wav), "--text-file", str(txt),
                                 "-o", str(Path(tmp) / "line.json"), "-q"])
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own high-water mark
        if status:
            raise SystemExit(f"emoface bake failed on the {len(samples) / SAMPLE_RATE:.0f} s line")
        return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "LONG_ALIGNMENT.md")
    args = ap.parse_args()
    rows = []
    for k, (name, seconds, label) in enumerate(LINES):
        samples, text, reference = long_line(args.shared / "data" / "speech-en" / name, seconds, 200 + 300 * k, k)
        words = normalise_text(text)
        cuts = [stop / SAMPLE_RATE for _, stop in pieces(samples, long_align.PIECE_S)[:-1]]
        split = long_align.split_words(words, recognise(samples), cuts)
        right = sum(s == sum(t < c for _, t in reference) for s, c in zip(split, cuts))
        start = time.perf_counter()
        phones, measures = checked_align(samples, text)
        took = time.perf_counter() - start
        found = word_starts(phones)
        same = len(found) == len(reference) and all(a == b for (a, _), (b, _) in zip(found, reference))
        err = np.abs([a - b for (_, a), (_, b) in zip(found, reference)]) if same else np.array([np.nan])
        wall, peak = bake_cost(samples, text)
        rows.append(f"| {label} | {len(samples) / SAMPLE_RATE:.0f} | {len(words)} | {right} of {len(cuts)} | "
                    f"{'yes' if same else 'no'} | {np.mean(err < 0.05):.1%} | {np.median(err) * 1000:.0f} / "
                    f"{np.quantile(err, 0.9) * 1000:.0f} / {err.max() * 1000:.0f} | "
                    f"{len(measures.get('unaligned', []))} | {took:.0f} | {wall:.0f} / {peak:.0f} |")
        print(rows[-1], flush=True)
    args.output.write_text(f"""# Aligning a transcript to a long line

Command: `.venv/bin/python tools/evaluate_long_alignment.py` ({time.strftime('%Y-%m-%d')}). Method: the tool's docstring.
A line longer than emoface.phonetic.recognize.ALIGN_MAX_S ({ALIGN_MAX_S:.0f} s) is cut at pauses into pieces of at
most {long_align.PIECE_S:.0f} s, its transcript split where the phone loop hears each cut, and each piece aligned on its
own (emoface/phonetic/long_align.py). Reference: each clip of the line aligned on its own.

| line | seconds | words | cuts whose words were split as the reference's | every word aligned | word starts within 50 ms | start error median / p90 / max (ms) | pieces not aligned | alignment (s) | `emoface bake --text-file`: wall (s) / peak memory (MB) |
|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

A cut whose words go to the wrong side puts one word into the next piece: that piece's aligner squeezes it into
the pause, and the word beside the cut starts up to a second off; the pieces' other words are not moved. Before,
a line over 90 s was animated without its transcript.
""", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
