"""Does a transcript belong to this audio? Forced alignment places any words somewhere, so a wrong transcript
would put lip closures mid-vowel. Two measures, both from pocketsphinx:
- fit: the alignment's mean acoustic score per 10 ms frame (how well the audio sounds like those phones);
- agreement: frame by frame, the aligned phones' broad classes (silence, vowel-like, bilabial, labiodental,
  other consonant) against what free phone-loop recognition hears.
A transcript is trusted when the phone loop agrees at all, and the audio either fits those phones well or
fits passably while the phone loop agrees well (trusted()). Synthetic voices fit well but are heard poorly;
invented names (pronounced by espeak-ng's rules) fit less well but are heard right; wrong words fit badly and
disagree. Calibrated with tools/calibrate_alignment.py on 54 real speech-en clips (VCTK, LJ Speech, CMU
ARCTIC, Kathleen, accented speechocean762) and 30 espeak-ng lines, each with its own transcript and another
clip's: all 75 right transcripts that align are trusted; of the 84 wrong ones 48 do not align at all, and 1 of
the 36 that do is trusted (fit -34.4, agreement 0.66). docs/RELIABILITY.md has the figures.
"""

from __future__ import annotations

import numpy as np

from emoface.phonetic.visemes import BILABIALS, LABIODENTALS, VOWELS

MIN_AGREEMENT = 0.4  # below this the phones are in the wrong places, however well they fit
GOOD_FIT = -31.0  # mean acoustic score per frame
PASSABLE_FIT, GOOD_AGREEMENT = -45.0, 0.6
_VOWEL_LIKE = VOWELS | {"W", "Y", "R", "L"}


def trusted(fit: float, agreement: float) -> bool:
    return agreement >= MIN_AGREEMENT and (fit >= GOOD_FIT or (agreement >= GOOD_AGREEMENT and fit >= PASSABLE_FIT))


def _broad_class(name: str) -> int:
    if name == "SIL":
        return 0
    if name in _VOWEL_LIKE:
        return 1
    if name in BILABIALS:
        return 2
    return 3 if name in LABIODENTALS else 4


def _frames(phones, n: int) -> np.ndarray:
    out = np.zeros(n, np.int8)
    for p in phones:
        out[int(round(p.start * 100)): int(round(p.end * 100))] = _broad_class(p.name)
    return out


def agreement(aligned, recognised, duration_s: float) -> float:
    """Share of the frames where either says speech on which both name the same broad class (0..1)."""
    n = int(duration_s * 100) + 1
    a, r = _frames(aligned, n), _frames(recognised, n)
    speech = (a > 0) | (r > 0)
    return float(((a == r) & speech).sum() / max(int(speech.sum()), 1))
