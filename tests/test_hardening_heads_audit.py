"""Bringing your own head (audit 4): names in any spelling, prefixes, bytes and object arrays, two shapes with one
ARKit name, the curves a head cannot show, eyeball parts by other names, a blink under raised brows, a body morph's
framing, orientation and winding, group_ranges without names, uint8 vertex colours. The heads are the built-in
one saved as npz and changed as a user's export would be (and ICT FaceKit where ../shared is)."""

import logging
from pathlib import Path

import numpy as np
import pytest

from emoface.animation import Animation
from emoface.errors import InputError
from emoface.render.default_head import default_head
from emoface.render.drive import mesh_motion, split_side
from emoface.render.mesh import load_mesh
from emoface.rigs import canonical_names

ICT = Path(__file__).resolve().parents[2] / "shared" / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    """The built-in head as the npz arrays a user's file would hold."""
    path = tmp_path_factory.mktemp("head") / "head.npz"
    default_head().save(path)
    with np.load(path) as z:
        return dict(z)


def write(tmp_path, arrays, name="head.npz", **changes):
    path = tmp_path / name
    np.savez(path, **{**arrays, **changes})
    return path


def renamed(arrays, rename):
    return np.array([rename(str(n)) for n in arrays["shape_names"]])


def speech(n=6) -> Animation:
    anim = Animation.zeros(canonical_names(), 30.0, n, "livelink")
    anim.values[:] = 0.5
    return anim


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def _snake(name):
    import re

    return re.sub(r"([A-Z])", r"_\1", name).lower()


def _upper_l(name):
    return name.upper().replace("LEFT", "_L").replace("RIGHT", "_R")


def _side_prefix(name):
    for word, prefix in (("Left", "L_"), ("Right", "Right_")):
        if name.endswith(word):
            return prefix + name[:-len(word)]
    return name


def _dot_side(name):
    for word, side in (("Left", ".L"), ("Right", ".R")):
        if name.endswith(word) and not name.startswith(("jaw", "mouthL", "mouthR")):
            return name[:-len(word)] + side
    return name


# --- 1, 11: any spelling, node prefixes, bytes --------------------------------------------------------------

@pytest.mark.parametrize("spelling", [str.lower, _snake, _upper_l, _side_prefix, _dot_side,
                                      lambda n: "blendShape1." + n, lambda n: "face:" + n, lambda n: "ARKit_" + n,
                                      lambda n: "blendShape1." + _dot_side(n)],
                         ids=["lower", "snake", "UPPER_L", "L_prefix", "dot_side", "maya_node", "namespace",
                              "ARKit_", "node_and_dot_side"])
def test_every_spelling_drives_all_52_shapes(tmp_path, arrays, spelling):
    mesh = load_mesh(write(tmp_path, arrays, shape_names=renamed(arrays, spelling)))
    motion = mesh_motion(speech(), mesh.shape_names)
    assert len(motion.matched) == 52, sorted(set(mesh.shape_names) - set(motion.matched))


def test_split_side_reads_the_spellings_people_use():
    for name in ("eyeBlinkLeft", "eyeblinkleft", "eye_blink_left", "EYEBLINK_L", "eyeBlink.L", "eyeBlink_L",
                 "L_eyeBlink", "Left_eyeBlink", "LeftEyeBlink", "blendShape1.eyeBlink.L", "face:eyeBlink_L"):
        assert split_side(name) == ("eyeblink", "l"), name
    assert split_side("JAWLEFT") == split_side("JawLeft") and split_side("MOUTH_RIGHT") == split_side("MouthRight")
    assert split_side("blendShape1.jawOpen") == split_side("JAW_OPEN") == ("jawopen", None)


def test_names_saved_as_bytes_are_decoded(tmp_path, arrays):
    mesh = load_mesh(write(tmp_path, arrays, shape_names=arrays["shape_names"].astype("S"),
                           group_names=arrays["group_names"].astype("S")))
    assert len(mesh_motion(speech(), mesh.shape_names).matched) == 52
    assert "eyeball_l" in [p.name for p in mesh.parts]


def test_an_object_array_of_names_says_to_save_it_as_str(tmp_path, arrays):
    path = write(tmp_path, arrays, shape_names=np.array(list(arrays["shape_names"]), dtype=object))
    with pytest.raises(InputError, match=r"shape_names is an object \(pickled\) array: save it as str"):
        load_mesh(path)


def test_no_arkit_name_quotes_the_names_found(tmp_path, arrays):
    path = write(tmp_path, arrays, shape_names=np.array([f"morph{k}" for k in range(52)]))
    with pytest.raises(InputError, match=r"shapes are named 'morph0', 'morph1', 'morph2', \.\.\."):
        load_mesh(path)


# --- 6, 16: one curve, two shapes; curves a head cannot show --------------------------------------------------

def test_two_shapes_with_one_arkit_name_drive_once_and_say_so(tmp_path, arrays, caplog):
    k = list(arrays["shape_names"]).index("eyeBlinkLeft")
    lo, hi = arrays["delta_offsets"][k], arrays["delta_offsets"][k + 1]
    extra = dict(shape_names=np.append(arrays["shape_names"], "eyeBlink_L"),
                 delta_index=np.concatenate([arrays["delta_index"], arrays["delta_index"][lo:hi]]),
                 delta_value=np.concatenate([arrays["delta_value"], arrays["delta_value"][lo:hi]]),
                 delta_offsets=np.append(arrays["delta_offsets"], arrays["delta_offsets"][-1] + hi - lo))
    with caplog.at_level(logging.WARNING, "emoface"):
        mesh = load_mesh(write(tmp_path, arrays, **extra))
    said = [w for w in warnings(caplog) if "one ARKit name" in w]
    assert len(said) == 1 and "'eyeBlinkLeft'" in said[0] and "'eyeBlink_L'" in said[0]
    motion = mesh_motion(speech(), mesh.shape_names)
    assert "eyeBlink_L" not in motion.matched and not motion.weights[:, mesh.shape_index("eyeBlink_L")].any()


def _with_shape(arrays, name, like):
    """arrays with one more shape, `name`, moving as `like` does."""
    k = list(arrays["shape_names"]).index(like)
    lo, hi = arrays["delta_offsets"][k], arrays["delta_offsets"][k + 1]
    return dict(shape_names=np.append(arrays["shape_names"], name),
                delta_index=np.concatenate([arrays["delta_index"], arrays["delta_index"][lo:hi]]),
                delta_value=np.concatenate([arrays["delta_value"], arrays["delta_value"][lo:hi]]),
                delta_offsets=np.append(arrays["delta_offsets"], arrays["delta_offsets"][-1] + hi - lo))


@pytest.mark.parametrize("added, driven, still", [
    (("browInnerUp_L", "browInnerUp_R"), {"browInnerUp"}, {"browInnerUp_L", "browInnerUp_R"}),
    (("eyeBlink",), {"eyeBlinkLeft", "eyeBlinkRight"}, {"eyeBlink"})])
def test_a_whole_shape_beside_its_sides_moves_each_side_once(tmp_path, arrays, caplog, added, driven, still):
    """A head with browInnerUp and browInnerUp_L/_R had all three driven by the one curve: each side moved twice.
    ARKit's browInnerUp is whole, so the whole shape is driven; eyeBlink's curves have sides, so the sides are."""
    extra = arrays
    for name in added:
        extra = {**extra, **_with_shape(extra, name, "browInnerUp" if name.startswith("brow") else "eyeBlinkLeft")}
    with caplog.at_level(logging.WARNING, "emoface"):
        mesh = load_mesh(write(tmp_path, arrays, **{k: extra[k] for k in
                                                    ("shape_names", "delta_index", "delta_value", "delta_offsets")}))
    matched = set(mesh_motion(speech(), mesh.shape_names).matched)
    assert driven <= matched and not still & matched
    said = [w for w in warnings(caplog) if "twice the motion" in w and "a whole shape and its sides" in w]
    assert len(said) == len(still), said


def test_a_head_says_which_curves_it_cannot_show(tmp_path, arrays, caplog):
    keep = ["jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "browInnerUp"]
    names = list(arrays["shape_names"])
    index, value, offsets = [], [], [0]
    for n in keep:
        k = names.index(n)
        lo, hi = arrays["delta_offsets"][k], arrays["delta_offsets"][k + 1]
        index.append(arrays["delta_index"][lo:hi])
        value.append(arrays["delta_value"][lo:hi])
        offsets.append(offsets[-1] + hi - lo)
    with caplog.at_level(logging.WARNING, "emoface"):
        load_mesh(write(tmp_path, arrays, shape_names=np.array(keep), delta_index=np.concatenate(index),
                        delta_value=np.concatenate(value), delta_offsets=np.array(offsets)))
    said = [w for w in warnings(caplog) if "ARKit curves" in w]
    assert len(said) == 1 and "drives 5 of 52 ARKit curves; none for" in said[0]
    assert "eyeLookUp*" in said[0] and "and 21 more" in said[0]


def test_a_complete_head_warns_of_nothing(tmp_path, arrays, caplog):
    with caplog.at_level(logging.WARNING, "emoface"):
        load_mesh(write(tmp_path, arrays))
    assert warnings(caplog) == []


# --- 5: eyeball parts by other names, or both eyes in one part -----------------------------------------------

def _groups(arrays, rename):
    return np.array([rename(str(n)) for n in arrays["group_names"]])


@pytest.mark.parametrize("naming", [{"eyeball_l": "L_eyeball", "eyeball_r": "R_eyeball"},
                                   {"eyeball_l": "LeftEye", "eyeball_r": "RightEye"},
                                   {"eyeball_l": "Eye.L", "eyeball_r": "Eye.R"}], ids=["L_prefix", "LeftEye", "dot"])
def test_eyeball_parts_by_other_names_turn_on_their_own_side(tmp_path, arrays, naming):
    plain = {k: v for k, v in arrays.items() if k != "group_colors"}  # parts coloured by their names
    mesh = load_mesh(write(tmp_path, plain, group_names=_groups(arrays, lambda n: naming.get(n, n))))
    eyes = {side: (part.name, centre) for part, side, centre in mesh.eyeballs()}
    assert sorted(eyes) == [0, 1]
    assert eyes[0][0] == naming["eyeball_l"] and eyes[0][1][0] > eyes[1][1][0]  # the left eye is at +x
    assert mesh.part(naming["eyeball_l"]).color[:3] == (0.95, 0.95, 0.93)  # white, not skin


def test_one_part_holding_both_eyes_is_split_by_side(tmp_path, arrays):
    names, ranges = list(arrays["group_names"]), arrays["group_ranges"]
    k = names.index("eyeball_l")
    assert names[k + 1] == "eyeball_r" and ranges[k][1] == ranges[k + 1][0]
    merged = dict(group_names=np.array(names[:k] + ["Eyes"] + names[k + 2:]),
                  group_ranges=np.concatenate([ranges[:k], [[ranges[k][0], ranges[k + 1][1]]], ranges[k + 2:]]),
                  group_colors=np.delete(arrays["group_colors"], k, axis=0),
                  group_roughness=np.delete(arrays["group_roughness"], k),
                  group_hidden=np.delete(arrays["group_hidden"], k),
                  group_textured=np.delete(arrays["group_textured"], k))
    mesh = load_mesh(write(tmp_path, arrays, **merged))
    got = {side: (p.start, p.end, c) for p, side, c in mesh.eyeballs()}
    truth = {side: (p.start, p.end, c) for p, side, c in default_head().eyeballs()}
    assert sorted(got) == [0, 1]
    for side in (0, 1):
        assert got[side][:2] == truth[side][:2]
        np.testing.assert_allclose(got[side][2], truth[side][2], atol=1e-3)


def test_no_eyeball_part_warns_the_eyes_will_not_turn(tmp_path, arrays, caplog):
    names = _groups(arrays, lambda n: {"eyeball_l": "orb_l", "eyeball_r": "orb_r"}.get(n, n))
    with caplog.at_level(logging.WARNING, "emoface"):
        load_mesh(write(tmp_path, arrays, group_names=names))
    assert any("no eyeball parts recognised" in w and "eyes will not turn" in w for w in warnings(caplog))


# --- 7: a blink under raised brows shuts ------------------------------------------------------------------------

def _blink_heads():
    yield default_head()
    if ICT.is_file():
        yield load_mesh(ICT)


def _weights(mesh, **named):
    w = np.zeros(len(mesh.shape_names), np.float32)
    for k, n in enumerate(mesh.shape_names):
        base, _ = split_side(n)
        w[k] = named.get(base, 0.0)
    return w


@pytest.mark.parametrize("head", ["built-in", pytest.param("ict", marks=pytest.mark.skipif(
    not ICT.is_file(), reason="needs ../shared"))])
def test_raised_brows_do_not_hold_a_blink_open(head):
    mesh = default_head() if head == "built-in" else load_mesh(ICT)
    blink = np.linalg.norm(mesh.shape_delta(next(n for n in mesh.shape_names
                                                 if split_side(n) == ("eyeblink", "l"))), axis=1)
    lid = np.flatnonzero(blink >= 0.5 * blink.max())  # the lid's edge and what moves with it
    shut = mesh.vertices(_weights(mesh, eyeblink=1.0))
    surprised = mesh.vertices(_weights(mesh, eyeblink=1.0, browinnerup=0.8, browouterup=0.8))
    brows = mesh.vertices(_weights(mesh, browinnerup=0.8, browouterup=0.8))
    lift = np.linalg.norm(brows - mesh.neutral, axis=1)
    assert np.abs(surprised[lid] - shut[lid]).max() < 0.02 * lift.max()  # the lid shuts as if the brows were down
    raised = np.argsort(lift)[-50:]  # the brows themselves stay up
    np.testing.assert_allclose(surprised[raised], (shut + brows - mesh.neutral)[raised], atol=0.02 * lift.max())


def test_wide_eyes_and_looking_up_fade_as_the_lid_shuts():
    mesh = default_head()
    anim = Animation.zeros(canonical_names(), 30.0, 3, "livelink")
    anim["EyeBlinkLeft"] = [0.0, 0.5, 1.0]
    anim["EyeWideLeft"] = anim["EyeLookUpLeft"] = 0.8
    w = mesh_motion(anim, mesh.shape_names).weights
    for name in ("eyeWideLeft", "eyeLookUpLeft"):
        np.testing.assert_allclose(w[:, mesh.shape_index(name)], [0.8, 0.4, 0.0], atol=1e-6)


def test_a_surprised_blink_shows_no_eye_in_the_render():
    from emoface.render.renderer import FaceRenderer

    mesh = default_head()
    eyes = np.concatenate([np.arange(p.start, p.end) for p, _, _ in mesh.eyeballs()])
    with FaceRenderer(mesh, 256) as r:
        cols = r.project(mesh.neutral[eyes]).astype(int)
        box = (slice(cols[:, 1].min() - 4, cols[:, 1].max() + 4), slice(cols[:, 0].min() - 4, cols[:, 0].max() + 4))

        def eye_pixels(**curves):
            anim = Animation.zeros(canonical_names(), 30.0, 1, "livelink")
            for name, value in curves.items():
                for curve in ((name,) if name == "BrowInnerUp" else (name + "Left", name + "Right")):
                    anim[curve] = value
            motion = mesh_motion(anim, mesh.shape_names)
            img = r.render(motion.weights[0])[box].astype(int)
            blue = (img[..., 2] > img[..., 0] + 15)  # iris (skin is red over blue)
            white = img.min(axis=2) > 200  # sclera
            return int((blue | white).sum())

        alone = eye_pixels(EyeBlink=1.0)
        surprised = eye_pixels(EyeBlink=1.0, BrowInnerUp=0.8, BrowOuterUp=0.8, EyeWide=0.6, EyeLookUp=0.3)
    assert surprised <= alone + 5, (alone, surprised)


# --- 8: framing on what the curves drive --------------------------------------------------------------------

def with_body(arrays, head: np.ndarray, unit: float) -> dict:
    """The arrays of `head` (the built-in head's vertices, in some unit) on a box body 1.5 m tall (`unit` metres
    a unit), as a character exported whole."""
    n = len(head)
    box = np.array([[x, y, z] for x in (-20, 20) for y in (-150, 0) for z in (-12, 12)], np.float32) * unit
    quads = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]) + n
    return dict(neutral=np.concatenate([head, box + [0, head[:, 1].min(), 0]]),
                triangles=np.concatenate([arrays["triangles"], quads]),
                group_names=np.append(arrays["group_names"], "body"),
                group_ranges=np.concatenate([arrays["group_ranges"], [[n, n + 8]]]),
                group_colors=np.concatenate([arrays["group_colors"], [[0.5, 0.5, 0.5, 1.0]]]),
                group_roughness=np.append(arrays["group_roughness"], 0.6),
                group_hidden=np.append(arrays["group_hidden"], False),
                group_textured=np.append(arrays["group_textured"], False),
                uv=np.concatenate([arrays["uv"], np.zeros((8, 2), np.float32)]),
                vertex_colors=np.concatenate([arrays["vertex_colors"], np.full((8, 3), 255, np.uint8)]),
                head_weights=np.concatenate([arrays["head_weights"], np.zeros(8, np.float32)]))


def test_a_body_morph_does_not_decide_the_framing(tmp_path, arrays):
    from emoface.render.renderer import FaceRenderer

    n = len(arrays["neutral"])
    body = with_body(arrays, arrays["neutral"], 1.0)
    plain = load_mesh(write(tmp_path, arrays, "body.npz", **body))
    morph = dict(shape_names=np.append(arrays["shape_names"], "BodyFat"),
                 delta_index=np.concatenate([arrays["delta_index"], np.arange(n, n + 8)]),
                 delta_value=np.concatenate([arrays["delta_value"], np.full((8, 3), 5.0, np.float32)]),
                 delta_offsets=np.append(arrays["delta_offsets"], arrays["delta_offsets"][-1] + 8))
    fat = load_mesh(write(tmp_path, arrays, "fat.npz", **body, **morph))
    with FaceRenderer(plain, 64) as a, FaceRenderer(fat, 64) as b:
        np.testing.assert_allclose(b.camera_position, a.camera_position, atol=1e-4)


# --- 9: orientation and winding ----------------------------------------------------------------------------

def _turned(arrays, r):
    return dict(neutral=(arrays["neutral"] @ r.T).astype(np.float32),
                delta_value=(arrays["delta_value"] @ r.T).astype(np.float32))


@pytest.mark.parametrize("pose, said", [
    ("zup", "looks along -y with +z up"), ("away", "looks along -z with +y up"), ("clockwise", "wind clockwise")])
def test_a_head_turned_or_wound_wrong_is_named(tmp_path, arrays, caplog, pose, said):
    if pose == "zup":  # Blender's convention: y up becomes z up, the face +z becomes -y
        change = _turned(arrays, np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], np.float32))
    elif pose == "away":
        change = _turned(arrays, np.diag([-1, 1, -1]).astype(np.float32))
    else:
        change = dict(triangles=arrays["triangles"][:, ::-1])
    with caplog.at_level(logging.WARNING, "emoface"):
        load_mesh(write(tmp_path, arrays, **change))
    assert [w for w in warnings(caplog) if said in w], warnings(caplog)


@pytest.mark.skipif(not ICT.is_file(), reason="needs ../shared")
def test_ict_is_upright_and_wound_outward(caplog):
    with caplog.at_level(logging.WARNING, "emoface"):
        load_mesh(ICT)
    assert warnings(caplog) == [f"{ICT}: drives 51 of 52 ARKit curves; none for tongueOut"]


# --- 12, 14 -----------------------------------------------------------------------------------------------------

def test_group_ranges_without_names_is_refused(tmp_path, arrays):
    path = write(tmp_path, {k: v for k, v in arrays.items() if k != "group_names"})
    with pytest.raises(InputError, match="group_ranges without group_names"):
        load_mesh(path)


def test_uint8_vertex_colours_are_0_255_whatever_their_largest(tmp_path, arrays):
    dark = np.ones_like(arrays["vertex_colors"], np.uint8)
    mesh = load_mesh(write(tmp_path, arrays, vertex_colors=dark))
    np.testing.assert_allclose(mesh.vertex_colors, 1 / 255, atol=1e-6)


# --- 3: a whole character in metres --------------------------------------------------------------------------

def test_a_whole_character_in_metres_is_read_in_metres(tmp_path, arrays):
    """A character exported whole (1.8 m tall, no `units`) had been read as centimetres by its height and exported
    1.8 cm tall: the units come from the face (the eyes' spacing, else what the shapes move)."""
    body = {k: v for k, v in arrays.items() if k != "units"}  # the built-in head is in centimetres: now metres
    body.update(with_body(arrays, arrays["neutral"] * 0.01, 0.01), delta_value=arrays["delta_value"] * 0.01)
    path = tmp_path / "character.npz"
    np.savez(path, **body)
    character = load_mesh(path)
    assert np.ptp(character.neutral[:, 1]) > 1.4 and character.metres_per_unit() == 1.0
    no_eyes = dict(body, group_names=np.array([str(g).replace("eyeball", "orb") for g in body["group_names"]]))
    np.savez(path, **no_eyes)
    assert load_mesh(path).metres_per_unit() == 1.0  # from what the shapes move
