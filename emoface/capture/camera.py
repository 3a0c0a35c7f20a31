"""The camera's perspective, taken out of the landmarks before the head pose is.

A camera magnifies what is nearer: a head turned 20 degrees shows its near cheek larger than its far one, which
a rigid (rotation and scale) fit cannot undo, so what it leaves over reads as expression (a frown, lowered brows;
docs/CAPTURE.md, "Cross-talk when only the head moves"). The landmarker gives each point's picture position and a
depth in the same pixel scale, so with the focal length f (pixels) a point's offset from the picture's centre is
scaled by (1 + depth / f), depth measured from the face's rigid points.

How strong the perspective is depends only on how far the camera is, in face sizes: f = the eyes' distance in
pixels x the camera's distance / the eyes' real distance (63 mm for an adult). The take tells the distance when
the head turns or nods: the forehead, nose bridge and eye corners are rigid, so the right distance is the one
under which they stay most rigid. A still head fits every distance alike, and barely needs one (what a turn
leaves over grows with its square): it is read as before, without guessing a camera.
"""

from __future__ import annotations

import numpy as np

from emoface.capture.landmarks import EYE_CORNERS
from emoface.capture.pose import RIGID, angles, reference, rigid_fit, to_face_axes

EYES_APART_M = 0.063  # an adult's interpupillary distance
DISTANCES_M = np.geomspace(0.2, 3.0, 24)  # the distances tried: a phone held close to a camera across a room
MIN_SPREAD_DEG = 10.0  # the head's yaw or pitch must span this (5th to 95th percentile) to tell the distance;
# under it (a talker's sway) the distance is poorly told, and taking a camera out cost the faint lip shapes more
# than the turn leaked (docs/CAPTURE.md: spoken lines, whose heads sway +-2.5 degrees)
CALIBRATION_FRAMES = 150


def unproject(points: np.ndarray, centre: tuple[float, float], focal: float) -> np.ndarray:
    """Landmarks [..., k, 3] in picture pixels (x right, y down, z away from the camera) as an orthographic
    camera would show them: each point's offset from the centre scaled by (1 + depth / focal), its depth taken
    from the mean of the face's rigid points in the same frame (the face's distance cancels out)."""
    points = np.asarray(points, np.float64)
    depth = points[..., 2] - points[..., RIGID, 2].mean(axis=-1, keepdims=True)
    out = points.copy()
    out[..., :2] = (points[..., :2] - centre) * (1.0 + depth / focal)[..., None] + centre
    return out


def _fits(points: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean squared misfit of the rigid points to their own Procrustes mean, the head's yaw, pitch, roll per
    frame) for landmarks [n, 468 or more, 3] in face axes."""
    ref = reference(points)
    misfit, pose = 0.0, []
    for pts in points[:, RIGID]:
        r, s, t = rigid_fit(pts, ref)
        misfit += float(((s * pts @ r.T + t - ref) ** 2).sum())
        pose.append(angles(r.T))
    return misfit / max(len(points), 1), np.array(pose)


def focal_length(points: np.ndarray, centre: tuple[float, float]) -> tuple[float, float] | None:
    """(focal length in pixels, the camera's distance in metres) from a take's landmarks [n, 468 or more, 3] in
    picture pixels; None when the head moves too little to tell."""
    sample = points[np.linspace(0, len(points) - 1, min(len(points), CALIBRATION_FRAMES)).astype(int)]
    eyes = [sample[:, list(pair)].mean(axis=1) for pair in EYE_CORNERS]
    per_metre = float(np.median(np.linalg.norm(eyes[0] - eyes[1], axis=-1))) / EYES_APART_M
    _, pose = _fits(to_face_axes(sample))
    spread = np.percentile(pose[:, :2], 95, axis=0) - np.percentile(pose[:, :2], 5, axis=0)
    if spread.max() < MIN_SPREAD_DEG:
        return None
    misfit = [_fits(to_face_axes(unproject(sample, centre, per_metre * d)))[0] for d in DISTANCES_M]
    best = float(DISTANCES_M[int(np.argmin(misfit))])
    return per_metre * best, best
