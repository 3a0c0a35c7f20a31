"""Vertex colours for a head that brings none (ICT FaceKit's pack, most scanned heads): what a texture would
show that geometry alone cannot.

- Eyeballs: sclera, iris and pupil by angle from the eye's forward axis.
- Mouth interior (mouth socket, gums, tongue, teeth): darker the deeper it lies, as a real mouth is lit only
  near its opening, so an open jaw shows teeth and a dark mouth instead of a flat pink mass.
- Lash cards hidden (without their alpha texture they draw as thick black bars and crescents) and eye
  socket linings in skin colour, not the sclera white their name would give them.
- Brows, where the head has no brow part: a brow-coloured arc on the skin over each eye, placed from the
  eyeball (scanned heads are bald of hair cards), so brow-driven emotions can be seen; the brow shapes move
  the painted skin.
"""

from __future__ import annotations

import numpy as np

BROW = np.array([0.30, 0.21, 0.16])  # multiplied with the skin colour
SOCKET = (0.62, 0.42, 0.38, 1.0)
MOUTH_DEEP = 0.3  # colour factor at the back of the mouth (1 at its opening)
MOUTH_PARTS = ("mouth", "oral", "teeth", "tooth", "tongue", "gum")


def paint(neutral: np.ndarray, parts) -> np.ndarray:
    """[V, 3] colour factors in 0-1 (multiplied with the part colours) for a head without vertex colours;
    lash parts are hidden and eye sockets recoloured in place."""
    from emoface.render.mesh import eye_colors, is_eyeball, sphere_centre

    for p in parts:
        if "lash" in p.name.lower():
            p.hidden = True
        elif "eye_socket" in p.name.lower():
            p.color = SOCKET
    colors = np.ones((len(neutral), 3), np.float32)
    eyes = []
    for p in parts:
        if p.end <= p.start or p.hidden:
            continue
        if is_eyeball(p.name):
            centre = sphere_centre(neutral[p.start:p.end])
            colors[p.start:p.end] = eye_colors(neutral[p.start:p.end], centre)
            radius = float(np.median(np.linalg.norm(neutral[p.start:p.end] - centre, axis=1)))
            eyes.append((centre, radius))
    mouth = np.zeros(len(neutral), bool)
    for p in parts:
        if p.name.lower().startswith(MOUTH_PARTS) and not p.hidden:
            mouth[p.start:p.end] = True
    if mouth.any():
        z = neutral[mouth, 2]
        depth = np.clip((z.max() - z) / max(float(np.ptp(z)), 1e-6), 0.0, 1.0)  # 0 at the opening, 1 at the back
        colors[mouth] *= (1.0 - (1.0 - MOUTH_DEEP) * np.sqrt(depth))[:, None]
    if eyes and not any("brow" in p.name.lower() for p in parts):
        skin = np.zeros(len(neutral), bool)
        for p in parts:
            if not p.hidden and not is_eyeball(p.name) and not p.name.lower().startswith(
                    MOUTH_PARTS + ("eye", "lash", "lacrimal", "tear")):
                skin[p.start:p.end] = True
        colors[skin] *= brow_shade(neutral[skin], eyes).astype(np.float32)
    return colors


def brow_shade(points: np.ndarray, eyes) -> np.ndarray:
    """[n, 3] per point: 1 (bare skin) down to BROW's colour inside a brow: an arc over each eye, thickest near the
    nose, lowering and thinning toward the temple, with soft edges."""
    shade = np.ones((len(points), 3))
    midline = float(np.mean([c[0] for c, _ in eyes]))
    for centre, r in eyes:
        outward = np.sign(centre[0] - midline) or 1.0
        u = (points[:, 0] - centre[0]) * outward / r  # along the brow: -1.2 at the nose end, 1.9 at the temple
        along = np.clip((u + 1.2) / 3.1, 0.0, 1.0)
        mid_y = centre[1] + r * (1.75 + 0.25 * np.cos(np.pi * (along - 0.45)) - 0.35 * along ** 2)
        half = r * (0.32 - 0.14 * along)
        inside = np.exp(-0.5 * ((points[:, 1] - mid_y) / half) ** 4)
        ends = np.clip((u + 1.2) / 0.35, 0, 1) * np.clip((1.9 - u) / 0.5, 0, 1)
        front = points[:, 2] > centre[2] - 0.2 * r  # the brow ridge, not the skull behind the eye
        weight = inside * ends * front
        shade = np.minimum(shade, 1.0 - weight[:, None] * (1.0 - BROW[None]))
    return shade
