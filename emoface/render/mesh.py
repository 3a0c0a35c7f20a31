"""A blendshape head: neutral vertices, triangles, named sparse deltas and parts with materials.

The file format is an npz (the layout of ../shared/assets' ICT FaceKit pack, so that file loads as is):
  neutral float [V, 3] (y up, face looking +z), triangles int [F, 3];
  shape_names [S]; for shape k, delta_index[delta_offsets[k]:delta_offsets[k+1]] are the vertices it moves
  and delta_value [N, 3] their offsets from neutral;
  group_names [G], group_ranges [G, 2]: [start, end) vertex ranges of the parts;
  optional group_colors float [G, 4] (RGBA 0-1), group_roughness [G], group_hidden bool [G], and
  vertex_colors [V, 3] (0-1 or 0-255, multiplied with the part colour); units "m", "cm" or "mm" (else told
  from the head's height: engines and glTF want metres).
Parts without colours get one from their name (skin, teeth, tongue, mouth, eyeball, lashes; eye-shading
shells such as ICT's occlusion/blend/lacrimal meshes are hidden), so a plain ICT-style file renders right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from emoface.errors import InputError

SKIN = (0.80, 0.62, 0.52, 1.0)
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}  # metres per unit
# (pattern in the part name, RGBA, roughness, hidden): the first match wins.
NAMED_MATERIALS = (
    (r"occlusion|eye_blend|lacrimal|tear", (1, 1, 1, 1), 0.5, True),
    (r"teeth|tooth", (0.93, 0.90, 0.82, 1.0), 0.35, False),
    (r"tongue|gum", (0.72, 0.33, 0.35, 1.0), 0.5, False),
    (r"mouth|oral|socket_mouth|interior", (0.18, 0.05, 0.06, 1.0), 0.9, False),
    (r"eyeball|eye_ball|(^|_)eye(_|$)|cornea", (0.95, 0.95, 0.93, 1.0), 0.2, False),
    (r"lash|brow", (0.10, 0.07, 0.06, 1.0), 0.9, False),
    (r"eye_socket", (0.62, 0.42, 0.38, 1.0), 0.7, False),
)


@dataclass
class Part:
    name: str
    start: int  # vertex range [start, end)
    end: int
    color: tuple = SKIN
    roughness: float = 0.6
    hidden: bool = False


@dataclass
class BlendshapeMesh:
    neutral: np.ndarray  # float32 [V, 3]
    triangles: np.ndarray  # int32 [F, 3]
    shape_names: tuple[str, ...]
    deltas: sparse.csr_matrix  # [V * 3, S]: vertices = neutral + deltas @ weights
    parts: list[Part]
    vertex_colors: np.ndarray | None = None  # float32 [V, 3] in 0-1, multiplied with the part colour
    source: str = "default"
    units: str | None = None  # "m", "cm", "mm"; None: told from the head's size (metres_per_unit)
    _shape_index: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.neutral = np.ascontiguousarray(self.neutral, np.float32)
        self.triangles = np.ascontiguousarray(self.triangles, np.int32)
        self.shape_names = tuple(str(n) for n in self.shape_names)
        self._shape_index = {n: i for i, n in enumerate(self.shape_names)}

    @property
    def n_vertices(self) -> int:
        return len(self.neutral)

    def shape_index(self, name: str) -> int:
        return self._shape_index[name]

    def vertices(self, weights: np.ndarray) -> np.ndarray:
        """Neutral plus the weighted deltas: [S] -> [V, 3]."""
        return self.neutral + (self.deltas @ np.asarray(weights, np.float32)).reshape(-1, 3).astype(np.float32)

    def shape_delta(self, name: str) -> np.ndarray:
        """The dense [V, 3] offsets of one shape."""
        return self.deltas[:, self._shape_index[name]].toarray().reshape(-1, 3)

    def metres_per_unit(self) -> float:
        """The stated units, else the visible head's height read as a person's (a head with neck is 0.2-0.4 m):
        under 1.5 units it is metres, under 150 centimetres, else millimetres."""
        if self.units:
            return UNITS[self.units]
        shown = np.zeros(self.n_vertices, bool)
        for p in self.parts:
            shown[p.start:p.end] = not p.hidden
        height = float(np.ptp(self.neutral[shown if shown.any() else slice(None), 1]))
        return 1.0 if height < 1.5 else 0.01 if height < 150 else 0.001

    def eyeballs(self) -> list[tuple[Part, int, np.ndarray]]:
        """(part, 0 left / 1 right, sphere centre) for each visible eyeball: what turns for gaze."""
        out = []
        for p in self.parts:
            if not p.hidden and is_eyeball(p.name) and p.end > p.start:
                side = 0 if p.name.lower().endswith(("_l", "left", ".l")) else 1
                out.append((p, side, sphere_centre(self.neutral[p.start:p.end])))
        return out

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)

    def part_triangles(self, part: Part) -> np.ndarray:
        """Triangles whose first vertex lies in the part's range."""
        first = self.triangles[:, 0]
        return self.triangles[(first >= part.start) & (first < part.end)]

    def colors(self) -> np.ndarray:
        """Per-vertex RGBA: part colour times the vertex colours."""
        rgba = np.ones((self.n_vertices, 4), np.float32)
        for p in self.parts:
            rgba[p.start:p.end] = p.color
        if self.vertex_colors is not None:
            rgba[:, :3] *= self.vertex_colors
        return rgba

    def save(self, path) -> None:
        """Write the npz format above (what `--mesh FILE` reads)."""
        index, value, offsets = _split_deltas(self.deltas, self.n_vertices)
        arrays = dict(
            neutral=self.neutral, triangles=self.triangles, shape_names=np.array(self.shape_names),
            delta_index=index, delta_value=value, delta_offsets=offsets,
            group_names=np.array([p.name for p in self.parts]),
            group_ranges=np.array([[p.start, p.end] for p in self.parts], np.int32),
            group_colors=np.array([p.color for p in self.parts], np.float32),
            group_roughness=np.array([p.roughness for p in self.parts], np.float32),
            group_hidden=np.array([p.hidden for p in self.parts]),
        )
        if self.vertex_colors is not None:
            arrays["vertex_colors"] = np.round(np.clip(self.vertex_colors, 0, 1) * 255).astype(np.uint8)
        if self.units:
            arrays["units"] = np.array(self.units)
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)


def build_deltas(shapes: dict[str, tuple[np.ndarray, np.ndarray]], n_vertices: int) -> tuple[tuple, sparse.csr_matrix]:
    """{name: (vertex indices, [N, 3] offsets)} -> (names, the [V*3, S] matrix)."""
    rows, cols, vals = [], [], []
    for k, (index, value) in enumerate(shapes.values()):
        index = np.asarray(index, np.int64)
        value = np.asarray(value, np.float32).reshape(-1, 3)
        rows.append((index[:, None] * 3 + np.arange(3)).ravel())
        cols.append(np.full(index.size * 3, k))
        vals.append(value.ravel())
    matrix = sparse.csr_matrix(
        (np.concatenate(vals) if vals else np.zeros(0, np.float32),
         (np.concatenate(rows) if rows else np.zeros(0, int), np.concatenate(cols) if cols else np.zeros(0, int))),
        shape=(n_vertices * 3, len(shapes)), dtype=np.float32)
    return tuple(shapes), matrix


def _split_deltas(deltas: sparse.csr_matrix, n_vertices: int):
    """The [V*3, S] matrix -> delta_index, delta_value, delta_offsets (vertices with any non-zero offset)."""
    csc = deltas.tocsc()
    index, value, offsets = [], [], [0]
    for k in range(csc.shape[1]):
        col = csc[:, k].toarray().reshape(n_vertices, 3)
        moving = np.flatnonzero(np.abs(col).max(axis=1) > 0)
        index.append(moving.astype(np.int32))
        value.append(col[moving].astype(np.float32))
        offsets.append(offsets[-1] + moving.size)
    return (np.concatenate(index) if index else np.zeros(0, np.int32),
            np.concatenate(value) if value else np.zeros((0, 3), np.float32), np.array(offsets, np.int64))


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray, incidence=None) -> np.ndarray:
    """Area-weighted smooth normals, unit length (+z for a vertex in no triangle). `incidence`, the sparse
    vertex x triangle matrix of normal_incidence(), makes it fast enough for every frame of a render."""
    v = vertices.astype(np.float64)
    face = np.cross(v[triangles[:, 1]] - v[triangles[:, 0]], v[triangles[:, 2]] - v[triangles[:, 0]])
    normals = (incidence if incidence is not None else normal_incidence(triangles, len(v))) @ face
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.where(length > 1e-12, normals / np.maximum(length, 1e-12), [0.0, 0.0, 1.0]).astype(np.float32)


def normal_incidence(triangles: np.ndarray, n_vertices: int) -> sparse.csr_matrix:
    rows, cols = triangles.ravel(), np.repeat(np.arange(len(triangles)), 3)
    return sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_vertices, len(triangles)))


def eye_colors(points: np.ndarray, centre: np.ndarray, iris_deg: float = 26.0) -> np.ndarray:
    """Sclera, iris and pupil by angle from the eye's forward (+z) axis, for eyeballs that carry no colours.
    (The built-in head asks for an iris of 29 degrees, 11.7 mm on its 24 mm eyeball; scanned heads keep the
    default, which the capture basis was measured with.)"""
    d = points - centre
    angle = np.degrees(np.arccos(np.clip(d[:, 2] / np.maximum(np.linalg.norm(d, axis=1), 1e-9), -1, 1)))
    iris = np.array([0.30, 0.42, 0.55])
    col = np.where((angle > 60)[:, None], np.array([0.9, 0.78, 0.76]), np.array([0.95, 0.94, 0.92]))
    col = np.where((angle < iris_deg)[:, None], iris * 0.55, col)
    col = np.where((angle < iris_deg - 3)[:, None], iris, col)
    return np.where((angle < 9 * iris_deg / 26)[:, None], np.array([0.03, 0.03, 0.04]), col).astype(np.float32)


def is_eyeball(name: str) -> bool:
    low = name.lower()
    return "eyeball" in low or low in ("eye_l", "eye_r", "eye_left", "eye_right")


def material_for(name: str) -> tuple[tuple, float, bool]:
    low = name.lower()
    for pattern, color, roughness, hidden in NAMED_MATERIALS:
        if re.search(pattern, low):
            return color, roughness, hidden
    return SKIN, 0.6, False


def load_mesh(path, paint: bool = True) -> BlendshapeMesh:
    """Read a blendshape npz; one clear InputError naming the file when it is not one (every array is checked
    for shape, index range and finite values here, so nothing NaN or out of range reaches a video). A head with
    no colours of its own is painted (emoface.render.paint) unless `paint` is False: the bare head, with only
    the irises drawn, is what the capture basis was measured on."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "mesh file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 - numpy raises many kinds for a file that is not an npz
        raise InputError(path, f"not a blendshape mesh npz ({type(exc).__name__})") from None
    need = ("neutral", "triangles", "shape_names", "delta_index", "delta_value", "delta_offsets")
    missing = [k for k in need if k not in arrays]
    if missing:
        raise InputError(path, f"mesh npz lacks {', '.join(missing)} (see docs/RENDER.md for the layout)")
    check = _Checker(path, arrays)
    neutral = check.numbers("neutral", np.float32)
    n = len(neutral)
    if neutral.ndim != 2 or neutral.shape[1] != 3 or n == 0:
        raise InputError(path, f"neutral must be [vertices, 3], got {neutral.shape}")
    triangles = check.indices("triangles", n)
    if triangles.ndim != 2 or triangles.shape[1] != 3 or triangles.size == 0:
        raise InputError(path, "triangles must be [faces, 3] indices into the vertices")
    offsets = check.indices("delta_offsets")
    names = [str(s) for s in np.atleast_1d(arrays["shape_names"])]
    index = check.indices("delta_index", n)
    value = check.numbers("delta_value", np.float32)
    if value.size % 3 or offsets.ndim != 1 or len(offsets) != len(names) + 1 or offsets[0] != 0 \
            or np.any(np.diff(offsets) < 0) or offsets[-1] != len(index) or len(index) != value.size // 3:
        raise InputError(path, "delta_index/delta_value/delta_offsets do not fit the shapes and vertices")
    value = value.reshape(-1, 3)
    shapes = {name: (index[offsets[k]:offsets[k + 1]], value[offsets[k]:offsets[k + 1]])
              for k, name in enumerate(names)}
    if len(shapes) != len(names):
        raise InputError(path, "shape_names repeat")
    shape_names, deltas = build_deltas(shapes, n)
    parts = _read_parts(check, n)
    colors = None
    if "vertex_colors" in arrays:
        colors = check.numbers("vertex_colors", np.float32, 0, 255)
        if colors.ndim != 2 or colors.shape[0] != n or colors.shape[1] not in (3, 4):
            raise InputError(path, f"vertex_colors must be [{n} vertices, 3 or 4], got {colors.shape}")
        colors = colors[:, :3] / 255.0 if colors.max() > 1.0 else colors[:, :3]
    elif paint and "group_colors" not in arrays:  # no colours of its own: paint what a texture would show
        from emoface.render.paint import paint as paint_head

        colors = paint_head(neutral, parts, triangles)
    elif any(is_eyeball(p.name) for p in parts):  # the bare head: only the eyes get an iris
        colors = np.ones((n, 3), np.float32)
        for p in parts:
            if is_eyeball(p.name) and p.end > p.start:
                eye = neutral[p.start:p.end]
                colors[p.start:p.end] = eye_colors(eye, sphere_centre(eye))
    units = str(arrays["units"]) if "units" in arrays else None
    if units is not None and units not in UNITS:
        raise InputError(path, f"units must be one of {', '.join(UNITS)} (got {units!r})")
    return BlendshapeMesh(neutral, triangles, shape_names, deltas, parts, colors, source=str(path), units=units)


class _Checker:
    """Reads one array of a mesh npz as numbers or indices; a bad one is an InputError naming file and array."""

    def __init__(self, path: Path, arrays: dict):
        self.path, self.arrays = path, arrays

    def numbers(self, key: str, dtype, lo: float = -np.inf, hi: float = np.inf) -> np.ndarray:
        try:
            a = np.asarray(self.arrays[key], dtype)
        except (TypeError, ValueError):
            raise InputError(self.path, f"{key} must be numbers (got {self.arrays[key].dtype})") from None
        if not np.isfinite(a).all():
            raise InputError(self.path, f"{key} holds NaN or infinite values")
        if a.size and (a.min() < lo or a.max() > hi):
            raise InputError(self.path, f"{key} must lie within {lo:g}..{hi:g} (found {a.min():g}..{a.max():g})")
        return a

    def indices(self, key: str, n: int | None = None) -> np.ndarray:
        """Whole numbers (>= 0, and < n when given)."""
        a = self.numbers(key, np.float64)
        if a.size and (np.any(a != np.round(a)) or a.min() < 0 or (n is not None and a.max() >= n)):
            bound = f" below {n}" if n is not None else ""
            raise InputError(self.path, f"{key} must be whole numbers from 0{bound}")
        return a.astype(np.int64)


def _read_parts(check: _Checker, n: int) -> list[Part]:
    arrays = check.arrays
    if "group_names" not in arrays:
        return [Part("face", 0, n)]
    names = [str(s) for s in np.atleast_1d(arrays["group_names"])]
    g = len(names)
    ranges = check.indices("group_ranges", n + 1) if "group_ranges" in arrays else None
    if ranges is None or ranges.shape != (g, 2) or np.any(ranges[:, 0] > ranges[:, 1]):
        raise InputError(check.path, f"group_ranges must be [{g} groups, 2] vertex ranges [start, end) "
                                     f"within the {n} vertices")
    colors = roughness = hidden = None
    if "group_colors" in arrays:
        colors = check.numbers("group_colors", np.float32, 0, 1)
        if colors.ndim != 2 or colors.shape[0] != g or colors.shape[1] not in (3, 4):
            raise InputError(check.path, f"group_colors must be [{g} groups, RGB or RGBA] in 0-1, "
                                         f"got {colors.shape}")
        colors = np.c_[colors, np.ones((g, 1), np.float32)] if colors.shape[1] == 3 else colors
    if "group_roughness" in arrays:
        roughness = check.numbers("group_roughness", np.float32, 0, 1)
        if roughness.shape != (g,):
            raise InputError(check.path, f"group_roughness must be [{g} groups] in 0-1, got {roughness.shape}")
    if "group_hidden" in arrays:
        hidden = np.asarray(arrays["group_hidden"])
        if hidden.shape != (g,) or hidden.dtype.kind not in "biu":
            raise InputError(check.path, f"group_hidden must be [{g} groups] true/false")
    parts = []
    for k, (name, (start, end)) in enumerate(zip(names, ranges)):
        color, rough, hide = material_for(name)
        if colors is not None:
            color = tuple(float(c) for c in colors[k])
        if roughness is not None:
            rough = float(roughness[k])
        if hidden is not None:
            hide = bool(hidden[k])
        parts.append(Part(name, int(start), int(end), color, rough, hide))
    return parts


def sphere_centre(points: np.ndarray) -> np.ndarray:
    """Least-squares sphere centre: the eyeball's pivot, not its bounding box (a cornea bulges forward)."""
    a = np.c_[2 * points, np.ones(len(points))]
    solution, *_ = np.linalg.lstsq(a, (points ** 2).sum(axis=1), rcond=None)
    return solution[:3]
