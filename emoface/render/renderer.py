"""Offscreen rendering of a blendshape head with pyrender on OSMesa: no GPU, no display.

One FaceRenderer per head and size: the camera frames the face once, each frame uploads new vertex
positions and normals (the shapes change them) and poses the head and eyes.
"""

from __future__ import annotations

import os

import numpy as np
from scipy import sparse

from emoface.render.drive import rotation
from emoface.render.mesh import BlendshapeMesh

BACKGROUND = (0.20, 0.22, 0.26)
# PyOpenGL picks its platform at first import: OSMesa unless the user chose another (egl on a GPU machine).
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")


def _pyrender():
    import pyrender
    from pyrender.shader_program import ShaderProgramCache

    class ProgramCache(ShaderProgramCache):
        """pyrender keys its programs by the GL context object, which PyOpenGL's OSMesa wraps anew on every
        call: nothing was reused, every primitive's shaders were compiled (and leaked) every frame. A renderer
        owns one context, so shaders and defines are key enough."""

        def __init__(self):
            super().__init__()
            self._by_source = {}

        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
            key = (vertex_shader, fragment_shader, geometry_shader, tuple(sorted((defines or {}).items())))
            if key not in self._by_source:
                self._by_source[key] = super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)
            return self._by_source[key]

    return pyrender, ProgramCache


def _eye_centre(points: np.ndarray) -> np.ndarray:
    return (points.min(axis=0) + points.max(axis=0)) / 2


class _PartGeometry:
    """A visible part's triangles in local indices, and a sparse map face normals -> vertex normals."""

    def __init__(self, mesh: BlendshapeMesh, part):
        tris = mesh.part_triangles(part)
        tris = tris[(tris >= part.start).all(axis=1) & (tris < part.end).all(axis=1)] - part.start
        self.part, self.tris = part, tris.astype(np.uint32)
        n = part.end - part.start
        rows = tris.ravel()
        cols = np.repeat(np.arange(len(tris)), 3)
        self.incidence = sparse.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(n, len(tris)))
        self.colors = mesh.colors()[part.start:part.end]

    def normals(self, v: np.ndarray) -> np.ndarray:
        t = self.tris
        face = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])  # area-weighted
        n = self.incidence @ face
        return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class FaceRenderer:
    def __init__(self, mesh: BlendshapeMesh, size: int = 512, background=BACKGROUND):
        pyrender, program_cache = _pyrender()
        self.mesh, self.size = mesh, int(size)
        self._pr = pyrender
        self._parts = [_PartGeometry(mesh, p) for p in mesh.parts if not p.hidden]
        self._parts = [g for g in self._parts if len(g.tris)]
        if not self._parts:
            raise ValueError(f"{mesh.source}: the mesh has no visible triangles")
        self._materials = {id(g): pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(1.0, 1.0, 1.0, 1.0), metallicFactor=0.0, roughnessFactor=g.part.roughness,
            doubleSided=g.part.name.lower().startswith("mouth")) for g in self._parts}
        self._eyes = {}
        for g in self._parts:
            name = g.part.name.lower()
            if "eyeball" in name or name in ("eye_l", "eye_r", "eye_left", "eye_right"):
                side = 0 if name.endswith(("_l", "left", ".l")) else 1
                self._eyes[id(g)] = (side, _eye_centre(mesh.neutral[g.part.start:g.part.end]))
        visible = np.concatenate([mesh.neutral[g.part.start:g.part.end] for g in self._parts])
        lo, hi = visible.min(axis=0), visible.max(axis=0)
        self.pivot = np.array([(lo[0] + hi[0]) / 2, lo[1] + 0.3 * (hi[1] - lo[1]), (lo[2] + hi[2]) / 2])
        self.scene = pyrender.Scene(bg_color=(*background, 1.0), ambient_light=(0.32, 0.31, 0.30))
        self._frame_camera(mesh, lo, hi)
        key = rotation(-28, 22)
        fill = rotation(40, -5)
        self.scene.add(pyrender.DirectionalLight(color=(1.0, 0.97, 0.92), intensity=3.2), pose=_pose(key))
        self.scene.add(pyrender.DirectionalLight(color=(0.85, 0.9, 1.0), intensity=1.3), pose=_pose(fill))
        self._node = None
        self._offscreen = pyrender.OffscreenRenderer(self.size, self.size)
        self._offscreen._renderer._program_cache = program_cache()

    def _frame_camera(self, mesh, lo, hi):
        """Look from in front at what the shapes move (the face), whatever the head's size or units."""
        motion = abs(mesh.deltas).max(axis=1).toarray().reshape(-1, 3).max(axis=1)
        visible = np.zeros(mesh.n_vertices, bool)
        for g in self._parts:
            visible[g.part.start:g.part.end] = True
        moving = visible & (motion > 0.05 * motion.max()) if motion.max() > 0 else visible
        flo, fhi = mesh.neutral[moving].min(axis=0), mesh.neutral[moving].max(axis=0)
        centre = (flo + fhi) / 2
        half = 0.6 * max(fhi[0] - flo[0], fhi[1] - flo[1])
        yfov = np.radians(30.0)
        distance = half / np.tan(yfov / 2) + hi[2] - centre[2]
        cam = self._pr.PerspectiveCamera(yfov=yfov, znear=distance * 0.2, zfar=distance * 3)
        pose = np.eye(4)
        pose[:3, 3] = [centre[0], centre[1], centre[2] + distance]
        self.scene.add(cam, pose=pose)

    def posed_vertices(self, weights, eyes=None) -> np.ndarray:
        """Shape weights -> vertices, eyeballs turned by (yaw, pitch) degrees per eye."""
        v = self.mesh.vertices(weights)
        if eyes is not None:
            for g in self._parts:
                if id(g) in self._eyes:
                    side, c = self._eyes[id(g)]
                    r = rotation(float(eyes[side][0]), float(eyes[side][1]))
                    s = slice(g.part.start, g.part.end)
                    v[s] = (v[s] - c) @ r.T.astype(np.float32) + c
        return v

    def render(self, weights, head=(0.0, 0.0, 0.0), eyes=None) -> np.ndarray:
        """One frame as uint8 [size, size, 3]."""
        v = self.posed_vertices(weights, eyes)
        prims = []
        for g in self._parts:
            pv = np.ascontiguousarray(v[g.part.start:g.part.end])
            prims.append(self._pr.Primitive(positions=pv, normals=g.normals(pv), color_0=g.colors,
                                            indices=g.tris, material=self._materials[id(g)]))
        pose = np.eye(4)
        r = rotation(*head)
        pose[:3, :3] = r
        pose[:3, 3] = self.pivot - r @ self.pivot
        if self._node is not None:
            self.scene.remove_node(self._node)
        self._node = self.scene.add(self._pr.Mesh(prims), pose=pose)
        color, _ = self._offscreen.render(self.scene)
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
