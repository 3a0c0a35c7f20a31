"""What a user audit of rig profiles and emotion tracks found (2026-12-05), besides the profile mistakes now in
tests/test_rigs.py: a byte-order mark was refused with Python's advice, and a keyframe's emotion given as an
object was answered with Python's repr."""

import pytest

from emoface.errors import InputError
from emoface.rigs import load_rig


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
