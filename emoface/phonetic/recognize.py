"""Timed phonemes from pocketsphinx: forced alignment when the transcript is known, phone loop when not."""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from emoface.audio import SAMPLE_RATE, pcm16

log = logging.getLogger("emoface")
FRAME_S = 0.01  # pocketsphinx reports 10 ms frames
PIECE_S, CUT_SEARCH_S = 120.0, 20.0  # the phone loop's longest piece of a line, and where before its end to cut
# pocketsphinx's forced alignment holds every frame against every state of the transcript: its memory grows with the
# square of the line (a 10-minute line with its transcript took 9.7 GB); longer lines are aligned in pieces
ALIGN_MAX_S = 90.0
WORDS_PIECE_S = 30.0  # --recognizer words transcribes and aligns a line this much at a time (90 s took 450 MB)


@dataclass(frozen=True)
class Phone:
    name: str  # ARPAbet without stress digits, or SIL
    start: float  # s
    end: float  # s
    word: str = ""


def _model_paths():
    from pocketsphinx import get_model_path

    base = get_model_path()
    return f"{base}/en-us/en-us", f"{base}/en-us/cmudict-en-us.dict", f"{base}/en-us/en-us-phone.lm.bin"


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    with open(_model_paths()[1], encoding="utf-8") as f:
        return frozenset(line.split(" ", 1)[0].split("(")[0] for line in f if line.strip())


def normalise_text(text: str) -> list[str]:
    """Lower case, letters and apostrophes only: what set_align_text accepts."""
    text = text.lower().replace("’", "'").replace("-", " ")
    words = re.sub(r"[^a-z' ]+", " ", text).split()
    return [w.strip("'") for w in words if w.strip("'")]


# IPA (as espeak-ng prints it) -> ARPAbet, for words missing from cmudict. Longest match first.
_IPA = {
    "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "əʊ": "OW", "ɔɪ": "OY", "tʃ": "CH", "dʒ": "JH",
    "ɑː": "AA", "ɑ": "AA", "ɒ": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɔː": "AO", "ɔ": "AO",
    "ɛ": "EH", "e": "EH", "ɜː": "ER", "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "ɪ": "IH", "ᵻ": "IH", "iː": "IY",
    "i": "IY", "ʊ": "UH", "uː": "UW", "u": "UW", "oː": "AO", "o": "OW", "a": "AA",
    "b": "B", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G", "h": "HH", "j": "Y", "k": "K", "l": "L",
    "m": "M", "n": "N", "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "ɾ": "D", "s": "S", "ʃ": "SH", "t": "T",
    "θ": "TH", "v": "V", "w": "W", "z": "Z", "ʒ": "ZH", "x": "K", "ʔ": "T",
}


def ipa_to_arpabet(ipa: str) -> list[str]:
    ipa = re.sub(r"[ˈˌˑ̩̃‿-]", "", ipa)  # stress and tie marks; length marks stay for matching
    out, i = [], 0
    keys = sorted(_IPA, key=len, reverse=True)
    while i < len(ipa):
        for k in keys:
            if ipa.startswith(k, i):
                out.append(_IPA[k])
                i += len(k)
                break
        else:
            i += 1  # length marks, unknown symbols
    return out


def espeak_pronunciation(word: str, voice: str = "en-us") -> list[str]:
    """ARPAbet for a word cmudict lacks, from espeak-ng's IPA (empty if espeak-ng is missing)."""
    try:
        ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", voice, word], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return ipa_to_arpabet(ipa.strip().replace(" ", ""))


def pronunciations(word: str) -> list[list[str]]:
    """American and British guesses: the aligner picks whichever fits the audio (cmudict-style variants)."""
    out = []
    for voice in ("en-us", "en"):
        phones = espeak_pronunciation(word, voice)
        if phones and phones not in out:
            out.append(phones)
    return out


ALIGN_PAD_S = 0.3  # silence around the line: alignment fails when speech starts at the very first frame
# Search settings tried in turn: the default beams, then wide ones for lines the default loses.
ALIGN_BEAMS = ({}, {"beam": 1e-80, "wbeam": 1e-60}, {"beam": 1e-100, "wbeam": 1e-80, "pbeam": 1e-100, "maxhmmpf": -1})


@lru_cache(maxsize=len(ALIGN_BEAMS))
def _align_decoder(attempt: int):
    from pocketsphinx import Decoder

    hmm, dic, _ = _model_paths()
    # bestpath=False: the lattice best path can drop words from the alignment grammar. cmn="batch": whole
    # lines are decoded at once, and live CMN's initial guess derails short or synthetic lines.
    return Decoder(hmm=hmm, dict=dic, bestpath=False, cmn="batch", loglevel="FATAL", **ALIGN_BEAMS[attempt])


@lru_cache(maxsize=1)
def _phone_decoder():
    from pocketsphinx import Decoder

    hmm, _, phone_lm = _model_paths()
    return Decoder(hmm=hmm, allphone=phone_lm, lw=2.0, beam=1e-20, pbeam=1e-20, cmn="batch", loglevel="FATAL")


def _clean(name: str) -> str:
    name = re.sub(r"\d", "", name.upper())
    return "SIL" if name.startswith("+") or name in ("SIL", "<SIL>", "") else name


def _decode(decoder, pcm: bytes) -> None:
    """One utterance, from the decoder's initial feature state: a decoder carries its cepstral mean over from
    the last line it heard, so without the reset a line's phones depended on which lines came before it (in a
    batch, on the order and on how lines were split between workers)."""
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def align(samples: np.ndarray, text: str) -> list[Phone]:
    """Forced alignment; raises RuntimeError if the transcript cannot be aligned to the audio."""
    return _align(samples, text)[0]


def _align(samples: np.ndarray, text: str) -> tuple[list[Phone], float]:
    """Phones and the alignment's mean acoustic score per frame (how well the audio fits those phones)."""
    if len(samples) > ALIGN_MAX_S * SAMPLE_RATE:
        raise RuntimeError(f"the line is {len(samples) / SAMPLE_RATE:.0f} s long; a transcript is aligned to lines of "
                           f"at most {ALIGN_MAX_S:.0f} s")
    words = normalise_text(text)
    if not words:
        raise RuntimeError("transcript has no words")
    missing = set(words) - _dictionary()
    guesses = {w: pronunciations(w) for w in sorted(missing)}
    words = [w for w in words if w not in missing or guesses[w]]
    pad = np.zeros(int(ALIGN_PAD_S * SAMPLE_RATE), np.float32)
    pcm = pcm16(np.concatenate([pad, samples, pad]))
    duration = len(samples) / SAMPLE_RATE
    for attempt in range(len(ALIGN_BEAMS)):
        decoder = _align_decoder(attempt)
        for w, variants in guesses.items():
            for k, phones in enumerate(variants):
                name = w if k == 0 else f"{w}({k + 1})"
                if decoder.lookup_word(name) is None:
                    decoder.add_word(name, " ".join(phones), True)
        try:
            decoder.set_align_text(" ".join(words))
            _decode(decoder, pcm)
            if decoder.hyp() is None:
                continue
            decoder.set_alignment()
            _decode(decoder, pcm)
            alignment = decoder.get_alignment()
        except RuntimeError:
            _align_decoder.cache_clear()
            continue
        out, score, frames = [], 0.0, 0
        for word in alignment:
            for ph in word:
                score, frames = score + ph.score, frames + ph.duration
                start = min(max(ph.start * FRAME_S - ALIGN_PAD_S, 0.0), duration)
                end = min(max((ph.start + ph.duration) * FRAME_S - ALIGN_PAD_S, 0.0), duration)
                if end > start:
                    out.append(Phone(_clean(ph.name), start, end, "" if word.name.startswith("<") else word.name))
        return out, score / max(frames, 1)
    raise RuntimeError("the transcript does not match the audio")


def recognise(samples: np.ndarray) -> list[Phone]:
    """Phone-loop decoding: no transcript, noisier phones whose viseme classes still mostly hold. A line longer
    than PIECE_S is decoded in pieces cut at its quietest moment before each PIECE_S: pocketsphinx's search over
    one 30-minute utterance held 700 MB (a 10-minute one 340 MB); shorter lines are decoded whole, as before."""
    decoder = _phone_decoder()
    phones = []
    for start, stop in pieces(samples, PIECE_S):
        _decode(decoder, pcm16(samples[start:stop]))
        if decoder.hyp() is not None:  # else nothing decodable (a very short or noise-only piece)
            at = start / SAMPLE_RATE
            phones += [Phone(_clean(s.word), at + s.start_frame * FRAME_S, at + (s.end_frame + 1) * FRAME_S)
                       for s in decoder.seg()]
    return phones


def pieces(samples: np.ndarray, longest_s: float) -> list[tuple[int, int]]:
    """(start, stop) samples of a line cut into pieces of at most `longest_s`, each cut at its quietest moment
    (_quietest_cut); a line no longer than that is one piece."""
    out, start, longest = [], 0, int(longest_s * SAMPLE_RATE)
    while start < len(samples):
        stop = len(samples) if len(samples) - start <= longest else _quietest_cut(samples, start, start + longest)
        out.append((start, stop))
        start = stop
    return out


def _quietest_cut(samples: np.ndarray, start: int, end: int) -> int:
    """The sample to cut a piece starting at `start` at, before `end`: the middle of the quietest 10 ms frame of
    the CUT_SEARCH_S before it (a pause between words, where a phone is least likely to be split)."""
    hop = int(FRAME_S * SAMPLE_RATE)
    first = max(start + hop, end - int(CUT_SEARCH_S * SAMPLE_RATE))
    frames = samples[first:end][: (end - first) // hop * hop].reshape(-1, hop).astype(np.float64)
    return first + int(np.argmin(np.einsum("ij,ij->i", frames, frames))) * hop + hop // 2


@lru_cache(maxsize=1)
def _word_decoder():
    from pocketsphinx import Decoder

    hmm, dic, _ = _model_paths()
    return Decoder(hmm=hmm, dict=dic, lm=hmm.rsplit("/", 1)[0] + "/en-us.lm.bin", cmn="batch", loglevel="FATAL")


def transcribe(samples: np.ndarray) -> str:
    """English word recognition with pocketsphinx's language model (about 3x faster than real time)."""
    decoder = _word_decoder()
    _decode(decoder, pcm16(samples))
    hyp = decoder.hyp()
    return hyp.hypstr if hyp else ""


RECOGNIZERS = ("loop", "words")


def checked_align(samples: np.ndarray, text: str, source: str = "") -> tuple[list[Phone], dict]:
    """Forced alignment that must also fit the audio or agree with what the phone loop hears
    (emoface.phonetic.confidence): (phones, {"fit", "agreement"}); RuntimeError when the transcript cannot be
    aligned or does not match the audio. A line longer than ALIGN_MAX_S is aligned a piece at a time
    (emoface.phonetic.long_align), and its measures say which pieces did not align ("unaligned")."""
    if len(samples) > ALIGN_MAX_S * SAMPLE_RATE:
        from emoface.phonetic.long_align import align_in_pieces

        return align_in_pieces(samples, text, source)
    phones, fit, agree = trusted_align(samples, text, recognise(samples))
    return phones, {"fit": round(fit, 1), "agreement": round(agree, 3)}


def trusted_align(samples: np.ndarray, text: str, heard: list[Phone]) -> tuple[list[Phone], float, float]:
    """(phones, acoustic fit, agreement with `heard`, the phone loop's phones of the same samples) of a forced
    alignment short enough to run whole; RuntimeError unless emoface.phonetic.confidence trusts it."""
    from emoface.phonetic import confidence

    phones, fit = _align(samples, text)
    agree = confidence.agreement(phones, heard, len(samples) / SAMPLE_RATE)
    if not confidence.trusted(fit, agree):
        raise RuntimeError(f"the transcript does not match the audio (acoustic fit {fit:.1f} per frame, "
                           f"agreement with the recognised phones {agree:.2f}: too low)")
    return phones, fit, agree


def weighted_measures(fits: list[float], agreements: list[float], lengths: list[float]) -> dict:
    """A line's alignment measures from its aligned pieces': their means weighted by the pieces' lengths."""
    return {"fit": round(float(np.average(fits, weights=lengths)), 1),
            "agreement": round(float(np.average(agreements, weights=lengths)), 3)}


def timed_phones(samples: np.ndarray, text: str | None, source: str = "",
                 recognizer: str = "loop") -> tuple[list[Phone], str, dict | None]:
    """Phones, how they were found ('aligned' to the transcript, 'transcribed': words recognised then
    aligned, or 'recognised' by the phone loop) and the alignment's measures (None when not aligned)."""
    if text and text.strip():
        try:
            return _aligned(samples, text, "aligned", source)
        except RuntimeError as exc:
            log.warning("%s: forced alignment failed (%s); recognising phones without the transcript",
                        source, exc)
    elif recognizer == "words":
        return _transcribed(samples)
    return recognise(samples), "recognised", None


def _transcribed(samples: np.ndarray) -> tuple[list[Phone], str, dict | None]:
    """Words recognised, then aligned, a piece of at most WORDS_PIECE_S at a time (cut at pauses: alignment's
    memory grows with the square of what it aligns, and recognising a whole 10-minute line held 570 MB); a
    piece whose words are not found or do not align keeps the phone loop's phones. The measures are the
    aligned pieces' means, weighted by their length."""
    phones, fits, agreements, lengths = [], [], [], []
    for start, stop in pieces(samples, min(WORDS_PIECE_S, ALIGN_MAX_S)):
        piece, at = samples[start:stop], start / SAMPLE_RATE
        words = transcribe(piece)
        try:
            found, measures = checked_align(piece, words) if words else ([], None)
        except RuntimeError:
            found, measures = [], None
        if measures is None:
            found = recognise(piece)
        else:
            fits.append(measures["fit"])
            agreements.append(measures["agreement"])
            lengths.append(stop - start)
        phones += [Phone(p.name, at + p.start, at + p.end, p.word) for p in found]
    if not lengths:
        return phones, "recognised", None
    return phones, "transcribed", weighted_measures(fits, agreements, lengths)


def _aligned(samples, text, how, source=""):
    phones, measures = checked_align(samples, text, source)
    return phones, how, measures
