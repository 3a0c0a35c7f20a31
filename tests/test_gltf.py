import json
import struct
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from emoface import formats
from emoface.animation import Animation
from emoface.errors import InputError
from emoface.render import drive
from emoface.render.gltf import read_glb, split_primitives, visible_submesh, write_glb
from emoface.render.mesh import BlendshapeMesh, Part, build_deltas
from emoface.rigs import canonical_names

WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
SIZE = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
DTYPE = {5121: "<u1", 5123: "<u2", 5125: "<u4", 5126: "<f4"}


def small_head(shapes=("jawOpen", "eyeBlink_L", "eyeBlink_R", "browInnerUp", "undriven")) -> BlendshapeMesh:
    """A face sphere plus a hidden shell; eyeBlink_R moves only the hidden shell (an empty visible target)."""
    face = trimesh.creation.icosphere(subdivisions=2)
    shell = trimesh.creation.icosphere(subdivisions=1, radius=0.2)
    n = len(face.vertices)
    vertices = np.vstack([face.vertices, shell.vertices + [0.0, 0.0, 1.1]])
    triangles = np.vstack([face.faces, shell.faces + n])
    top, low = np.flatnonzero(face.vertices[:, 1] > 0.5), np.flatnonzero(face.vertices[:, 1] < -0.5)
    rng = np.random.default_rng(0)
    moves = {"jawOpen": (low, rng.normal(0, 0.05, (low.size, 3))),
             "eyeBlink_L": (top, rng.normal(0, 0.05, (top.size, 3))),
             "eyeBlink_R": ([n + 1, n + 2], [[0, 0, 0.1], [0, 0.1, 0]]),
             "browInnerUp": (top[:3], [[0, 0.1, 0]] * 3),
             "browInnerUp_L": (top[:2], [[0, 0.2, 0]] * 2), "browInnerUp_R": (top[2:4], [[0, 0.4, 0]] * 2),
             "eyeBlink": (top[:1], [[0, -0.1, 0]]),
             "undriven": (top, np.ones((top.size, 3)))}
    names, deltas = build_deltas({s: moves[s] for s in shapes}, len(vertices))
    parts = [Part("skin", 0, n, (0.8, 0.6, 0.5, 1.0)), Part("eye_occlusion", n, len(vertices), hidden=True)]
    return BlendshapeMesh(vertices, triangles, names, deltas, parts)


def speech(n=20, fps=30.0) -> Animation:
    anim = Animation.zeros(canonical_names(), fps, n, "livelink")
    anim["JawOpen"] = np.linspace(0, 1, n)
    anim["EyeBlinkLeft"] = np.linspace(1, 0, n)
    anim["BrowInnerUp"] = 0.25
    anim["HeadYaw"] = np.linspace(0, 0.1, n)  # 0..18 degrees
    anim["HeadPitch"] = 0.05
    return anim


def glb_parts(path):
    """(json dict, bin bytes) straight from the GLB container, checking its framing."""
    data = path.read_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    jlen, jtype = struct.unpack("<I4s", data[12:20])
    assert jtype == b"JSON" and jlen % 4 == 0
    blen, btype = struct.unpack("<I4s", data[20 + jlen:28 + jlen])
    assert btype == b"BIN\0" and blen % 4 == 0 and 28 + jlen + blen == len(data)
    return json.loads(data[20:20 + jlen]), data[28 + jlen:]


def read(doc, blob, index) -> np.ndarray:
    """An independent decoder for tightly packed and sparse accessors."""
    acc = doc["accessors"][index]
    width = WIDTH[acc["type"]]
    out = np.zeros((acc["count"], width))
    if "bufferView" in acc:
        view = doc["bufferViews"][acc["bufferView"]]
        out[:] = np.frombuffer(blob, DTYPE[acc["componentType"]], acc["count"] * width,
                               view.get("byteOffset", 0) + acc.get("byteOffset", 0)).reshape(-1, width)
    if "sparse" in acc:
        s = acc["sparse"]
        iv, vv = doc["bufferViews"][s["indices"]["bufferView"]], doc["bufferViews"][s["values"]["bufferView"]]
        idx = np.frombuffer(blob, DTYPE[s["indices"]["componentType"]], s["count"],
                            iv.get("byteOffset", 0) + s["indices"].get("byteOffset", 0))
        out[idx] = np.frombuffer(blob, DTYPE[acc["componentType"]], s["count"] * width,
                                 vv.get("byteOffset", 0) + s["values"].get("byteOffset", 0)).reshape(-1, width)
    return out


def check_structure(doc, blob):
    """What gltf-validator would reject: misfit accessors/views, misaligned data, bad sparse, bad animation."""
    assert doc["asset"]["version"] == "2.0" and doc["buffers"][0]["byteLength"] <= len(blob)
    for view in doc["bufferViews"]:
        assert view["byteOffset"] % 4 == 0 and view["byteOffset"] + view["byteLength"] <= len(blob)
        assert "byteStride" not in view
    for acc in doc["accessors"]:
        width, size = WIDTH[acc["type"]], SIZE[acc["componentType"]]
        assert acc["count"] >= 1 and not acc.get("normalized")
        if "bufferView" in acc:
            view = doc["bufferViews"][acc["bufferView"]]
            assert acc.get("byteOffset", 0) % size == 0
            assert acc.get("byteOffset", 0) + acc["count"] * width * size <= view["byteLength"]
        else:
            assert "byteOffset" not in acc and "sparse" in acc
        if "min" in acc or "max" in acc:
            assert len(acc["min"]) == len(acc["max"]) == width
            values = read(doc, blob, doc["accessors"].index(acc))
            np.testing.assert_array_equal(values.min(0), np.float32(acc["min"]))
            np.testing.assert_array_equal(values.max(0), np.float32(acc["max"]))
        if "sparse" in acc:
            s = acc["sparse"]
            assert 1 <= s["count"] <= acc["count"] and s["indices"]["componentType"] in (5121, 5123, 5125)
            for part, item in ((s["indices"], SIZE[s["indices"]["componentType"]]), (s["values"], width * size)):
                view = doc["bufferViews"][part["bufferView"]]
                assert "target" not in view and part.get("byteOffset", 0) + s["count"] * item <= view["byteLength"]
            idx = np.frombuffer(blob, DTYPE[s["indices"]["componentType"]], s["count"],
                                doc["bufferViews"][s["indices"]["bufferView"]]["byteOffset"])
            assert np.all(np.diff(idx.astype(np.int64)) > 0) and idx.max() < acc["count"]
    for k, mesh in enumerate(doc["meshes"]):  # the head (with the targets), then any eyes
        for prim in mesh["primitives"]:  # a textured head: its untextured parts, then its textured ones
            assert len(mesh["primitives"]) == 1 or k == 0
            n = doc["accessors"][prim["attributes"]["POSITION"]]["count"]
            colour = "TEXCOORD_0" if "TEXCOORD_0" in prim["attributes"] else "COLOR_0"
            for attr, type_ in (("POSITION", "VEC3"), ("NORMAL", "VEC3"),
                                (colour, "VEC2" if colour == "TEXCOORD_0" else "VEC3")):
                acc = doc["accessors"][prim["attributes"][attr]]
                assert (acc["count"], acc["type"], acc["componentType"]) == (n, type_, 5126)
            assert "min" in doc["accessors"][prim["attributes"]["POSITION"]]
            normals = read(doc, blob, prim["attributes"]["NORMAL"])
            np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)
            idx = doc["accessors"][prim["indices"]]
            assert idx["type"] == "SCALAR" and idx["count"] % 3 == 0 and read(doc, blob, prim["indices"]).max() < n
            if k:
                assert "targets" not in prim
                continue
            targets = prim.get("targets", [])
            assert len(mesh["weights"]) == len(mesh["extras"]["targetNames"]) == len(targets)
            for t in targets:
                acc = doc["accessors"][t["POSITION"]]
                assert (acc["count"], acc["type"], acc["componentType"]) == (n, "VEC3", 5126) and "min" in acc
    targets = doc["meshes"][0]["primitives"][0].get("targets", [])
    for anim in doc["animations"]:
        for ch in anim["channels"]:
            sampler = anim["samplers"][ch["sampler"]]
            inp, out = doc["accessors"][sampler["input"]], doc["accessors"][sampler["output"]]
            assert inp["type"] == "SCALAR" and inp["componentType"] == 5126 and "min" in inp and "max" in inp
            assert np.all(np.diff(read(doc, blob, sampler["input"])[:, 0]) > 0)
            assert sampler["interpolation"] == "LINEAR"
            if ch["target"]["path"] == "weights":
                assert (out["type"], out["count"]) == ("SCALAR", inp["count"] * len(targets))
            else:
                assert (ch["target"]["path"], out["type"], out["count"]) == ("rotation", "VEC4", inp["count"])
                np.testing.assert_allclose(np.linalg.norm(read(doc, blob, sampler["output"]), axis=1), 1, atol=1e-6)


@pytest.fixture
def written(tmp_path):
    mesh, anim = small_head(), speech()
    path = tmp_path / "head.glb"
    write_glb(mesh, drive.mesh_motion(anim, mesh.shape_names), path)
    return mesh, anim, path


def test_glb_is_structurally_valid_and_loads(written):
    mesh, _, path = written
    check_structure(*glb_parts(path))
    gltf = pygltflib.GLTF2.load(str(path))
    assert len(gltf.meshes) == 1 and len(gltf.meshes[0].primitives) == 1
    scene = trimesh.load(path, force="scene")
    (geometry,) = scene.geometry.values()
    visible = mesh.parts[0].end
    assert len(geometry.vertices) == visible and len(geometry.faces) == len(mesh.part_triangles(mesh.parts[0]))


def test_targets_are_the_driven_shapes_and_keyframes_are_frames(written):
    _, anim, path = written
    doc, blob = glb_parts(path)
    # the driven shapes, then the blink's lid fix under the raised brows (test_an_engine_shows_the_lid_fix)
    assert doc["meshes"][0]["extras"]["targetNames"] == ["jawOpen", "eyeBlink_L", "eyeBlink_R", "browInnerUp",
                                                         "eyeBlink_L_shuts_under_browInnerUp"]
    (animation,) = doc["animations"]
    assert animation["name"] == "speech"
    times = read(doc, blob, animation["samplers"][0]["input"])[:, 0]
    assert len(times) == anim.n_frames
    np.testing.assert_allclose(times, np.arange(anim.n_frames) / anim.fps, atol=1e-7)
    weights = read(doc, blob, animation["samplers"][0]["output"]).reshape(anim.n_frames, 5)
    np.testing.assert_allclose(weights[:, 0], anim["JawOpen"], atol=1e-7)


def test_sparse_targets_hold_the_mesh_deltas_of_visible_vertices(written):
    mesh, _, path = written
    doc, blob = glb_parts(path)
    prim = doc["meshes"][0]["primitives"][0]
    visible = mesh.parts[0].end
    scale = np.float32(mesh.metres_per_unit())  # the unit sphere reads as a 2 cm head: 0.01 m per unit
    assert scale == np.float32(0.01)
    for name, target in zip(doc["meshes"][0]["extras"]["targetNames"][:4], prim["targets"]):  # the fix: below
        np.testing.assert_array_equal(read(doc, blob, target["POSITION"]), scale * mesh.shape_delta(name)[:visible])
    assert doc["accessors"][prim["targets"][2]["POSITION"]]["sparse"]["count"] == 1  # eyeBlink_R: no visible motion


@pytest.mark.parametrize("head", ["small", "built-in"])
def test_an_engine_shows_the_lid_fix(tmp_path, head):
    """An engine plays morph targets as they are: neutral plus each target by its weight. The renderer shuts a blink's
    lid under raised brows (BlendshapeMesh.vertices); the exported targets and weights must give the same face, or
    every blink of a surprised line showed a slit of eyeball in the engine."""
    if head == "small":
        mesh, anim = small_head(), speech()
    else:
        mesh = pytest.importorskip("emoface.render.default_head").default_head()
        anim = speech()
        for curve in ("BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight", "EyeWideLeft", "EyeWideRight"):
            anim[curve] = 0.8
        anim["EyeBlinkRight"] = anim["EyeBlinkLeft"]
    motion = drive.mesh_motion(anim, mesh.shape_names)
    path = tmp_path / "head.glb"
    write_glb(mesh, motion, path)
    doc, blob = glb_parts(path)
    node = doc["nodes"][0]
    names = doc["meshes"][0]["extras"]["targetNames"]
    assert any("_shuts_under_" in n for n in names)
    weights = read(doc, blob, doc["animations"][0]["samplers"][0]["output"]).reshape(anim.n_frames, len(names))
    in_eye = np.zeros(mesh.n_vertices, bool)
    for part, _, _ in mesh.eyeballs():
        in_eye[part.start:part.end] = True
    kept, tris = visible_submesh(mesh, in_eye)  # the head node's vertices, as write_glb keeps them
    scale = np.float32(mesh.metres_per_unit())
    # the built-in head's textured parts are a primitive of their own (split_primitives: which vertices each holds)
    for prim, (ids, _, _) in zip(doc["meshes"][0]["primitives"], split_primitives(mesh, kept, tris), strict=True):
        base = read(doc, blob, prim["attributes"]["POSITION"]) + node["translation"]
        targets = np.stack([read(doc, blob, t["POSITION"]) for t in prim["targets"]])
        for f in (0, anim.n_frames // 2, anim.n_frames - 1):  # shut, half, open
            engine = base + np.tensordot(weights[f], targets, axes=1)
            np.testing.assert_allclose(engine, mesh.vertices(motion.weights[f])[kept[ids]] * scale, atol=2e-6)


def test_model_stays_in_place_and_head_rotates_about_the_node(written):
    mesh, _, path = written
    doc, blob = glb_parts(path)
    node = doc["nodes"][0]
    positions = read(doc, blob, doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"])
    np.testing.assert_allclose(positions + node["translation"], 0.01 * mesh.neutral[:mesh.parts[0].end], atol=1e-7)
    rotation_sampler = doc["animations"][0]["samplers"][doc["animations"][0]["channels"][1]["sampler"]]
    quats = read(doc, blob, rotation_sampler["output"])
    # speech(): HeadYaw ends at 0.1 (18 degrees), HeadPitch 0.05 (9 degrees)
    np.testing.assert_allclose(Rotation.from_quat(quats[-1]).as_matrix(), drive.rotation(18.0, 9.0, 0.0), atol=1e-5)


def test_weights_round_trip_through_the_format(tmp_path):
    mesh, anim = small_head(), speech()
    path = formats.write_atomic(formats.get("glb"), anim, tmp_path / "a.glb", mesh=mesh)
    assert [p.name for p in tmp_path.iterdir()] == ["a.glb"]
    back = formats.read(path)
    assert back.rig == "livelink" and back.fps == 30.0 and back.n_frames == anim.n_frames  # head turns: Live Link's
    np.testing.assert_allclose(back["JawOpen"], anim["JawOpen"], atol=1e-6)
    np.testing.assert_allclose(back["EyeBlinkLeft"], anim["EyeBlinkLeft"], atol=1e-6)
    np.testing.assert_allclose(back["BrowInnerUp"], 0.25, atol=1e-6)
    np.testing.assert_allclose(back["HeadYaw"], anim["HeadYaw"], atol=1e-5)
    assert np.all(back["EyeBlinkRight"] == 0) and np.all(back["MouthSmileLeft"] == 0)


def test_a_baked_glb_keeps_its_source_audio_for_previews(bob, tmp_path):
    """`emoface render line.glb` had been silent: a .glb kept no record of the audio it was baked from."""
    import subprocess
    import sys

    from emoface.cli import main

    assert main(["bake", str(bob), "-o", str(tmp_path / "line.glb"), "-q"]) == 0
    assert formats.read(tmp_path / "line.glb").metadata["source_abs"] == str(Path(bob).resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run([sys.executable, "-m", "emoface.cli", "render", "../line.glb", "-o", "p.mp4", "--size", "64",
                          "-q"], cwd=elsewhere, capture_output=True, text=True)
    assert run.returncode == 0 and "silent" not in run.stderr, run.stderr
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                              str(elsewhere / "p.mp4")], capture_output=True, text=True).stdout.split()
    assert sorted(streams) == ["audio", "video"]


def test_read_glb_side_rules(tmp_path):
    """Unsided curve <- mean of the _L/_R targets; sided curve <- the unsided target; exact match wins."""
    mesh = small_head(("jawOpen", "browInnerUp_L", "browInnerUp_R", "eyeBlink"))
    anim = speech(n=7, fps=25.0)
    anim["BrowInnerUp"] = np.linspace(0, 0.6, 7)
    motion = drive.mesh_motion(anim, mesh.shape_names)
    motion.weights[:, mesh.shape_index("browInnerUp_R")] *= 0.5  # make the halves differ
    write_glb(mesh, motion, tmp_path / "b.glb")
    back = read_glb(tmp_path / "b.glb")
    assert back.fps == 25.0
    np.testing.assert_allclose(back["BrowInnerUp"], 0.75 * anim["BrowInnerUp"], atol=1e-6)
    eye = (anim["EyeBlinkLeft"] + anim["EyeBlinkRight"]) / 2
    np.testing.assert_allclose(back["EyeBlinkLeft"], eye, atol=1e-6)
    np.testing.assert_allclose(back["EyeBlinkRight"], eye, atol=1e-6)


def test_bad_files_raise_input_error(tmp_path):
    text = tmp_path / "x.glb"
    text.write_text("this is not a glb\n")
    with pytest.raises(InputError, match="not a binary glTF"):
        read_glb(text)
    still = tmp_path / "still.glb"
    trimesh.creation.box().export(still)  # a valid GLB with no animation
    with pytest.raises(InputError, match="no morph-target weights animation"):
        read_glb(still)
    with pytest.raises(InputError, match="cannot read"):
        read_glb(tmp_path / "missing.glb")


def test_default_head_export(tmp_path):
    default_head = pytest.importorskip("emoface.render.default_head").default_head
    mesh = default_head()
    path = formats.write_atomic(formats.get("glb"), speech(), tmp_path / "d.glb")
    doc, blob = glb_parts(path)
    check_structure(doc, blob)
    names = doc["meshes"][0]["extras"]["targetNames"]
    assert {n for n in names if "_shuts_under_" not in n} <= set(mesh.shape_names)
    back = formats.read(path)
    if ("jawopen", None) in {drive.split_side(n) for n in doc["meshes"][0]["extras"]["targetNames"]}:
        np.testing.assert_allclose(back["JawOpen"], speech()["JawOpen"], atol=1e-6)


def test_default_head_is_in_metres_with_eyes_that_turn(tmp_path):
    """A head about 0.3 m tall (not 30 m), and each eyeball a node pivoting at the eye's centre whose rotation
    track is the gaze: an engine can drive or override it without the morph targets."""
    from emoface.render.default_head import default_head

    mesh, anim = default_head(), speech(n=12)
    anim["EyeLookOutLeft"] = np.linspace(0, 0.8, 12)  # the character's left eye turns outward (to its left)
    motion = drive.mesh_motion(anim, mesh.shape_names)
    write_glb(mesh, motion, tmp_path / "head.glb")
    doc, blob = glb_parts(tmp_path / "head.glb")
    check_structure(doc, blob)
    scene = trimesh.load(tmp_path / "head.glb", force="scene")
    assert 0.2 < scene.extents[1] < 0.45
    nodes = {n["name"]: k for k, n in enumerate(doc["nodes"])}
    assert sorted(doc["nodes"][0]["children"]) == sorted([nodes["eye_L"], nodes["eye_R"]])
    centres = {side: c for _, side, c in mesh.eyeballs()}
    for side, name in enumerate(("eye_L", "eye_R")):
        node = doc["nodes"][nodes[name]]
        placed = np.add(doc["nodes"][0]["translation"], node["translation"])
        np.testing.assert_allclose(placed, 0.01 * centres[side], atol=1e-6)
        (channel,) = [c for c in doc["animations"][0]["channels"] if c["target"]["node"] == nodes[name]]
        quats = read(doc, blob, doc["animations"][0]["samplers"][channel["sampler"]]["output"])
        yaw, pitch = motion.eyes[-1, side]
        np.testing.assert_allclose(Rotation.from_quat(quats[-1]).as_matrix(), drive.rotation(yaw, pitch), atol=1e-5)
    assert motion.eyes[-1, 0, 0] > 5  # the left eye really turned (degrees)


def test_a_mesh_file_states_its_units(tmp_path):
    """An npz may say its units (a head modelled in millimetres is then exported at its true size); a wrong unit
    is one clear error."""
    from emoface.render.mesh import load_mesh

    mesh = small_head()
    mesh.units = "mm"
    mesh.save(tmp_path / "mm.npz")
    assert load_mesh(tmp_path / "mm.npz").metres_per_unit() == 0.001
    with np.load(tmp_path / "mm.npz") as z:
        arrays = dict(z)
    arrays["units"] = np.array("furlong")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError, match="units must be one of m, cm, mm"):
        load_mesh(tmp_path / "bad.npz")


def test_a_baked_glb_reads_back_its_head_and_eye_turns(bob, tmp_path, capsys):
    """plot and render of a .glb had shown a still head: only the morph weights were read back."""
    import json

    from emoface import formats
    from emoface.cli import main

    assert main(["bake", str(bob), "-o", str(tmp_path / "a.json"), "-q", "--emotion", "surprise"]) == 0
    assert main(["bake", str(bob), "-o", str(tmp_path / "a.glb"), "-q", "--emotion", "surprise"]) == 0
    back, doc = formats.read(tmp_path / "a.glb"), json.loads((tmp_path / "a.json").read_text())
    frames = np.array(doc["frames"])
    for curve in ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "RightEyePitch", "JawOpen"):
        want = frames[:, doc["names"].index(curve)]
        np.testing.assert_allclose(back[curve], want, atol=2e-4)
    assert np.abs(back["HeadPitch"]).max() > 0.005  # it moves (about a degree or more)
    # --export may not write over the input, nor pick one of a grid's seven
    assert main(["render", str(tmp_path / "a.glb"), "-o", str(tmp_path / "v.mp4"), "--export",
                 str(tmp_path / "a.glb")]) == 2
    assert "is the input" in capsys.readouterr().err
    assert main(["render", str(bob), "-o", str(tmp_path / "g.mp4"), "--grid", "emotions", "--export",
                 str(tmp_path / "g.glb")]) == 2
    assert "give one or the other" in capsys.readouterr().err
