"""glTF 2.0 binary (.glb) export of an animated blendshape head, and reading its weights back as an Animation.

Metres, as glTF requires (a head made in centimetres would import 100 times too large): BlendshapeMesh's
units, or its face's size read as a person's. The head node holds one mesh of the visible parts (hidden eye-shading
shells dropped) with smooth normals and the part colours as COLOR_0; each driven shape is a sparse morph target,
so a head with hundreds of shapes that each move a few hundred vertices stays small; target names go in
mesh.extras.targetNames, the convention Blender, three.js and Unreal read. A head with a texture has its textured
parts as a second primitive with TEXCOORD_0 (v turned down, glTF's way) and a material of embedded PNGs (the
albedo as baseColorTexture; the roughness per texel in metallicRoughnessTexture's G) instead of COLOR_0, so an
engine draws lips, brows and hairline per pixel as previews do; morph targets are per primitive, so each has every
target, restricted to its vertices. A head without one exports byte for byte as before. Each eyeball is a child node
(eye_L, eye_R) whose origin is the eye's centre, so gaze is a rotation track an engine can retarget or
override. The "speech" animation holds a LINEAR weights channel, the head rotation about a pivot near the neck
(the mesh is moved so that pivot is the node origin, and the node translated back) and the eyes' rotations.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pygltflib as gl
from scipy.spatial.transform import Rotation

from emoface.animation import Animation
from emoface.errors import InputError
from emoface.render.drive import MeshMotion, rotation, split_side
from emoface.render.mesh import BlendshapeMesh, vertex_normals

FLOAT, UINT = gl.FLOAT, gl.UNSIGNED_INT  # 5126, 5125
_DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


class _Blob:
    """The one binary buffer: each array gets its own 4-byte-aligned bufferView (float32/uint32 need it)."""

    def __init__(self, gltf: gl.GLTF2):
        self.gltf, self.data = gltf, bytearray()

    def view(self, array: np.ndarray, target: int | None = None) -> int:
        raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        self.gltf.bufferViews.append(gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(raw),
                                                   target=target))
        self.data += raw + b"\0" * (-len(raw) % 4)
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray, type_: str, target: int | None = None, bounds: bool = False,
                 **extra) -> int:
        """float32 or uint32 data -> accessor index; bounds sets min/max (required for POSITION and anim input)."""
        array = np.asarray(array)
        count = len(array)
        acc = gl.Accessor(bufferView=self.view(array, target), componentType=FLOAT if array.dtype == np.float32
                          else UINT, count=count, type=type_, **extra)
        if bounds:
            flat = array.reshape(count, -1)
            acc.min, acc.max = flat.min(axis=0).tolist(), flat.max(axis=0).tolist()
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1


def visible_submesh(mesh: BlendshapeMesh, drop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(kept vertex indices, reindexed triangles): hidden parts (and `drop`ped vertices) go, with every triangle
    touching them."""
    keep = mesh.shown() if drop is None else mesh.shown() & ~drop
    kept = np.flatnonzero(keep)
    remap = np.full(mesh.n_vertices, -1, np.int64)
    remap[kept] = np.arange(kept.size)
    tris = mesh.triangles[keep[mesh.triangles].all(axis=1)]
    return kept, remap[tris].astype(np.uint32)


def head_quaternions(head_deg: np.ndarray) -> np.ndarray:
    """[frames, 3] yaw/pitch/roll degrees -> [frames, 4] xyzw, sign-continuous so LINEAR slerp takes the short way."""
    quats = Rotation.from_matrix(np.stack([rotation(*row) for row in head_deg])).as_quat()
    for i in range(1, len(quats)):
        if np.dot(quats[i], quats[i - 1]) < 0:
            quats[i] = -quats[i]
    return quats.astype(np.float32)


EYE_NODES = ("eye_L", "eye_R")


def write_glb(mesh: BlendshapeMesh, motion: MeshMotion, path, name: str = "emoface", sources: dict | None = None
              ) -> None:
    """Write the head (node 0), its eyes (child nodes), the driven morph targets and the "speech" animation
    (weights, head rotation, eye rotations) to `path`, in metres. sources: the bake's audio ("source",
    "source_abs"), kept in the animation's extras so a preview of the file finds its sound."""
    scale = np.float32(mesh.metres_per_unit())
    eyes = mesh.eyeballs()
    in_eye = np.zeros(mesh.n_vertices, bool)
    for part, _, _ in eyes:
        in_eye[part.start:part.end] = True
    kept, tris = visible_submesh(mesh, in_eye)
    neutral = mesh.neutral[kept]
    lo, hi = neutral.min(axis=0), neutral.max(axis=0)
    pivot = np.array([0.0, lo[1] + 0.25 * (hi[1] - lo[1]), 0.5 * (lo[2] + hi[2])], np.float32)

    gltf = gl.GLTF2(asset=gl.Asset(version="2.0", generator="emoface"))
    blob = _Blob(gltf)
    splits = split_primitives(mesh, kept, tris)
    if eyes or not all(textured for _, _, textured in splits):  # vertex colours: material 0 (none left unused)
        gltf.materials.append(gl.Material(
            name="skin", doubleSided=False,
            pbrMetallicRoughness=gl.PbrMetallicRoughness(baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0,
                                                         roughnessFactor=0.6)))
    matched = set(motion.matched)
    names = [n for n in mesh.shape_names if n in matched]
    fixes = _lid_fix_targets(mesh, names)
    deltas = [scale * mesh.shape_delta(n)[kept].astype(np.float32) for n in names]
    deltas += [scale * delta[kept].astype(np.float32) for _, _, _, delta in fixes]
    names += [fix_name for fix_name, _, _, _ in fixes]
    positions = ((neutral - pivot) * scale).astype(np.float32)
    normals = vertex_normals(positions, tris)  # of the whole head: no seam where the primitives meet
    colors = mesh.colors()[kept]
    primitives = []
    for ids, local, textured in splits:
        targets = [{"POSITION": _sparse_target(gltf, blob, delta[ids])} for delta in deltas]
        if textured:
            tint = _part_colors(mesh)
            look = dict(material=_texture_material(gltf, blob, mesh), uv=_gltf_uv(mesh.uv[kept[ids]]),
                        colors=None if tint is None else tint[kept[ids]])
        else:
            look = dict(material=0, colors=colors[ids])
        primitives.append(_primitive(blob, positions[ids], normals[ids], local, targets, **look))
    gltf.meshes.append(gl.Mesh(name=name, primitives=primitives))
    gltf.meshes[0].weights = [0.0] * len(names) if names else None
    gltf.meshes[0].extras = {"targetNames": names} if names else {}
    gltf.nodes.append(gl.Node(name=name, mesh=0, translation=(pivot * scale).tolist()))
    for part, side, centre in eyes:
        ids = np.arange(part.start, part.end)
        local = mesh.triangles[in_eye[mesh.triangles].all(axis=1)]
        local = local[(local >= part.start).all(axis=1) & (local < part.end).all(axis=1)] - part.start
        eye = ((mesh.neutral[ids] - centre) * scale).astype(np.float32)
        local = local.astype(np.uint32)
        gltf.meshes.append(gl.Mesh(name=EYE_NODES[side], primitives=[
            _primitive(blob, eye, vertex_normals(eye, local), local, [], colors=mesh.colors()[ids])]))
        gltf.nodes.append(gl.Node(name=EYE_NODES[side], mesh=len(gltf.meshes) - 1,
                                  translation=((centre - pivot) * scale).astype(np.float32).tolist()))
        gltf.nodes[0].children.append(len(gltf.nodes) - 1)
    gltf.scenes.append(gl.Scene(name=name, nodes=[0]))
    gltf.scene = 0

    times = (np.arange(motion.n_frames) / motion.fps).astype(np.float32)
    t = blob.accessor(times, "SCALAR", bounds=True)
    samplers, channels = [], []

    def track(node: int, path_: str, output: int) -> None:
        samplers.append(gl.AnimationSampler(input=t, output=output, interpolation="LINEAR"))
        channels.append(gl.AnimationChannel(sampler=len(samplers) - 1,
                                            target=gl.AnimationChannelTarget(node=node, path=path_)))

    if names:
        weights = motion.weights[:, [mesh.shape_index(n) for n in names[:len(names) - len(fixes)]]]
        shut = [np.clip(motion.weights[:, blink], 0, 1) * motion.weights[:, raiser] for _, blink, raiser, _ in fixes]
        weights = np.column_stack([weights, *shut]).astype(np.float32)
        track(0, "weights", blob.accessor(weights.reshape(-1), "SCALAR"))
    track(0, "rotation", blob.accessor(head_quaternions(motion.head), "VEC4"))
    for k, (_, side, _) in enumerate(eyes):
        gaze = np.c_[motion.eyes[:, side], np.zeros(motion.n_frames)]
        track(1 + k, "rotation", blob.accessor(head_quaternions(gaze), "VEC4"))
    extras = {"fps": float(motion.fps), **{k: v for k, v in (sources or {}).items() if isinstance(v, str)}}
    gltf.animations.append(gl.Animation(name="speech", samplers=samplers, channels=channels, extras=extras))

    gltf.buffers.append(gl.Buffer(byteLength=len(blob.data)))
    gltf.set_binary_blob(bytes(blob.data))
    Path(path).write_bytes(b"".join(gltf.save_to_bytes()))


def _lid_fix_targets(mesh: BlendshapeMesh, names: list[str]) -> list[tuple[str, int, int, np.ndarray]]:
    """The renderer's lid fix (BlendshapeMesh.lid_fixes: a blink undoes a brow raise's lift of its lid) as morph
    targets an engine plays as they are: one per (blink, raise) pair both driven, moving by -(the raise's lid motion)
    with weight blink x raise (clipped as the renderer does). Without them an engine showed a slit of eyeball
    through every blink under raised brows. (name, blink shape index, raise shape index, [V, 3] delta)."""
    driven = set(names)
    out = []
    for blink, raisers, matrix in mesh.lid_fixes():
        for j, raiser in enumerate(raisers):
            blink_name, raiser_name = mesh.shape_names[blink], mesh.shape_names[raiser]
            if blink_name in driven and raiser_name in driven:
                delta = -matrix[:, j].toarray().reshape(-1, 3)
                if np.any(delta):
                    out.append((f"{blink_name}_shuts_under_{raiser_name}", int(blink), int(raiser), delta))
    return out


def split_primitives(mesh: BlendshapeMesh, kept: np.ndarray, tris: np.ndarray) -> list[tuple]:
    """(vertex ids into kept, their triangles, textured) per primitive of the head: one of all kept vertices for a
    head without a texture (as before textures), else the parts the texture colours (their triangles by the first
    vertex, as the renderer groups them) apart from the rest, each with only the vertices its triangles use."""
    textured = np.zeros(mesh.n_vertices, bool)
    for p in mesh.textured_parts():
        textured[p.start:p.end] = True
    on = textured[kept][tris[:, 0]] if len(tris) else np.zeros(0, bool)
    if not on.any():
        return [(np.arange(len(kept)), tris, False)]
    out = []
    for flag in (False, True):
        if (on == flag).any():
            ids, local = np.unique(tris[on == flag], return_inverse=True)
            out.append((ids, local.reshape(-1, 3).astype(np.uint32), flag))
    return out


def _primitive(blob: _Blob, positions: np.ndarray, normals: np.ndarray, tris: np.ndarray, targets: list,
               material: int = 0, colors: np.ndarray | None = None, uv: np.ndarray | None = None) -> gl.Primitive:
    """One triangle primitive: positions (with bounds), normals, optional COLOR_0 (RGB) and TEXCOORD_0."""
    attributes = gl.Attributes(
        POSITION=blob.accessor(positions, "VEC3", gl.ARRAY_BUFFER, bounds=True),
        NORMAL=blob.accessor(normals.astype(np.float32), "VEC3", gl.ARRAY_BUFFER))
    if colors is not None:
        attributes.COLOR_0 = blob.accessor(colors[:, :3].astype(np.float32), "VEC3", gl.ARRAY_BUFFER)
    if uv is not None:
        attributes.TEXCOORD_0 = blob.accessor(uv, "VEC2", gl.ARRAY_BUFFER)
    indices = blob.accessor(tris.reshape(-1), "SCALAR", gl.ELEMENT_ARRAY_BUFFER)
    return gl.Primitive(attributes=attributes, indices=indices, material=material, mode=gl.TRIANGLES,
                        targets=targets or None)


def _gltf_uv(uv: np.ndarray) -> np.ndarray:
    """emoface's v up (0: the image's bottom row, as OBJ) -> glTF's v down (0: its top row)."""
    return np.column_stack([uv[:, 0], 1.0 - uv[:, 1]]).astype(np.float32)


def _part_colors(mesh: BlendshapeMesh) -> np.ndarray | None:
    """[V, 4] what tints the texture, as in previews (mesh.colors under_texture); None where every textured part is
    white, as the built-in head's are."""
    plain = all(np.allclose(p.color[:3], 1.0) for p in mesh.textured_parts())
    return None if plain else mesh.colors(under_texture=True)


def _texture_material(gltf: gl.GLTF2, blob: _Blob, mesh: BlendshapeMesh) -> int:
    """The textured parts' material: the albedo as baseColorTexture and, where the mesh has one, the roughness per
    texel as metallicRoughnessTexture (glTF reads roughness from G, metalness from B: 0), both PNGs in the buffer."""
    sampler = len(gltf.samplers)
    gltf.samplers.append(gl.Sampler(magFilter=gl.LINEAR, minFilter=gl.LINEAR_MIPMAP_LINEAR,
                                    wrapS=gl.CLAMP_TO_EDGE, wrapT=gl.CLAMP_TO_EDGE))
    pbr = gl.PbrMetallicRoughness(baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=0.6,
                                  baseColorTexture=gl.TextureInfo(index=_png_texture(gltf, blob, mesh.texture,
                                                                                     sampler)))
    if mesh.texture_roughness is not None:
        g = np.asarray(mesh.texture_roughness, np.uint8)
        rgb = np.dstack([np.zeros_like(g), g, np.zeros_like(g)])
        pbr.metallicRoughnessTexture = gl.TextureInfo(index=_png_texture(gltf, blob, rgb, sampler))
        pbr.roughnessFactor = 1.0
    gltf.materials.append(gl.Material(name="skin_textured", doubleSided=False, pbrMetallicRoughness=pbr))
    return len(gltf.materials) - 1


def _png_texture(gltf: gl.GLTF2, blob: _Blob, rgb: np.ndarray, sampler: int) -> int:
    """uint8 [H, W, 3] -> a texture of an embedded PNG (lossless: the file holds the mesh's texels)."""
    from PIL import Image

    png = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, np.uint8), "RGB").save(png, format="PNG")
    view = blob.view(np.frombuffer(png.getvalue(), np.uint8))
    gltf.images.append(gl.Image(bufferView=view, mimeType="image/png"))
    gltf.textures.append(gl.Texture(sampler=sampler, source=len(gltf.images) - 1))
    return len(gltf.textures) - 1


def _sparse_target(gltf: gl.GLTF2, blob: _Blob, delta: np.ndarray) -> int:
    """A POSITION morph target as a sparse accessor over an all-zero base (no bufferView).

    Sparse count must be >= 1, so a shape that moves no visible vertex stores one zero offset for vertex 0.
    min/max bound every element, zeros included, so they come from the dense delta.
    """
    moving = np.flatnonzero(np.abs(delta).max(axis=1) > 0)
    moving = moving if moving.size else np.zeros(1, np.int64)
    indices = gl.AccessorSparseIndices(bufferView=blob.view(moving.astype(np.uint32)), componentType=UINT)
    sparse = gl.Sparse(count=int(moving.size), indices=indices,
                       values=gl.AccessorSparseValues(bufferView=blob.view(delta[moving])))
    gltf.accessors.append(gl.Accessor(byteOffset=None, componentType=FLOAT, count=len(delta), type="VEC3",
                                      sparse=sparse, min=delta.min(axis=0).tolist(), max=delta.max(axis=0).tolist()))
    return len(gltf.accessors) - 1


def read_accessor(gltf: gl.GLTF2, blob: bytes, index: int) -> np.ndarray:
    """An accessor's elements as float32 [count, width] (strided views, normalized integers and sparse included)."""
    acc = gltf.accessors[index]
    width, dtype = _WIDTH[acc.type], np.dtype(_DTYPES[acc.componentType])
    out = np.zeros((acc.count, width), np.float64)
    if acc.bufferView is not None:
        out[:] = _view_rows(gltf, blob, acc.bufferView, acc.byteOffset or 0, acc.count, width, dtype)
    if acc.sparse is not None:
        s = acc.sparse
        idx = _view_rows(gltf, blob, s.indices.bufferView, s.indices.byteOffset or 0, s.count, 1,
                         np.dtype(_DTYPES[s.indices.componentType]))[:, 0].astype(np.int64)
        out[idx] = _view_rows(gltf, blob, s.values.bufferView, s.values.byteOffset or 0, s.count, width, dtype)
    if acc.normalized and dtype.kind in "iu":
        out = np.maximum(out / np.iinfo(dtype).max, -1.0)
    return out.astype(np.float32)


def _view_rows(gltf, blob, view_index, offset, count, width, dtype) -> np.ndarray:
    view = gltf.bufferViews[view_index]
    stride = view.byteStride or width * dtype.itemsize
    start = (view.byteOffset or 0) + offset
    rows = [np.frombuffer(blob, dtype, width, start + i * stride) for i in range(count)] \
        if stride != width * dtype.itemsize else [np.frombuffer(blob, dtype, count * width, start)]
    return np.asarray(rows, np.float64).reshape(count, width)


def read_glb(path) -> Animation:
    """The first animation's morph-target weights as an Animation: on the livelink rig with the head's and eyes'
    rotations where the file animates them (write_glb's nodes), else on the arkit rig.

    Each ARKit curve is the mean of the targets with its split_side key (eyeBlink_L, eyeBlinkLeft, eyeBlink.L are
    one); failing that, an unsided curve takes the mean of the _L/_R targets and a sided curve the unsided target.
    Curves no target drives are 0. fps comes from the first two keyframe times.
    """
    from emoface.rigs import load_rig

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or type(exc).__name__})") from None
    if data[:4] != b"glTF":
        raise InputError(path, "not a binary glTF (.glb) file")
    try:
        gltf = gl.GLTF2.load_from_bytes(data)
        blob = gltf.binary_blob() or b""
        channel, sampler = next((a.channels[i], a.samplers[a.channels[i].sampler])
                                for a in gltf.animations[:1] for i in range(len(a.channels))
                                if a.channels[i].target.path == "weights")
        mesh = gltf.meshes[gltf.nodes[channel.target.node].mesh]
        names = list((mesh.extras or {}).get("targetNames") or [])
        times = read_accessor(gltf, blob, sampler.input)[:, 0]
        weights = read_accessor(gltf, blob, sampler.output)[:, 0]
        turns = _rotation_tracks(gltf, blob, gltf.animations[0], channel.target.node, len(times))
    except StopIteration:
        raise InputError(path, "the glTF has no morph-target weights animation") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file fails in many ways inside pygltflib/numpy
        raise InputError(path, f"damaged glTF ({type(exc).__name__}: {exc})") from None
    if not names or weights.size != len(times) * len(names):
        raise InputError(path, f"weights animation does not fit the {len(names)} named morph targets "
                               "(mesh.extras.targetNames)")
    weights = weights.reshape(len(times), len(names))
    fps = round(1.0 / float(times[1] - times[0]), 3) if len(times) > 1 and times[1] > times[0] \
        else float((gltf.animations[0].extras or {}).get("fps", 30.0))

    keys = [split_side(n) for n in names]
    rig = load_rig("livelink" if turns else "arkit")
    extras = gltf.animations[0].extras or {}
    sources = {k: extras[k] for k in ("source", "source_abs") if isinstance(extras.get(k), str)}
    anim = Animation.zeros(rig.names, fps, len(times), rig.name, sources or {"source": path.name})
    for curve in rig.names:
        base, side = split_side(curve)
        cols = [i for i, k in enumerate(keys) if k == (base, side)] or \
            [i for i, k in enumerate(keys) if k[0] == base and (k[1] in ("l", "r") if side is None else k[1] is None)]
        if cols:
            anim[curve] = weights[:, cols].mean(axis=1)
    for prefix, degrees in turns.items():  # the curves carry degrees / 180
        for axis, column in zip(("Yaw", "Pitch", "Roll"), degrees.T):
            anim[f"{prefix}{axis}"] = column / 180.0
    return anim


def _rotation_tracks(gltf: gl.GLTF2, blob: bytes, animation, head_node: int, n_frames: int) -> dict:
    """{"Head" | "LeftEye" | "RightEye": [frames, 3] yaw, pitch, roll degrees} from the rotation channels of the
    head node and write_glb's eye nodes, one key a frame (other files' tracks are not resampled: left out)."""
    nodes = {head_node: "Head"}
    for k, node in enumerate(gltf.nodes):
        if node.name in EYE_NODES:
            nodes[k] = ("LeftEye", "RightEye")[EYE_NODES.index(node.name)]
    out = {}
    for ch in animation.channels:
        if ch.target.path != "rotation" or ch.target.node not in nodes:
            continue
        quats = read_accessor(gltf, blob, animation.samplers[ch.sampler].output)
        if len(quats) == n_frames and quats.shape[1] == 4:
            out[nodes[ch.target.node]] = head_degrees(quats)
    return out


def head_degrees(quats: np.ndarray) -> np.ndarray:
    """head_quaternions' inverse: [frames, 4] xyzw -> [frames, 3] yaw, pitch, roll degrees (drive.rotation is
    yaw about y, then pitch about x and roll about z, both negated)."""
    yaw, pitch, roll = Rotation.from_quat(quats).as_euler("YXZ", degrees=True).T
    return np.stack([yaw, -pitch, -roll], axis=1)
