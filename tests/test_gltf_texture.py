"""glTF export carries a head's texture: its textured parts are a primitive of their own with TEXCOORD_0 and a
material of embedded PNGs (albedo, roughness in G), with the mesh's morph targets restricted to its vertices; a
head without a texture exports as before."""

import copy
import io

import numpy as np
import pytest
from PIL import Image

from emoface import formats
from emoface.render import default_head as head_module
from emoface.render import drive
from emoface.render.default_head import default_head
from emoface.render.gltf import split_primitives, visible_submesh, write_glb
from emoface.render.mesh import BlendshapeMesh, Part, build_deltas
from emoface.render.renderer import FaceRenderer
from tests.test_gltf import check_structure, glb_parts, read, small_head, speech


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The built-in head's glb: (mesh, motion, path, json, binary chunk)."""
    mesh = default_head()
    anim = speech()
    anim["BrowInnerUp"] = 0.8
    motion = drive.mesh_motion(anim, mesh.shape_names)
    path = tmp_path_factory.mktemp("glb") / "head.glb"
    write_glb(mesh, motion, path)
    return (mesh, motion, path, *glb_parts(path))


def textured_primitive(doc):
    (prim,) = [p for p in doc["meshes"][0]["primitives"] if "TEXCOORD_0" in p["attributes"]]
    return prim


def image(doc, blob, texture: int) -> np.ndarray:
    """A texture's embedded PNG, decoded."""
    source = doc["images"][doc["textures"][texture]["source"]]
    assert source["mimeType"] == "image/png" and "uri" not in source
    view = doc["bufferViews"][source["bufferView"]]
    return np.asarray(Image.open(io.BytesIO(blob[view["byteOffset"]:view["byteOffset"] + view["byteLength"]])))


def head_vertices(mesh):
    """(kept, triangles) of the head node, as write_glb keeps them (no eyeballs: they are nodes of their own)."""
    in_eye = np.zeros(mesh.n_vertices, bool)
    for part, _, _ in mesh.eyeballs():
        in_eye[part.start:part.end] = True
    return visible_submesh(mesh, in_eye)


def test_the_textured_parts_are_a_primitive_with_the_texture_lossless(exported):
    mesh, _, _, doc, blob = exported
    check_structure(doc, blob)
    plain, prim = doc["meshes"][0]["primitives"]
    assert "COLOR_0" in plain["attributes"] and "TEXCOORD_0" not in plain["attributes"]
    assert "COLOR_0" not in prim["attributes"]  # the vertex colours would darken the texture twice
    pbr = doc["materials"][prim["material"]]["pbrMetallicRoughness"]
    np.testing.assert_array_equal(image(doc, blob, pbr["baseColorTexture"]["index"]), mesh.texture)
    roughness = image(doc, blob, pbr["metallicRoughnessTexture"]["index"])
    np.testing.assert_array_equal(roughness[:, :, 1], mesh.texture_roughness)  # glTF: G roughness, B metalness
    assert not roughness[:, :, 2].any()
    assert (pbr["roughnessFactor"], pbr["metallicFactor"]) == (1.0, 0.0)
    sampler = doc["samplers"][doc["textures"][pbr["baseColorTexture"]["index"]]["sampler"]]
    assert sampler == {"magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071}
    kept, tris = head_vertices(mesh)
    textured = np.isin(kept, [v for p in mesh.parts if p.textured for v in range(p.start, p.end)])
    n = doc["accessors"][prim["attributes"]["POSITION"]]["count"]
    assert n == textured[np.unique(tris)].sum()  # every skin and hair vertex a triangle uses, once


def test_the_exported_uvs_sample_the_right_colours(exported):
    """glTF's v runs down (0: the image's top row), emoface's up: a v not turned would put the hair on the chin."""
    mesh, _, _, doc, blob = exported
    prim = textured_primitive(doc)
    pbr = doc["materials"][prim["material"]]["pbrMetallicRoughness"]
    picture = image(doc, blob, pbr["baseColorTexture"]["index"]).astype(int)
    h, w = picture.shape[:2]
    uv = read(doc, blob, prim["attributes"]["TEXCOORD_0"])
    colour = picture[np.clip((uv[:, 1] * h).astype(int), 0, h - 1), np.clip((uv[:, 0] * w).astype(int), 0, w - 1)]
    x, y, z = ((read(doc, blob, prim["attributes"]["POSITION"]) + doc["nodes"][0]["translation"]) / 0.01).T
    front = z > 5
    crown = y > 14
    lips = front & (np.abs(x) < 0.3) & (np.abs(y - head_module.Y_MOUTH - 0.6) < 0.3)
    chin = front & (np.abs(x) < 0.5) & (np.abs(y - head_module.Y_MOUTH + 2.5) < 0.5)
    assert crown.sum() > 5 and lips.sum() >= 1 and chin.sum() >= 1
    assert np.median(colour[crown].mean(axis=1)) < 70  # the hair is dark
    assert (colour[lips, 0] - colour[lips, 1] > 60).all()  # the upper lip is red
    assert (colour[chin].mean(axis=1) > 120).all() and (colour[chin, 0] - colour[chin, 1] < 70).all()  # skin
    # and every vertex samples the texel the renderer's v up gives it
    kept, tris = head_vertices(mesh)
    (ids, _, _), = [s for s in split_primitives(mesh, kept, tris) if s[2]]
    own = mesh.uv[kept[ids]]
    rows = np.clip(((1 - own[:, 1]) * h).astype(int), 0, h - 1)
    np.testing.assert_array_equal(colour, mesh.texture[rows, np.clip((own[:, 0] * w).astype(int), 0, w - 1)])


def test_every_primitive_has_the_targets_and_a_weight_moves_the_textured_one(exported):
    mesh, motion, _, doc, blob = exported
    names = doc["meshes"][0]["extras"]["targetNames"]
    primitives = doc["meshes"][0]["primitives"]
    assert all(len(p["targets"]) == len(names) for p in primitives) and len(primitives) == 2
    kept, tris = head_vertices(mesh)
    scale = np.float32(mesh.metres_per_unit())
    for prim, (ids, _, textured) in zip(primitives, split_primitives(mesh, kept, tris), strict=True):
        assert textured == ("TEXCOORD_0" in prim["attributes"])
        base = read(doc, blob, prim["attributes"]["POSITION"]) + doc["nodes"][0]["translation"]
        for name in ("jawOpen", "browInnerUp"):
            delta = read(doc, blob, prim["targets"][names.index(name)]["POSITION"])
            np.testing.assert_allclose(base + delta, scale * (mesh.neutral + mesh.shape_delta(name))[kept[ids]],
                                       atol=2e-6)
            if textured:
                assert np.abs(delta).max() > 1e-3  # the jaw and brows are skin: they move by millimetres
    back = formats.read(exported[2])
    np.testing.assert_allclose(back["BrowInnerUp"], 0.8, atol=1e-6)  # the reader takes the new files


def test_the_rebuilt_glb_renders_as_the_preview(exported, tmp_path):
    """Looked at: the glb's head primitives, texture and roughness as they are in the file (v turned back), render
    as the in-memory head does, but for the eyes (child nodes, left out here) and their lids' shadows."""
    mesh, _, _, doc, blob = exported
    pos, tris, colours, uvs, parts, jaw, n, texture, rough = [], [], [], [], [], [], 0, None, None
    k = doc["meshes"][0]["extras"]["targetNames"].index("jawOpen")
    for prim in doc["meshes"][0]["primitives"]:
        p = (read(doc, blob, prim["attributes"]["POSITION"]) + doc["nodes"][0]["translation"]) / 0.01
        textured = "TEXCOORD_0" in prim["attributes"]
        if textured:
            pbr = doc["materials"][prim["material"]]["pbrMetallicRoughness"]
            texture = image(doc, blob, pbr["baseColorTexture"]["index"])
            rough = image(doc, blob, pbr["metallicRoughnessTexture"]["index"])[:, :, 1]
            uvs.append(read(doc, blob, prim["attributes"]["TEXCOORD_0"]) * [1, -1] + [0, 1])
            colours.append(np.ones((len(p), 3)))
        else:
            uvs.append(np.zeros((len(p), 2)))
            colours.append(read(doc, blob, prim["attributes"]["COLOR_0"]))
        parts.append(Part("skin" if textured else "rest", n, n + len(p), (1.0, 1.0, 1.0, 1.0), textured=textured))
        tris.append(read(doc, blob, prim["indices"]).reshape(-1, 3) + n)
        pos.append(p)
        jaw.append(read(doc, blob, prim["targets"][k]["POSITION"]) / 0.01)
        n += len(p)
    names, deltas = build_deltas({"jawOpen": (np.arange(n), np.vstack(jaw))}, n)  # frames the camera as the head's
    rebuilt = BlendshapeMesh(np.vstack(pos).astype(np.float32), np.vstack(tris).astype(np.int32), names, deltas,
                             parts, np.vstack(colours).astype(np.float32), units="cm", texture=texture,
                             uv=np.vstack(uvs).astype(np.float32), texture_roughness=rough)
    with FaceRenderer(rebuilt, 128) as r:
        ours = r.render(np.full(1, 0.5, np.float32)).astype(int)
    with FaceRenderer(mesh, 128) as r:
        preview = r.render(0.5 * (np.array(mesh.shape_names) == "jawOpen").astype(np.float32)).astype(int)
    Image.fromarray(np.hstack([ours, preview]).astype(np.uint8)).save(tmp_path / "look.png")
    close = np.abs(ours - preview).max(axis=2) <= 12
    assert close.mean() > 0.97, close.mean()


def test_a_head_without_a_texture_exports_as_before(tmp_path):
    """One primitive of every kept vertex with COLOR_0, no images: what engines had read before textures."""
    mesh = copy.copy(default_head())
    mesh.texture = mesh.uv = mesh.texture_roughness = None
    write_glb(mesh, drive.mesh_motion(speech(), mesh.shape_names), tmp_path / "plain.glb")
    doc, blob = glb_parts(tmp_path / "plain.glb")
    check_structure(doc, blob)
    (prim,) = doc["meshes"][0]["primitives"]
    kept, _ = head_vertices(mesh)
    assert set(prim["attributes"]) == {"POSITION", "NORMAL", "COLOR_0"} and prim["material"] == 0
    assert doc["accessors"][prim["attributes"]["POSITION"]]["count"] == len(kept)
    assert not doc.get("images") and not doc.get("textures") and len(doc["materials"]) == 1


def test_a_tinted_textured_part_keeps_its_colour(tmp_path):
    """An own head's textured part coloured other than white: the texture times the part's colour, as previews
    draw it (COLOR_0 of the part colours, without the vertex colours)."""
    mesh = small_head()
    skin = mesh.parts[0]
    mesh.parts[0] = Part(skin.name, skin.start, skin.end, skin.color, skin.roughness, textured=True)
    mesh.vertex_colors = np.full((mesh.n_vertices, 3), 0.5, np.float32)
    mesh.texture = np.full((4, 8, 3), 200, np.uint8)
    mesh.uv = np.column_stack([np.linspace(0, 1, mesh.n_vertices), np.linspace(1, 0, mesh.n_vertices)])
    mesh.uv = mesh.uv.astype(np.float32)
    write_glb(mesh, drive.mesh_motion(speech(), mesh.shape_names), tmp_path / "tinted.glb")
    doc, blob = glb_parts(tmp_path / "tinted.glb")
    check_structure(doc, blob)
    (prim,) = doc["meshes"][0]["primitives"]  # every visible part textured: one primitive
    assert prim["material"] == 0 and len(doc["materials"]) == 1  # no vertex-colour material left unused
    assert "metallicRoughnessTexture" not in doc["materials"][prim["material"]]["pbrMetallicRoughness"]
    np.testing.assert_allclose(read(doc, blob, prim["attributes"]["COLOR_0"]), np.tile(skin.color[:3], (skin.end, 1)))
    np.testing.assert_allclose(read(doc, blob, prim["attributes"]["TEXCOORD_0"])[:, 1], 1 - mesh.uv[:skin.end, 1],
                               atol=1e-6)
