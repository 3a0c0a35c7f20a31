"""A blendshape head: neutral vertices, triangles, named sparse deltas and parts with materials.

The file format is an npz (the layout of ../shared/assets' ICT FaceKit pack, so that file loads as is):
  neutral float [V, 3] (y up, face looking +z), triangles int [F, 3];
  shape_names [S]; for shape k, delta_index[delta_offsets[k]:delta_offsets[k+1]] are the vertices it moves
  and delta_value [N, 3] their offsets from neutral;
  group_names [G], group_ranges [G, 2]: [start, end) vertex ranges of the parts;
  optional group_colors float [G, 4] (RGBA 0-1), group_roughness [G], group_hidden bool [G], and
  vertex_colors [V, 3] (0-1 or 0-255, multiplied with the part colour); units "m", "cm" or "mm" (else told
  from the head's height: engines and glTF want metres); a texture: texture uint8 [H, W, 3] (sRGB), uv float
  [V, 2] in 0-1 (v up: 0 is the image's bottom row, as OBJ) and group_textured bool [G], the parts it colours
  in place of their vertex colours (which stay, for whatever reads no texture); optional texture_roughness
  uint8 [H, W] (0-255: roughness 0-1), their roughness per texel.
Parts without colours get one from their name (skin, teeth, tongue, mouth, eyeball, lashes; eye-shading
shells such as ICT's occlusion/blend/lacrimal meshes are hidden), so a plain ICT-style file renders right.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from emoface.errors import InputError, missing_file

log = logging.getLogger("emoface")

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
    textured: bool = False  # coloured by the mesh's texture (per pixel), not by its vertex colours


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
    # [V] 0-1: the share of the head's turn each vertex takes (a bust's shoulders stay still: 0); None: all of it
    head_weights: np.ndarray | None = None
    # an sRGB albedo uint8 [H, W, 3] and its coordinates float32 [V, 2] (v up) for the textured parts: a vertex
    # colour is one sample per vertex, which draws a lip's or a brow's edge as a staircase at the grid's spacing
    texture: np.ndarray | None = None
    uv: np.ndarray | None = None
    # optional uint8 [H, W] roughness of the textured parts per texel (0-255: 0-1), in place of their parts':
    # where hair meets skin, matte and sheen part along the drawn hairline, not along the grid's triangles
    texture_roughness: np.ndarray | None = None
    _shape_index: dict = field(init=False, repr=False)
    _lid_fix: list | None = field(init=False, repr=False, default=None)

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
        """Neutral plus the weighted deltas: [S] -> [V, 3]; a blink undoes the brow raises' lift of its lid
        (lid_fixes)."""
        weights = np.asarray(weights, np.float32)
        v = self.neutral + (self.deltas @ weights).reshape(-1, 3).astype(np.float32)
        for blink, raisers, matrix in self.lid_fixes():
            shut = float(np.clip(weights[blink], 0.0, 1.0))
            if shut > 0 and np.any(weights[raisers]):
                v -= (shut * (matrix @ weights[raisers])).reshape(-1, 3).astype(np.float32)
        return v

    def lid_fixes(self) -> list:
        """Per side, (blink shape, brow-raise shapes, their motion on the blink's lid): a brow raise lifts the upper
        lid with the brow, and added to a blink it held a shut lid open on a slit of eyeball (every blink of a
        surprised line). As the blink closes, the raises' motion fades where the blink moves the lid: fully where
        it moves it by half its most or more, not at all under a quarter (the brows: the built-in head's blink
        draws its brow line by 24% of the lid's travel), so the lid shuts and the brows stay up."""
        if self._lid_fix is None:
            from emoface.render.drive import BROW_RAISERS, split_side

            split = [split_side(n) for n in self.shape_names]
            self._lid_fix = []
            for side in ("l", "r"):
                blink = [k for k, key in enumerate(split) if key == ("eyeblink", side)]
                raisers = [k for k, (base, s) in enumerate(split) if base in BROW_RAISERS and s in (side, None)]
                if not blink or not raisers:
                    continue
                lid = np.linalg.norm(self.shape_delta(self.shape_names[blink[0]]), axis=1)
                if lid.max() <= 0:
                    continue
                mask = np.repeat(np.clip((lid / lid.max() - 0.25) / 0.25, 0.0, 1.0), 3)
                matrix = sparse.csr_matrix(sparse.diags(mask.astype(np.float32)) @ self.deltas[:, raisers])
                matrix.eliminate_zeros()
                self._lid_fix.append((blink[0], np.array(raisers), matrix))
        return self._lid_fix

    def shape_delta(self, name: str) -> np.ndarray:
        """The dense [V, 3] offsets of one shape."""
        return self.deltas[:, self._shape_index[name]].toarray().reshape(-1, 3)

    def metres_per_unit(self) -> float:
        """The stated units, else a person's face read in the mesh: the eyes' spacing (about 0.063 m: under 0.5
        units it is metres, under 50 centimetres, else millimetres), else the height of what the shapes move (a
        face, 0.1-0.3 m: under 1.5, 150). Not the whole mesh's height, which had read a whole character in metres
        (1.8 m) as centimetres and exported it 1.8 cm tall."""
        if self.units:
            return UNITS[self.units]
        eyes = [centre for _, _, centre in self.eyeballs()]
        if len(eyes) == 2 and np.linalg.norm(eyes[0] - eyes[1]) > 0:
            spacing = float(np.linalg.norm(eyes[0] - eyes[1]))
            return 1.0 if spacing < 0.5 else 0.01 if spacing < 50 else 0.001
        moved = np.abs(self.deltas).max(axis=1).toarray().reshape(-1, 3).max(axis=1) > 0
        shown = self.shown()
        pick = moved if moved.any() else shown if shown.any() else slice(None)
        height = float(np.ptp(self.neutral[pick, 1]))
        return 1.0 if height < 1.5 else 0.01 if height < 150 else 0.001

    def shown(self) -> np.ndarray:
        """[V] bool: the vertices drawn (all but the hidden parts' eye-shading shells)."""
        out = np.ones(self.n_vertices, bool)
        for p in self.parts:
            if p.hidden:
                out[p.start:p.end] = False
        return out

    def eyeballs(self) -> list[tuple[Part, int, np.ndarray]]:
        """(part, 0 left / 1 right, sphere centre) for each visible eyeball: what turns for gaze. The side is the
        name's (eyeball_l, L_eyeball, LeftEye, eye.R), else the centre's side of the head (+x: its left)."""
        out = []
        mid = None
        for p in self.parts:
            if not p.hidden and is_eyeball(p.name) and p.end > p.start:
                centre = sphere_centre(self.neutral[p.start:p.end])
                side = part_side(p.name)
                if side is None:
                    if mid is None:
                        mid = float(self.neutral[:, 0].min() + self.neutral[:, 0].max()) / 2
                    side = 0 if centre[0] > mid else 1
                out.append((p, side, centre))
        return out

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)

    def part_triangles(self, part: Part) -> np.ndarray:
        """Triangles whose first vertex lies in the part's range."""
        first = self.triangles[:, 0]
        return self.triangles[(first >= part.start) & (first < part.end)]

    def textured_parts(self) -> list[Part]:
        """The parts its texture colours: none without a texture and its coordinates."""
        return [p for p in self.parts if p.textured] if self.texture is not None and self.uv is not None else []

    def colors(self, under_texture: bool = False) -> np.ndarray:
        """Per-vertex RGBA: part colour times the vertex colours; under_texture: the textured parts' part colour
        alone (what multiplies their texture, which stands for their vertex colours: both would darken twice)."""
        rgba = np.ones((self.n_vertices, 4), np.float32)
        for p in self.parts:
            rgba[p.start:p.end] = p.color
        if self.vertex_colors is not None:
            rgba[:, :3] *= self.vertex_colors
            for p in self.textured_parts() if under_texture else ():
                rgba[p.start:p.end] = p.color
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
        if self.head_weights is not None:
            arrays["head_weights"] = np.asarray(self.head_weights, np.float32)
        if self.texture is not None:
            arrays.update(texture=np.asarray(self.texture, np.uint8), uv=np.asarray(self.uv, np.float32),
                          group_textured=np.array([p.textured for p in self.parts]))
            if self.texture_roughness is not None:
                arrays["texture_roughness"] = np.asarray(self.texture_roughness, np.uint8)
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


def name_words(name: str) -> list[str]:
    """'L_eyeball' -> ['l', 'eyeball']; 'LeftEye' -> ['left', 'eye']; 'eye.R' -> ['eye', 'r']."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", str(name))]


_SIDES = {"l": 0, "left": 0, "r": 1, "right": 1}
_EYE_WORDS = {"eye", "eyes", "eyeball", "eyeballs", "ball", "geo", "mesh", "grp", "group"} | set(_SIDES)


def part_side(name: str) -> int | None:
    """0 (the character's left), 1 (right) or None, from a side word before or after the name."""
    sides = {_SIDES[w] for w in name_words(name) if w in _SIDES}
    return sides.pop() if len(sides) == 1 else None


def is_eyeball(name: str) -> bool:
    """eyeball_l, L_eyeball, Eyeballs, eye_left, LeftEye, Eye_R, Eyes: an eyeball part (not eye_socket,
    eyelashes, eye_blend...)."""
    low = name.lower()
    if "eyeball" in low or low in ("eye_l", "eye_r", "eye_left", "eye_right"):
        return True
    words = name_words(name)
    return bool(words) and bool({"eye", "eyes"} & set(words)) and set(words) <= _EYE_WORDS


def material_for(name: str) -> tuple[tuple, float, bool]:
    low = name.lower()
    for pattern, color, roughness, hidden in NAMED_MATERIALS:
        if re.search(pattern, low):
            return color, roughness, hidden
    if is_eyeball(name):  # LeftEye, Eyes
        return (0.95, 0.95, 0.93, 1.0), 0.2, False
    return SKIN, 0.6, False


def load_mesh(path, paint: bool = True) -> BlendshapeMesh:
    """Read a blendshape npz; one clear InputError naming the file when it is not one (every array is checked
    for shape, index range and finite values here, so nothing NaN or out of range reaches a video). A head with
    no colours of its own is painted (emoface.render.paint) unless `paint` is False: the bare head, with only
    the irises drawn, is what the capture basis was measured on."""
    path = Path(path)
    if not path.is_file():
        raise missing_file(path, "mesh file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {}
            for k in data.files:
                try:
                    arrays[k] = data[k]
                except ValueError as exc:
                    if "allow_pickle" not in str(exc):
                        raise
                    raise InputError(path, f"{k} is an object (pickled) array: save it as str "
                                           f"(np.array(names, dtype=str))") from None
    except InputError:
        raise
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
    names = _strings(arrays["shape_names"])
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
    parts = _split_eye_pairs(path, neutral, _read_parts(check, n))
    colors = None
    if "vertex_colors" in arrays:
        colors = check.numbers("vertex_colors", np.float32, 0, 255)
        if colors.ndim != 2 or colors.shape[0] != n or colors.shape[1] not in (3, 4):
            raise InputError(path, f"vertex_colors must be [{n} vertices, 3 or 4], got {colors.shape}")
        integer = np.asarray(arrays["vertex_colors"]).dtype.kind in "iu"  # uint8 (or int) colours are 0-255
        colors = colors[:, :3] / 255.0 if integer or colors.max() > 1.0 else colors[:, :3]
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
    turns = None
    if "head_weights" in arrays:
        turns = check.numbers("head_weights", np.float32, 0, 1)
        if turns.shape != (n,):
            raise InputError(path, f"head_weights must be [{n} vertices], got {turns.shape}")
    texture, uv, texture_roughness = _read_texture(check, n)
    mesh = BlendshapeMesh(neutral, triangles, shape_names, deltas, parts, colors, source=str(path), units=units,
                          head_weights=turns, texture=texture, uv=uv, texture_roughness=texture_roughness)
    _check_usable(path, mesh)
    return mesh


def _read_texture(check: _Checker, n: int):
    """(texture, uv, texture_roughness or None) or three Nones."""
    arrays = check.arrays
    if "texture" not in arrays:
        return None, None, None
    texture = np.asarray(arrays["texture"])
    if texture.dtype != np.uint8 or texture.ndim != 3 or texture.shape[2] != 3 or min(texture.shape[:2]) < 1:
        raise InputError(check.path, f"texture must be uint8 [height, width, 3] (sRGB), got {texture.dtype} "
                                     f"{texture.shape}")
    uv = check.numbers("uv", np.float32) if "uv" in arrays else None
    if uv is None or uv.shape != (n, 2):
        raise InputError(check.path, f"a texture needs uv [{n} vertices, 2]")
    rough = None
    if "texture_roughness" in arrays:
        rough = np.asarray(arrays["texture_roughness"])
        if rough.dtype != np.uint8 or rough.shape != texture.shape[:2]:
            raise InputError(check.path, f"texture_roughness must be uint8 {list(texture.shape[:2])} (the "
                                         f"texture's size), got {rough.dtype} {list(rough.shape)}")
    return np.ascontiguousarray(texture), uv, rough


def _check_usable(path: Path, mesh: BlendshapeMesh) -> None:
    """Refuse a head no curve can move (quoting the names it has); warn, one line each, about what will silently
    not work: ARKit curves that drive nothing, two shapes with one ARKit name, eyes that will not turn, a face
    that does not look along +z with y up, triangles wound inside out."""
    from emoface.render.drive import match_shapes, undriven_curves
    from emoface.rigs import canonical_names

    names = mesh.shape_names
    found = match_shapes(names, canonical_names())
    if not found.sources:
        quoted = ", ".join(repr(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")
        raise InputError(path, "no blendshape of this mesh has an ARKit name (eyeBlinkLeft, jawOpen, ...): "
                               + (f"its {len(names)} shapes are named {quoted}" if names else "it has no shapes"))
    driven, missing = undriven_curves(names)
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        log.warning("%s: drives %d of %d ARKit curves; none for %s", path, driven, driven + _count(missing),
                    shown)
    for kept, dropped in found.duplicates:
        log.warning("%s: shapes %r and %r have one ARKit name: %r alone is driven (both would add up to twice the "
                    "motion); rename or remove the other", path, kept, dropped, kept)
    for kept, dropped in found.overlaps:
        log.warning("%s: shape %r moves what %s move too (a whole shape and its sides): %r is left still (both "
                    "would add up to twice the motion)", path, dropped, kept, dropped)
    if not mesh.eyeballs():
        log.warning("%s: no eyeball parts recognised (group_names such as eyeball_l/eyeball_r, L_eyeball, "
                    "LeftEye): the eyes will not turn", path)
    for problem in _orientation_problems(mesh, found.sources):
        log.warning("%s: %s", path, problem)


def _count(missing: list[str]) -> int:
    return sum(2 if n.endswith("*") else 1 for n in missing)


def _orientation_problems(mesh: BlendshapeMesh, sources: dict) -> list[str]:
    """What y up, the face along +z and counter-clockwise triangles (docs/RENDER.md) would show, if broken: up from
    the mouth shapes to the blink shapes, the character's left from the right blink to the left, forward their
    cross product; the winding from the signed volume about the visible mesh's centre."""
    from emoface.rigs import canonical_names

    problems = []
    canon = canonical_names()
    v = mesh.neutral.astype(np.float64)

    def where(curves):
        ks = [k for k, src in sources.items() if any(canon[i] in curves for i in src)]
        if not ks:
            return None
        motion = abs(mesh.deltas[:, ks]).max(axis=1).toarray().reshape(-1, 3).max(axis=1)
        w = motion * (motion > 0.2 * motion.max()) if motion.max() > 0 else motion
        return (v * w[:, None]).sum(axis=0) / w.sum() if w.sum() > 0 else None

    axes = ("+x", "-x", "+y", "-y", "+z", "-z")

    def axis(d):
        k = int(np.argmax(np.abs(d)))
        return axes[2 * k + (d[k] < 0)]

    left, right = where({"EyeBlinkLeft"}), where({"EyeBlinkRight"})
    mouth = where({"JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthRollLower", "MouthRollUpper"})
    if left is not None and right is not None and mouth is not None and np.linalg.norm(left - right) > 0:
        up = (left + right) / 2 - mouth
        up /= max(np.linalg.norm(up), 1e-12)
        across = (left - right) / np.linalg.norm(left - right)
        forward = np.cross(across, up)
        if up[1] < 0.5 or forward[2] < 0.5:
            problems.append(f"the face looks along {axis(forward)} with {axis(up)} up (from its blink and mouth "
                            "shapes), not along +z with +y up: the preview will show the "
                            + ("crown" if up[2] > 0.5 or forward[1] < -0.5 else "chin" if up[2] < -0.5
                               else "back of the head" if forward[2] < -0.5 else "head from the side")
                            + " (turn the head so y is up and the face looks along +z)")
    tris = mesh.triangles[mesh.shown()[mesh.triangles].all(axis=1)]
    if len(tris):
        used = np.unique(tris)
        c = v[used].mean(axis=0)
        a, b, d = v[tris[:, 0]] - c, v[tris[:, 1]] - c, v[tris[:, 2]] - c
        volume = np.einsum("ij,ij->i", a, np.cross(b, d)).sum() / 6
        box = float(np.prod(np.maximum(np.ptp(v[used], axis=0), 1e-12)))
        if volume < -0.05 * box:
            problems.append("its triangles wind clockwise (the surface faces inward): the preview and glTF show it "
                            "inside out; reverse them (triangles[:, ::-1])")
    return problems


def _split_eye_pairs(path: Path, neutral: np.ndarray, parts: list[Part]) -> list[Part]:
    """One eyeball part holding both eyes (a single "Eyes" mesh) -> a part per eye, split by the sign of x, so each
    turns about its own centre; refused if the two eyes' vertices are interleaved (parts are vertex ranges)."""
    out = []
    for p in parts:
        if not is_eyeball(p.name) or part_side(p.name) is not None or p.end - p.start < 8:
            out.append(p)
            continue
        points = neutral[p.start:p.end].astype(np.float64)
        mid = (points[:, 0].min() + points[:, 0].max()) / 2
        left = points[:, 0] > mid
        if left.sum() < 4 or (~left).sum() < 4:
            out.append(p)
            continue
        cl, cr = sphere_centre(points[left]), sphere_centre(points[~left])
        radius = np.mean([np.median(np.linalg.norm(points[left] - cl, axis=1)),
                          np.median(np.linalg.norm(points[~left] - cr, axis=1))])
        if np.linalg.norm(cl - cr) < 2 * radius:  # one eye, on its own
            out.append(p)
            continue
        cuts = np.flatnonzero(np.diff(left.astype(np.int8)))
        if len(cuts) != 1:
            raise InputError(path, f"part {p.name!r} holds both eyeballs with their vertices interleaved: give each "
                                   "eye a part of its own (eyeball_l, eyeball_r) so they can turn")
        cut = p.start + int(cuts[0]) + 1
        first, second = ("l", "r") if left[0] else ("r", "l")
        out += [Part(f"{p.name}_{first}", p.start, cut, p.color, p.roughness, p.hidden, p.textured),
                Part(f"{p.name}_{second}", cut, p.end, p.color, p.roughness, p.hidden, p.textured)]
    return out


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


def _strings(a: np.ndarray) -> list[str]:
    """Names as str, bytes (h5py's dtype S) decoded."""
    a = np.atleast_1d(a)
    if a.dtype.kind == "S":
        return [bytes(s).decode("utf-8", "replace") for s in a]
    return [str(s) for s in a]


def _read_parts(check: _Checker, n: int) -> list[Part]:
    arrays = check.arrays
    if "group_names" not in arrays:
        if "group_ranges" in arrays:
            raise InputError(check.path, "group_ranges without group_names: name each part (group_names [G], "
                                         "e.g. face, eyeball_l, eyeball_r, teeth), or drop the ranges")
        return [Part("face", 0, n)]
    names = _strings(arrays["group_names"])
    g = len(names)
    ranges = check.indices("group_ranges", n + 1) if "group_ranges" in arrays else None
    if ranges is None or ranges.shape != (g, 2) or np.any(ranges[:, 0] > ranges[:, 1]):
        raise InputError(check.path, f"group_ranges must be [{g} groups, 2] vertex ranges [start, end) "
                                     f"within the {n} vertices")
    colors = roughness = hidden = textured = None
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
    if "group_textured" in arrays:
        textured = np.asarray(arrays["group_textured"])
        if textured.shape != (g,) or textured.dtype.kind not in "biu":
            raise InputError(check.path, f"group_textured must be [{g} groups] true/false")
    parts = []
    for k, (name, (start, end)) in enumerate(zip(names, ranges)):
        color, rough, hide = material_for(name)
        if colors is not None:
            color = tuple(float(c) for c in colors[k])
        if roughness is not None:
            rough = float(roughness[k])
        if hidden is not None:
            hide = bool(hidden[k])
        parts.append(Part(name, int(start), int(end), color, rough, hide,
                          textured is not None and bool(textured[k]) and "texture" in arrays))
    return parts


def sphere_centre(points: np.ndarray) -> np.ndarray:
    """Least-squares sphere centre: the eyeball's pivot, not its bounding box (a cornea bulges forward)."""
    a = np.c_[2 * points, np.ones(len(points))]
    solution, *_ = np.linalg.lstsq(a, (points ** 2).sum(axis=1), rcond=None)
    return solution[:3]
