"""Blendshape weights from pose-free face-mesh landmarks: bounded, regularised least squares, in two stages.

Each frame's landmarks minus the actor's neutral are explained as a sum of the basis head's shape motions,
moved into the actor's frame and scale by the rigid points. Only points that the shapes move and that
the landmarker places well take part (lips, lids, brows, cheeks, nose wings, chin; not the face outline);
depth counts less than the picture plane because the landmarker guesses it. The lower face is solved first
on its own points; what those shapes do to the eyes and brows (the landmarker lifts the brows of an opening
mouth) is taken off before the brow shapes are solved on theirs, so a jaw never reads as surprise. The lids
are measured directly (emoface.capture.lids) and gaze comes from the irises.
A small ridge keeps weak shapes quiet, a stronger one keeps the shapes the landmarks barely see (lip rolls,
shrugs, dimples, jaw sideways) at zero unless the face insists, and left and right halves are pulled
together, as faces mostly move. Weights stay in 0..1 (bounded least squares per frame).
"""

from __future__ import annotations

import numpy as np

from emoface.capture.basis import Basis
from emoface.capture.pose import RIGID, rigid_fit

LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409, 78, 95, 88,
        178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415]
EYE_RIGHT = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173]  # character's right
EYE_LEFT = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398]
BROWS = [46, 53, 52, 65, 55, 70, 63, 105, 66, 107, 276, 283, 282, 295, 285, 300, 293, 334, 296, 336]
CHEEKS_NOSE_CHIN = [50, 280, 101, 330, 205, 425, 187, 411, 129, 358, 64, 294, 152, 175, 199, 200]
SOLVED = np.array(LIPS + EYE_RIGHT + EYE_LEFT + BROWS + CHEEKS_NOSE_CHIN)
UPPER = np.isin(SOLVED, EYE_RIGHT + EYE_LEFT + BROWS)  # the points the brow shapes are solved on
UPPER_SHAPES = ("Brow",)
DEPTH_WEIGHT = 0.3
RIDGE, QUIET_RIDGE, SIDE_TIE = 0.05, 3.0, 0.1  # ridges relative to each shape's own curvature, the tie to
# the mean one; FAINT (relative to the mean) keeps shapes the landmarks barely see from explaining much
FAINT = 0.1
SPARSE = 0.0  # (kept at 0: a lasso favoured the faint shapes)
QUIET = ("MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthDimpleLeft",
         "MouthDimpleRight", "JawLeft", "JawRight", "JawForward", "MouthLeft", "MouthRight", "CheekPuff",
         "MouthPressLeft", "MouthPressRight")
NOT_SOLVED = ("Eye", "TongueOut")  # lids and gaze are measured (lids.py, the irises); the tongue is unseen
MIN_VISIBLE = 0.05  # a shape whose landmark motion is under this share of the strongest one's is not solved


class Solver:
    """Fits shape weights for one actor: the basis moved onto the actor's reference face once."""

    def __init__(self, basis: Basis, reference: np.ndarray):
        size = np.linalg.norm(basis.deltas[:, SOLVED, :2].reshape(len(basis.names), -1), axis=1)
        keep = [k for k, n in enumerate(basis.names)
                if not n.startswith(NOT_SOLVED) and size[k] >= MIN_VISIBLE * size.max()]
        r, s, _ = rigid_fit(basis.neutral[RIGID], reference)  # basis head -> actor reference
        self.rotation, self.scale = r, s  # (a motion in the actor's frame back to the basis's: @ r / s)
        self.row_weight = np.sqrt([1.0, 1.0, DEPTH_WEIGHT])
        deltas = s * basis.deltas[keep][:, SOLVED] @ r.T * self.row_weight  # [shapes, points, 3]
        names = [basis.names[k] for k in keep]
        upper = np.array([n.startswith(UPPER_SHAPES) for n in names])
        self.names = tuple(n for n, u in zip(names, upper) if not u) + tuple(n for n, u in zip(names, upper) if u)
        self.lower = _Stage(deltas[~upper][:, ~UPPER], self.names[:int((~upper).sum())])
        self.lower_on_upper = deltas[~upper][:, UPPER].reshape(int((~upper).sum()), -1)  # [shapes, rows]
        self.upper = _Stage(deltas[upper][:, UPPER], self.names[int((~upper).sum()):])

    def __call__(self, frames: np.ndarray, neutral: np.ndarray) -> np.ndarray:
        """Pose-free landmarks [n, 468, 3] and the actor's neutral [468, 3] -> weights [n, shapes] in 0..1."""
        d = (frames - neutral)[:, SOLVED] * self.row_weight
        lower = self.lower(d[:, ~UPPER].reshape(len(d), -1))
        upper = self.upper(d[:, UPPER].reshape(len(d), -1) - lower @ self.lower_on_upper)
        return np.concatenate([lower, upper], axis=1)


class _Stage:
    """One bounded ridge least-squares problem: shapes [s, points, 3] explain rows of landmark motion."""

    def __init__(self, deltas: np.ndarray, names: tuple[str, ...]):
        self.a = deltas.reshape(len(names), -1).T  # [rows, shapes]
        q = self.a.T @ self.a
        scale = float(np.mean(np.diag(q)))
        q += np.diag(np.array([QUIET_RIDGE if n in QUIET else RIDGE for n in names]) * np.diag(q) + FAINT * scale)
        index = {n: k for k, n in enumerate(names)}
        for n, k in index.items():
            j = index.get(n.replace("Left", "Right")) if n.endswith("Left") else None
            if j is not None:
                tie = SIDE_TIE * scale
                q[[k, j], [k, j]] += tie
                q[k, j] -= tie
                q[j, k] -= tie
        self.q = q
        self.l1 = SPARSE * np.diag(self.a.T @ self.a)
        self.chol = np.linalg.cholesky(q)  # q = L L^T: |L^T w - L^-1 b|^2 = w q w - 2 b w + const

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """Exact bounded least squares per frame (BVLS on the Cholesky factor of the regularised normal
        equations): shapes that look alike (a funnel, a dropped jaw with raised lips) are told apart by the
        optimum, which coordinate descent approaches too slowly to reach."""
        from scipy.linalg import solve_triangular
        from scipy.optimize import lsq_linear

        b = rows @ self.a - self.l1  # [n, shapes]; the sparsity prior is linear for weights >= 0
        y = solve_triangular(self.chol, b.T, lower=True).T
        return np.stack([lsq_linear(self.chol.T, yi, bounds=(0.0, 1.0), method="bvls").x for yi in y]) \
            if len(y) else np.zeros((0, len(self.q)))
