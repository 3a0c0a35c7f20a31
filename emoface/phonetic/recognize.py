"""Timed phonemes from pocketsphinx: forced alignment when the transcript is known, phone loop when not."""

from __future__ import annotations

import logging
import re
import subprocess
import unicodedata
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


# Letters NFKD does not take apart: folded by hand, so "Ærø" or "Straße" keep their words
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ð": "d", "þ": "th", "ł": "l", "đ": "d",
                       "ı": "i", "ħ": "h", "ŋ": "ng", "’": "'", "‘": "'", "ʼ": "'", "`": "'"})
# A number as a dialogue sheet writes it: "$5", "1,000", "3.5", "50%", "2nd", "1990s", "10:30"
_NUMBER = r"[$£€]?\d+(?:[,.:]\d+)*(?:%|st|nd|rd|th|s\b)?"
_SYMBOLS = {"&": "and", "@": "at", "%": "percent"}
_TOKEN = re.compile(rf"{_NUMBER}|[a-z']+|[&@%]")


# Abbreviations a dialogue line writes with a full stop, as they are said (without one, "gen" or "no" is a word).
# cmudict reads "dr" as "drive" first and "st" as "street"; before a name they are "doctor" and "saint".
_ABBREVIATIONS = {"capt": "captain", "cmdr": "commander", "col": "colonel", "cpl": "corporal", "det": "detective",
                  "fr": "father", "gen": "general", "gov": "governor", "insp": "inspector",
                  "jr": "junior", "lt": "lieutenant", "maj": "major", "mt": "mount", "no": "number",
                  "pres": "president", "prof": "professor", "pvt": "private", "rev": "reverend",
                  "sen": "senator", "sgt": "sergeant", "sr": "senior", "supt": "superintendent", "vs": "versus"}
_BEFORE_A_NAME = {"dr": ("doctor", "drive"), "st": ("saint", "street")}
_ABBREVIATION = re.compile(r"\b([A-Za-z]+)\.(?=(\s+)(\S)?|$)")


def _expand_abbreviations(text: str) -> str:
    """"Dr. Reyes" -> "doctor Reyes", "Elm St." -> "Elm street", "Capt." -> "captain", "No. 5" -> "number 5"."""
    def say(m):
        word = m.group(1).lower()
        follows = m.group(3) or ""
        if word in _BEFORE_A_NAME:
            name, place = _BEFORE_A_NAME[word]
            return name if follows.isupper() else place
        if word == "no" and not follows.isdigit():  # "No." ending a sentence is the word no
            return m.group(0)
        return _ABBREVIATIONS.get(word, m.group(0))
    return _ABBREVIATION.sub(say, text)


def fold(text: str) -> str:
    """Lower case, accents removed (NFKD, combining marks dropped: "Zoë" -> "zoe", "café" -> "cafe")."""
    text = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c)).translate(_FOLD)


def transcript_words(text: str) -> list[str]:
    """The words forced alignment reads: letter words (accents removed), numbers as written ("1,000", "$5",
    said as pronunciations() spells them), &, @, % and abbreviations ("Dr.", "Capt.") as the words they stand
    for. Other scripts are dropped (unread_text names them)."""
    words = []
    for token in _TOKEN.findall(fold(_expand_abbreviations(text)).replace("-", " ")):
        token = _SYMBOLS.get(token, token).strip("'")
        if token:
            words.append(token)
    return words


def normalise_text(text: str) -> list[str]:
    """Lower case, letters and apostrophes only (accents removed): a transcript's words spelt in letters."""
    return [w for w in transcript_words(text) if re.fullmatch(r"[a-z']+", w)]


def unread_text(text: str) -> list[str]:
    """The runs of letters and digits in a transcript that transcript_words does not read (other scripts)."""
    return re.findall(r"[^\W_]+", re.sub(r"[a-z0-9]+", " ", fold(text)))


def words_to_align(text: str) -> list[str]:
    """transcript_words, or RuntimeError saying why there are none."""
    words = transcript_words(text)
    if not words:
        unread = " ".join(unread_text(text))
        raise RuntimeError(f"the transcript has no words to align: only letters a-z (accents removed), digits "
                           f"and & @ % are read" + (f"; not {unread!r}" if unread else ""))
    return words


def is_number(word: str) -> bool:
    return re.fullmatch(_NUMBER, word) is not None


# Numbers in words by hand, English only: num2words, the library for it, is LGPL, and this project's core is MIT
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10 ** 12, "trillion"), (10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"))
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents")}
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}


def _under_1000(n: int, british: bool) -> list[str]:
    out = []
    if n >= 100:
        out += [_ONES[n // 100], "hundred"] + (["and"] if british and n % 100 else [])
        n %= 100
    if n >= 20:
        out += [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    elif n or not out:
        out.append(_ONES[n])
    return out


def cardinal(n: int, british: bool = False) -> list[str]:
    """An integer in words: 1000 -> one thousand (british: 120 -> one hundred and twenty)."""
    out = []
    for size, name in _SCALES:
        if n >= size:
            out += cardinal(n // size, british) + [name]
            n %= size
    if n or not out:
        if british and out and n < 100:
            out.append("and")
        out += _under_1000(n, british)
    return out


def _year(n: int) -> list[str]:
    """1997 -> nineteen ninety seven, 1905 -> nineteen oh five, 1900 -> nineteen hundred."""
    hi, lo = divmod(n, 100)
    return _under_1000(hi, False) + (["hundred"] if lo == 0 else ["oh"] + _ONES[lo:lo + 1] if lo < 10
                                     else _under_1000(lo, False))


def _ordinal(words: list[str]) -> list[str]:
    last = words[-1]
    last = _ORDINAL.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return words[:-1] + [last]


def _plural(words: list[str]) -> list[str]:
    last = words[-1]
    return words[:-1] + [last[:-1] + "ies" if last.endswith("y") else last + ("es" if last == "six" else "s")]


def _digits(text: str) -> list[list[str]]:
    return [[_ONES[int(d)] for d in text], ["oh" if d == "0" else _ONES[int(d)] for d in text]]


def _integer_readings(text: str) -> list[list[str]]:
    """How a speaker may say an integer written as `text` (commas allowed)."""
    if len(text) > 1 and text.startswith("0") or len(text) > 15:
        return _digits(text)  # 007, a phone number
    n = int(text.replace(",", ""))
    out = [cardinal(n), cardinal(n, british=True)]
    if "," not in text and len(text) == 4 and n % 1000 >= 10:
        out.insert(0, _year(n))  # 1997, 2024; 2007 is two thousand seven
    for words in list(out):
        if words[0] == "one" and words[1:2] in (["hundred"], ["thousand"], ["million"]):
            out.append(["a"] + words[1:])  # a thousand
    return out


def _clock_part(text: str) -> list[str]:
    """The minutes of 10:30, 10:05 (oh five), 10:00 (o'clock)."""
    n = int(text)
    return ["o'clock"] if n == 0 else ["oh", _ONES[n]] if n < 10 and text.startswith("0") else cardinal(n)


def spell_number(token: str) -> list[list[str]]:
    """The ways a number token of transcript_words may be said, most likely first: "$5" -> [five dollars, ...],
    "1997" -> [nineteen ninety seven, one thousand nine hundred ninety seven, ...], "3.5" -> [three point
    five], "2nd" -> [second], "50%" -> [fifty percent], "10:30" -> [ten thirty]."""
    currency = token[0] if token[0] in _CURRENCY else ""
    body = token[len(currency):]
    suffix = re.search(r"(%|st|nd|rd|th|s)$", body)
    suffix = suffix.group(1) if suffix else ""
    body = body[: len(body) - len(suffix)]
    if ":" in body:  # a time or a score: each part said on its own
        out = [sum((_clock_part(p) if k else cardinal(int(p)) for k, p in enumerate(body.split(":"))), [])]
    else:
        whole, _, frac = body.partition(".") if re.fullmatch(r"[\d,]+\.\d+", body) else (body, "", "")
        out = _integer_readings(whole.replace(".", ""))
        if currency and frac and len(frac) == 2:
            one, many, cent, cents = _CURRENCY[currency]
            cents_words = cardinal(int(frac))
            money = [w + [one if w == ["one"] else many] for w in out]
            out = [m + cents_words for m in money] + [w + cents_words for w in out] + \
                  [m + ["and"] + cents_words + [cent if frac == "01" else cents] for m in money]
            currency = ""
        elif frac:
            out = [w + ["point"] + d for w in out for d in _digits(frac)]
    if suffix == "%":
        out = [w + ["percent"] for w in out]
    elif suffix == "s":  # the 1990s
        out = [_plural(w) for w in out[:1]]
    elif suffix:
        out = [_ordinal(w) for w in out]
    if currency:
        one, many = _CURRENCY[currency][:2]
        out = [w + [one if w in (["one"], ["a"]) else many] for w in out]
    unique = []
    for words in out:
        if words not in unique:
            unique.append(words)
    return unique[:MAX_READINGS]


MAX_READINGS = 6  # most pronunciations of one number given to the aligner


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
    """American and British guesses: the aligner picks whichever fits the audio (cmudict-style variants). A
    number's are its readings (spell_number) in cmudict's phones: espeak-ng says "$5" as "dollar five"."""
    if is_number(word):
        return _number_pronunciations(word)
    out = []
    for voice in ("en-us", "en"):
        phones = espeak_pronunciation(word, voice)
        if phones and phones not in out:
            out.append(phones)
    return out


@lru_cache(maxsize=256)
def _number_pronunciations(token: str) -> list[list[str]]:
    from emoface.phonetic.long_align import _lexicon

    readings = spell_number(token)
    lexicon = _lexicon({w for words in readings for w in words})
    out = []
    for words in readings:
        phones = [p for w in words for p in (lexicon.get(w) or next(iter(pronunciations(w)), []))]
        if phones and phones not in out:
            out.append(phones)
    guess = espeak_pronunciation(token)  # how espeak-ng reads it (and says it, for lines it spoke)
    return out + [guess] if guess and guess not in out else out


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
    words = words_to_align(text)
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
    unread = unread_text(text)
    if unread and transcript_words(text):
        log.warning("%s: the transcript's %s not read (only letters a-z, accents removed, and digits are)",
                    source, " ".join(repr(u) for u in unread[:10]) + (" ..." if len(unread) > 10 else "") +
                    (" is" if len(unread) == 1 else " are"))
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
