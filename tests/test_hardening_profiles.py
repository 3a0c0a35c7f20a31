"""What a user audit of rig profiles and emotion tracks found (2026-12-05): a curve given twice in the map form
kept the last in silence, names differing only in case passed (Unreal's names do not tell them apart), a range
below float32's resolution collapsed to a constant curve, a misspelt top-level key passed, and a byte-order mark
was refused with Python's advice."""

import pytest

from emoface.errors import InputError
from emoface.rigs import load_rig


@pytest.mark.parametrize("text, needle", [
    ('{"name":"dup","curves":{"Mouth_Open":{"JawOpen":1},"Mouth_Open":{"MouthClose":1}}}',
     "gives 'Mouth_Open' twice in one object"),
    ('{"name":"a","curves":{"A":{"JawOpen":1}},"name":"b"}', "gives 'name' twice"),
    ('{"name":"c","curves":{"Blink":{"EyeBlinkLeft":1},"blink":{"EyeBlinkRight":1}}}', "appears twice"),
    ('{"name":"t","curves":{"A":{"from":{"JawOpen":1},"range":[0,1e-300]}}}', "needs two different ends"),
    ('{"name":"k","descripton":"typo","curves":{"A":{"JawOpen":1}}}', "unknown key 'descripton'"),
])
def test_a_profile_mistake_is_one_line(tmp_path, text, needle):
    path = tmp_path / "rig.json"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_rig(path)
    assert needle in str(err.value) and str(err.value).startswith(str(path))


def test_a_profile_saved_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "rig.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"name":"bom","curves":{"Mouth_Open":{"JawOpen":1}}}')
    assert load_rig(path).names == ("Mouth_Open",)


def test_an_emotion_keyframe_that_is_not_a_string_is_told_so(tmp_path):
    from emoface.emotion.spec import load_emotion_track as load_track

    path = tmp_path / "track.json"
    path.write_text('[{"time": 0, "emotion": {"happy": 0.5}}]')
    with pytest.raises(InputError) as err:
        load_track(path)
    assert 'emotion must be a string such as "happy:0.7+surprise:0.3" (got {"happy": 0.5})' in str(err.value)
