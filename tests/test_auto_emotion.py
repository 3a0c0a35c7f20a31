"""--emotion auto and `emoface analyze`: the optional recogniser's track drives the emotion encoder."""

import json

import numpy as np
import pytest

from emoface import formats
from emoface.cli import main
from emoface.emotion.recognize import load, predict_track
from emoface.emotion.spec import EMOTIONS
from emoface.audio import load_audio


@pytest.fixture(scope="module")
def recognizer():
    return load()


def test_analyze_prints_a_track(speech_line, capsys, recognizer):
    assert main(["analyze", str(speech_line), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["emotion"] in EMOTIONS and abs(sum(result["probabilities"].values()) - 1) < 1e-3
    times = [k["time"] for k in result["track"]]
    assert len(times) >= 3 and times == sorted(times) and times[1] - times[0] == pytest.approx(0.5)


def test_auto_emotion_bakes_with_a_recognised_track(speech_line, tmp_path, recognizer):
    out = tmp_path / "auto.json"
    assert main(["bake", str(speech_line), "-o", str(out), "--emotion", "auto", "-q"]) == 0
    meta = formats.read(out).metadata
    assert meta["emotion"].count("s ") >= 3  # one keyframe per 0.5 s window
    track = predict_track(load_audio(speech_line).samples)
    w = track.weights(100, 100.0)
    assert np.allclose(w.sum(axis=1), 1.0, atol=1e-4)


def test_intensity_scales_the_recognised_emotion(speech_line, tmp_path, recognizer):
    """--intensity (and a sheet's intensity column) scales what auto recognises, as it scales a named emotion:
    at 0 the face is the one of no emotion at all."""
    outs = {}
    for name, extra in (("auto0", ["--emotion", "auto", "--intensity", "0"]), ("auto", ["--emotion", "auto"]),
                        ("none", ["--emotion", "neutral", "--intensity", "0"])):
        outs[name] = tmp_path / f"{name}.json"
        assert main(["bake", str(speech_line), "-o", str(outs[name]), "-q", *extra]) == 0
    auto0, auto, none = (formats.read(outs[k]).values for k in ("auto0", "auto", "none"))
    assert np.array_equal(auto0, none) and not np.array_equal(auto, none)
    sheet = tmp_path / "lines.csv"
    sheet.write_text(f"audio,emotion,intensity\n{speech_line},auto,0\n")
    assert main(["bake", "--manifest", str(sheet), "-o", str(tmp_path / "sheet"), "-q"]) == 0
    assert np.array_equal(formats.read(tmp_path / "sheet" / f"{speech_line.stem}.json").values, none)


def test_acted_emotions_are_recognised(shared, recognizer):
    """Sanity on RAVDESS (the recogniser saw these actors in training; speaker-independent accuracy is in
    its model card): strongly acted angry and happy lines come out as such."""
    import csv

    rows = [r for r in csv.DictReader(open(shared / "data" / "ravdess" / "labels.csv"))
            if r["intensity"] == "strong" and r["emotion"] in ("angry", "happy", "sad")][:12]
    from emoface.emotion.recognize import clip_label
    from emoface.train.ser import RAVDESS_TO_EMOFACE

    hits = [EMOTIONS[clip_label(load_audio(shared / "data" / "ravdess" / "clips" / f"{r['file']}.flac").samples,
                                recognizer)] == RAVDESS_TO_EMOFACE[r["emotion"]] for r in rows]
    assert np.mean(hits) >= 0.7
