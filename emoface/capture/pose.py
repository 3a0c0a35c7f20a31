"""Head pose from face-mesh landmarks, against the actor's own neutral.

The rigid part of the face (forehead, nose bridge, temples, outer eye corners) moves only with the head, so a
least-squares rotation (Kabsch) of those points onto the actor's reference gives the head's pose, and undoing
it leaves the expression alone for the blendshape solve. The reference is the actor's own face (a Procrustes
mean over the take), not a generic one: every face is its own neutral.

Axes: x toward the character's left (image right), y up, z toward the camera. Angles in degrees, with
emoface's conventions (emoface.post.head): yaw > 0 turns toward the character's left, pitch > 0 raises the
chin, roll > 0 tilts toward the character's left shoulder.
"""

from __future__ import annotations

import numpy as np

# Face-mesh indices that skin stretch barely moves: forehead, nose bridge, temples, eye corners. Not the nose
# tip (the upper lip pulls it) nor the outline below the temples (the jaw stretches it).
RIGID = np.array([10, 151, 9, 8, 168, 6, 197, 195, 5, 127, 356, 33, 263, 130, 359, 133, 362,
                  67, 297, 109, 338, 103, 332])


def to_face_axes(points: np.ndarray) -> np.ndarray:
    """Mesh points (image x right, y down, z away from the camera) -> face axes (x left of the character =
    image right, y up, z toward the camera)."""
    return np.asarray(points, np.float64) * [1.0, -1.0, -1.0]


def rigid_fit(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(R, s, t) minimising |s R source + t - target|^2 (Umeyama): rotation, scale, translation."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    a, b = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rotation = u @ fix @ vt
    scale = float((sigma * np.diag(fix)).sum() / max((a ** 2).sum(), 1e-12))
    return rotation, scale, mu_t - scale * rotation @ mu_s


def reference(frames: np.ndarray, iterations: int = 3) -> np.ndarray:
    """The actor's rigid points as a Procrustes mean over frames [n, 468, 3] (face axes), unit size."""
    rigid = frames[:, RIGID]
    mean = rigid[0] - rigid[0].mean(0)
    for _ in range(iterations):
        mean /= np.sqrt((mean ** 2).sum())
        aligned = []
        for pts in rigid:
            r, s, t = rigid_fit(pts, mean)
            aligned.append(s * pts @ r.T + t)
        mean = np.mean(aligned, axis=0)
        mean -= mean.mean(0)
    return mean / np.sqrt((mean ** 2).sum())


def angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll (degrees) of the head rotation that maps the neutral face onto this frame's."""
    forward, up = rotation @ [0.0, 0.0, 1.0], rotation @ [0.0, 1.0, 0.0]
    yaw = np.arctan2(forward[0], forward[2])
    pitch = np.arctan2(forward[1], np.hypot(forward[0], forward[2]))
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])  # raises +z toward +y: chin up
    up_local = (ry @ rx).T @ up
    roll = np.arctan2(up_local[0], up_local[1])
    return float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll))


def head_pose(points: np.ndarray, ref: np.ndarray) -> tuple[tuple[float, float, float], np.ndarray]:
    """One frame's mesh (face axes) -> ((yaw, pitch, roll) degrees, the mesh with the head pose undone,
    in the reference's frame and scale)."""
    r, s, t = rigid_fit(ref, points[RIGID])  # neutral -> this frame
    undone = ((points - t) @ r) / s
    return angles(r), undone
