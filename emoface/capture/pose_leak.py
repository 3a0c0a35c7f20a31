"""What the head's own moves leave in a take's expression curves, taken out per take.

A landmarker's answer to a face seen turned, from above or tilted is not the frontal face turned: the far eye's
lower lid reads high (a squint), a nod reads as wide eyes or a pucker (docs/CAPTURE.md, "Cross-talk"). The error
belongs to the landmarker and the face together, so no correction learnt on one head holds for another. Within
one take it shows as a floor that rises with the head's angles: whatever the face does, a curve seldom falls below
what the pose alone puts into it. So each curve's low quantile is fitted on the angles (piecewise quadratic, zero
within a few degrees of the take's usual pose) and that floor's rise is subtracted. A low quantile, not a mean: real
expressions come and go whatever the head does and barely move it (a mean regression had taken a take's real lip
presses out with the pose, where their timing crossed the head's by chance). The few degrees around the usual pose are
left alone: a talker nods and sways with the stresses of the speech, in time with the jaw and the brows, and a
fit there (from the neutral frame's pose) took the speech out with the pose (a spoken line's smile r 0.97 -> 0.67),
while the pose's own leak is small there. An expression held whenever the head is turned far one way would be
taken for the pose's. So is a head held out only for a moment (a chin lifted on one emphatic phrase, in time with an
open mouth): the low quantile needs the face through several syllables at a pose to tell a floor from what the mouth
does, or it takes the speech out (a surprised spoken line's jaw r 0.97 -> 0.78 on a rendered head, 0.4 s at 7 degrees
of pitch).
"""

from __future__ import annotations

import numpy as np

STILL_DEG = 6.0  # angles within this of the usual pose put nothing into the curves (a talker's nods and sway)
MIN_SHARE = 0.1  # an angle is fitted where the head is further than STILL_DEG out on at least this share of frames
MIN_OUT_S = 1.5  # and on at least this many seconds of them (about seven syllables)
MIN_SIDE_SHARE = 0.03  # and each side of it where this share is out that way (a few frames would be fitted exactly)
QUANTILE = 0.2
MAX_FRAMES = 1500  # frames the fit sees (evenly spaced): the floor is a smooth function of three angles
SCALE_DEG = 20.0  # angles enter the fit in units of this (conditioning)
MIN_MOVES = 1e-3  # a curve flat to within this is left as it is


def _features(head: np.ndarray, axes: list[int]) -> np.ndarray:
    """Per angle fitted: how far past STILL_DEG it is on the positive and on the negative side, and their squares
    (a turn to the left and one to the right leak into different eyes)."""
    cols = []
    for k in axes:
        pos = np.maximum(head[:, k] - STILL_DEG, 0.0) / SCALE_DEG
        neg = np.maximum(-head[:, k] - STILL_DEG, 0.0) / SCALE_DEG
        cols += [pos, neg, pos ** 2, neg ** 2]
    return np.stack(cols, axis=1)


def _low_quantile(x: np.ndarray, y: np.ndarray, q: float) -> np.ndarray | None:
    """Linear quantile regression y ~ [1, x] (the pinball loss as a linear programme); None if it fails."""
    from scipy import sparse
    from scipy.optimize import linprog

    n, p = x.shape
    a = sparse.hstack([sparse.csr_matrix(np.hstack([np.ones((n, 1)), x])), sparse.eye(n), -sparse.eye(n)])
    cost = np.concatenate([np.zeros(p + 1), np.full(n, q), np.full(n, 1.0 - q)])
    bounds = [(None, None)] * (p + 1) + [(0, None)] * (2 * n)
    res = linprog(cost, A_eq=a.tocsc(), b_eq=y, bounds=bounds, method="highs")
    return res.x[:p + 1] if res.success else None


def fitted_axes(head: np.ndarray, fps: float) -> list[int]:
    """The angles (0 yaw, 1 pitch, 2 roll) that the head holds far enough out, often and long enough, to be fitted."""
    out = np.abs(head) > STILL_DEG
    return [k for k in range(head.shape[1])
            if out[:, k].mean() >= MIN_SHARE and out[:, k].sum() >= MIN_OUT_S * fps]


def pose_floor(values: np.ndarray, head: np.ndarray, fps: float) -> np.ndarray:
    """The part of each curve that rises with the head's angles alone: values [n, curves], head [n, 3] degrees
    against the take's usual pose, at fps frames a second -> [n, curves], >= 0 (zeros where the head barely moves)."""
    values = np.asarray(values, np.float64)
    floor = np.zeros_like(values)
    axes = fitted_axes(head, fps)
    if not axes or len(values) < 10:
        return floor
    lo, hi = np.quantile(head, 0.01, axis=0), np.quantile(head, 0.99, axis=0)
    x = _features(np.clip(head, lo, hi), axes)  # no reach past the angles the take showed
    x = x[:, np.mean(x > 0, axis=0) >= MIN_SIDE_SHARE]
    pick = np.linspace(0, len(values) - 1, min(len(values), MAX_FRAMES)).astype(int)
    for c in range(values.shape[1]):
        y = values[pick, c]
        if np.ptp(y) < MIN_MOVES:
            continue
        beta = _low_quantile(x[pick], y, QUANTILE)
        if beta is not None:
            floor[:, c] = np.maximum(x @ beta[1:], 0.0)
    return floor


def without_pose(values: np.ndarray, head: np.ndarray, fps: float, lo: float = 0.0) -> np.ndarray:
    """The curves less what the head's angles put into them, no lower than `lo`."""
    return np.maximum(np.asarray(values, np.float64) - pose_floor(values, head, fps), lo)
