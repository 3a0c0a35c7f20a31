import numpy as np
import pytest

from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.emotion.spec import EmotionTrack, parse_emotion
from emoface.metrics import CLOSED_GAP, bilabial_closures, lip_gap, pearson
from emoface.phonetic.recognize import ipa_to_arpabet, normalise_text
from emoface.prosody import analyse
from tests.conftest import speak

BOB = "Bob popped the big map"


def bake(path, text=None, emotion="neutral", **kw):
    animator = Animator(**{"engine": "phonetic", **kw})
    return animator.animate_canonical(load_audio(path), EmotionTrack.constant(parse_emotion(emotion)), text)


@pytest.mark.parametrize("emotion", ["neutral", "happy", "surprise", "angry", "disgust", "fear", "sad"])
def test_lips_close_at_every_bilabial_with_transcript(bob, emotion):
    anim = bake(bob, BOB, emotion)
    assert anim.metadata["phoneme_source"] == "aligned"
    phones = anim.metadata["phonemes"]
    assert [p[0] for p in phones if p[0] in "PBM"] == ["B", "B", "P", "P", "B", "M", "P"]
    gaps = bilabial_closures(anim, phones)
    assert len(gaps) == 7 and np.all(gaps < CLOSED_GAP), gaps
    # and the lips do part for the vowels between them
    assert lip_gap(anim).max() > 0.25


def test_phone_recognition_without_transcript_still_moves_the_mouth(bob):
    anim = bake(bob)
    assert anim.metadata["phoneme_source"] == "recognised" and anim.metadata["phonemes"]
    assert anim["JawOpen"].max() > 0.2


def test_jaw_follows_loudness(speech_line):
    anim = bake(speech_line)
    loud = analyse(load_audio(speech_line).samples, anim.n_frames, anim.fps).loudness
    assert pearson(anim["JawOpen"], loud) > 0.5


def test_silence_returns_to_rest(tmp_path):
    path = speak("Hello there.", tmp_path / "a.wav")
    import soundfile as sf
    x, sr = sf.read(path)
    sf.write(path, np.concatenate([x, np.zeros(sr * 2)]), sr)  # two seconds of silence after speaking
    anim = bake(path, "hello there", blinks=False, gaze=False, head=False)
    tail = anim.values[-40:]
    assert anim["JawOpen"][-40:].max() < 0.02 and lip_gap(anim)[-40:].max() < 0.02
    assert np.abs(tail[:, :52]).max() < 0.05


def test_rounded_vowels_pucker_and_fv_tuck_the_lower_lip(tmp_path):
    anim = bake(speak("you knew who flew over", tmp_path / "u.wav"), "you knew who flew over")
    phones = anim.metadata["phonemes"]

    def peak(curve, names):
        frames = [int((s + e) / 2 * anim.fps) for n, s, e in phones if n in names]
        return np.array([anim[curve][f] for f in frames])

    assert peak("MouthPucker", {"UW"}).min() > 0.3
    assert peak("MouthRollLower", {"F", "V"}).min() > 0.25
    assert peak("MouthPucker", {"UW"}).mean() > anim["MouthPucker"].mean()


def test_transcript_normalisation_and_oov_pronunciation():
    assert normalise_text("Hello, World! It's 5 o'clock—ok?") == ["hello", "world", "it's", "o'clock", "ok"]
    assert ipa_to_arpabet("bˈɒb") == ["B", "AA", "B"]
    assert ipa_to_arpabet("tʃˈiːz") == ["CH", "IY", "Z"]


def test_a_wrong_transcript_still_animates(bob):
    """Alignment may fail on a transcript that does not fit; the line must still get mouth motion."""
    anim = bake(bob, "completely different words here about nothing at all in particular today")
    assert anim["JawOpen"].max() > 0.1 and len(anim.metadata["phonemes"]) > 5


def test_words_recognizer_transcribes_then_aligns(bob):
    anim = bake(bob, None, recognizer="words")
    assert anim.metadata["phoneme_source"] in ("transcribed", "recognised")
    if anim.metadata["phoneme_source"] == "transcribed":
        assert np.all(bilabial_closures(anim, anim.metadata["phonemes"]) < CLOSED_GAP)


def test_words_missing_from_the_dictionary_align_every_time(tmp_path):
    """Out-of-vocabulary words get an espeak-ng pronunciation; a second line with the same word works too."""
    text = "Zorblax met Quibbleton at Zorblax station"
    path = speak(text, tmp_path / "oov.wav")
    for _ in range(2):
        anim = bake(path, text)
        assert anim.metadata["phoneme_source"] == "aligned"
        assert any(p[0] == "M" for p in anim.metadata["phonemes"])


def test_a_line_s_phones_do_not_depend_on_the_lines_heard_before_it(speech_line, tmp_path):
    """A batch bakes lines in any order and splits them between workers: each line's phones (recognised or
    aligned) must be the same whatever the decoder heard before."""
    from emoface.phonetic.recognize import align, recognise

    text = "We found the treasure before sunset, and nobody saw us leave."
    rng = np.random.default_rng(0)
    speech = load_audio(speech_line).samples
    line = (speech + 0.01 * rng.standard_normal(len(speech))).astype(np.float32)  # a room's hiss, as on a mic
    other = load_audio(speak("Whispering softly, she wandered far away", tmp_path / "o.wav", voice="en-gb",
                             rate=110)).samples * 0.05  # another voice, much quieter: another cepstral mean

    def heard():
        return [(p.name, p.start, p.end) for p in recognise(line)], [(p.name, p.start, p.end)
                                                                    for p in align(line, text)]

    first = heard()
    recognise(other), align(other, "Whispering softly, she wandered far away")
    assert heard() == first


def test_a_long_line_is_recognised_in_pieces_cut_at_a_pause(speech_line, monkeypatch):
    """The phone loop decodes a long line in pieces (one 30-minute utterance held 700 MB in pocketsphinx): each
    cut falls in a pause, and the pieces' phones follow one another over the whole line."""
    from emoface.phonetic import recognize

    speech = load_audio(speech_line).samples
    gap = np.zeros(16000, np.float32)  # a second's pause between two sentences
    line = np.concatenate([speech, gap, speech])
    monkeypatch.setattr(recognize, "PIECE_S", (len(speech) + 12000) / 16000)
    monkeypatch.setattr(recognize, "CUT_SEARCH_S", 1.0)
    cut = recognize._quietest_cut(line, 0, int(recognize.PIECE_S * 16000))
    spoken_until = int(np.flatnonzero(np.abs(speech) > 0.01)[-1])  # the sentence's own trailing quiet counts
    assert spoken_until < cut < len(speech) + len(gap)
    phones = recognize.recognise(line)
    assert phones[0].start == 0.0 and abs(phones[-1].end - len(line) / 16000) < 0.02
    assert all(a.end <= b.start + 1e-9 for a, b in zip(phones, phones[1:]))
    spoken = [p for p in phones if p.name != "SIL"]
    assert any(p.end <= cut / 16000 for p in spoken) and any(p.start >= cut / 16000 for p in spoken)


SENTENCES = ("We found the treasure before sunset, and nobody saw us leave.",
             "Bob popped the big map on the table.",
             "Keep your voice down, the guards are listening.")


@pytest.fixture(scope="module")
def three_sentences(tmp_path_factory):
    """Three spoken sentences a second apart, where each starts (s), and each word's start (s) from aligning
    each sentence on its own."""
    from emoface.phonetic.recognize import checked_align

    folder = tmp_path_factory.mktemp("long")
    parts, starts, words, at = [], [], [], 0
    for k, text in enumerate(SENTENCES):
        samples = load_audio(speak(text, folder / f"{k}.wav")).samples
        starts.append(at / 16000)
        words += _word_starts(checked_align(samples, text)[0], at / 16000)
        parts += [samples, np.zeros(16000, np.float32)]
        at += len(samples) + 16000
    return np.concatenate(parts), starts, words


def _word_starts(phones, offset: float = 0.0) -> list[tuple[str, float]]:
    """(word, start s) of each aligned word, in order (the pronunciation the aligner chose left out: on(2))."""
    out = []
    for a, b in zip([None] + phones, phones):
        if b.word and (a is None or a.word != b.word or a.end < b.start - 1e-6):
            out.append((b.word.split("(")[0], round(b.start + offset, 3)))
    return out


def _as_one_long_line(monkeypatch, line):
    """Alignment's limit and its pieces scaled down, so a 15 s line is 'long' and cut at pauses into pieces."""
    from emoface.phonetic import long_align, recognize

    monkeypatch.setattr(recognize, "ALIGN_MAX_S", 5.0)
    monkeypatch.setattr(long_align, "PIECE_S", 0.4 * len(line) / 16000)
    monkeypatch.setattr(recognize, "CUT_SEARCH_S", 1.5)
    return [stop / 16000 for _, stop in recognize.pieces(line, long_align.PIECE_S)[:-1]]


def test_a_long_line_is_aligned_to_its_transcript_a_piece_at_a_time(three_sentences, monkeypatch):
    """Forced alignment's memory grows with the square of the line (10 minutes took 9.7 GB): a line past
    ALIGN_MAX_S is cut at its pauses, its transcript split where the phone loop hears the cuts, and each word
    starts where aligning its own sentence put it."""
    from emoface.phonetic.long_align import split_words
    from emoface.phonetic.recognize import checked_align, recognise

    line, starts, truth = three_sentences
    cuts = _as_one_long_line(monkeypatch, line)
    assert len(cuts) >= 2
    words = normalise_text(" ".join(SENTENCES))
    assert [w for w, _ in truth] == words
    assert split_words(words, recognise(line), cuts) == [sum(t < c for _, t in truth) for c in cuts]
    phones, measures = checked_align(line, " ".join(SENTENCES))
    assert set(measures) == {"fit", "agreement"}
    found = _word_starts(phones)
    assert [w for w, _ in found] == words
    assert np.mean([abs(a - b) < 0.05 for (_, a), (_, b) in zip(found, truth)]) >= 0.9
    assert all(a.end <= b.start + 1e-9 for a, b in zip(phones, phones[1:]))


def test_a_piece_the_transcript_does_not_match_keeps_the_phone_loop(three_sentences, monkeypatch, caplog, tmp_path):
    """One wrong sentence in a long line's transcript costs its own piece, not the line: the rest is aligned, the
    piece is named in a warning and in the metadata, and the network's lips are closed only where aligned."""
    import soundfile as sf

    from emoface.phonetic.recognize import checked_align

    line, starts, _ = three_sentences
    _as_one_long_line(monkeypatch, line)
    script = " ".join([SENTENCES[0], "Seventeen thousand horses were sold at Ashford yesterday.", SENTENCES[2]])
    with caplog.at_level("WARNING", logger="emoface"):
        phones, measures = checked_align(line, script, "scene.wav")
    (lo, hi), = measures["unaligned"]
    assert lo < starts[1] < hi <= starts[2]  # the piece that holds the wrong sentence
    assert "scene.wav: the transcript did not align from" in caplog.text
    assert [p for p in phones if p.word == "treasure"] and [p for p in phones if p.word == "guards"]
    assert not [p for p in phones if p.word in ("seventeen", "horses")]
    sf.write(tmp_path / "scene.wav", line, 16000)
    anim = bake(tmp_path / "scene.wav", script, engine="neural")
    assert anim.metadata["phoneme_source"] == "aligned" and anim.metadata["alignment"]["unaligned"] == [[lo, hi]]


def test_words_are_recognised_and_aligned_a_piece_at_a_time(speech_line, monkeypatch):
    """--recognizer words on a line longer than alignment takes (and whose whole recognition held 570 MB at 10
    minutes): each piece, cut at a pause, is transcribed and aligned on its own, its phones in the line's time."""
    from emoface.phonetic import recognize

    speech = load_audio(speech_line).samples
    line = np.concatenate([speech, np.zeros(16000, np.float32), speech])
    monkeypatch.setattr(recognize, "WORDS_PIECE_S", 0.6 * len(line) / 16000)
    monkeypatch.setattr(recognize, "CUT_SEARCH_S", 1.0)
    assert len(recognize.pieces(line, recognize.WORDS_PIECE_S)) == 2
    phones, how, measures = recognize.timed_phones(line, None, recognizer="words")
    assert how == "transcribed" and set(measures) == {"fit", "agreement"}
    cut = recognize.pieces(line, recognize.WORDS_PIECE_S)[0][1] / 16000
    words = [p for p in phones if p.word]
    assert any(p.end <= cut for p in words) and any(p.start >= cut for p in words)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(phones, phones[1:]))
    assert abs(phones[-1].end - len(line) / 16000) < 0.05
