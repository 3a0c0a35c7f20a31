"""Audit 2, findings 5 and 6: transcripts as a game's dialogue sheet writes them, and quiet lines.

5: the transcript kept only [a-z'], so "700 ... 1,000" was rejected as not matching the audio (its p/b/m
closures lost), "$5" and "1997" vanished, and "Zoë", "café" split into fragments aligned to the wrong phones.
6: a quiet real line (peak about -64 dBFS) was announced as "silent; writing an idle animation" while the
network animated it, and a transcript given with it was dropped without a word.
"""

import logging

import numpy as np
import pytest

from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.phonetic.recognize import checked_align, normalise_text, spell_number, transcript_words

from .conftest import speak


def _words(phones) -> list[str]:
    out = []
    for p in phones:
        if p.word and (not out or out[-1] != p.word):
            out.append(p.word)
    return [w.split("(")[0] for w in out]


def _phones_of(phones, word: str) -> list[str]:
    return [p.name for p in phones if p.word.split("(")[0] == word]


# --- 5: numbers, symbols and accents ------------------------------------------------------------------------

def test_numbers_symbols_and_accents_become_words():
    assert transcript_words("Give me 700 coins, not 1,000!") == ["give", "me", "700", "coins", "not", "1,000"]
    assert transcript_words("In 1997 I paid $5.") == ["in", "1997", "i", "paid", "$5"]
    assert transcript_words("Zoë and Renée met at the café, naïve as ever.") == \
        ["zoe", "and", "renee", "met", "at", "the", "cafe", "naive", "as", "ever"]
    assert transcript_words("Tom & Jerry: 50% off the 2nd, Dr. Who at 10:30 in the 1990s; 3.5 kg") == \
        ["tom", "and", "jerry", "50%", "off", "the", "2nd", "doctor", "who", "at", "10:30", "in", "the", "1990s",
         "3.5", "kg"]
    assert spell_number("700")[0] == ["seven", "hundred"]
    assert spell_number("1,000")[0] == ["one", "thousand"]
    assert spell_number("1997")[0] == ["nineteen", "ninety", "seven"]
    assert ["one", "thousand", "nine", "hundred", "ninety", "seven"] in spell_number("1997")
    assert spell_number("$5")[0] == ["five", "dollars"] and spell_number("$1")[0] == ["one", "dollar"]
    assert spell_number("3.5")[0] == ["three", "point", "five"]
    assert spell_number("50%")[0] == ["fifty", "percent"]
    assert spell_number("2nd")[0] == ["second"] and spell_number("21st")[0] == ["twenty", "first"]
    assert spell_number("1990s")[0] == ["nineteen", "nineties"]
    assert spell_number("10:05")[0] == ["ten", "oh", "five"]
    assert spell_number("£5.50")[0] == ["five", "pounds", "fifty"]


def test_plain_english_transcripts_read_as_before():
    """Letters-only transcripts give the aligner the same words as before; normalise_text keeps its contract."""
    for text in ["We found the treasure before sunset, and nobody saw us leave.", "Bob popped the big map",
                 "It's o'clock—ok? Well-known words; 'quoted' ones."]:
        assert transcript_words(text) == normalise_text(text)
    assert normalise_text("Hello, World! It's 5 o'clock—ok?") == ["hello", "world", "it's", "o'clock", "ok"]


def test_a_line_with_digits_bakes_aligned_with_its_closures(tmp_path):
    """The audit's line: written "700 ... 1,000", it was rejected and the network baked alone."""
    line = speak("Give me 700 coins, not 1,000", tmp_path / "coins.wav")
    anim = Animator().animate_canonical(load_audio(line), text="Give me 700 coins, not 1,000")
    meta = anim.metadata
    assert meta["phoneme_source"] == "aligned" and "transcript_rejected" not in meta, meta
    names = [p[0] for p in meta["phonemes"]]
    assert "M" in names  # "me": the closure the transcript enforces
    phones, _ = checked_align(load_audio(line).samples, "Give me 700 coins, not 1,000")
    assert _words(phones) == ["give", "me", "700", "coins", "not", "1,000"]
    assert _phones_of(phones, "700")[:10] == ["S", "EH", "V", "AH", "N", "HH", "AH", "N", "D", "R"]  # seven hundred
    assert _phones_of(phones, "1,000") == ["W", "AH", "N", "TH", "AW", "Z", "AH", "N", "D"]  # one thousand


def test_a_year_and_a_price_align_as_a_speaker_says_them(tmp_path):
    """"In 1997 I paid $5" became "in i paid"; said as a voice actor reads it, it aligns word for word."""
    line = speak("In nineteen ninety seven I paid five dollars.", tmp_path / "paid.wav")
    phones, measures = checked_align(load_audio(line).samples, "In 1997 I paid $5.")
    assert _words(phones) == ["in", "1997", "i", "paid", "$5"], measures
    assert _phones_of(phones, "$5") == ["F", "AY", "V", "D", "AA", "L", "ER", "Z"]


def test_accented_names_align_whole(tmp_path):
    """"Zoë", "Renée", "café" were split into zo, ren, e, caf: fragments aligned to the wrong phones."""
    line = load_audio(speak("Zoe met Renee at the cafe.", tmp_path / "cafe.wav")).samples
    accented, _ = checked_align(line, "Zoë met Renée at the café.")
    plain, _ = checked_align(line, "Zoe met Renee at the cafe.")
    assert _words(accented) == ["zoe", "met", "renee", "at", "the", "cafe"]
    assert [(p.name, p.start, p.end) for p in accented] == [(p.name, p.start, p.end) for p in plain]


def test_abbreviations_are_read_as_they_are_said():
    """cmudict reads "dr" as "drive" and "st" as "street"; "capt", "lt", "prof" are not in it at all (espeak-ng
    guessed "kapt"). A game's dialogue is full of ranks and titles."""
    assert transcript_words("Dr. Reyes met Capt. Ortiz on Elm St. near St. Mary's") == [
        "doctor", "reyes", "met", "captain", "ortiz", "on", "elm", "street", "near", "saint", "mary's"]
    assert transcript_words("Sgt. Lee, Lt. Dan and Prof. Oak vs. Gen. Grievous on Mt. Doom, Oak Dr.") == [
        "sergeant", "lee", "lieutenant", "dan", "and", "professor", "oak", "versus", "general", "grievous", "on",
        "mount", "doom", "oak", "drive"]
    assert transcript_words("No. 5 is here. No. I said no.") == ["number", "5", "is", "here", "no", "i", "said", "no"]
    assert transcript_words("the gen of drs") == ["the", "gen", "of", "drs"]  # without a full stop: as written


def test_a_title_aligns_as_its_word_said(tmp_path):
    line = load_audio(speak("Doctor Reyes lives on Elm Street.", tmp_path / "dr.wav")).samples
    short, _ = checked_align(line, "Dr. Reyes lives on Elm St.")
    spelt, _ = checked_align(line, "Doctor Reyes lives on Elm Street.")
    assert [(p.name, p.start, p.end) for p in short] == [(p.name, p.start, p.end) for p in spelt]
    assert _phones_of(short, "doctor")[:2] == ["D", "AA"]


def test_a_transcript_in_another_script_says_what_it_does_not_read(tmp_path, caplog):
    line = load_audio(speak("Bob popped the big map", tmp_path / "bob.wav")).samples
    with pytest.raises(RuntimeError, match="no words to align.*你好"):
        checked_align(line, "你好。")
    with caplog.at_level(logging.WARNING, logger="emoface"):
        phones, _ = checked_align(line, "Bob popped the big map 地图", "bob.wav")
    assert "地图" in caplog.text and "not read" in caplog.text
    assert _words(phones) == ["bob", "popped", "the", "big", "map"]


# --- 6: a quiet line -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quiet_line(tmp_path_factory):
    """Real speech scaled to a peak of -64 dBFS: under the -60 dBFS silence test, clearly speech."""
    import soundfile as sf

    path = speak("Bob popped the big map", tmp_path_factory.mktemp("quiet") / "loud.wav")
    x, rate = sf.read(path, dtype="float32")
    quiet = path.with_name("quiet.wav")
    sf.write(quiet, x / np.abs(x).max() * 10 ** (-64 / 20), rate, subtype="FLOAT")
    return quiet


def test_a_quiet_line_the_network_animates_is_not_called_silent(quiet_line, caplog):
    with caplog.at_level(logging.WARNING, logger="emoface"):
        anim = Animator().animate_canonical(load_audio(quiet_line))
    assert "very quiet (peak -64.0 dBFS)" in caplog.text and "silent" not in caplog.text
    assert "idle" not in caplog.text and anim["JawOpen"].max() > 0.2  # animated, as the warning says
    assert "transcript_rejected" not in anim.metadata


def test_a_quiet_lines_transcript_is_not_dropped_unsaid(quiet_line, caplog):
    with caplog.at_level(logging.WARNING, logger="emoface"):
        anim = Animator().animate_canonical(load_audio(quiet_line), text="Bob popped the big map")
    assert "very quiet (peak -64.0 dBFS)" in caplog.text
    # the network aligns a quiet line's transcript as a loud one's (it had been skipped under -60 dBFS)
    assert anim.metadata["phoneme_source"] == "aligned" and "transcript" not in caplog.text


def test_the_phonetic_engine_says_it_writes_a_still_face_and_drops_the_transcript(quiet_line, caplog):
    with caplog.at_level(logging.WARNING, logger="emoface"):
        anim = Animator(engine="phonetic").animate_canonical(load_audio(quiet_line), text="Bob popped the big map")
    assert "audio is silent (peak -64.0 dBFS); writing an idle animation; its transcript is not used" in caplog.text
    assert anim.metadata["phoneme_source"] == "silent" and "transcript_rejected" in anim.metadata


def test_digital_silence_is_still_silent(silence, caplog):
    with caplog.at_level(logging.WARNING, logger="emoface"):
        anim = Animator().animate_canonical(load_audio(silence))
    assert "audio is silent (no signal); writing an idle animation" in caplog.text
    assert "transcript_rejected" not in anim.metadata
