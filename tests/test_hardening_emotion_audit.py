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
