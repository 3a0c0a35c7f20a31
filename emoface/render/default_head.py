"""The default preview head, built in code: an adult human head with all 52 ARKit blendshapes.

Why in code: the product must render without ../shared, and a head made from formulas ships as a few hundred
lines instead of megabytes. Units are centimetres, y up, the face looks along +z, +x is the character's left
(as ICT FaceKit). The skin is one grid of rows by height; each row's outline comes from an adult's
proportions (half-width, depth in front of and behind the ears, by height: eyes halfway from chin to crown, a
face in thirds), and its front is a height field H(x, y): that outline, flatter than an ellipse across the
face, plus the relief of brow ridge, sockets, nose with wings and nostrils, cheekbones, lips with a vermilion
border and cupid's bow, and chin. Lids slide over the eyeballs by moving along it. Lips and lids are slits (a
grid row with its vertices doubled), so the mouth opens onto teeth, tongue and a dark mouth, and the eyes
close. Short hair stands off the scalp; ears, a neck and eyeballs are separate parts (the renderer turns the
eyeballs for gaze).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from emoface.render.mesh import BlendshapeMesh, Part, build_deltas

CY, RY = 2.3, 12.5  # the head grid's rows run from y = CY - RY (the throat) to CY + RY (the crown)
Y_EYE, EYE_X, EYE_HALF, R_EYE = 3.5, 3.2, 1.4, 1.2
LID_CREASE = 0.45  # cm from the upper lid's edge (open) up to its crease
BLINK_LOWER = 0.85  # a blink lifts the lower lid 15% of its way to the slit; the upper lid comes down to it
Y_MOUTH, MOUTH_HALF = -3.5, 2.35
LIP_ROLL = 0.4  # cm over which each lip's body rises from the skin beyond its coloured border
JAW_PIVOT = np.array([0.0, -0.5, -1.5])
JAW_OPEN_DEG = 18.0
N_THETA, N_PHI = 160, 140
TEXTURE = (1024, 1024)  # the skin's texture (width, height): texels a fifth of a millimetre or finer on the face
NECK_STILL_Y, NECK_TURNS_Y = -17.0, -11.0  # the neck takes none of the head's turn below the first, all above

SKIN = np.array([0.86, 0.66, 0.55])
LIP = np.array([0.70, 0.38, 0.36])
BROW = np.array([0.2, 0.13, 0.1])
HAIR = np.array([0.20, 0.14, 0.10])
HAIR_ROUGHNESS = 1.0  # matte: the shader gives no highlight at all at 1
SKIN_ROUGHNESS = 0.62  # a soft sheen, not a plastic highlight
LIP_ROUGHNESS = 0.5
TUFTS = 0.12  # the hair's depth varies this much (a share) in tufts, so its outline is not a helmet's
HAIR_ONSET = 0.5  # cm past the hairline where the hair starts to stand off: none of its rise shows skin colour
WHITE = (1.0, 1.0, 1.0, 1.0)
IRIS = np.array([0.36, 0.42, 0.44])  # a grey-blue, greener and darker than the cobalt that read as a doll's
SCLERA = np.array([0.9, 0.86, 0.83])  # an eye's white is not paper white
SOCKET = np.array([0.55, 0.3, 0.29])  # the pink of the eye's inner corner (the caruncle)
SCLERA_SHADED = 0.85 * SCLERA  # the white further round the eyeball, seen past its edge
IRIS_DEG, PUPIL_DEG = 29.0, 10.0  # their rims' angles from the eye's axis: an 11.7 mm iris on a 24 mm eyeball
# the eyeball's rings (latitudes; the front pole at pi/2): dense over the iris, whose fibres and rim need them
EYE_RINGS = np.radians(np.concatenate([np.linspace(-75.0, 35.0, 9), np.linspace(42.0, 87.0, 20)]))
EYE_AROUND = 72  # vertices round each ring: a round iris at any preview size (more cost a tenth of the frame)

ARKIT_SHAPES = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose",
    "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)


def _smooth(e0, e1, x):
    """Smoothstep from e0 (0) to e1 (1); e1 < e0 runs the other way."""
    t = np.clip((np.asarray(x, float) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _gauss(x, y, cx, cy, sx, sy):
    return np.exp(-(((x - cx) / sx) ** 2) - ((y - cy) / sy) ** 2)


def _brow_band(y, centre):
    """How much of a brow's move the skin at height y takes: all on the brow's line, none on the upper lid (the
    lid's fold opens under a raised brow; the lid's edge is its own muscle's), and the forehead rides with it over
    a centimetre. A person's forehead rides further (ICT FaceKit's, 3-4 cm), but capture holds the forehead for the
    head's pose, and a forehead that rode so on this head read as the head nodding (its spoken lines' funnel r 0.66
    -> 0.57 through the round trip; 0.65 so)."""
    d = y - centre
    return np.where(d < 0, _smooth(Y_EYE + 1.0, centre, y), np.exp(-(d ** 2)))


# The head's outline by height y (cm): half-width, and depth in front of / behind the ears' plane, through
# an adult's proportions (eyes halfway from chin to crown; face in thirds; head 15.5 wide, 19.5 long)
_PROFILE_Y = (-10.2, -9.4, -8.7, -8.0, -7.0, -6.1, -5.0, -3.5, -2.5, -1.3, 0.0, 2.0, 3.5, 4.2, 5.2, 7.0, 9.0,
              10.5, 12.5, 13.8, 14.5, 14.8)
_HALF_WIDTH = (0.0, 2.5, 3.4, 4.0, 4.7, 5.3, 5.75, 6.15, 6.4, 6.65, 6.9, 7.1, 7.3, 7.4, 7.6, 7.75, 7.7, 7.3, 6.2,
               4.6, 2.6, 0.0)
_FRONT = (0.0, 2.6, 5.4, 7.7, 8.9, 9.25, 8.95, 9.65, 9.85, 9.65, 9.55, 9.35, 9.25, 9.3, 9.7, 9.45, 9.0, 8.3, 6.8,
          4.8, 2.6, 0.0)
# _FRONT away from the midline: the brow's relief is the nose's width. (The lower face keeps the midline's: made
# smoother toward the cheeks, its mouth corners moved, and capture's crops disagreed on a faint mouth stretch.)
_FRONT_SIDE = (0.0, 2.6, 5.4, 7.7, 8.9, 9.25, 8.95, 9.65, 9.85, 9.65, 9.55, 9.35, 9.25, 9.3, 9.45, 9.4, 9.0, 8.3,
               6.8, 4.8, 2.6, 0.0)
RELIEF_REACH = 0.75  # the face's relief fades out from this share of the head's half-width to its side, or its
# bumps run back to the ears as horizontal bands
FACE_BLEND = 0.35  # cos of the angle from the front over which the face's surface blends into the skull's (no seam)
MIDLINE_CM = 2.6  # how far to each side the midline's relief (the brow over the nose) reaches
# the cross-section's exponent by height (2: an ellipse; more: flatter in front), smooth in y: a kink in it
# shades as a horizontal band across the cheek
_CROSS_Y, _CROSS_P = (-9.0, -6.0, -3.5, 0.0, 3.0, 6.0, 9.5), (1.6, 1.75, 1.85, 1.8, 2.15, 2.2, 2.0)
_BACK = (0.0, 1.0, 1.4, 1.8, 2.6, 3.6, 4.8, 6.2, 7.0, 7.5, 8.2, 9.0, 9.6, 9.8, 10.0, 10.0, 9.7, 8.9, 7.3, 5.2,
         2.8, 0.0)


@lru_cache(maxsize=1)
def _profiles():
    from scipy.interpolate import PchipInterpolator

    return (*(PchipInterpolator(_PROFILE_Y, v) for v in (_HALF_WIDTH, _FRONT, _BACK, _FRONT_SIDE)),
            PchipInterpolator(_CROSS_Y, _CROSS_P))


def _rx(y):
    """Half-width of the head at height y."""
    return np.maximum(_profiles()[0](np.clip(y, CY - RY, CY + RY)), 1e-6)


def _depth(y, back=False):
    return np.maximum(_profiles()[2 if back else 1](np.clip(y, CY - RY, CY + RY)), 0.0)


def _front_depth(x, y):
    """Depth in front of the ears: the midline's profile near x = 0, a smoother one toward the temples (else the
    brow's relief runs across the whole forehead as a horizontal band)."""
    y = np.clip(y, CY - RY, CY + RY)
    side = _profiles()[3](y)
    return side + (_profiles()[1](y) - side) * np.exp(-((x / MIDLINE_CM) ** 2))


def _lip_x(x):
    return np.clip(1 - (x / 2.5) ** 2, 0, 1) ** 0.7


def _vermilion(x, y, roll=0.0):
    """(upper, lower) lip masks in 0..1: a cupid's bow over the upper lip, a fuller lower lip, both thinning
    toward the corners. roll (cm) widens each lip's outer edge outward: the lips' relief rises from the skin over
    it (a lip's body starts above and below its coloured border) where their colour has a sharp border."""
    ax = np.abs(x)
    taper = np.clip(1 - (ax / MOUTH_HALF) ** 2, 0, 1)  # both lips narrow to the corners, as a person's
    bow = Y_MOUTH + 0.1 + (0.75 + 0.12 * np.exp(-(((ax - 0.5) / 0.3) ** 2))) * taper ** 0.6
    upper = _smooth(Y_MOUTH - 0.05, Y_MOUTH + 0.3, y) * _smooth(bow + 0.1 + roll, bow - 0.08, y)
    edge = Y_MOUTH - 0.1 - 0.9 * taper ** 0.5
    lower = _smooth(Y_MOUTH + 0.05, Y_MOUTH - 0.3, y) * _smooth(edge - 0.12 - roll, edge + 0.12, y)
    return upper, lower


def _cross(x, y):
    """The face's cross-section: flatter in front than an ellipse (a face, not an egg), rounder over the skull."""
    p = _profiles()[4](np.clip(y, _CROSS_Y[0], _CROSS_Y[-1]))
    return np.clip(1 - np.clip(np.abs(x) / _rx(y), 0, 1) ** p, 0, None) ** (1 / p)


def _smax(a, b, k):
    """Smooth maximum: max(a, b) where they differ by more than k, a rounded crease where they meet."""
    return np.maximum(a, b) + np.maximum(k - np.abs(a - b), 0.0) ** 2 / (4 * k)


def _dome(x, y, cx, cy, sx, sy, h, round_=0.5):
    """A rounded cone of height h over an ellipse of half-axes (sx, sy): 0 on the ellipse, falling on below 0 at
    a steady slope outside it (so a smooth maximum with the face leaves a crease at its foot, not a cliff); round_
    rounds its top (0: a cone)."""
    q = np.hypot((x - cx) / sx, (y - cy) / sy)
    c = round_ ** 2
    return h * (np.sqrt(1 + c) - np.sqrt(q * q + c)) / (np.sqrt(1 + c) - round_)


# The nose along its midline by height y (cm): its height over the face; the rounding of its top across (the
# half-width of its crest: the bridge's narrow between the eyes, the tip's broad, the columella's narrow) and the
# slope of its side walls (gentle on the bony bridge, steep round the tip and the columella, so that the nostrils
# and wings show beside them). Nasion at 4.3, tip at -0.3, the columella's foot (subnasale) at -1.45.
_NOSE_Y = (-2.2, -1.45, -1.3, -1.1, -0.85, -0.55, -0.3, -0.05, 0.4, 1.5, 2.5, 3.5, 4.3, 5.0)
_NOSE_TOP = (-1.0, 0.05, 0.5, 1.2, 1.8, 2.2, 2.35, 2.3, 2.1, 1.75, 1.15, 0.55, 0.0, -0.3)
_NOSE_CREST = (0.2, 0.2, 0.22, 0.3, 0.5, 0.75, 0.8, 0.7, 0.55, 0.45, 0.4, 0.35, 0.4, 0.4)
_NOSE_WALL = (2.5, 2.5, 2.5, 2.8, 3.2, 3.6, 3.6, 3.0, 2.2, 1.6, 1.5, 1.3, 1.2, 1.2)


@lru_cache(maxsize=1)
def _nose_profiles():
    from scipy.interpolate import PchipInterpolator  # smooth in y: a kink shades as a line across the nose

    return tuple(PchipInterpolator(_NOSE_Y, v) for v in (_NOSE_TOP, _NOSE_CREST, _NOSE_WALL))


def _nose(x, y):
    """The nose's relief: one ridge whose cross-section is flat-topped, then turns down into straight side walls (a
    crest rounded across had drawn it from the front as a wedge, lit on one side and shaded on the other), from a
    bony bridge, narrow between the eyes, to a broad, projecting tip and a narrow columella under it; the tip's
    lobule slightly two-domed (two highlights, as the cartilages give); wings (alae) flaring beside and behind
    the tip, each set off by a crease; and the nostrils, pits under the tip between columella and wings (the
    skin paints them dark). Parts join by smooth maxima, so each meets its neighbour and the cheek in a crease."""
    ax = np.abs(x)
    top, crest, wall = (p(np.clip(y, _NOSE_Y[0], _NOSE_Y[-1])) for p in _nose_profiles())
    ridge = top - wall * (((x * x) ** 2 + crest ** 4) ** 0.25 - crest)
    ridge -= np.maximum(y - 4.3, 0) * 2.0  # the ridge ends at the nasion, not running up the forehead
    ridge += 0.07 * np.exp(-(((ax - 0.3) / 0.2) ** 2)) * _gauss(0, y, 0, -0.3, 1, 0.35)  # the lobule's two domes
    alae = _dome(ax, y, 0.92, -0.85, 0.6, 0.62, 1.15, 2.0)
    f = _smax(ridge, alae, 0.6)
    f -= 0.4 * _gauss(ax, y, 0.5, -1.15, 0.17, 0.2)  # the nostrils
    # the bony bridge's walls blend into the cheeks (a crease there would outline a pyramid); the wings' are creased
    f = _smax(f, 0.0, 0.2 + 0.6 * _smooth(-0.4, 1.2, y))
    groove = np.exp(-(((np.hypot((ax - 0.92) / 0.6, (y + 0.85) / 0.62) - 1.0) / 0.15) ** 2))
    f -= 0.2 * groove * _smooth(-1.3, -0.9, y) * _smooth(0.7, 1.3, ax)  # the alar groove round each wing's
    # outside, fading where the wing meets the lip
    return f


def _fold_x(y):
    """How far from the midline the fold beside the nose runs at height y: from the nose's wing down and out
    past the mouth's corner (the face's relief, and a smile deepening it)."""
    return 1.9 + 0.32 * (-0.7 - y)


def _features(x, y):
    """Forward relief of the face on top of its outline (cm)."""
    ax = np.abs(x)
    f = _nose(x, y)
    f += 0.45 * _gauss(ax, y, 2.9, 5.0, 2.0, 0.7) - 0.2 * _gauss(x, y, 0, 4.3, 0.9, 0.5)  # brow ridge, nasion
    f += -1.6 * _gauss(ax, y, EYE_X, Y_EYE - 0.05, np.where(ax > EYE_X, 1.3, 1.8), 1.25)  # eye sockets
    f += -0.15 * _gauss(ax, y, 2.7, 2.0, 1.0, 0.5)  # under the eyes
    f += 0.55 * _gauss(ax, y, 4.4, 1.5, 1.5, 1.0)  # cheekbones
    f += -0.12 * _gauss(ax, y, 5.2, -2.6, 1.6, 1.6)  # the hollow under them
    f += 0.3 * _gauss(ax, y, 3.5, -1.6, 1.7, 1.8)  # cheek fat beside the nasolabial fold
    fold = np.exp(-(((ax - _fold_x(y)) / 0.45) ** 2)) * _smooth(-0.3, -1.2, y) * _smooth(-4.2, -3.2, y)
    f += -0.1 * fold
    lip = _lip_x(x)
    upper, lower = _vermilion(x, y, LIP_ROLL)
    f += lip * (0.4 * upper + 0.5 * lower)
    f += -0.28 * lip * np.exp(-(((y - Y_MOUTH) / 0.13) ** 2))  # the line between the lips
    # the philtrum: a shallow groove between soft columns, fading out at both ends (with sharper ends and edges it
    # stood out under the nose as a pillar when the head turned)
    philtrum = _smooth(-2.8, -2.3, y) * _smooth(-1.1, -1.8, y)
    f += philtrum * (0.08 * np.exp(-(((ax - 0.45) / 0.22) ** 2)) - 0.09 * np.exp(-((x / 0.32) ** 2)))
    f += 0.75 * _gauss(x, y, 0, -6.9, 1.7, 1.1)  # chin, forward under the lower lip
    f -= 0.12 * _gauss(x, y, 0, -5.2, 1.5, 0.35)  # the groove between lower lip and chin
    return f * _smooth(1.0, RELIEF_REACH, ax / _rx(y))


def _face_z(x, y):
    return _front_depth(x, y) * _cross(x, y) + _features(x, y)


@lru_cache(maxsize=1)
def _eye_z() -> float:
    """Eyeball centre depth: its front stands a little proud of the socket."""
    return float(_face_z(EYE_X, Y_EYE)) - R_EYE + 0.45


def _height(x, y):
    """The front skin: the face relief, never inside the lid shell over each eyeball."""
    z = _face_z(x, y)
    for cx in (EYE_X, -EYE_X):
        r2 = (R_EYE + 0.13) ** 2 - (x - cx) ** 2 - (y - Y_EYE) ** 2
        shell = np.where(r2 > 0, _eye_z() + np.sqrt(np.clip(r2, 0, None)), -1e3)
        k = 0.12  # soft maximum, so lids blend into the socket without a crease
        z = np.logaddexp(z / k, shell / k) * k
    return z - _lid_crease(x, y)


def _lid_crease(x, y):
    """The upper lid's crease: a fold a few millimetres above the lashes, where the skin under the brow overhangs
    the lid (without it the eye reads as an almond painted on the face)."""
    out = 0.0
    for cx in (EYE_X, -EYE_X):
        u = np.clip((x - cx) / (EYE_HALF + 0.25), -1, 1)
        line = Y_EYE + 0.5 + LID_CREASE * (1 - 0.35 * u * u) - 0.12 * u * np.sign(cx)  # highest toward the nose
        out = out + 0.16 * np.clip(1 - u * u, 0, 1) * np.exp(-(((y - line) / 0.12) ** 2))
    return out


def _warped(n, lo, hi, centre, width, boost):
    """n samples on [lo, hi] denser (by 1 + boost) near centre: finer grid on the face."""
    fine = np.linspace(lo, hi, 4096)
    density = 1 + boost * np.exp(-(((fine - centre) / width) ** 2))
    cdf = np.concatenate([[0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return np.interp(np.linspace(0, cdf[-1], n), cdf, fine)


class _Skin:
    """The head grid with slits for the lips and lids."""

    def __init__(self):
        theta = _warped(N_THETA + 1, -np.pi, np.pi, 0.0, 0.9, 2.2)[:-1]
        phi = _warped(N_PHI, -np.pi / 2 + 0.02, np.pi / 2 - 0.02, -0.2, 0.75, 2.5)
        rows = np.arange(N_PHI)
        for y_line in (Y_MOUTH, Y_EYE):  # put a row exactly on each slit, its neighbours moved along smoothly
            target = np.arcsin((y_line - CY) / RY)
            k = np.argmin(np.abs(phi - target))
            phi = phi + (target - phi[k]) * np.exp(-(((rows - k) / 3.0) ** 2))
        self.theta, self.phi = theta, phi
        th, ph = np.meshgrid(theta, phi)
        y = CY + RY * np.sin(ph)
        x = _rx(y) * np.sin(th)
        z = _depth(y, back=True) * np.cos(th)
        front = np.cos(th) > 0.05
        blend = _smooth(0.0, FACE_BLEND, np.cos(th))  # the face's height field eases into the skull's ellipse
        z = np.where(front, blend * _height(x, y) + (1 - blend) * z, z)
        x, z = _tuck(x, y, z)
        out = np.stack([x, y - CY - 2.0, z], -1)  # short hair stands off the scalp, most on top
        out /= np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-9)
        tufts = 1 + TUFTS * np.sin(17 * th + 2 * np.sin(7 * ph)) * np.sin(23 * ph + 1.5 * np.sin(5 * th)) * (
            1 - _smooth(12.0, 14.0, y))  # none on the crown: the preview frames up to it
        thick = _hair(x, y - HAIR_ONSET, z, fade=2.5) * (0.45 + 0.55 * _smooth(4.0, 12.0, y)) * tufts
        x, y, z = x + thick * out[..., 0], y + thick * out[..., 1], z + thick * out[..., 2]
        # a seam column: the first again, at the texture's other edge (u = 1), so no triangle spans the texture
        x, y, z, front = (np.concatenate([a, a[:, :1]], axis=1) for a in (x, y, z, front))
        front[:, -1] = False
        pos = np.stack([x, y, z], -1).reshape(-1, 3)
        ids = np.arange(N_PHI * (N_THETA + 1)).reshape(N_PHI, N_THETA + 1)
        u, v = np.meshgrid(np.arange(N_THETA + 1) / N_THETA, np.arange(N_PHI) / (N_PHI - 1))
        uv = np.stack([u, v], -1).reshape(-1, 2)
        self.lower_copy = np.zeros(len(pos), bool)
        self.front = front.ravel()
        slit_cols = {}
        for y_line, spans in ((Y_MOUTH, [(0.0, MOUTH_HALF)]), (Y_EYE, [(EYE_X, EYE_HALF), (-EYE_X, EYE_HALF)])):
            row = int(np.argmin(np.abs(phi - np.arcsin((y_line - CY) / RY))))
            xs = x[row]
            cols = [c for c in range(N_THETA) if front[row, c] and any(abs(xs[c] - cx) < h for cx, h in spans)]
            dup = np.arange(len(pos), len(pos) + len(cols))
            pos = np.concatenate([pos, pos[ids[row, cols]]])
            uv = np.concatenate([uv, uv[ids[row, cols]]])
            self.front = np.concatenate([self.front, np.ones(len(cols), bool)])
            self.lower_copy = np.concatenate([self.lower_copy, np.ones(len(cols), bool)])
            slit_cols[row] = dict(zip(cols, dup))
        below = ids.copy()  # a row as the quads under it see it: a slit row's lower copies
        for row, dups in slit_cols.items():
            below[row, list(dups)] = list(dups.values())
        # each quad split along its shorter diagonal: where a fold crosses the grid aslant (the jaw's line, turning in
        # onto the neck), one diagonal for every quad cut the fold into a sawtooth along the jaw at 3/4 views
        a, b = ids[:-1, :-1].ravel(), ids[:-1, 1:].ravel()
        d, e = below[1:, :-1].ravel(), below[1:, 1:].ravel()
        shorter = np.linalg.norm(pos[a] - pos[e], axis=1) <= np.linalg.norm(pos[b] - pos[d], axis=1)
        tris = [np.where(shorter[:, None], np.stack([a, b, e], 1), np.stack([a, b, d], 1)),
                np.where(shorter[:, None], np.stack([a, e, d], 1), np.stack([b, e, d], 1))]
        bottom, top = len(pos), len(pos) + 1
        pos = np.concatenate([pos, [[0, CY - RY, 0], [0, CY + RY, 0]]])
        uv = np.concatenate([uv, [[0.5, 0.0], [0.5, 1.0]]])
        self.front = np.concatenate([self.front, [False, False]])
        self.lower_copy = np.concatenate([self.lower_copy, [False, False]])
        cols = np.arange(N_THETA)
        tris += [np.stack([np.full(N_THETA, bottom), ids[0, cols + 1], ids[0, cols]], 1),
                 np.stack([np.full(N_THETA, top), ids[-1, cols], ids[-1, cols + 1]], 1)]
        self.pre = pos.astype(np.float64)  # lids shut on their slit line
        self.uv = uv.astype(np.float32)
        self.triangles = np.concatenate(tris).astype(np.int32)
        self.grid, self.below = ids, below
        self._hair_last()

    def _hair_last(self):
        """Renumber the vertices with the hair's last, so that the hair is a part of its own: matte, where the
        skin has a sheen (a part has one roughness)."""
        x, y, z = self.pre.T
        hair = _hair(x, y, z, fade=0.8) > 0.6
        order = np.argsort(hair, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.pre, self.front, self.lower_copy = self.pre[order], self.front[order], self.lower_copy[order]
        self.uv = self.uv[order]
        self.triangles = rank[self.triangles].astype(np.int32)
        self.grid, self.below = rank[self.grid], rank[self.below]
        self.n_hair = int(hair.sum())

    def texture(self, p: np.ndarray, width: int = TEXTURE[0], height: int = TEXTURE[1]):
        """The skin's colours (sRGB) and roughness as textures over the grid's (u, v): each texel coloured where it
        lies on the skin at vertex positions p (bilinear within its grid quad), so the lips' border, brows, lash
        lines and hairline are drawn at the texture's resolution instead of the grid's."""
        u = (np.arange(width) + 0.5) / width * N_THETA
        v = (1 - (np.arange(height) + 0.5) / height) * (N_PHI - 1)  # image rows top down, v up
        c0 = np.minimum(u.astype(int), N_THETA - 1)
        j0 = np.minimum(v.astype(int), N_PHI - 2)
        tc, tj = (u - c0)[None, :, None].astype(np.float32), (v - j0)[:, None, None].astype(np.float32)
        jj, cc = np.meshgrid(j0, c0, indexing="ij")

        values = np.c_[p, self.pre[:, 1], self.front].astype(np.float32)  # position, height with lids shut, front
        a, b = values[self.grid[jj, cc]], values[self.grid[jj, cc + 1]]
        d, e = values[self.below[jj + 1, cc]], values[self.below[jj + 1, cc + 1]]
        lo, hi = a + (b - a) * tc, d + (e - d) * tc
        at = (lo + (hi - lo) * tj).reshape(-1, values.shape[1])
        colors, rough = _skin_look(at[:, :3], at[:, 3], at[:, 4] > 0.5, np.zeros(len(at), bool))
        return (np.round(np.clip(colors, 0, 1) * 255).astype(np.uint8).reshape(height, width, 3),
                np.round(rough * 255).astype(np.uint8).reshape(height, width))

    def lids(self, openness: dict) -> np.ndarray:
        """Positions with each eye's upper/lower lid opened by a factor (1 = neutral, 0 = shut on the slit); a
        third factor, if given, lowers the upper lid further, to that share of the lower lid's own line (a
        blink: the upper lid comes down to a lower lid that barely rises, as Apple's eyeBlink shows)."""
        p = self.pre.copy()
        x, y = p[:, 0], p[:, 1]
        for side, cx in (("l", EYE_X), ("r", -EYE_X)):
            upper, lower, *drop = openness.get(side, (1.0, 1.0))
            drop = drop[0] if drop else 0.0
            d = y - Y_EYE
            # almond profile: zero at the slit's corners, wider away from it (no creases); the upper lid
            # peaks toward the nose, the lower one toward the temple
            u = np.clip((x - cx) / (EYE_HALF + 0.35 * np.abs(d)), -1, 1) * np.sign(cx)
            prof_u = (1 - u ** 2) * (1 - 0.25 * u)
            prof_l = (1 - u ** 2) * (1 + 0.2 * u)
            is_lower = (d < -1e-9) | ((np.abs(d) <= 1e-9) & self.lower_copy)
            near = self.front & (np.abs(x - cx) < EYE_HALF + 1.2) & (np.abs(d) < 3.0)
            dy = np.where(is_lower, -0.4 * lower * prof_l * np.exp(np.minimum(d, 0) / 0.55),
                          (0.5 * upper * prof_u - 0.4 * drop * prof_l) * np.exp(-np.maximum(d, 0) / 0.75))
            dy = np.where(near, dy * _smooth(3.0, 2.0, np.abs(d)), 0.0)
            moved = near & (dy != 0)
            p[moved, 1] += dy[moved]
            p[moved, 2] = _height(x[moved], p[moved, 1])
        return p


def _rotate_x(points, pivot, deg):
    a = np.radians(deg)
    r = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return (points - pivot) @ r.T + pivot


def _uv_sphere(centre, radii, n_lon=32, n_lat=20, pole_forward=False, lat=None):
    """An ellipsoid of rings: n_lat - 1 even latitudes, or the given ones (radians, poles excluded)."""
    lon = np.linspace(-np.pi, np.pi, n_lon, endpoint=False)
    lat = np.linspace(-np.pi / 2, np.pi / 2, n_lat + 1)[1:-1] if lat is None else np.asarray(lat)
    lo, la = np.meshgrid(lon, lat)
    pts = np.stack([np.cos(la) * np.sin(lo), np.sin(la), np.cos(la) * np.cos(lo)], -1).reshape(-1, 3)
    pts = np.concatenate([pts, [[0, -1, 0], [0, 1, 0]]])
    if pole_forward:  # rings around +z: an eyeball's iris and pupil are clean circles
        pts = pts[:, [0, 2, 1]] * [1, -1, 1]
    return pts * radii + centre, _closed_rings(len(lat), n_lon), pts


def _eye_look(unit: np.ndarray) -> np.ndarray:
    """Colours of an eyeball's points (unit vectors, +z forward): a pupil, an iris of fibres running out from it
    (lighter and warmer round the pupil, a dark ring at its rim), and a white that greys and reddens toward the
    corners. A flat blue disc had read as a doll's eye."""
    theta = np.degrees(np.arccos(np.clip(unit[:, 2], -1, 1)))  # from the forward axis
    around = np.arctan2(unit[:, 1], unit[:, 0])
    fibres = 0.6 * _noise(around * 24 / np.pi, theta / 4.0) + 0.4 * _noise(around * 60 / np.pi + 7.0, theta / 2.0)
    iris = IRIS * (0.7 + 0.6 * fibres)[:, None]
    iris = _tint(iris, 0.5 * _smooth(14.5, 11.5, theta), (0.58, 0.46, 0.26))  # the collarette round the pupil
    iris = _tint(iris, 0.75 * _smooth(IRIS_DEG - 4.0, IRIS_DEG - 0.5, theta), (0.1, 0.13, 0.18))  # limbal ring
    white = _tint(np.tile(SCLERA, (len(unit), 1)), 0.35 * _smooth(40.0, 75.0, theta), (0.78, 0.6, 0.58))
    col = _tint(white, _smooth(IRIS_DEG + 0.6, IRIS_DEG - 0.6, theta), iris)
    col = _tint(col, _smooth(PUPIL_DEG + 0.8, PUPIL_DEG - 0.8, theta), (0.03, 0.03, 0.04))
    # the upper lid's shade on the eyeball (the lids follow vertical gaze and a turn to the side keeps heights, so
    # it may ride on the eyeball): a bright white up to the lid had read as staring
    return col * (1 - 0.45 * _smooth(0.0, 0.45, unit[:, 1]))[:, None]


def _closed_rings(n_rows: int, n_around: int) -> np.ndarray:
    """Triangles of n_rows rings of n_around vertices each (row by row), joined ring to ring and closed by a cap
    at each end, whose centres are the two vertices after the rings (the first ring's, then the last's)."""
    ids = np.arange(n_rows * n_around).reshape(n_rows, n_around)
    nxt = np.roll(ids, -1, axis=1)
    quads = np.stack([ids[:-1], nxt[:-1], nxt[1:], ids[1:]], -1).reshape(-1, 4)
    sides = np.stack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]], 1).reshape(-1, 3)
    first, last = np.full(n_around, n_rows * n_around), np.full(n_around, n_rows * n_around + 1)
    caps = np.stack([np.stack([first, nxt[0], ids[0]], -1), np.stack([last, ids[-1], nxt[-1]], -1)], 1)
    return np.concatenate([sides, caps.reshape(-1, 3)])


# Teeth along a dental arch, from the middle back, in cm as an adult's (mm / 10): width along the arch; how much
# shorter than the arch's longest tooth (its edge's middle, or its cusp's tip); how far its edge's corners toward
# the middle and away from it (mesial, distal) round off; how pointed its cusp is (the rise from its tip to its
# sides; 0: an edge); where its tip is (share of its width from its mesial side); how translucent its edge is; how
# far from the arch's edge the gum arches over it (its zenith); how far its papillae come down between teeth.
# Upper: central incisors widest and longest, laterals narrower and shorter, canines pointed, premolars, a molar;
# lower: narrow incisors, a canine, premolars, a molar. An arch ends where its length runs out (in a premolar).
UPPER_TEETH = ((0.85, 0.00, 0.015, 0.05, 0.00, 0.50, 0.45, 0.90, 0.26),
               (0.65, 0.07, 0.035, 0.07, 0.00, 0.50, 0.45, 0.83, 0.22),
               (0.75, 0.01, 0.00, 0.00, 0.15, 0.45, 0.25, 0.89, 0.22),
               (0.70, 0.09, 0.00, 0.00, 0.10, 0.50, 0.12, 0.84, 0.18),
               (0.65, 0.12, 0.00, 0.00, 0.08, 0.50, 0.10, 0.82, 0.16),
               (1.00, 0.15, 0.00, 0.00, 0.05, 0.30, 0.05, 0.80, 0.15))
LOWER_TEETH = ((0.50, 0.02, 0.01, 0.025, 0.00, 0.50, 0.35, 0.80, 0.20),
               (0.55, 0.02, 0.015, 0.035, 0.00, 0.50, 0.35, 0.80, 0.20),
               (0.70, 0.00, 0.00, 0.00, 0.12, 0.40, 0.20, 0.84, 0.20),
               (0.70, 0.06, 0.00, 0.00, 0.09, 0.50, 0.10, 0.80, 0.17),
               (0.70, 0.09, 0.00, 0.00, 0.07, 0.50, 0.08, 0.78, 0.15),
               (1.10, 0.12, 0.00, 0.00, 0.05, 0.30, 0.05, 0.76, 0.14))
TOOTH_SHADE = (1.0, 0.97, 1.01, 0.96, 0.99, 0.95)  # each tooth a little its own shade, from the middle back
ENAMEL, CERVICAL, TRANSLUCENT = np.array([0.92, 0.89, 0.81]), np.array([0.84, 0.72, 0.52]), np.array([0.6, 0.64, 0.7])
GUM, GUM_MARGIN, MUCOSA = np.array([0.80, 0.45, 0.46]), np.array([0.55, 0.28, 0.29]), np.array([0.70, 0.33, 0.37])


def _arch(y_edge, y_root, z_front, teeth, half=2.05, depth=1.5, thick=(0.12, 0.32), per_tooth=8):
    """A dental arch: a row of teeth swept along a parabola (x = half * s, z = z_front - depth * s^2), each of its
    own width along it, its edge rounded at the corners or pointed at a cusp, a small V between neighbours, under a
    gum whose margin arches over each tooth; thin at the edge, thick at the gum. y_edge: the longest tooth's edge;
    y_root: the gum's far side (above for the upper arch, below for the lower). Returns points, triangles and
    vertex colours: enamel yellower toward the gum and the back, translucent at the edge, dark where neighbours
    touch; the gum pink, darker at its margin; all in the mouth's shade, darker toward the back."""
    sgn = 1.0 if y_root > y_edge else -1.0  # from the edge toward the root
    s_fine = np.linspace(0.0, 1.0, 2001)
    arc = np.concatenate([[0], np.cumsum(np.hypot(np.diff(half * s_fine), np.diff(depth * s_fine ** 2)))])
    table = np.array(teeth, float)
    starts = np.concatenate([[0], np.cumsum(table[:, 0])])
    # columns along the arch: per_tooth across each tooth, dense at its sides (the V, the contact's dark line); 8
    # look as 16 do at a 1024 px face and keep the arches' vertices (each costs every frame of a preview) to 2,600
    cols = 0.5 - 0.5 * np.cos(np.pi * np.arange(per_tooth) / per_tooth)
    a = (starts[:-1, None] + table[:, :1] * cols).ravel()
    a = np.concatenate([a[a < arc[-1] - 1e-3], [arc[-1]]])
    a = np.concatenate([-a[:0:-1], a])  # both sides, sharing the middle
    n = len(a)
    k = np.clip(np.searchsorted(starts, np.abs(a), side="right") - 1, 0, len(table) - 1)
    width, short, round_m, round_d, cusp, tip, clear, zenith, papilla = table[k].T
    u = (np.abs(a) - starts[k]) / width  # 0 at the tooth's mesial side, 1 at its distal
    side = np.minimum(u, 1 - u) * width  # cm to the nearer neighbour
    # the edge (distance from the longest tooth's): corners rounded off, a cusp's slopes, a small V at each contact
    corner = np.where(u < 0.5, round_m, round_d)
    t = 1 - np.clip(side / (2 * corner + 0.02), 0, 1)
    edge = short + corner * (1 - np.sqrt(1 - t ** 2)) + 0.035 * (1 - np.clip(side / 0.06, 0, 1)) ** 2
    edge += cusp * np.sqrt((u - tip) ** 2 + 0.06 ** 2) / np.where(u < tip, tip, 1 - tip)
    edge -= edge.min()  # the longest tooth's edge at y_edge
    # the gum's margin: down to a papilla between neighbours, up over each tooth to its zenith
    prev, nxt = table[np.maximum(k - 1, 0)], table[np.minimum(k + 1, len(table) - 1)]
    pap_m = np.minimum(zenith, prev[:, 7]) - (papilla + prev[:, 8]) / 2
    pap_d = np.minimum(zenith, nxt[:, 7]) - (papilla + nxt[:, 8]) / 2
    line = pap_m + (pap_d - pap_m) * u
    margin = line + (zenith - (pap_m + pap_d) / 2) * np.sqrt(np.clip(1 - (2 * u - 1) ** 2, 0, 1))
    margin = np.maximum(margin, edge + 0.3)
    root = abs(y_root - y_edge)
    # a column's ring: the front from the edge over the crown (dense at both ends) and the gum to the root, then the
    # back from the root to the edge
    crown_w = np.array([0.0, 0.02, 0.06, 0.13, 0.25, 0.42, 0.6, 0.76, 0.88, 0.95, 0.985])
    gum_w = np.array([0.0, 0.12, 0.45, 1.0])
    back_w = np.array([0.5, 0.12, 0.0])
    h = np.concatenate([edge + (margin - edge) * crown_w[:, None], margin + (root - margin) * gum_w[:, None],
                        np.broadcast_to(root, (1, n)), margin[None], edge + (margin - edge) * back_w[:, None]])
    rows = len(h)
    front = np.arange(rows) < len(crown_w) + len(gum_w)
    gum = np.zeros(rows, bool)
    gum[len(crown_w):len(crown_w) + len(gum_w) + 2] = True
    w = np.clip((h - edge) / (margin - edge), 0, 1)  # 0 at the edge, 1 at the gum's margin
    # the front's relief: each crown convex across (its sides behind its middle) and from the edge to its neck, the
    # gum a little proud of the neck and bulging over each root; behind, thin at the edge and thick at the gum
    across = 1 - np.sin(np.pi * np.clip(u, 0, 1)) ** 0.7
    off = np.where(gum[:, None], -0.02 - 0.02 * across, -0.04 * across - 0.03 * (1 - np.clip(w / 0.3, 0, 1)) ** 2
                   - 0.025 * _smooth(0.7, 1.0, w))
    thickness = thick[0] + (thick[1] - thick[0]) * _smooth(0.0, 0.9, np.clip(h / margin, 0, 1))
    off = np.where(front[:, None], off, -thickness)
    s = np.interp(np.abs(a), arc, s_fine) * np.sign(a)
    x, z = half * s, z_front - depth * s ** 2
    tangent = np.stack([np.full(n, half), -2 * depth * s], -1)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], -1) / np.linalg.norm(tangent, axis=1)[:, None]
    pts = np.stack([x + normal[:, 0] * off, y_edge + sgn * h, z + normal[:, 1] * off], -1).reshape(-1, 3)

    def flat(v):
        return np.broadcast_to(v, (rows, n)).ravel()

    col = np.tile(ENAMEL * np.array(TOOTH_SHADE)[k][:, None], (rows, 1))
    col = _tint(col, flat(0.55 * _smooth(0.3, 1.0, w) + 0.25 * s ** 2), CERVICAL)
    col = _tint(col, flat(clear * _smooth(0.16, 0.0, h - edge)), TRANSLUCENT)
    col = col * flat(1 - 0.5 * np.exp(-((side / 0.025) ** 2)))[:, None]  # where neighbours touch
    gum_col = _tint(np.tile(GUM, (rows * n, 1)), flat(0.6 * _smooth(0.1, 0.5, h - margin)), MUCOSA)
    gum_col = _tint(gum_col, flat(np.where(np.arange(rows) == len(crown_w), 0.6, 0.0)[:, None]), GUM_MARGIN)
    col = np.where(flat(gum[:, None])[:, None], gum_col, col)
    col = col * flat((0.88 - 0.45 * s ** 2) * np.where(front, 1.0, 0.75)[:, None])[:, None]  # the mouth's shade
    ring = np.arange(rows) if sgn > 0 else np.arange(rows)[::-1]  # the lower arch's ring runs the other way round
    pts, col = pts.reshape(rows, n, 3)[ring].reshape(-1, 3), col.reshape(rows, n, 3)[ring].reshape(-1, 3)
    r, i = np.meshgrid(np.arange(rows), np.arange(n - 1), indexing="ij")
    r1 = (r + 1) % rows
    q = np.stack([r * n + i, r * n + i + 1, r1 * n + i + 1, r1 * n + i], -1).reshape(-1, 4)
    return pts, np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]]), col


class _Builder:
    """Collects parts, their vertex colours and per-shape deltas."""

    def __init__(self):
        self.pos, self.tris, self.colors, self.parts = [], [], [], []
        self.n = 0

    def add(self, name, pos, tris, colors, roughness=0.6, flip=False):
        tris = np.asarray(tris)[:, ::-1] if flip else np.asarray(tris)
        self.parts.append(Part(name, self.n, self.n + len(pos), WHITE, roughness))
        self.pos.append(np.asarray(pos, float))
        self.tris.append(tris + self.n)
        self.colors.append(np.broadcast_to(colors, (len(pos), 3)))
        self.n += len(pos)
        return self.parts[-1]

    def split(self, name, n, roughness):
        """The last part's last n vertices become a part of their own (its triangles stay as they are)."""
        last = self.parts.pop()
        self.parts += [Part(last.name, last.start, last.end - n, WHITE, last.roughness),
                       Part(name, last.end - n, last.end, WHITE, roughness)]


def _hair(x, y, z, fade=0.3):
    """Where the hair grows, 0..1 (from the hairline over `fade` cm): a hairline over the forehead, receding at
    the temples, down in front of the ears (sideburns), over them, and to the nape."""
    around = np.arctan2(np.abs(x), z)  # 0 in front, pi at the back
    hairline = np.interp(around, [0.0, 0.3, 0.55, 0.85, 1.1, 1.38, 1.5, 1.75, 2.2, np.pi],
                         [10.3, 10.5, 10.7, 10.4, 8.4, 5.4, 3.6, 5.2, 3.0, -2.0])
    hairline = hairline + 0.25 * np.sin(9.0 * around + 1.3) + 0.12 * np.sin(23.0 * around + 0.4) + 0.1 * np.sin(2.3 * x)
    return _smooth(hairline - min(fade, 0.3), hairline + fade, y)


def _noise(a, b):
    """Smooth value noise in 0..1, its features a unit apart: the irregular grain of hair, brows and skin (a sum of
    sines repeats, and reads as a woven or combed pattern)."""
    ia, ib = np.floor(a), np.floor(b)
    fa, fb = a - ia, b - ib
    fa, fb = fa * fa * (3 - 2 * fa), fb * fb * (3 - 2 * fb)
    ia, ib = ia.astype(np.int64), ib.astype(np.int64)

    def at(i, j):  # a fixed pseudo-random value per lattice point (an integer hash)
        h = (i * 73856093) ^ (j * 19349663)
        h = (h ^ (h >> 13)) * 1274126177
        return ((h ^ (h >> 16)) & 0xFFFF) / 65535.0

    h00, h10, h01, h11 = at(ia, ib), at(ia + 1, ib), at(ia, ib + 1), at(ia + 1, ib + 1)
    lo = h00 + (h10 - h00) * fa
    return lo + (h01 + (h11 - h01) * fa - lo) * fb


def _hair_strands(x, y, z):
    """0..1 along the hair: clumps of strands combed back over the scalp (long along it, narrow across), finer
    strands within them."""
    across = np.arctan2(x, z) * 8.0 + 0.25 * np.sin(1.3 * y)  # about a centimetre of scalp per unit
    return 0.6 * _noise(across / 0.16, y / 1.2) + 0.4 * _noise(across / 0.06 + 31.0, y / 0.7)


def _hair_cover(x, y, z):
    """(how much hair colour, its strands' shade): a hairline that thins out over a centimetre, broken into strands
    where it thins, so that the edge reads as growing hair, not a painted cap (a ramp over a few millimetres had
    drawn it as a cut edge, jagged where the strands broke it)."""
    grows = _hair(x, y, z, fade=1.0)
    cover, strands = np.zeros_like(grows), np.zeros_like(grows)
    at = grows > 0.06  # none below: 1.3 times it is under the ramp's start whatever the strands
    strands[at] = _hair_strands(x[at], y[at], z[at])
    cover[at] = _smooth(0.08, 0.92, 1.3 * grows[at] - 0.5 * strands[at])
    return cover, strands


# The ear's outline, (up, back) in cm from its middle, from its top round the back: the helix round the top and
# back, the lobe below, the notch under the tragus, the tragus and the helix's root in front (wider above than at
# the lobe); and its relief round the bowl (the concha, whose centre _EAR_POLE is) by direction from it (degrees,
# 0 up, 90 back): the height and place (share of the way to the rim) of the ring of ridges round the bowl
# (antihelix behind, its crus above, antitragus below, tragus in front), and how much of a rolled helix the rim has
_EAR_OUTLINE = ((2.95, 0.4), (2.55, 1.35), (1.7, 1.95), (0.5, 2.05), (-0.6, 1.8), (-1.6, 1.3), (-2.55, 0.9),
                (-2.9, 0.3), (-2.85, -0.35), (-1.95, -0.85), (-0.6, -1.15), (0.6, -1.1), (1.9, -0.75), (2.6, -0.2))
_EAR_POLE = np.array([-0.3, -0.35])
_EAR_DEG = (-180, -140, -100, -60, -20, 20, 70, 120, 150, 180)
_EAR_RIDGE_H = (0.0, 0.12, 0.4, 0.1, 0.3, 0.5, 0.55, 0.55, 0.45, 0.0)
_EAR_RIDGE_AT = (0.6, 0.7, 0.8, 0.55, 0.32, 0.5, 0.55, 0.55, 0.6, 0.6)
_EAR_HELIX = (0.0, 0.0, 0.3, 1.0, 1.0, 1.0, 1.0, 1.0, 0.35, 0.0)


def _ear_shape(alpha):
    """Per direction alpha (radians) from the bowl's centre: the distance to the rim, the ridge's height and
    place, and the helix's share (periodic and smooth in alpha: a kink shades as a radial line)."""
    from scipy.interpolate import CubicSpline

    rel = np.array(_EAR_OUTLINE) - _EAR_POLE
    ang, dist = np.arctan2(rel[:, 1], rel[:, 0]), np.hypot(rel[:, 0], rel[:, 1])
    order = np.argsort(ang)
    ang, dist = ang[order], dist[order]
    rim = CubicSpline(np.r_[ang, ang[0] + 2 * np.pi], np.r_[dist, dist[0]], bc_type="periodic")
    deg = np.radians(_EAR_DEG)
    table = [CubicSpline(deg, v, bc_type="periodic") for v in (_EAR_RIDGE_H, _EAR_RIDGE_AT, _EAR_HELIX)]
    a = (alpha + np.pi) % (2 * np.pi) - np.pi
    return (rim((a - ang[0]) % (2 * np.pi) + ang[0]), *(np.clip(t(a), 0, None) for t in table))


def _ear(side: int, n_around=48):
    """An ear, lofted as rings round the bowl (concha): each direction from the bowl's centre is one closed
    cross-section, out along the outer face over the bowl and the ridge round it (antihelix) and the groove
    beyond (scapha) into the rim, which is a tube rolled in toward the face (the helix) round the top and back
    and a soft, thick edge at the lobe, then back along the inner face to the middle. Tilted top back and
    turned so that its back edge stands off the head (seen from the front, the helix's edge at an angle), from
    the brow's height down to the nose's base, behind the jaw; the bowl and the canal darker than the rim."""
    alpha = np.linspace(-np.pi, np.pi, n_around, endpoint=False)[None, :]
    big_r, ridge_h, ridge_at, helix = _ear_shape(alpha)
    tube = 0.24 * helix + 0.3 * (1 - helix)  # the rim's half-thickness: the helix's roll, the lobe's
    centre_a = 0.18 * helix  # the roll stands out from the face
    start = np.pi + 0.6 * helix  # the roll starts under its own edge: it curls in over the scapha
    # the outer face: bowl, ridge, groove, out to where the roll starts
    t = np.linspace(0.0, 1.0, 13)[1:, None]
    r_end = big_r - tube + tube * np.cos(start)
    r = t * r_end
    s = r / big_r
    lobe = (1 - helix) * _smooth(-2.0, -3.0, np.cos(alpha) * big_r)  # toward the lobe, the bowl shallows
    face = -0.42 * _smooth(0.45, 0.15, s) * (1 - 0.6 * lobe)
    face += ridge_h * np.exp(-(((s - ridge_at) / 0.15) ** 2)) - 0.1 * helix * _smooth(0.55, 0.8, s)  # scapha
    canal = np.hypot(r * np.cos(alpha) + 0.05, r * np.sin(alpha) + 0.35)  # the canal, in front of the bowl's
    face -= 0.15 * np.exp(-((canal / 0.35) ** 2))  # centre, a little deeper (deeper shows the head through it)
    a_end = centre_a + tube * np.sin(start)
    face += (a_end - face) * _smooth(0.8, 1.0, t)
    # the rim: round the roll's tube from under its inner edge over the top and outer edge to the inner face
    psi = start + (-np.pi / 2 - start) * np.linspace(0.0, 1.0, 15)[1:, None]
    rim_r, rim_a = big_r - tube + tube * np.cos(psi), centre_a + tube * np.sin(psi)
    root = 0.6 * _smooth(0.2, 0.8, -np.sin(alpha))  # in front (tragus, the helix's root) it grows into the head
    rim_a = rim_a - root * np.clip(-np.sin(psi), 0, 1)
    # the inner face, back to the middle: the bowl's back bulges toward the head
    u = np.linspace(1.0, 0.0, 9)[1:-1, None]
    back_r = u * (big_r - tube)
    back_a = (centre_a - tube - root) * _smooth(0.0, 0.6, u) - 0.5 * (1 - _smooth(0.0, 0.6, u))
    rr = np.concatenate([r, rim_r, back_r])
    aa = np.concatenate([face, np.broadcast_to(rim_a, rim_r.shape), np.broadcast_to(back_a, back_r.shape)])
    up = _EAR_POLE[0] + rr * np.cos(alpha)
    back = _EAR_POLE[1] + rr * np.sin(alpha)
    ends = [[float(np.mean(face[0])), *_EAR_POLE * [1, -1]], [-0.5, *_EAR_POLE * [1, -1]]]  # the faces' middles
    pts = np.concatenate([np.stack([aa, up, -back], -1).reshape(-1, 3), ends])
    canal = np.exp(-np.sum(((pts[:, 1:] - [_EAR_POLE[0] - 0.1, -_EAR_POLE[1] + 0.35]) / [0.35, 0.3]) ** 2, axis=1))
    deep = np.clip(-pts[:, 0] / 0.42, 0, 1) * (np.arange(len(pts)) < face.size)  # the outer face's hollows
    pts[:, 0] = side * (pts[:, 0] + 0.95)  # its bowl's floor just off the head's side
    tilt = np.radians(-15.0)  # top back
    r = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    pts = pts @ r.T
    flare = np.radians(-25.0)  # the back of the ear stands off the head
    r = np.array([[np.cos(flare), 0, side * np.sin(flare)], [0, 1, 0], [-side * np.sin(flare), 0, np.cos(flare)]])
    pts = pts @ r.T
    roll = np.radians(12.0)  # its top leans out more than its lobe, which lies near the cheek
    r = np.array([[np.cos(roll), side * np.sin(roll), 0], [-side * np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    pts = pts @ r.T + [side * (float(_rx(2.0)) - 0.1), 2.2, -1.2]
    colors = SKIN * 0.97 * (1 - 0.25 * deep[:, None]) + np.array([0.05, -0.05, -0.05])
    colors = colors * (1 - 0.6 * canal[:, None])
    tris = _closed_rings(len(rr), n_around)
    return pts, tris if side > 0 else tris[:, ::-1], colors  # mirrored: turned back out


# The neck and shoulders by height y (cm): half-width in front and behind, depth of the throat/chest and of the
# nape/back. The top rings sit inside the head, behind the mouth's inside even with the jaw open (it showed there); the
# neck leans forward, is as wide as the jaw, 11 cm deep at the throat (its front 5 cm behind the chin, as a person's:
# at 8.5 cm deep it had stood back from the face like a post), and widens behind into the trapezius and the
# shoulders, which leave the picture at the bottom. It stays within the head's front and back, so the head's pivot
# (from the visible extent) does not move.
_BUST_Y = (-3.0, -8.0, -11.0, -12.5, -14.0, -15.5, -17.0, -19.0, -22.0, -28.4)
_BUST_HALF_FRONT = (4.4, 4.8, 5.0, 5.2, 5.7, 7.2, 9.5, 12.5, 15.5, 17.0)
_BUST_HALF_BACK = (4.8, 5.2, 5.6, 6.8, 9.3, 12.2, 14.3, 16.3, 18.3, 19.2)
_BUST_FRONT = (-0.5, 2.6, 4.2, 4.2, 3.6, 2.9, 3.2, 4.2, 5.8, 7.4)
_BUST_BACK = (-6.4, -7.0, -7.5, -8.0, -8.6, -9.2, -9.6, -9.9, -10.1, -10.2)


@lru_cache(maxsize=1)
def _bust_profiles():
    from scipy.interpolate import PchipInterpolator

    return tuple(PchipInterpolator(_BUST_Y[::-1], np.array(v)[::-1])
                 for v in (_BUST_HALF_FRONT, _BUST_HALF_BACK, _BUST_FRONT, _BUST_BACK))


def _neck_point(th, y):
    """The neck's surface at angle th round its axis (0: the throat, +pi/2: the head's left) and height y."""
    a_f, a_b, z_f, z_b = (f(np.clip(y, _BUST_Y[-1], _BUST_Y[0])) for f in _bust_profiles())
    c, s = np.cos(th), np.sin(th)
    return s * (a_f * (1 + c) + a_b * (1 - c)) / 2, (z_f + z_b) / 2 + c * (z_f - z_b) / 2


# The jaw's line seen from the side, (depth z, height y) from the chin back: the mandible's lower border rises
# from under the chin to its angle below the ear, its back edge up to the ear lobe, then the skull's base to the
# nape. Below it the head's skin turns in onto the neck, so the jaw meets the neck along that line (not along a
# level rim under the whole head, which read as a block set on a post at 3/4 and in profile).
_JAW_Z = (12.0, 5.0, 3.0, 0.5, -0.6, -1.6, -3.0, -6.0, -12.0)
_JAW_Y = (-11.5, -9.2, -7.6, -5.6, -4.8, -4.0, -3.8, -4.3, -4.3)
JAW_EDGE, NAPE_EDGE = 0.8, 2.2  # cm over which the skin turns in: a crisp jaw line, a slope behind the ear
NECK_INSET = 0.15  # cm the turned-in skin lies inside the neck's surface


def _on_neck(x, y, z):
    """(x, z) of the neck's surface on each point's ray from the neck's axis at its height, and that axis's z."""
    a_f, a_b, z_f, z_b = (f(np.clip(y, _BUST_Y[-1], _BUST_Y[0])) for f in _bust_profiles())
    centre, half_depth = (z_f + z_b) / 2, (z_f - z_b) / 2
    nx, nz = _neck_point(np.arctan2(x / ((a_f + a_b) / 2), (z - centre) / half_depth), y)
    return nx, nz, centre


def _tuck(x, y, z):
    """x, z of the head's skin with what lies below the jaw's line turned in onto (just inside) the neck."""
    below = np.interp(-z, -np.array(_JAW_Z), _JAW_Y) - y
    t = _smooth(0.0, JAW_EDGE + (NAPE_EDGE - JAW_EDGE) * _smooth(-0.5, -2.5, z), below)
    nx, nz, centre = _on_neck(x, y, z)
    r = 1 - NECK_INSET / np.maximum(np.hypot(nx, nz - centre), 1.0)
    return x + t * (nx * r - x), z + t * (centre + (nz - centre) * r - z)


def _off_neck(points: np.ndarray) -> np.ndarray:
    """How far each point lies outside the neck's surface, along its ray from the neck's axis (cm; negative inside;
    infinite above the neck's top)."""
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    nx, nz, centre = _on_neck(x, y, z)
    return np.where(y > _BUST_Y[0], np.inf, np.hypot(x, z - centre) - np.hypot(nx, nz - centre))


def _bust(n_around=64, n_rows=40):
    """The neck, trapezius and shoulders: rings lofted through the profiles above, capped at both ends."""
    y = np.linspace(_BUST_Y[-1], _BUST_Y[0], n_rows)[:, None]
    th = np.linspace(-np.pi, np.pi, n_around, endpoint=False)[None, :]
    x, z = _neck_point(th, y)
    y = y[:, 0]
    z_f, z_b = (f(y)[:, None] for f in _bust_profiles()[2:])
    pts = np.stack([x, np.broadcast_to(y[:, None], x.shape), z], -1).reshape(-1, 3)
    ends = [[0, y[0], (z_f[0, 0] + z_b[0, 0]) / 2], [0, y[-1], (z_f[-1, 0] + z_b[-1, 0]) / 2]]
    pts = np.concatenate([pts, ends])
    under_jaw = (_smooth(-12.5, -9.0, pts[:, 1]) * _smooth(-4.0, 1.0, pts[:, 2]))[:, None]  # the jaw's shade
    return pts, _closed_rings(n_rows, n_around), SKIN * 0.95 * (1 - 0.3 * under_jaw)


def _socket_colors(pts: np.ndarray, cx: float) -> np.ndarray:
    """The socket's lining shows where the slit runs past the eyeball: at its corners, and widely so at a turned
    head's far corner. There a person shows the white running on into the corner, pinker toward the nose (the
    caruncle's side); a lining pink all over had shown as pink wedges either side of the iris."""
    medial = -(pts[:, 0] - cx) * np.sign(cx)  # toward the nose
    pink = 0.35 * _smooth(1.1 * R_EYE, 1.6 * R_EYE, medial)
    return SCLERA_SHADED + pink[:, None] * (SOCKET - SCLERA_SHADED)


def _tint(col: np.ndarray, amount: np.ndarray, rgb) -> np.ndarray:
    """Colours moved toward rgb by amount (0..1 per vertex)."""
    rgb = np.asarray(rgb, col.dtype)  # one colour, or one per point
    at = np.flatnonzero(amount > 1e-4)  # most tints touch a small part of the head
    if len(at) > len(amount) // 2:
        return col + (rgb - col) * np.clip(amount, 0, 1)[:, None]
    col = col.copy()
    col[at] += ((rgb[at] if rgb.ndim == 2 else rgb) - col[at]) * np.clip(amount[at], 0, 1)[:, None]
    return col


def _complexion(x, y, z) -> np.ndarray:
    """Skin that is not one colour: warmer, redder cheeks, nose and lips' surround, where blood is near the
    surface; a cooler, greyer jaw and upper lip (a shaved beard's shadow)."""
    ax = np.abs(x)
    front = _smooth(-2.0, 0.5, z)  # fading out behind the jaw, not at the grid's front/back seam
    col = np.tile(SKIN, (len(x), 1))
    beard = front * _smooth(-1.6, -3.0, y) * _smooth(-11.0, -9.0, y) * _smooth(1.2, 2.2, np.hypot(x, y - Y_MOUTH))
    col = _tint(col, 0.14 * beard, (0.62, 0.56, 0.55))
    col = _tint(col, 0.16 * front * _gauss(ax, y, 3.9, -0.2, 1.8, 1.8), (0.88, 0.45, 0.42))  # cheeks
    col = _tint(col, 0.2 * front * _gauss(x, y, 0, -0.2, 1.0, 1.3), (0.88, 0.48, 0.44))  # nose
    # blotches and grain: even skin reads as plastic
    grain = 0.05 * (_noise(x / 0.5 + 0.3 * z, y / 0.5) - 0.5) + 0.03 * (_noise(x / 0.12 + 5.0, y / 0.12) - 0.5)
    return col * (1 + grain)[:, None]


def _brow_hairs(ax, y, along, density):
    """How much brow colour: hairs that grow up at the brow's head and lean out along it toward the tail, dense
    in its middle, single hairs at its edges (not a painted stroke)."""
    out = np.zeros_like(density)
    at = density > 0.02
    a = np.radians(70.0 - 55.0 * along[at])  # the hairs' angle from the outward horizontal
    ca, sa = np.cos(a), np.sin(a)
    length, width = ax[at] * ca + y[at] * sa, -ax[at] * sa + y[at] * ca
    hairs = 0.6 * _noise(width / 0.045, length / 0.3) + 0.4 * _noise(width / 0.02 + 17.0, length / 0.18)
    out[at] = 0.9 * _smooth(0.2, 0.6, 1.3 * density[at] - 0.9 * (1 - hairs))
    return out


def brow_line(ax):
    """(how far along the brow, 0 at its head over the eye's inner corner to 1 at its tail; the height of the brow's
    middle line) at distance ax from the midline: a man's brow, arching 3.5 mm over the eye's outer half."""
    along = np.clip((ax - 0.9) / 4.3, 0, 1)
    arc = Y_EYE + 1.55 + 0.35 * np.sin(np.pi * np.minimum(along / 0.65, 1) / 2) - 0.45 * _smooth(0.65, 1.0, along)
    return along, arc


def _skin_look(p: np.ndarray, pre_y: np.ndarray, front: np.ndarray, lower_copy: np.ndarray):
    """(colours, roughness) of skin points p (vertices or texels): pre_y their height with the lids shut (lips and
    lid lines are placed there, and move with the lids), front on the face's half of the grid, lower_copy the
    lower side of a slit. Roughness: skin's soft sheen, moist lips a little glossier, hair matte."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    ax = np.abs(x)
    col = _complexion(x, y, z)
    lips = np.clip(sum(_vermilion(x, pre_y)) * _lip_x(x * 0.98) * 1.4 * front, 0, 1)
    col = _tint(col, lips, LIP) * (1 - 0.08 * lips * _noise(x / 0.04, pre_y / 0.6))[:, None]  # the lips' lines
    along, arc = brow_line(ax)
    thick = 0.5 - 0.28 * along
    brow = np.exp(-(((y - arc) / thick) ** 2)) * _smooth(0.65, 1.4, ax) * _smooth(5.4, 4.8, ax) * front
    col = _tint(col, _brow_hairs(ax, y, along, brow), BROW)
    d = pre_y - Y_EYE  # lid features sit where the slit was before the lids opened, and move with them
    for cx in (EYE_X, -EYE_X):
        prof = np.clip(1 - ((x - cx) / (EYE_HALF + 0.1)) ** 2, 0, 1) * front
        upper = (d > 1e-9) | ((np.abs(d) <= 1e-9) & ~lower_copy)  # the upper lashes are the heavier line
        outer = np.clip((x - cx) * np.sign(cx) / EYE_HALF, 0, 1)  # the upper lashes thicken toward the temple
        lash = np.exp(-((d / np.where(upper, 0.2 + 0.1 * outer, 0.12)) ** 2)) * np.where(upper, 0.95, 0.7)
        col = _tint(col, prof * lash, (0.1, 0.07, 0.06))  # lash lines
        col = _tint(col, 0.3 * prof * np.exp(-(((d - 0.75) / 0.1) ** 2)), (0.5, 0.33, 0.28))  # the lid's crease
    nostril = sum(_gauss(x, y, sx, -1.15, 0.16, 0.19) for sx in (-0.5, 0.5)) * (z > 9.3)  # the nose's pits
    col = _tint(col, 0.8 * nostril, (0.2, 0.09, 0.08))
    hair, strands = _hair_cover(x, y, z)
    col = _tint(col, hair, HAIR * (0.7 + 0.5 * strands)[:, None])  # lighter and darker strands
    rough = SKIN_ROUGHNESS + (LIP_ROUGHNESS - SKIN_ROUGHNESS) * lips
    return col, rough + (HAIR_ROUGHNESS - rough) * hair


@lru_cache(maxsize=1)
def default_head() -> BlendshapeMesh:
    skin = _Skin()
    neutral = skin.lids({})
    b = _Builder()
    b.add("skin", neutral, skin.triangles, _skin_look(neutral, skin.pre[:, 1], skin.front, skin.lower_copy)[0],
          roughness=SKIN_ROUGHNESS)
    b.split("hair", skin.n_hair, HAIR_ROUGHNESS)
    for p in b.parts:
        p.textured = True
    for side in (1, -1):
        pts, tris, colors = _ear(side)
        b.add(f"ear_{'l' if side > 0 else 'r'}", pts, tris, colors)
    b.add("neck", *_bust())
    lips_z = float(_face_z(0.0, Y_MOUTH + 0.6))  # the front of the upper lip
    bag_pts, bag_tris, _ = _uv_sphere(np.array([0, Y_MOUTH - 0.2, lips_z - 3.6]), np.array([2.35, 2.1, 3.0]), 28, 18)
    keep_tri = bag_pts[bag_tris][:, :, 2].max(axis=1) < lips_z - 1.6  # open at the front, behind the lips
    mouth = b.add("mouth", bag_pts, bag_tris[keep_tri], np.array([0.32, 0.09, 0.10]), roughness=0.9, flip=True)
    z_front = lips_z - 1.05
    upper_pts, upper_tris, upper_col = _arch(Y_MOUTH - 0.3, Y_MOUTH + 0.8, z_front, UPPER_TEETH)
    lower_pts, lower_tris, lower_col = _arch(Y_MOUTH - 0.05, Y_MOUTH - 1.15, z_front - 0.2, LOWER_TEETH, half=1.9)
    teeth_u = b.add("teeth_upper", upper_pts, upper_tris, upper_col, 0.35)
    teeth_l = b.add("teeth_lower", lower_pts, lower_tris, lower_col, 0.35)
    tongue_pts, tongue_tris, _ = _uv_sphere(np.array([0, Y_MOUTH - 0.8, lips_z - 3.7]), np.array([1.8, 0.55, 2.3]),
                                            24, 12)
    tongue = b.add("tongue", tongue_pts, tongue_tris, np.array([0.70, 0.33, 0.37]), roughness=0.45)
    for side, cx in (("l", EYE_X), ("r", -EYE_X)):
        pts, tris, unit = _uv_sphere(np.array([cx, Y_EYE, _eye_z()]), R_EYE, EYE_AROUND, pole_forward=True,
                                     lat=EYE_RINGS)
        b.add(f"eyeball_{side}", pts, tris, _eye_look(unit), roughness=0.15)
    for side, cx in (("l", EYE_X), ("r", -EYE_X)):
        # the socket's lining behind each eye, seen inside out: the slit is longer than the eyeball is wide,
        # and at its corners the picture had looked through the head to the background. A wide, deep bowl reaching
        # toward the nose, so a head turned 50 degrees still sees it through the corners (a shallower one had shown
        # the background there); only its inside is drawn, so where its front half meets the skin nothing shows
        pts, tris, _ = _uv_sphere(np.array([cx - np.sign(cx) * 0.4, Y_EYE, _eye_z()]), np.array([2.7, 1.5, 1.2]),
                                  64, 32)
        b.add(f"eye_socket_{side}", pts, tris, _socket_colors(pts, cx), roughness=0.9, flip=True)

    pos = np.concatenate(b.pos)
    deltas = _shape_deltas(skin, neutral, pos, {"mouth": mouth, "teeth_lower": teeth_l, "tongue": tongue,
                                                "teeth_upper": teeth_u})
    names, matrix = build_deltas({k: (np.flatnonzero(np.abs(v).max(1) > 1e-6), v[np.abs(v).max(1) > 1e-6])
                                  for k, v in deltas.items()}, len(pos))
    turns = np.ones(len(pos), np.float32)  # a head turns on its neck: the shoulders stay, the neck between them
    neck = next(p for p in b.parts if p.name == "neck")
    turns[neck.start:neck.end] = _smooth(NECK_STILL_Y, NECK_TURNS_Y, pos[neck.start:neck.end, 1])
    uv = np.zeros((len(pos), 2), np.float32)
    uv[:len(neutral)] = skin.uv
    texture, rough = skin.texture(neutral)
    return BlendshapeMesh(pos, np.concatenate(b.tris), names, matrix, b.parts,
                          np.concatenate(b.colors).astype(np.float32), source="default", units="cm",
                          head_weights=turns, texture=texture, uv=uv, texture_roughness=rough)


def _wrinkles(x, y, front) -> dict[str, np.ndarray]:
    """Forward depth (cm) each shape adds to the skin where its muscle bunches it: without creases an expression
    reads as a mask sliding over the skull. Forehead lines when the brows rise (in the middle for the inner brows,
    over the eyes for the outer), two upright creases between the brows and a fold over the nose's root when they
    draw down, the fold beside the nose deepening in a smile, crow's feet at the eye's outer corner in a squint,
    lines across the nose's sides in a sneer."""
    ax = np.abs(x)
    out = {}
    forehead = front * _smooth(Y_EYE + 1.9, Y_EYE + 2.7, y) * _smooth(Y_EYE + 6.2, Y_EYE + 5.0, y)
    # three to four lines a centimetre apart, arching a little over each brow
    lines = np.cos(2 * np.pi * (y - Y_EYE - 2.95 - 0.25 * np.exp(-(((ax - 2.6) / 1.6) ** 2))) / 0.95)
    out["browInnerUp"] = 0.07 * forehead * lines * np.exp(-((x / 2.4) ** 2))
    for suffix, sign in (("Left", 1.0), ("Right", -1.0)):
        sx = sign * x
        out[f"browOuterUp{suffix}"] = 0.06 * forehead * lines * _gauss(sx, y, 3.4, Y_EYE + 3.5, 1.6, 3.0)
        glabella = front * _smooth(Y_EYE + 0.5, Y_EYE + 1.0, y) * _smooth(Y_EYE + 2.6, Y_EYE + 1.9, y)
        out[f"browDown{suffix}"] = (-0.12 * glabella * np.exp(-(((sx - 0.5) / 0.16) ** 2))
                                    + 0.08 * _gauss(sx, y, 1.3, Y_EYE + 1.7, 0.5, 0.5)
                                    - 0.06 * _gauss(sx, y, 0.0, Y_EYE + 0.3, 0.6, 0.16)) * front
        fold = np.exp(-(((sx - _fold_x(y)) / 0.3) ** 2)) * _smooth(-0.3, -1.0, y) * _smooth(-4.4, -3.4, y)
        out[f"mouthSmile{suffix}"] = -0.2 * front * fold * _smooth(-0.3, 0.3, sx)
        corner = np.arctan2(y - Y_EYE, sx - (EYE_X + EYE_HALF))  # around the eye's outer corner
        reach = np.hypot(sx - (EYE_X + EYE_HALF), y - Y_EYE)
        fan = _smooth(0.35, 0.6, reach) * _smooth(1.8, 1.1, reach) * (np.abs(corner) < 0.9)
        out[f"cheekSquint{suffix}"] = -0.05 * front * fan * (0.5 + 0.5 * np.cos(corner * 9.0)) * (sx > EYE_X)
        bunny = front * _gauss(sx, y, 0.7, 2.2, 0.45, 0.7)
        out[f"noseSneer{suffix}"] = -0.08 * bunny * (0.5 + 0.5 * np.cos(2 * np.pi * (y - 0.5 * sx) / 0.6))
        # a raised upper lip deepens the fold beside the nose (upper part, to the mouth's corner)
        upper_fold = np.exp(-(((sx - _fold_x(y)) / 0.3) ** 2)) * _smooth(-0.4, -1.0, y) * _smooth(-3.6, -2.8, y)
        out[f"mouthUpperUp{suffix}"] = -0.15 * front * upper_fold * _smooth(-0.3, 0.3, sx)
        out[f"noseSneer{suffix}"] += -0.08 * front * upper_fold * _smooth(-0.3, 0.3, sx)
        # the dimple's pit just out from the lip's corner
        out[f"mouthDimple{suffix}"] = -0.25 * front * _gauss(sx, y, MOUTH_HALF + 0.55, Y_MOUTH + 0.05, 0.32, 0.45)
    # AU17: the chin's skin bunches (an uneven, pitted surface) and the furrow under the lower lip deepens
    boss = front * _gauss(x, y, 0, -6.1, 1.5, 1.0)
    out["mouthShrugLower"] = (0.06 * boss * (2 * _noise(x / 0.4 + 3.0, y / 0.4) - 1)
                              - 0.08 * front * _gauss(x, y, 0, Y_MOUTH - 1.25, 1.2, 0.25))
    return out


def _shape_deltas(skin: _Skin, neutral, pos, parts) -> dict[str, np.ndarray]:
    n_skin = len(neutral)
    x, y, z = neutral[:, 0], neutral[:, 1], neutral[:, 2]
    ax, front = np.abs(x), skin.front.astype(float)
    d_mouth = y - Y_MOUTH
    lower = (d_mouth < -1e-9) | ((np.abs(d_mouth) <= 1e-9) & skin.lower_copy)
    upper = ~lower
    mouthness = 1 - _smooth(1.1, MOUTH_HALF + 0.05, ax)
    jaw_w = (mouthness * lower + (1 - mouthness) * _smooth(-2.0, -6.0, y)) * _smooth(-3.0, 3.0, z)
    out = {name: np.zeros((len(pos), 3)) for name in ARKIT_SHAPES}

    def skin_delta(name, d):
        out[name][:n_skin] += d

    def part_delta(name, part, fn):
        p = pos[part.start:part.end]
        out[name][part.start:part.end] += fn(p)

    jaw_move = _rotate_x(neutral, JAW_PIVOT, JAW_OPEN_DEG) - neutral
    skin_delta("jawOpen", jaw_move * jaw_w[:, None])
    for name in ("mouth", "teeth_lower", "tongue"):
        part = parts[name]
        weight = (lambda p: _smooth(-3.0, -4.4, p[:, 1])) if name == "mouth" else (lambda p: np.ones(len(p)))
        part_delta("jawOpen", part, lambda p, w=weight: (_rotate_x(p, JAW_PIVOT, JAW_OPEN_DEG) - p) * w(p)[:, None])
        for shape, vec in (("jawLeft", (0.7, 0, 0)), ("jawRight", (-0.7, 0, 0)), ("jawForward", (0, 0, 0.6))):
            part_delta(shape, part, lambda p, v=vec, w=weight: np.outer(w(p), v))
    # the skin turned in onto the neck below the jaw's line stays with the neck when the jaw slides (moved with it, it
    # came out of the neck as a pale collar): the jaw's underside stretches between them. (Opening swings it back
    # into the neck.)
    slide_w = jaw_w * _smooth(0.0, 0.6, _off_neck(neutral))
    for shape, vec in (("jawLeft", (0.7, 0, 0)), ("jawRight", (-0.7, 0, 0)), ("jawForward", (0, 0, 0.6))):
        skin_delta(shape, np.outer(slide_w, vec))
    # the tip comes out most, forward and up to the line between the teeth (a TH shows it there), and the lower lip
    # gives way in the middle so that it comes out between the lips, not through them
    part_delta("tongueOut", parts["tongue"],
               lambda p: np.outer(_smooth(p[:, 2].min() + 0.3, p[:, 2].max(), p[:, 2]) + 0.3, (0, 0.8, 2.3)))
    skin_delta("tongueOut", np.outer(lower * front * _lip_x(x * 1.6) * np.exp(np.minimum(d_mouth, 0) / 0.6),
                                     (0, -0.45, 0.25)))

    near_mouth = front * np.exp(-((np.maximum(-d_mouth - 0.9, 0) / 0.9) ** 2))  # the lower lip whole; chin stretches
    edge = front * _lip_x(x) * np.exp(-((d_mouth / 0.55) ** 2))
    # how far forward rounding takes the skin across the mouth: the lips' width, fading smoothly past the corners (a
    # profile that ended there at a slope creased the skin from each corner down to the jaw)
    across = np.exp(-((x / 2.3) ** 4))
    lips = front * across * np.exp(-((d_mouth / 1.4) ** 2))
    skin_delta("mouthClose", -jaw_move * (lower * mouthness * near_mouth)[:, None])
    # rounding (the ring muscle round the mouth): the lips and the skin around them gather toward the middle,
    # the corners most (a pucker takes two fifths off the mouth's width), and push forward. A pucker bunches the
    # lips shut, taller; a funnel parts them in an O, each lip whole, its outer edge too
    gather = front * _smooth(MOUTH_HALF + 1.6, MOUTH_HALF - 0.2, ax) * np.exp(-((d_mouth / 1.6) ** 2))
    bunch = front * across * np.exp(-((d_mouth / 1.2) ** 2))
    round_gap = front * np.exp(-((x / 1.9) ** 4) - (d_mouth / 1.3) ** 2)
    narrow = {"mouthPucker": 0.4, "mouthFunnel": 0.34}  # how much of its distance from the middle a corner comes in
    for shape, k in narrow.items():
        # the mouth's dark inside narrows with the corners, or its rim would show through the cheeks
        part_delta(shape, parts["mouth"], lambda p, k=k: np.outer(
            -k * p[:, 0] * _smooth(p[:, 2].max() - 2.5, p[:, 2].max() - 0.5, p[:, 2]), (1, 0, 0)))
    # the skin drawn in rides forward with the lips, over the teeth (which stay)
    skin_delta("mouthPucker", np.stack([-narrow["mouthPucker"] * x * gather, 0.25 * d_mouth * bunch,
                                        0.8 * lips + 0.35 * gather], -1))
    skin_delta("mouthFunnel", np.stack([-narrow["mouthFunnel"] * x * gather,
                                        0.55 * round_gap * upper - 0.7 * round_gap * lower,
                                        0.6 * lips + 0.15 * round_gap + 0.3 * gather], -1))
    skin_delta("mouthRollLower", np.outer(edge * lower, (0, 0.35, -0.9)))  # f/v: under the upper teeth
    skin_delta("mouthRollUpper", np.outer(edge * upper, (0, -0.2, -0.5)))
    region = front * _gauss(x, y, 0, -3.6, 3.0, 1.8)
    for shape, vec in (("mouthLeft", (0.7, 0, 0)), ("mouthRight", (-0.7, 0, 0))):
        skin_delta(shape, np.outer(region, vec))
        part_delta(shape, parts["mouth"], lambda p, v=vec: np.outer(np.full(len(p), 0.6), v))  # the inside follows
    # AU17: the chin's boss pushes up (most at the chin, under the lower lip less), the lower lip pushed up and
    # out; the lips' line rises in the middle with it (both lips, so they stay together), the chin skin bunches
    # (_wrinkles). A person's reaches 7-11 mm at the chin (ICT FaceKit); it had moved 3.8 mm and not read
    chin = front * lower * _gauss(x, y, 0, -6.0, 2.1, 1.5)
    pout = front * lower * _lip_x(x * 0.9) * np.exp(-(((d_mouth + 0.6) / 0.7) ** 2))
    line = front * _lip_x(x * 0.9) * np.exp(-((d_mouth / 0.8) ** 2))
    skin_delta("mouthShrugLower", np.outer(chin, (0, 0.75, 0.35)) + np.outer(pout, (0, 0.1, 0.3))
               + np.outer(line, (0, 0.12, 0.05)))
    # the upper lip pushed up and out, the skin above it with it, fading toward the nose
    upper_lip = front * upper * _lip_x(x * 0.9) * np.exp(-np.maximum(d_mouth, 0) / 1.0)
    skin_delta("mouthShrugUpper", np.outer(upper_lip, (0, 0.5, 0.2)))
    for suffix, sign in (("Left", 1.0), ("Right", -1.0)):
        sx = sign * x
        side = _smooth(-0.3, 0.4, sx)
        corner = front * _gauss(sx, y, MOUTH_HALF, Y_MOUTH + 0.1, 1.5, 1.3)
        cheek = front * _gauss(sx, y, 3.3, -0.8, 1.3, 1.4)  # a smile lifts and rounds the cheek (AU12 with AU6)
        # the corners draw up and back, the cheeks lift and round, and both lips rise a little across their width
        # and the lower one thins against the teeth, so the mouth curves, not only its corners; the lips stay
        # together (a p/b/m said smiling is still shut)
        skin_delta(f"mouthSmile{suffix}", np.outer(corner, (0.7 * sign, 0.9, -0.5)) + np.outer(cheek, (0, 0.75, 0.8))
                   + np.outer(edge * upper * side, (0, 0.12, -0.05)) + np.outer(edge * lower * side, (0, 0.12, -0.15)))
        skin_delta(f"mouthFrown{suffix}", np.outer(corner, (0.1 * sign, -0.75, -0.1)))
        # AU20: the corner drawn out toward the ear and a little down (10 mm at most, as ICT FaceKit's: it had
        # gone 6.6, and fear's stretched lips barely showed)
        skin_delta(f"mouthStretch{suffix}", np.outer(corner, (0.95 * sign, -0.22, -0.3))
                   + np.outer(edge * lower * side, (0, -0.3, 0)))
        # AU14: the corner pulled back into the cheek and tightened (the lips there thin against the teeth); the
        # dimple's pit beside it is in _wrinkles
        skin_delta(f"mouthDimple{suffix}", np.outer(corner, (0.35 * sign, 0.15, -0.6))
                   + np.outer(edge * side * _smooth(0.8, 2.0, sx), (0, 0, -0.1)))
        # the mouth's dark inside widens on that side with the corner the shape draws out (and goes back, to stay
        # behind the cheeks), or a smile parted over an open jaw shows the background past its rim, which is
        # narrower than the lips where it opens
        for shape, out_x, up in (("mouthSmile", 2.0, 0.9), ("mouthStretch", 3.2, 0.0), ("mouthDimple", 0.5, 0.0)):
            part_delta(f"{shape}{suffix}", parts["mouth"], lambda p, s=sign, k=out_x, u=up: np.outer(
                _smooth(0.2, 1.6, s * p[:, 0]) * _smooth(p[:, 2].max() - 2.5, p[:, 2].max() - 0.5, p[:, 2])
                * np.exp(-(((p[:, 1] - Y_MOUTH - 0.4) / 0.8) ** 2)), (k * s, u, -0.6 * k)))
        # AU24: the lips pressed together and thinned on that side: each lip's outer border comes toward the line
        # between them (the red narrows by about a third; that line itself stays, so the lips do not cross) and
        # rolls back a little, and the lower lip is pushed up from below
        wide_side = _smooth(-0.8, 0.8, sx)  # fading over the lips' middle: a step there notched the lower lip
        press = front * wide_side * _lip_x(x) * _smooth(1.6, 0.9, np.abs(d_mouth))
        below = front * wide_side * lower * _gauss(x, y, 0.9 * sign, Y_MOUTH - 1.3, 1.6, 0.9)
        skin_delta(f"mouthPress{suffix}", np.stack([0 * x, -0.3 * d_mouth * press, -0.15 * press], -1)
                   + np.outer(below * _smooth(0.0, 0.6, -d_mouth), (0, 0.15, 0.1)))
        lip_side = side * front * _lip_x(x) * _smooth(0.0, 0.2, np.abs(d_mouth) + 0.2)
        # AU10: the upper lip raised on that side, most between its middle and its corner (it squares), baring the
        # upper teeth, the skin above it up to the nose's wing lifting with it, the cheek beside the fold drawn up
        # and the fold deepening (_wrinkles)
        raise_x = side * front * _lip_x(x * 0.9) * (0.8 + 0.3 * np.exp(-(((sx - 1.1) / 0.7) ** 2)))
        lifted = raise_x * upper * np.exp(-np.maximum(d_mouth, 0) / 1.4)
        fold_side = front * _gauss(sx, y, 2.5, -1.9, 0.9, 1.0)
        skin_delta(f"mouthUpperUp{suffix}", np.outer(lifted, (0, 0.7, 0.12))
                   + np.outer(fold_side, (0.05 * sign, 0.35, 0.15))
                   + np.outer(front * _gauss(sx, y, 1.1, -0.9, 0.6, 0.5), (0, 0.15, 0.05)))  # the wing a little
        skin_delta(f"mouthLowerDown{suffix}",
                   np.outer(lip_side * lower * np.exp(np.minimum(d_mouth, 0) / 0.8), (0, -0.6, 0.05)))
        # AU4: the brow drawn toward the nose as much as down, and forward (ICT FaceKit's scanned person: 4 mm in,
        # 3.8 down at most; it had gone 7.5 mm down and, beside AU1 in sadness, flattened the brow's oblique)
        brow = front * np.exp(-(((sx - 3.2) / 2.3) ** 2)) * _brow_band(y, Y_EYE + 1.6)
        skin_delta(f"browDown{suffix}", np.outer(brow, (-0.4 * sign, -0.38, 0.25)))
        # AU2: the outer brow up and out, most past the eye's outer half (8 mm at most, as ICT FaceKit's: it had
        # lifted 5.5 mm, over a narrow patch)
        outer = front * np.exp(-(((sx - 4.0) / 2.2) ** 2)) * _brow_band(y, Y_EYE + 1.6)
        skin_delta(f"browOuterUp{suffix}", np.outer(outer, (0.2 * sign, 0.82, -0.2)))
        skin_delta(f"cheekSquint{suffix}", np.outer(front * _gauss(sx, y, 3.6, 1.1, 1.7, 1.2), (0, 0.5, 0.3)))
        # AU9: the nose's wings and the skin beside them draw up, the cheek beside the fold with them, the upper
        # lip's sides go up (its edge stays: a p/b/m said in disgust is still shut), and the skin of
        # the nose's bridge bunches down
        sneer = front * _gauss(sx, y, 1.25, -0.75, 0.95, 1.1)
        beside = front * _gauss(sx, y, 2.4, -1.5, 1.0, 1.0)
        snarl = front * upper * _smooth(0.0, 0.5, d_mouth) * _gauss(sx, y, 1.0, Y_MOUTH + 0.6, 1.2, 0.9)
        bridge = front * _gauss(sx, y, 0.4, 2.0, 0.6, 0.9)
        skin_delta(f"noseSneer{suffix}", np.outer(sneer, (0.05 * sign, 0.8, 0.12)) + np.outer(beside, (0, 0.4, 0.15))
                   + np.outer(snarl, (0, 0.45, 0.12)) + np.outer(bridge, (0, -0.25, 0)))
    # AU1: the inner brows up most, the rest of the brow a third as much; the skin between them stays (a person's
    # rises with them, but capture holds it for the head's pose: it read as the head nodding, and faint curves moved
    # with where the crop fell)
    skin_delta("browInnerUp", np.outer(front * np.exp(-(((ax - 1.3) / 3.0) ** 2)) * _smooth(0.3, 1.1, ax)
                                       * _brow_band(y, Y_EYE + 1.5),
                                       (0, 0.62, 0)))
    for shape, depth in _wrinkles(x, y, front).items():
        skin_delta(shape, np.outer(depth, (0, 0, 1)))
    skin_delta("cheekPuff", np.stack([np.sign(x) * 0.9, 0 * x, 0.5 * np.ones_like(x)], -1)
               * (front * _gauss(ax, y, 3.6, -3.2, 1.6, 1.6))[:, None])

    lid_shapes = {"eyeBlink": (0.0, BLINK_LOWER, BLINK_LOWER), "eyeWide": (1.7, 1.1), "eyeSquint": (0.8, 0.2),
                  "eyeLookUp": (1.2, 1.05), "eyeLookDown": (0.65, 0.85), "cheekSquint": (1.0, 0.7),
                  "eyeLookIn": (0.97, 1.0), "eyeLookOut": (0.97, 1.0)}
    for base, lids in lid_shapes.items():
        for suffix, side in (("Left", "l"), ("Right", "r")):
            skin_delta(f"{base}{suffix}", skin.lids({side: lids}) - neutral)
    return {k: v.astype(np.float32) for k, v in out.items()}
