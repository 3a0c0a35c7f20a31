"""The pucker as a real speaker's rounded lips: its landmark motion learnt from video with aligned transcripts.

A rendered head's pucker is what the landmarker reads worst (a third of its lip motion, its depth backwards on
ICT FaceKit: docs/CAPTURE.md), and a real speaker's rounded vowels look like neither a render's answer nor a
head's skin: the lips come towards each other and forward with the corners in. A basis built from renders alone
gave a real speaker's every rounded vowel to the frown. So the shipped basis's pucker is what the landmarker
reports of a real speaker's rounded phones beyond what the other shapes explain, against the spread ones, and
its size is the teacher's: a rounded vowel reads as the phonetic engine's pucker for it (the rig's convention).
"""

from __future__ import annotations

import numpy as np

from emoface.capture.basis import Basis, symmetric
from emoface.capture.solve import SOLVED, UPPER, Solver

ROUNDED = ("UW", "UH", "OW", "OY", "W")  # lips rounded
SPREAD = ("IY", "IH", "EY", "EH", "AE")  # lips spread
LEARNT = "MouthPucker"
ALIKE = ("MouthPucker", "MouthFrownLeft", "MouthFrownRight")  # left out of the solve whose residual is learnt:
# the frown is what a real speaker's rounding went to


def phone_mask(phones, n_frames: int, fps: float, names) -> np.ndarray:
    """Frames [n] that fall in any phone named in `names` (phones: (name, start s, end s))."""
    out = np.zeros(n_frames, bool)
    for name, start, end in phones:
        if name in names:
            out[int(start * fps):max(int(start * fps) + 1, int(np.ceil(end * fps)))] = True
    return out


def rounding_motion(takes, basis: Basis) -> tuple[np.ndarray, int]:
    """Takes of one or more real speakers ((landmarks per frame, fps, aligned phones) each) -> the landmark
    motion [468, 3] (the basis's axes and scale, zero off the lower face's solved points) of rounded against
    spread phones that the basis's other shapes leave unexplained, averaged over the takes that have both; and
    how many did."""
    from emoface.capture.take import actor_neutral, pose_free

    keep = [k for k, n in enumerate(basis.names) if n not in ALIKE]
    others = Basis(tuple(basis.names[k] for k in keep), basis.neutral, basis.deltas[keep])
    lower = SOLVED[~UPPER]
    motions = []
    for found, fps, phones in takes:
        face = pose_free(found)
        solver = Solver(others, face.reference)
        rows = ((face.points - actor_neutral(face, fps))[:, lower] * solver.row_weight).reshape(len(face.ok), -1)
        residual = (rows - solver.lower(rows) @ solver.lower.a.T).reshape(len(rows), -1, 3) / solver.row_weight
        rounded, spread = (phone_mask(phones, len(rows), fps, names) & face.ok for names in (ROUNDED, SPREAD))
        if rounded.sum() >= 2 and spread.sum() >= 2:  # back from this take's face to the basis head
            motions.append((residual[rounded].mean(0) - residual[spread].mean(0)) @ solver.rotation / solver.scale)
    out = np.zeros_like(basis.neutral)
    if motions:
        out[lower] = np.mean(motions, axis=0)
    return out, len(motions)


def with_learnt_pucker(basis: Basis, motion: np.ndarray, teacher_pucker: float) -> Basis:
    """The basis with its pucker's motion on the solved lower face replaced by `motion` / `teacher_pucker` (the
    teacher's pucker on rounded less spread phones: what that motion is worth on the rig), mirrored even."""
    deltas = basis.deltas.copy()
    k = basis.names.index(LEARNT)
    lower = SOLVED[~UPPER]
    deltas[k, lower] = motion[lower] / teacher_pucker
    deltas[k, lower] = symmetric(Basis(basis.names, basis.neutral, deltas)).deltas[k, lower]
    return Basis(basis.names, basis.neutral, deltas)
