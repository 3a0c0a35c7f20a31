"""Offscreen rendering of a blendshape head with pyrender on OSMesa: no GPU, no display.

One FaceRenderer per head and size: the camera frames the face once, each frame uploads new vertex
positions and normals (the shapes change them) and poses the head and eyes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from emoface.render.drive import rotation, shape_sources
from emoface.render.mesh import BlendshapeMesh, normal_incidence, vertex_normals

BACKGROUND = (0.20, 0.22, 0.26)
FRAGMENT_SHADER = Path(__file__).with_name("face.frag")
# ambient, then (yaw, pitch) degrees and intensity of a warm key and a cool fill light. "portrait" (previews): the
# key high to one side, so the brow ridge, nose and cheeks cast shade and the brows' and cheeks' moves read; its
# shadows fall from the nose onto the cheek, from the lips and the jaw onto the chin and the neck (face.frag).
# "even" (frame="face": capture's basis and round trip): flatter, the light the shipped basis was measured under,
# with face.frag's plain shading (MEASURING_LIGHT).
LIGHTING = {"portrait": ((0.26, 0.25, 0.25), ((-32, 34), 3.5), ((45, 0), 1.2)),
            "even": ((0.32, 0.31, 0.30), ((-28, 22), 3.2), ((40, -5), 1.3))}
# PyOpenGL picks its platform at first import: OSMesa unless the user chose another (egl on a GPU machine).
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
# pyrender pins PyOpenGL 3.1.0, whose OSMesa lacks what pyrender calls (OSMesaCreateContextAttribs); the Makefile
# installs this one after it
PYOPENGL_FOR_OSMESA = "3.1.7"
SHADOW_MAP = 1024  # texels across the key light's shadow map in previews: about a millimetre on a face
FAR_FILL = 1000.0  # a preview's fill light stands this many times the model's size away: parallel light


def check_pyopengl(version: str | None = None) -> None:
    """On OSMesa, an older PyOpenGL is one line saying what to install, not a traceback from inside pyrender."""
    if os.environ.get("PYOPENGL_PLATFORM", "").lower() != "osmesa":
        return
    if version is None:
        import OpenGL

        version = OpenGL.__version__

    def numbers(text):
        return tuple(int(n) for n in re.findall(r"\d+", text)[:3])

    if numbers(version) < numbers(PYOPENGL_FOR_OSMESA):
        from emoface.errors import InputError

        raise InputError(f"PyOpenGL {version}", "cannot render offscreen through OSMesa (pyrender pins it); install "
                                                f"{PYOPENGL_FOR_OSMESA} after emoface: pip install --no-deps "
                                                f"PyOpenGL=={PYOPENGL_FOR_OSMESA}")


def _pyrender():
    check_pyopengl()
    import pyrender
    from pyrender.shader_program import ShaderProgram, ShaderProgramCache

    class ProgramCache(ShaderProgramCache):
        """pyrender keys its programs by the GL context object, which PyOpenGL's OSMesa wraps anew on every
        call: nothing was reused, every primitive's shaders were compiled (and leaked) every frame. A renderer
        owns one context, so shaders and defines are key enough. `measuring`: our shader without the preview's
        wrapped light (capture's basis was measured under the plain one)."""

        def __init__(self, measuring: bool = False):
            super().__init__()
            self._by_source = {}
            self._measuring = measuring

        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
            key = (vertex_shader, fragment_shader, geometry_shader, tuple(sorted((defines or {}).items())))
            if key not in self._by_source:
                if fragment_shader == "mesh.frag":  # ours: about twice as fast per pixel on llvmpipe
                    ours = {**(defines or {}), **({"MEASURING_LIGHT": 1} if self._measuring else {})}
                    self._by_source[key] = ShaderProgram(os.path.join(self.shader_dir, vertex_shader),
                                                         str(FRAGMENT_SHADER), None, ours)
                else:
                    self._by_source[key] = super().get_program(vertex_shader, fragment_shader, geometry_shader,
                                                               defines)
            return self._by_source[key]

    import pyrender.renderer

    pyrender.renderer.SHADOW_TEX_SZ = SHADOW_MAP  # the shadow pass's viewport: the size of our lights' maps
    return pyrender, ProgramCache


def _shadows_from_both_sides(renderer) -> None:
    """Make a pyrender renderer draw both sides of every triangle into its shadow maps. pyrender culls the sides
    turned from the light there, but a face is an open sheet: where the light meets a lip's inner side (a rounded,
    rolled-out lower lip) that lip cast no shadow, and the chin under it showed a lit, jagged patch in its shade."""
    import pyrender.renderer as module
    from OpenGL.GL import GL_CULL_FACE

    shadow_pass = renderer._shadow_mapping_pass
    enable = module.glEnable

    def both_sides(scene, light_node, flags):
        module.glEnable = lambda cap: module.glDisable(cap) if cap == GL_CULL_FACE else enable(cap)
        try:
            shadow_pass(scene, light_node, flags)
        finally:
            module.glEnable = enable

    renderer._shadow_mapping_pass = both_sides


class _Geometry:
    """Visible triangles grouped by material (one draw each), and a sparse map face -> vertex normals
    over all of them, so seams between parts shade smoothly."""

    def __init__(self, mesh: BlendshapeMesh):
        owner = np.full(mesh.n_vertices, -1)
        for k, p in enumerate(mesh.parts):
            owner[p.start:p.end] = k
        visible = np.array([not p.hidden for p in mesh.parts] + [False])[owner]  # owner -1 (no part): hidden
        tris = mesh.triangles[visible[mesh.triangles].all(axis=1)]
        if not len(tris):
            raise ValueError(f"{mesh.source}: the mesh has no visible triangles")
        self.tris = tris
        self.incidence = normal_incidence(tris, mesh.n_vertices)
        colors = mesh.colors(under_texture=True)
        textured = {id(p) for p in mesh.textured_parts()}
        self.groups = []  # (vertex ids, local triangles, colours, roughness, double sided, uv or None)
        keys = {}
        per_texel = bool(textured) and mesh.texture_roughness is not None
        for k, p in enumerate(mesh.parts):
            uses_texture = id(p) in textured
            # with a roughness per texel, the textured parts' own is 1: the shader multiplies the two
            rough = 1.0 if uses_texture and per_texel else round(p.roughness, 2)
            key = (rough, p.name.lower().startswith("mouth"), uses_texture)
            keys.setdefault(key, []).append(k)
        first_owner = owner[tris[:, 0]]
        for (roughness, double, uses_texture), members in keys.items():
            group = tris[np.isin(first_owner, members)]
            if len(group):
                ids, local = np.unique(group, return_inverse=True)
                self.groups.append((ids, local.reshape(-1, 3).astype(np.uint32), colors[ids], roughness, double,
                                    mesh.uv[ids] if uses_texture else None))

    def normals(self, v: np.ndarray) -> np.ndarray:
        return vertex_normals(v, self.tris, self.incidence)


class FaceRenderer:
    def __init__(self, mesh: BlendshapeMesh, size: int = 512, background=BACKGROUND, frame: str = "head",
                 shadows: bool = True):
        """frame: "head" shows the face from the chin to the crown (previews), lit as a portrait, its key light
        casting shadows unless shadows is False (about 1.5 times as fast); "face" fills the picture with what the
        shapes move, evenly lit and without shadows (capture's basis and round trip, which want the landmarks as
        large as can be, under the light the shipped basis was measured in)."""
        pyrender, program_cache = _pyrender()
        self.mesh, self.size = mesh, int(size)
        self._pr = pyrender
        self._geometry = _Geometry(mesh)
        texture = None
        if any(g[5] is not None for g in self._geometry.groups):
            from OpenGL.GL import GL_CLAMP_TO_EDGE

            # RGB the albedo, A the roughness (face.frag multiplies the material's with it); mipmapped, linear
            rough = mesh.texture_roughness if mesh.texture_roughness is not None else 255
            rgba = np.dstack([mesh.texture, np.broadcast_to(rough, mesh.texture.shape[:2])]).astype(np.uint8)
            texture = pyrender.Texture(source=rgba, source_channels="RGBA", sampler=pyrender.Sampler(
                wrapS=GL_CLAMP_TO_EDGE, wrapT=GL_CLAMP_TO_EDGE))
        self._materials = [pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(1.0, 1.0, 1.0, 1.0), metallicFactor=0.0, roughnessFactor=g[3], doubleSided=g[4],
            baseColorTexture=texture if g[5] is not None else None)
            for g in self._geometry.groups]
        self._eyes = [(slice(p.start, p.end), side, centre) for p, side, centre in mesh.eyeballs()]
        visible = mesh.neutral[np.unique(self._geometry.tris)]
        lo, hi = visible.min(axis=0), visible.max(axis=0)
        self.pivot = np.array([(lo[0] + hi[0]) / 2, lo[1] + 0.3 * (hi[1] - lo[1]), (lo[2] + hi[2]) / 2])
        ambient, (key, key_power), (fill, fill_power) = LIGHTING["even" if frame == "face" else "portrait"]
        self.scene = pyrender.Scene(bg_color=(*background, 1.0), ambient_light=ambient)
        self._frame_camera(mesh, lo, hi, frame)
        self.measuring = frame == "face"
        self.shadows = shadows and not self.measuring
        key_light = pyrender.DirectionalLight(color=(1.0, 0.97, 0.92), intensity=key_power)
        self.scene.add(key_light, pose=_pose(rotation(*key)))
        fill_color = (0.85, 0.9, 1.0)
        if not self.shadows:
            self.scene.add(pyrender.DirectionalLight(color=fill_color, intensity=fill_power),
                           pose=_pose(rotation(*fill)))
        else:
            # a preview's key casts shadows, and pyrender shadows every directional light (a depth pass each): the
            # fill is a point light far off in its direction instead, which face.frag lights as a distant one
            pose = _pose(rotation(*fill))
            pose[:3, 3] = pose[:3, 2] * FAR_FILL * float(np.linalg.norm(hi - lo))
            self.scene.add(pyrender.PointLight(color=fill_color, intensity=fill_power), pose=pose)
            key_light._generate_shadow_texture(SHADOW_MAP)
        self._node = None
        self._offscreen = pyrender.OffscreenRenderer(self.size, self.size)
        self._offscreen._renderer._program_cache = program_cache(measuring=self.measuring)
        _shadows_from_both_sides(self._offscreen._renderer)

    def _frame_camera(self, mesh, lo, hi, frame: str = "head"):
        """Look from in front at what the ARKit shapes move (the face), whatever the head's size or units; for
        "head" up to the crown as well, so the top of the head is not cut off. Shapes no curve drives (a character
        export's body morphs, correctives) do not count: a body morph would frame the whole body."""
        from emoface.rigs import canonical_names

        driven = sorted(shape_sources(mesh.shape_names, canonical_names()))
        deltas = mesh.deltas[:, driven] if driven else mesh.deltas
        motion = abs(deltas).max(axis=1).toarray().reshape(-1, 3).max(axis=1)
        visible = np.zeros(mesh.n_vertices, bool)
        visible[self._geometry.tris.ravel()] = True
        moving = visible & (motion > 0.05 * motion.max()) if motion.max() > 0 else visible
        flo, fhi = mesh.neutral[moving].min(axis=0), mesh.neutral[moving].max(axis=0)
        margin = 0.6
        if frame == "head" and hi[1] > fhi[1]:
            fhi[1], margin = hi[1], 0.53  # chin to crown, a tighter margin: the head is framed, not the bust
        centre = (flo + fhi) / 2
        half = margin * max(fhi[0] - flo[0], fhi[1] - flo[1])
        # what the key light's shadow map covers (pyrender frames it by the scene's bounds): the framed head, not
        # the shoulders, so its texels are a millimetre
        self._bounds = np.array([centre - 1.2 * half, centre + 1.2 * half])
        yfov = np.radians(30.0)
        distance = half / np.tan(yfov / 2) + hi[2] - centre[2]
        cam = self._pr.PerspectiveCamera(yfov=yfov, znear=distance * 0.2, zfar=distance * 3)
        pose = np.eye(4)
        pose[:3, 3] = [centre[0], centre[1], centre[2] + distance]
        self.scene.add(cam, pose=pose)
        self._eye, self._yfov = pose[:3, 3], yfov

    @property
    def camera_position(self) -> np.ndarray:
        """Where the camera is, in head space (it looks down -z)."""
        return self._eye

    def project(self, points) -> np.ndarray:
        """Pixel (column, row) of head-space points with the head unposed: where to look in a frame."""
        d = np.atleast_2d(points) - self._eye
        f = (self.size / 2) / np.tan(self._yfov / 2)
        return np.stack([self.size / 2 + f * d[:, 0] / -d[:, 2], self.size / 2 - f * d[:, 1] / -d[:, 2]], axis=1)

    def posed_vertices(self, weights, eyes=None) -> np.ndarray:
        """Shape weights -> vertices, eyeballs turned by (yaw, pitch) degrees per eye."""
        v = self.mesh.vertices(weights)
        if eyes is not None:
            for s, side, c in self._eyes:
                r = rotation(float(eyes[side][0]), float(eyes[side][1])).astype(np.float32)
                v[s] = (v[s] - c) @ r.T + c
        return v

    def render(self, weights, head=(0.0, 0.0, 0.0), eyes=None) -> np.ndarray:
        """One frame as uint8 [size, size, 3]. The head turns about the pivot; in previews a mesh with head_weights
        turns each vertex by its share (a bust's shoulders stay where they are), else it turns as one node (capture's
        measuring renders: what its basis and round trip were measured with)."""
        v = self.posed_vertices(weights, eyes)
        r = rotation(*head)
        if self.mesh.head_weights is not None and not self.measuring:
            share = self.mesh.head_weights[:, None]
            v = (v + share * ((v - self.pivot) @ r.T + self.pivot - v)).astype(np.float32)
            r = np.eye(3)
        normals = self._geometry.normals(v)
        prims = [self._pr.Primitive(positions=v[ids], normals=normals[ids], color_0=colors, texcoord_0=uv,
                                    indices=tris, material=material)
                 for (ids, tris, colors, _, _, uv), material in zip(self._geometry.groups, self._materials)]
        pose = np.eye(4)
        pose[:3, :3] = r
        pose[:3, 3] = self.pivot - r @ self.pivot
        if self._node is not None:
            self.scene.remove_node(self._node)
        node = self._pr.Mesh(prims)
        # the shadow pass frames the key light's map by the scene's bounds, which pyrender's Mesh.bounds computes with
        # np.infty (gone in numpy 2); the head's extent at rest, posed or not, also keeps the map still between frames
        node._bounds = self._bounds
        self._node = self.scene.add(node, pose=pose)
        flags = self._pr.RenderFlags.SHADOWS_DIRECTIONAL if self.shadows else self._pr.RenderFlags.NONE
        color, self.depth = self._offscreen.render(self.scene, flags=flags)  # depth: what capture's basis needs
        return color

    def close(self):
        self._offscreen.delete()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _pose(r: np.ndarray) -> np.ndarray:
    """A light pose whose -z axis points along r's -z (pyrender lights shine down their -z)."""
    pose = np.eye(4)
    pose[:3, :3] = r
    return pose
