"""What a user audit of emotion control found (2026-12-05): a mild emotion lost the brow and lid accents of neutral
speech and intensity 0 was not neutral (the face's share no emotion took was nobody's); `happy:0` was refused."""

import json

import numpy as np

from emoface.cli import main
from emoface.emotion.spec import EMOTIONS, parse_emotion


def bake(bob, tmp_path, name, *emotion):
    out = tmp_path / f"{name}.json"
    assert main(["bake", str(bob), "-o", str(out), "-q", *emotion]) == 0
    data = json.loads(out.read_text())
    return np.array(data["frames"]), data["metadata"]["emotion"]


def test_what_no_emotion_takes_is_neutral(bob, tmp_path):
    neutral, said = bake(bob, tmp_path, "neutral")
    for name, args in {"zero": ("--emotion", "happy", "--intensity", "0"), "weight0": ("--emotion", "happy:0"),
                       "half": ("--emotion", "neutral", "--intensity", "0.5")}.items():
        frames, label = bake(bob, tmp_path, name, *args)
        assert label == said == "neutral:1.00"
        np.testing.assert_array_equal(frames, neutral)
    mild, label = bake(bob, tmp_path, "mild", "--emotion", "happy", "--intensity", "0.3")
    blend, _ = bake(bob, tmp_path, "blend", "--emotion", "happy:0.3+neutral:0.7")
    assert label == "happy:0.30+neutral:0.70"
    np.testing.assert_array_equal(mild, blend)


def test_a_blend_short_of_one_is_filled_with_neutral():
    vec = parse_emotion("happy:0.5+surprise:0.3", 0.5)
    assert np.isclose(vec.sum(), 1.0) and np.isclose(vec[EMOTIONS.index("neutral")], 0.6)
    assert np.isclose(parse_emotion("neutral", 0.2).sum(), 1.0)


def test_a_live_message_with_a_misspelt_key_is_refused_not_played_at_full_strength():
    from tests.test_hardening_leftovers import _replies

    misspelt, extra, after = _replies(['{"type": "emotion", "emotion": "happy", "intensty": 0.3}',
                                       '{"type": "emotion", "emotion": "sad", "transition": 2}',
                                       '{"type": "rig", "rig": "arkit", "character": "x"}'])
    assert misspelt == "unknown key 'intensty' in this emotion message (it has type, emotion, intensity)"
    assert extra.startswith("unknown key 'transition'") and after.startswith("unknown key 'character' in this rig")


def test_a_keyframes_emotion_is_whole_at_its_time_and_no_ease_starts_before_the_keyframe_ahead():
    from emoface.emotion.spec import EmotionTrack

    happy = EMOTIONS.index("happy")
    track = EmotionTrack(np.array([0.0, 1.2]), np.stack([parse_emotion("neutral"), parse_emotion("happy")]))
    np.testing.assert_allclose(track.at([0.8, 1.0, 1.2])[:, happy], [0, 0.5, 1], atol=1e-6)
    long = EmotionTrack(np.array([0.0, 1.0]), np.stack([parse_emotion("sad"), parse_emotion("happy")]), 3.0)
    np.testing.assert_allclose(long.at([0.0, 1.0])[:, happy], [0, 1], atol=1e-6)  # sad at 0 is sad


def test_a_live_change_eases_in_from_when_it_is_asked_for_over_an_ease_under_way():
    from emoface.emotion.spec import EmotionTrack

    live = EmotionTrack.constant(parse_emotion("sad")).then(1.0, parse_emotion("happy"))
    before = live.at(np.arange(0.9, 1.1, 0.01))
    live = live.then(1.1, parse_emotion("angry"))
    np.testing.assert_array_equal(live.at(np.arange(0.9, 1.1, 0.01)), before)  # frames that trail the clock
    ahead = live.at(np.arange(1.1, 2.0, 1 / 60))
    assert np.abs(np.diff(ahead, axis=0)).max() < 0.1 and ahead[-1][EMOTIONS.index("angry")] == 1


def test_a_keyframe_past_the_line_is_named_and_an_absurd_time_refused(bob, tmp_path, capsys):
    from tests.test_hardening_cli import one_error_line

    track = tmp_path / "t.json"
    track.write_text(json.dumps([{"time": 0, "emotion": "sad"}, {"time": 60, "emotion": "angry"}]))
    assert main(["bake", str(bob), "-o", str(tmp_path / "a.json"), "--emotion-track", str(track)]) == 0
    assert "keyframe(s) at 60 s lie past the line's end" in capsys.readouterr().err
    track.write_text(json.dumps([{"time": 0, "emotion": "sad"}, {"time": 1e308, "emotion": "angry"}]))
    assert main(["bake", str(bob), "-o", str(tmp_path / "b.json"), "--emotion-track", str(track)]) == 2
    one_error_line(capsys.readouterr().err, "keyframe time 1e+308 is past any line")


def test_auto_is_named_for_what_it_is_where_it_cannot_go(bob, tmp_path, capsys):
    from tests.test_hardening_cli import one_error_line

    assert main(["bake", str(bob), "-o", str(tmp_path / "a.json"), "--emotion", "auto+happy:0.2"]) == 2
    one_error_line(capsys.readouterr().err, "'auto' (the emotion recognised from a whole line) is for")
    from tests.test_hardening_leftovers import _replies

    [live] = _replies(['{"type": "emotion", "emotion": "auto"}'])
    assert live.startswith("emotion: 'auto' (the emotion recognised from a whole line)")
