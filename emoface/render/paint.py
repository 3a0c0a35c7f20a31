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
- Lips, where the head has no lip part: the vermilion, a band of lip colour around the mouth opening (the
  skin's edge nearest the mouth interior), tallest at the middle and gone at the corners, so the mouth reads
  at a glance and rounding and smiles show their lips' shape; the shapes move the painted skin with them.
"""

from __future__ import annotations

import numpy as np

BROW = np.array([0.30, 0.21, 0.16])  # multiplied with the skin colour
LIP = np.array([0.84, 0.58, 0.54])  # multiplied with the skin colour
LIP_HEIGHT = (0.8, 0.9)  # upper and lower lip at the middle, over the skin from the opening (its inner curl
# included), as a share of the opening's half width
LIP_EDGE = 0.08  # the soft edge of the vermilion border, over the half width
SOCKET = (0.62, 0.42, 0.38, 1.0)
MOUTH_DEEP = 0.3  # colour factor at the back of the mouth (1 at its opening)
MOUTH_PARTS = ("mouth", "oral", "teeth", "tooth", "tongue", "gum")


def paint(neutral: np.ndarray, parts, triangles: np.ndarray | None = None) -> np.ndarray:
    """[V, 3] colour factors in 0-1 (multiplied with the part colours) for a head without vertex colours;
    lash parts are hidden and eye sockets recoloured in place. Lips need the triangles (the mouth opening is
    the skin's edge)."""
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
    skin = np.zeros(len(neutral), bool)
    for p in parts:
        if not p.hidden and not is_eyeball(p.name) and not p.name.lower().startswith(
                MOUTH_PARTS + ("eye", "lash", "lacrimal", "tear")):
            skin[p.start:p.end] = True
    if eyes and not any("brow" in p.name.lower() for p in parts):
        colors[skin] *= brow_shade(neutral[skin], eyes).astype(np.float32)
    if triangles is not None and mouth.any() and not any("lip" in p.name.lower() for p in parts):
        colors *= lip_shade(neutral, triangles, skin, mouth).astype(np.float32)
    return colors


def _skin_edges(triangles: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """[3F, 2] the edges of the triangles wholly on the skin, each once per triangle."""
    tris = triangles[skin[triangles].all(axis=1)]
    return np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])


def mouth_opening(neutral: np.ndarray, triangles: np.ndarray, skin: np.ndarray, mouth: np.ndarray) -> np.ndarray:
    """Vertex ids of the skin's edge loop around the mouth opening (the one nearest the front of the mouth
    interior), or none: a scanned face's skin ends at the inner lips, as at the eyes and the neck."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    unique, count = np.unique(np.sort(_skin_edges(triangles, skin), axis=1), axis=0, return_counts=True)
    rim = unique[count == 1]
    if not len(rim):
        return np.zeros(0, int)
    graph = sparse.coo_matrix((np.ones(len(rim)), (rim[:, 0], rim[:, 1])), shape=(len(neutral),) * 2)
    _, label = connected_components(graph, directed=False)
    ids = np.unique(rim)
    loop_of = label[ids]
    inside = neutral[mouth]
    front = inside[inside[:, 2] >= np.percentile(inside[:, 2], 90)].mean(axis=0)  # just behind the lips
    nearest = min(np.unique(loop_of), key=lambda g: np.linalg.norm(neutral[ids[loop_of == g]].mean(axis=0) - front))
    return ids[loop_of == nearest]


def lip_shade(neutral: np.ndarray, triangles: np.ndarray, skin: np.ndarray, mouth: np.ndarray) -> np.ndarray:
    """[V, 3]: 1 (skin) down to LIP's colour on the vermilion: skin within the lip's height of the mouth
    opening's upper or lower edge, measured over the skin (a lip curls in: straight-line distance would skip
    its front), the height falling to nothing at the corners, with a soft border."""
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    shade = np.ones((len(neutral), 3))
    loop = mouth_opening(neutral, triangles, skin, mouth)
    if len(loop) < 6:
        return shade
    x, y = neutral[loop, 0], neutral[loop, 1]
    centre, half = (x.max() + x.min()) / 2, (x.max() - x.min()) / 2
    if half <= 0:
        return shade
    middle = np.array([np.median(y[np.abs(x - a) < 0.15 * half]) for a in x])  # the opening's mid-line
    upper, lower = loop[y >= middle], loop[y < middle]
    if not len(upper) or not len(lower):
        return shade
    edges = _skin_edges(triangles, skin)
    length = np.linalg.norm(neutral[edges[:, 0]] - neutral[edges[:, 1]], axis=1)
    graph = sparse.coo_matrix((length, (edges[:, 0], edges[:, 1])), shape=(len(neutral),) * 2).tocsr()
    reach = (max(LIP_HEIGHT) + LIP_EDGE) * half
    to_upper, to_lower = (dijkstra(graph, directed=False, indices=side, min_only=True, limit=reach)
                          for side in (upper, lower))
    ids = np.flatnonzero(skin & (np.minimum(to_upper, to_lower) < reach))
    height = np.where(to_upper[ids] < to_lower[ids], LIP_HEIGHT[0], LIP_HEIGHT[1]) * half
    across = np.clip(1.0 - ((neutral[ids, 0] - centre) / (1.02 * half)) ** 2, 0.0, 1.0) ** 0.35
    near = np.minimum(to_upper[ids], to_lower[ids])
    weight = np.clip((height * across - near) / (LIP_EDGE * half) + 0.5, 0.0, 1.0)
    shade[ids] = 1.0 - weight[:, None] * (1.0 - LIP[None])
    return shade


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
