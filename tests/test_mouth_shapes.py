"""Rhubarb A-X cues and OVRLipSync viseme weights, read as Rhubarb's and Meta's own readers would."""

import json
import re

import numpy as np
import pytest

from emoface import formats
from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.mouth_shapes import OVR_VISEMES, frame_shapes, ovr_weights
from tests.conftest import speak

LINE = "Who knew? Bob saw a lovely blue pot of father's food."


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """The line animated by the shipped network with its transcript (timed phones), and without."""
    wav = speak(LINE, tmp_path_factory.mktemp("visemes") / "line.wav")
    audio = load_audio(wav)
    with_text = Animator(fps=60.0, seed=1).animate(audio, text=LINE)
    return wav, with_text, Animator(fps=60.0, seed=1).animate(audio)


def _rhubarb_tsv(path):
    """Rhubarb's TSV as its README defines it: `time<TAB>shape`, two decimals, first 0.00, last the end with X."""
    lines = path.read_text().splitlines()
    assert all(re.fullmatch(r"\d+\.\d\d\t[A-HX]", ln) for ln in lines), lines
    times = [float(ln.split("\t")[0]) for ln in lines]
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:]))
    assert lines[-1].endswith("\tX")
    return [(t, e, ln.split("\t")[1]) for t, e, ln in zip(times, times[1:], lines)], times[-1]


def test_rhubarb_tsv_and_json_are_what_rhubarb_writes(line, tmp_path):
    wav, anim, _ = line
    tsv = formats.write_atomic(formats.get("rhubarb"), anim, tmp_path / "line.tsv")
    cues, end = _rhubarb_tsv(tsv)
    assert end == np.floor(anim.metadata["duration_s"] * 100) / 100  # the recording's end, not the frames
    doc = json.loads(formats.write_atomic(formats.get("visemes"), anim, tmp_path / "line.visemes.json").read_text())
    assert doc["metadata"]["soundFile"].endswith("line.wav") and doc["metadata"]["duration"] == end
    json_cues = [(c["start"], c["end"], c["value"]) for c in doc["mouthCues"]]
    assert json_cues == cues  # the same cues in both files, contiguous from 0 to the end
    assert len({c[2] for c in cues}) >= 6  # a spoken line uses most of the mouth chart
    assert formats.for_suffix("a/line.visemes.json") == "visemes" and formats.for_suffix("a/line.json") == "json"


def test_ovr_visemes_are_15_weights_a_frame(line, tmp_path):
    _, anim, plain = line
    for a in (anim, plain):
        back = formats.read(formats.write_atomic(formats.get("visemes"), a, tmp_path / "v.visemes.json"))
        assert back.names == OVR_VISEMES and back.fps == a.fps and back.n_frames == a.n_frames
        assert (back.values >= 0).all() and np.allclose(back.values.sum(axis=1), 1.0, atol=2e-3)


def _shape_over(anim, phone_names):
    shapes = frame_shapes(anim)
    return [shapes[int(round(s * 100)):int(round(e * 100))] for n, s, e in anim.metadata["phonemes"]
            if n in phone_names]


def test_the_cues_follow_the_speech(line):
    """Lips shut at every p/b/m, the lip tucked at f/v, rounded lips at "who", "blue", "food", the mouth open
    at "father"; and the OVR weights name the phone's viseme there."""
    _, anim, _ = line
    assert all((seg == "A").all() for seg in _shape_over(anim, ("P", "B", "M")))
    assert all((seg == "G").all() for seg in _shape_over(anim, ("F", "V")))
    rounded = np.concatenate(_shape_over(anim, ("UW",)))
    assert np.isin(rounded, ["E", "F"]).mean() > 0.8
    opened = np.concatenate(_shape_over(anim, ("AA",)))
    assert np.isin(opened, ["C", "D"]).mean() > 0.7
    w = ovr_weights(anim)
    for name, viseme in (("P", "PP"), ("B", "PP"), ("UW", "ou"), ("AA", "aa"), ("F", "FF")):
        for n, s, e in anim.metadata["phonemes"]:
            if n == name:
                mid = int((s + e) / 2 * anim.fps)
                assert OVR_VISEMES[w[mid].argmax()] == viseme, (name, s)


def test_without_a_transcript_the_curves_decide(line):
    """No phones: shapes and weights come from the curves alone: the closures of "Bob" read as closed lips,
    "blue" and "food" as rounded."""
    _, timed, plain = line
    assert "phonemes" not in plain.metadata
    shapes = frame_shapes(plain)
    for n, s, e in timed.metadata["phonemes"]:
        seg = shapes[int(round(s * 100)):int(round(e * 100))]
        if n == "UW":
            assert np.isin(seg, ["E", "F"]).mean() > 0.6
    closures = [shapes[int(round(s * 100)):int(round(e * 100))] for n, s, e in timed.metadata["phonemes"]
                if n in ("B", "P")]
    assert np.mean([np.isin(seg, ["A", "X"]).any() for seg in closures]) >= 0.75
