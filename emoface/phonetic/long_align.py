"""A transcript aligned to a line longer than forced alignment takes at once (recognize.ALIGN_MAX_S).

Alignment's memory grows with the square of what it aligns, so a long line is cut at pauses into pieces
(recognize.pieces) and aligned a piece at a time. The transcript does not say where the cuts fall, so it is split
where the phone loop hears them: the transcript's phones (cmudict, espeak-ng for other words) are matched to the
phones the loop recognised over the whole line by an edit-distance alignment, and each cut goes to the word
boundary the best match crosses it at. Each piece is then aligned to its words and checked as a short line is
(emoface.phonetic.confidence); a piece that does not align keeps the phone loop's phones and is reported, so
one ad-lib or a wrong page of the script costs its own piece, not the line.
"""

from __future__ import annotations

import numpy as np

from emoface.audio import SAMPLE_RATE
from emoface.phonetic.visemes import PHONE_VISEMES

PIECE_S = 30.0  # longest piece aligned at once, as --recognizer words' (recognize.WORDS_PIECE_S: 90 s took 450 MB)
SILENCE = "SIL"
HEARD_SILENCE_COST = 0.5  # a silence the loop hears inside a word (a stop's closure) costs less than a phone
SAME_VISEME_COST = 0.5  # substituting a phone that looks the same (p/b/m, t/d) costs less than another


def _lexicon(words: set[str]) -> dict[str, list[str]]:
    """cmudict's first pronunciation of each of `words` found in it (the dictionary the aligner reads; the whole
    of it as Python lists would hold 50 MB)."""
    from emoface.phonetic.recognize import _model_paths

    out = {}
    with open(_model_paths()[1], encoding="utf-8") as f:
        for line in f:
            word, _, phones = line.partition(" ")
            if word in words and word not in out:
                out[word] = phones.split()
    return out


def _transcript_phones(words: list[str]) -> list[tuple[str, int]]:
    """(phone, word index) of the transcript, an optional silence before each word and after the last."""
    from emoface.phonetic.recognize import pronunciations

    lexicon, out = _lexicon(set(words)), []
    for k, word in enumerate(words):
        phones = lexicon.get(word) or next(iter(pronunciations(word)), [])
        out += [(SILENCE, k)] + [(p, k) for p in phones]
    return out + [(SILENCE, len(words))]


def _prefix_costs(rows: np.ndarray, delete: np.ndarray, match: np.ndarray, insert: np.ndarray,
                  columns: list[int]) -> np.ndarray:
    """Edit distance of every transcript prefix rows[:i] against heard[:j], at the heard columns asked for:
    [len(rows) + 1, len(columns)]. One transcript phone a step over all heard phones at once: within a row,
    insertions are a running minimum (np.minimum.accumulate) of the costs less the insertions before them."""
    before = np.concatenate([[0.0], np.cumsum(insert)])  # cost of inserting heard[:j]
    row = before.copy()
    out = np.empty((len(rows) + 1, len(columns)))
    out[0] = row[columns]
    step = np.empty_like(row)
    for i, (symbol, skip) in enumerate(zip(rows, delete), 1):
        step[0] = row[0] + skip
        np.minimum(row[:-1] + match[symbol], row[1:] + skip, out=step[1:])
        row = np.minimum.accumulate(step - before) + before
        out[i] = row[columns]
    return out


def split_words(words: list[str], heard: list, cut_s: list[float]) -> list[int]:
    """For each cut (s), the index of the first transcript word after it, from where the phone loop's phones
    (heard: recognize.Phone) best match the transcript's. Non-decreasing."""
    if not cut_s:
        return []
    spoken = _transcript_phones(words)
    heard = [h for k, h in enumerate(heard) if not (h.name == SILENCE and k and heard[k - 1].name == SILENCE)]
    symbols = sorted({p for p, _ in spoken} | {h.name for h in heard})
    index = {s: k for k, s in enumerate(symbols)}
    _, viseme = np.unique([PHONE_VISEMES.get(s, s) for s in symbols], return_inverse=True)
    cost = np.where(viseme[:, None] == viseme[None, :], SAME_VISEME_COST, 1.0)
    np.fill_diagonal(cost, 0.0)
    rows = np.array([index[p] for p, _ in spoken])
    match = cost[:, [index[h.name] for h in heard]]  # [symbol, heard]
    delete = np.array([0.0 if p == SILENCE else 1.0 for p, _ in spoken])
    insert = np.array([HEARD_SILENCE_COST if h.name == SILENCE else 1.0 for h in heard])
    mids = np.array([(h.start + h.end) / 2 for h in heard])
    columns = [int(np.searchsorted(mids, t)) for t in cut_s]
    ahead = _prefix_costs(rows, delete, match, insert, columns)
    behind = _prefix_costs(rows[::-1], delete[::-1], match[:, ::-1], insert[::-1],
                           [len(heard) - c for c in columns])[::-1]
    through = ahead + behind  # [i, cut]: the best match's cost if it crosses the cut after transcript row i
    # a word boundary: before a word's optional silence, or between that silence and the word
    bounds = [i for i, (p, _) in enumerate(spoken) if p == SILENCE or spoken[i - 1][0] == SILENCE]
    word_at = np.array([spoken[i][1] for i in bounds])
    best = word_at[np.argmin(through[bounds], axis=0)]
    return [int(w) for w in np.maximum.accumulate(best)]


def align_in_pieces(samples: np.ndarray, text: str, source: str = "") -> tuple[list, dict]:
    """(phones, measures) as recognize.checked_align gives for a short line, the measures weighted by the aligned
    pieces' lengths and, where a piece did not align, "unaligned": [[start s, end s], ...] (its phones there are
    the phone loop's; a warning names each). RuntimeError when no piece aligns."""
    from emoface.phonetic.recognize import Phone, log, pieces, recognise, trusted_align, weighted_measures, \
        words_to_align

    words = words_to_align(text)
    heard = recognise(samples)
    cuts = pieces(samples, PIECE_S)
    first = [0] + split_words(words, heard, [stop / SAMPLE_RATE for _, stop in cuts[:-1]]) + [len(words)]
    phones, fits, agreements, lengths, unaligned, reasons = [], [], [], [], [], []
    for (start, stop), lo, hi in zip(cuts, first[:-1], first[1:]):
        at, end = start / SAMPLE_RATE, stop / SAMPLE_RATE
        here = [Phone(p.name, max(p.start, at) - at, min(p.end, end) - at) for p in heard
                if at <= (p.start + p.end) / 2 < end]  # the loop's phones in this piece, in the piece's time
        try:
            if hi <= lo:
                raise RuntimeError("no words of the transcript fall here")
            found, fit, agree = trusted_align(samples[start:stop], " ".join(words[lo:hi]), here)
        except RuntimeError as exc:
            found = here
            if any(p.name != SILENCE for p in here):
                unaligned.append([round(at, 2), round(end, 2)])
                reasons.append(str(exc))
                log.warning("%s: the transcript did not align from %.1f to %.1f s (%s); the phone loop's phones there",
                            source, at, end, exc)
        else:
            fits.append(fit)
            agreements.append(agree)
            lengths.append(end - at)
        phones += [Phone(p.name, at + p.start, at + p.end, p.word) for p in found]
    if not lengths:
        raise RuntimeError(f"the transcript does not match the audio in any of its {len(cuts)} pieces "
                           f"({reasons[0] if reasons else 'no speech'})")
    measures = weighted_measures(fits, agreements, lengths)
    if unaligned:
        measures["unaligned"] = unaligned
    return phones, measures


def aligned_phones(phones: list, measures: dict | None) -> list:
    """The phones that come from the transcript: those outside the pieces that did not align."""
    spans = (measures or {}).get("unaligned", [])
    return [p for p in phones if not any(s <= (p.start + p.end) / 2 < e for s, e in spans)]
