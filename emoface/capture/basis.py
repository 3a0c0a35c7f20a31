"""What each ARKit shape does to the face-mesh landmarks: the linear model the capture solve inverts.

A blendshape head is rendered at rest and with each shape at three strengths, and every picture is landmarked
exactly as a capture is. The basis is what the landmarker reports, not the mesh's own vertex motion: the
landmarker answers a closing jaw with its own gain (and moves the brows of an opening mouth), and a solve must
invert what it will be given. The shipped basis is built from ICT FaceKit's scanned human head
(checkpoints/capture-basis-ict.npz, tools/build_capture_basis.py; a human face, because the landmarker was
trained on people), its pucker learnt from a real speaker's rounded lips (emoface.capture.rounding); `--basis`
takes any blendshape head instead, or `default` for the built-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from emoface.errors import InputError

SHIPPED = "capture-basis-ict.npz"
# Bump when a change to capture changes the curves it writes for a take (the solver, the pose floor, the lids): the
# GRID captures cached for training are then made again. 0: as of the pose floor's MIN_OUT_S (2026-12-06); a cache
# older than that keeps one clip's earlier capture (grid__pbio7a.npz: delete it).
CAPTURE_REVISION = 0
STRENGTHS = (1 / 3, 2 / 3, 1.0)
SKIN_SHAPES = ("Brow", "Eye", "MouthPucker")  # solved from the skin's motion, not the landmarker's answer
NOT_SKIN = ("eye", "lash", "lacrimal", "mouth", "teeth", "tongue", "gum", "ear")  # part names starting so
NEIGHBOURS = 3


@dataclass
class Basis:
    names: tuple[str, ...]  # canonical curve names (JawOpen, EyeBlinkLeft, ...), one per shape
    neutral: np.ndarray  # [468, 3] the head's landmarks at rest, face axes (x: character's left, y up, z out)
    deltas: np.ndarray  # [shapes, 468, 3] each shape at 1.0 minus rest, same axes and units

    def save(self, path: Path) -> None:
        np.savez_compressed(path, names=np.array(self.names), neutral=self.neutral.astype(np.float32),
                            deltas=self.deltas.astype(np.float32))


def load_basis(spec: str | Path | None = None) -> Basis:
    """The shipped basis (None); one saved by Basis.save; any blendshape head .npz, or `default` (the built-in
    head), rendered and landmarked now (about 10 s)."""
    if spec == "default":
        from emoface.render.default_head import default_head

        return build_basis(default_head())
    where = Path(spec) if spec else Path(str(resources.files("emoface._checkpoints") / SHIPPED))
    if not where.is_file():
        raise InputError(where, "capture basis or head not found")
    try:
        with np.load(where, allow_pickle=False) as z:
            if "deltas" in z.files and "neutral" in z.files:
                return Basis(tuple(str(n) for n in z["names"]), z["neutral"].astype(np.float64),
                             z["deltas"].astype(np.float64))
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(where, f"not a capture basis or blendshape head ({exc})") from None
    from emoface.render.mesh import load_mesh

    return build_basis(load_mesh(where, paint=False))


def shipped_digest(passes: int | None = None, revision: int | None = None) -> str:
    """A short fingerprint of the shipped basis, of the tracker's crops (`passes` averaged, default the capture's)
    and of the capture's CAPTURE_REVISION (or `revision`): captures cached for training are redone when any
    changes."""
    import hashlib

    from emoface.capture.landmarks import PASSES, tracker

    revision = CAPTURE_REVISION if revision is None else revision
    data = (resources.files("emoface._checkpoints") / SHIPPED).read_bytes() + tracker(passes or PASSES).encode()
    data += f"revision {revision}".encode() if revision else b""  # 0: the digests caches already hold
    return hashlib.sha256(data).hexdigest()[:16]


def canonical_shapes(shape_names) -> dict[str, list[int]]:
    """Canonical curve name -> the mesh shapes it drives (eyeBlink_L -> EyeBlinkLeft; an unsided curve such as
    BrowInnerUp drives both halves of a split shape, as in rendering)."""
    from emoface.render.drive import split_side
    from emoface.rigs import canonical_names

    by_key = {split_side(n): n for n in canonical_names()}
    out: dict[str, list[int]] = {}
    for k, name in enumerate(shape_names):
        base, side = split_side(name)
        canonical = by_key.get((base, side)) or by_key.get((base, None))
        if canonical:
            out.setdefault(canonical, []).append(k)
    return out


def build_basis(mesh, size: int = 512) -> Basis:
    """Render `mesh` (a BlendshapeMesh) at rest and each ARKit shape at three strengths, landmark every
    picture as capture would (head pose undone against the rest), and keep each shape's landmark motion per
    unit weight (the least-squares slope through the three). Brow, eye and pucker shapes instead take the skin's
    own motion under each landmark: a rendered head's painted brows, glassy lids and pushed lips are what a
    landmarker trained on people reads worst, so its answer there would teach the solve a timid brow, a half
    blink and a pucker that is not one (on ICT FaceKit it reports a third of the lips' motion and puts them behind
    the rest pose, where a real speaker's come forward: docs/CAPTURE.md; the shipped basis goes further and
    learns the pucker from a real speaker, emoface.capture.rounding)."""
    from emoface.capture.landmarks import FaceLandmarker
    from emoface.capture.pose import RIGID, rigid_fit, to_face_axes
    from emoface.render.renderer import FaceRenderer

    shapes = canonical_shapes(mesh.shape_names)
    with FaceRenderer(mesh, size, frame="face") as renderer:
        def landmarks(weights):
            found = FaceLandmarker()(renderer.render(weights))
            return None if found is None else to_face_axes(found.points)

        rest = landmarks(np.zeros(len(mesh.shape_names), np.float32))
        if rest is None:
            raise InputError(mesh.source, "the landmarker finds no face on this head's render")
        ties = _skin_ties(mesh, renderer, rest)
        deltas = []
        for name, indices in shapes.items():
            if name.startswith(SKIN_SHAPES):
                deltas.append(ties(indices))
                continue
            slope, norm = np.zeros_like(rest), 0.0
            for strength in STRENGTHS:
                weights = np.zeros(len(mesh.shape_names), np.float32)
                weights[indices] = strength
                seen = landmarks(weights)
                if seen is None:  # a shape so strong the face is lost: this strength says nothing
                    continue
                r, s, t = rigid_fit(rest[RIGID], seen[RIGID])
                slope += strength * (((seen - t) @ r) / s - rest)
                norm += strength ** 2
            deltas.append(slope / norm if norm else slope)
    return symmetric(Basis(tuple(shapes), rest, np.stack(deltas)))


def _skin_ties(mesh, renderer, rest: np.ndarray):
    """Each rest landmark tied to the nearest skin vertices the camera sees under it; returns a function from a
    shape's mesh indices to its motion at the landmarks, in the landmarks' axes and scale."""
    from emoface.capture.pose import RIGID, rigid_fit

    size = renderer.size
    posed = renderer.posed_vertices(np.zeros(len(mesh.shape_names), np.float32))
    pixels = renderer.project(posed)
    camera_depth = renderer.camera_position[2] - posed[:, 2]
    skin = np.zeros(mesh.n_vertices, bool)
    for p in mesh.parts:
        if not p.hidden and not p.name.lower().startswith(NOT_SKIN):
            skin[p.start:p.end] = True
    col, row = np.round(pixels).astype(int).T
    inside = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    seen = np.zeros(mesh.n_vertices, bool)
    reach = 0.01 * float(np.ptp(posed[skin], axis=0).max())
    seen[inside] = np.abs(camera_depth[inside] - renderer.depth[row[inside], col[inside]]) < reach
    candidates = np.flatnonzero(skin & seen)
    image_rest = rest * [1.0, -1.0, -1.0]  # back to picture axes, where the pixels are
    weights = np.zeros((len(rest), mesh.n_vertices))
    for i, target in enumerate(image_rest[:, :2]):
        d = np.linalg.norm(pixels[candidates] - target, axis=1)
        near = np.argsort(d)[:NEIGHBOURS]
        w = 1.0 / (d[near] + 0.5)
        weights[i, candidates[near]] = w / w.sum()
    r, s, _ = rigid_fit((weights @ mesh.neutral)[RIGID], rest[RIGID])  # mesh units -> landmark units

    def motion(indices) -> np.ndarray:
        delta = sum(mesh.shape_delta(mesh.shape_names[k]) for k in indices)
        return s * (weights @ delta) @ r.T

    return motion


def mirror_index(points: np.ndarray) -> np.ndarray:
    """For each landmark, its partner across the face's midline (itself on the midline), found on a face."""
    from scipy.spatial import cKDTree

    centre = np.median(points[:, 0])
    mirrored = points * [-1.0, 1.0, 1.0] + [2 * centre, 0.0, 0.0]
    return cKDTree(points).query(mirrored)[1]


def symmetric(basis: Basis) -> Basis:
    """Faces are symmetric; a landmarker's response to one rendered head is not quite. Each sided shape
    becomes the mean of itself and its mirrored partner, an unsided one the mean of itself and its mirror."""
    partner = mirror_index(basis.neutral)
    flip = np.array([-1.0, 1.0, 1.0])
    index = {n: k for k, n in enumerate(basis.names)}
    out = basis.deltas.copy()
    for name, k in index.items():
        other = name.replace("Left", "Right") if "Left" in name else name.replace("Right", "Left")
        j = index.get(other, k)
        out[k] = (basis.deltas[k] + basis.deltas[j][partner] * flip) / 2
    return Basis(basis.names, basis.neutral, out)
