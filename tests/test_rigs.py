import json

import numpy as np
import pytest

from emoface.animation import Animation
from emoface.errors import InputError
from emoface.rigs import builtin_names, canonical_names, load_rig, retarget

OPPOSITES = [("EyeLookInLeft", "EyeLookOutLeft"), ("EyeLookInRight", "EyeLookOutRight"),
             ("EyeLookUpLeft", "EyeLookDownLeft"), ("EyeLookUpRight", "EyeLookDownRight"),
             ("EyeBlinkLeft", "EyeWideLeft"), ("EyeBlinkRight", "EyeWideRight"), ("JawLeft", "JawRight"),
             ("MouthLeft", "MouthRight")]


def plausible_canonical(n=40, seed=0):
    """Random faces a rig can show: at most one of each opposite pair active, rotations zero."""
    rng = np.random.default_rng(seed)
    names = canonical_names()
    v = rng.uniform(0, 0.45, (n, len(names))).astype(np.float32)
    v[:, 52:] = 0
    for a, b in OPPOSITES:
        off = rng.random(n) < 0.5
        v[off, names.index(a)] = 0
        v[~off, names.index(b)] = 0
    # the centre eye control is shared by both eyes; keep gaze conjugate as the gaze model does
    for a, b in [("EyeLookInLeft", "EyeLookOutRight"), ("EyeLookOutLeft", "EyeLookInRight"),
                 ("EyeLookUpLeft", "EyeLookUpRight"), ("EyeLookDownLeft", "EyeLookDownRight")]:
        v[:, names.index(b)] = v[:, names.index(a)]
    return Animation(names, 60.0, v, "livelink")


def test_builtin_rigs_have_the_documented_curves():
    assert set(builtin_names()) >= {"arkit", "livelink", "metahuman", "metahuman-expressions"}
    assert len(load_rig("arkit").names) == 52
    assert load_rig("arkit").names[:2] == ("eyeBlinkLeft", "eyeLookDownLeft")
    live = load_rig("livelink").names
    assert len(live) == 61 and live[17] == "JawOpen" and live[52:55] == ("HeadYaw", "HeadPitch", "HeadRoll")
    board = load_rig("metahuman")
    assert len(board.names) == 174
    assert board.names[4] == "CTRL_C_jaw-translateY" and board.names[-1] == "CTRL_neck_throatUpDown-translateY"
    assert all(n.startswith("CTRL_expressions_") for n in load_rig("metahuman-expressions").names)


@pytest.mark.parametrize("rig", ["arkit", "livelink", "metahuman-expressions", "metahuman"])
def test_round_trip_through_each_rig(rig):
    anim = plausible_canonical()
    there = retarget(anim, rig)
    back = retarget(there, "livelink")
    assert there.rig == rig and back.rig == "livelink"
    np.testing.assert_allclose(back.values[:, :52], anim.values[:, :52], atol=1e-5)


def test_board_round_trip_from_expressions():
    """Epic's curves come back exactly; a 2D control pulled both ways by derived curves (lip push vs pull) keeps
    the net of its two poles, as the real board does."""
    board = load_rig("metahuman")
    expr = board.expressions.from_canonical(plausible_canonical().values)
    back = board.to_expressions(board.from_expressions(expr))
    basis = ~board.expressions.derived
    np.testing.assert_allclose(back[:, basis], expr[:, basis], atol=1e-6)
    index = board.expressions.names.index
    for c in board.controls:
        if len(c["positive"]) == 1:
            pos, neg = index(c["positive"][0]), [index(n) for n in c["negative"]]
            net = (back[:, pos] - back[:, neg].sum(axis=1)) - (expr[:, pos] - expr[:, neg].sum(axis=1))
            np.testing.assert_allclose(net, 0, atol=1e-6, err_msg=c["name"])


def test_board_2d_controls_combine_opposite_curves():
    names = canonical_names()
    v = np.zeros((2, 61), np.float32)
    v[0, names.index("JawLeft")] = 0.4
    v[1, names.index("JawRight")] = 0.3
    v[:, names.index("JawOpen")] = 0.5
    board = retarget(Animation(names, 60, v, "livelink"), "metahuman")
    np.testing.assert_allclose(board["CTRL_C_jaw-translateX"], [0.4, -0.3], atol=1e-6)
    np.testing.assert_allclose(board["CTRL_C_jaw-translateY"], [0.5, 0.5], atol=1e-6)


def test_arkit_to_metahuman_uses_epic_mapping_weights():
    names = canonical_names()
    v = np.zeros((1, 61), np.float32)
    v[0, names.index("MouthPucker")] = 1.0
    expr = retarget(Animation(names, 60, v, "livelink"), "metahuman-expressions")
    assert expr["CTRL_expressions_mouthLipsPurseUL"][0] == pytest.approx(1.0)
    assert expr["CTRL_expressions_mouthLipsTowardsUL"][0] == pytest.approx(0.412)
    assert expr["CTRL_expressions_mouthFunnelUL"][0] == pytest.approx(0.752)


def test_user_profile_is_a_rig(tmp_path):
    profile = tmp_path / "mychar.json"
    profile.write_text(json.dumps({"name": "mychar", "curves": {
        "Mouth_Open": {"jawOpen": 1.0}, "Smile": {"mouthSmile_L": 0.5, "MouthSmileRight": 0.5}}}))
    rig = load_rig(str(profile))
    names = canonical_names()
    v = np.zeros((1, 61), np.float32)
    v[0, names.index("JawOpen")] = 0.6
    v[0, names.index("MouthSmileLeft")] = 0.4
    v[0, names.index("MouthSmileRight")] = 0.2
    out = retarget(Animation(names, 60, v, "livelink"), rig)
    assert out.names == ("Mouth_Open", "Smile")
    np.testing.assert_allclose(out.values[0], [0.6, 0.3], atol=1e-6)


@pytest.mark.parametrize("content, problem", [
    ("{not json", "not valid JSON"),
    ('{"name": "x", "curves": {"A": {"NoSuchCurve": 1}}}', "unknown canonical curve"),
    ('{"name": "x", "curves": []}', "no curves"),
    # from a user audit (2026-12-05): these had passed, the last key or a constant curve winning in silence
    ('{"name":"dup","curves":{"Mouth_Open":{"JawOpen":1},"Mouth_Open":{"MouthClose":1}}}',
     "gives 'Mouth_Open' twice in one object"),
    ('{"name":"a","curves":{"A":{"JawOpen":1}},"name":"b"}', "gives 'name' twice"),
    ('{"name":"c","curves":{"Blink":{"EyeBlinkLeft":1},"blink":{"EyeBlinkRight":1}}}', "appears twice"),
    ('{"name":"t","curves":{"A":{"from":{"JawOpen":1},"range":[0,1e-300]}}}', "needs two different ends"),
    ('{"name":"k","descripton":"typo","curves":{"A":{"JawOpen":1}}}', "unknown key 'descripton'"),
])
def test_bad_profiles_name_the_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=problem) as err:
        load_rig(str(path))
    assert str(path) in str(err.value)


def test_unknown_rig_name():
    with pytest.raises(InputError, match="unknown rig"):
        load_rig("nosuchrig")
