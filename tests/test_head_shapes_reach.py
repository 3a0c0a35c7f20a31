"""The built-in head's expression shapes reach about as far as a person's: the sneer (AU9), the upper lip raise
(AU10), the chin raise (mouthShrugLower, AU17), the upper lip's shrug, the lip press (AU24), the dimple (AU14) and
the lid squint. They had moved 40-75% as far as ICT FaceKit's scanned person's (the chin raise 3.8 mm against
11.3 at most), and disgust, anger and sadness, built from them, read weakly in previews."""

from pathlib import Path

import numpy as np
import pytest

from emoface.render.default_head import EYE_X, MOUTH_HALF, R_EYE, Y_EYE, Y_MOUTH, _eye_z, brow_line, default_head

ICT = Path(__file__).resolve().parents[2] / "shared" / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"
PAIRS = [("noseSneerLeft", "noseSneer_L"), ("mouthUpperUpLeft", "mouthUpperUp_L"),
         ("mouthShrugLower", "mouthShrugLower"), ("mouthShrugUpper", "mouthShrugUpper"),
         ("mouthPressLeft", "mouthPress_L"), ("mouthDimpleLeft", "mouthDimple_L"), ("eyeSquintLeft", "eyeSquint_L"),
         ("mouthStretchLeft", "mouthStretch_L")]


def skin_delta_mm(mesh, name: str) -> np.ndarray:
    """The shape's per-vertex displacement at weight 1, in mm; on the skin where the head has a part of that name
    (the built-in head's dark mouth inside moves further than the lips, out of sight)."""
    delta = mesh.shape_delta(name) * mesh.metres_per_unit() * 1000
    skin = mesh.part("skin")
    return delta[skin.start:skin.end] if skin is not None else delta


def reach_mm(mesh, name: str) -> tuple[float, float]:
    """(most, 90th percentile) of the shape's displacement on the skin, in mm, over the vertices it moves by more
    than 0.3 mm."""
    moved = np.linalg.norm(skin_delta_mm(mesh, name), axis=1)
    moved = moved[moved > 0.3]
    return float(moved.max()), float(np.percentile(moved, 90))


@pytest.fixture(scope="module")
def ict():
    from emoface.render.mesh import load_mesh

    return load_mesh(ICT)


@pytest.mark.skipif(not ICT.is_file(), reason="needs ../shared")
@pytest.mark.parametrize("ours,theirs", PAIRS, ids=[p[0] for p in PAIRS])
def test_a_shape_reaches_about_as_far_as_a_persons(ours, theirs, ict):
    """At least 0.7 of ICT FaceKit's most and 0.6 of its 90th percentile, and no caricature (1.5 times at most).
    Before: most 0.34-0.63 of ICT's (chin raise 3.8 / 11.3 mm), 90th percentile 0.39-0.71; after (2026-12-05):
    most 0.75-0.96, 90th percentile 0.67 (squint, 1.8 / 2.6 mm) to 1.13 (press, 2.6 / 2.3 mm). The stretch (AU20,
    fear's lips) from 2026-12-06: 6.6 -> 10.3 mm at most (ICT 10.3)."""
    (most, p90), (their_most, their_p90) = reach_mm(default_head(), ours), reach_mm(ict, theirs)
    assert 0.7 * their_most <= most <= 1.5 * their_most, (most, their_most)
    assert 0.6 * their_p90 <= p90 <= 1.5 * their_p90, (p90, their_p90)


@pytest.fixture(scope="module")
def skin():
    mesh = default_head()
    part = mesh.part("skin")
    pos = mesh.neutral[part.start:part.end]

    def moved(name):  # the skin's displacement in mm
        return mesh.shape_delta(name)[part.start:part.end] * mesh.metres_per_unit() * 1000

    return pos, moved


def test_the_shapes_move_the_face_where_facs_says(skin):
    """Without ../shared: each shape moves the part of the face its action unit moves, by a person's millimetres
    (before -> after, medians over the region unless said)."""
    (x, y, z), moved = skin[0].T, skin[1]
    dm = y - Y_MOUTH
    left_lip = (x > 0.5) & (x < 1.5)
    over_lip = left_lip & (dm > 0.3) & (dm < 1.0)  # the upper lip's red and the skin over it, centre-side
    sneer = moved("noseSneerLeft")
    assert np.median(sneer[over_lip, 1]) >= 3.5  # 2.6 -> 4.2: the upper lip goes up with the nose's wing
    assert np.median(sneer[(np.abs(x - 1.0) < 0.5) & (np.abs(y + 0.9) < 0.4), 1]) >= 6.0  # the wing: 4.7 -> 7.1
    assert np.median(np.abs(sneer[(x < -0.5) & (x > -1.5) & (dm > 0.3) & (dm < 1.0), 1])) < 1.0  # one side
    raise_ = moved("mouthUpperUpLeft")
    assert np.median(raise_[over_lip, 1]) >= 3.5  # 1.9 -> 4.1
    assert raise_[left_lip & (np.abs(dm) < 1e-6), 1].max() >= 6.0  # its edge, baring the teeth: 5.3 -> 7.0
    chin = moved("mouthShrugLower")[(np.abs(x) < 1.0) & (np.abs(y + 6.0) < 0.6)]
    assert np.median(chin[:, 1]) >= 4.0 and np.median(chin[:, 2]) >= 1.5  # up 1.4 -> 6.4, forward 0.6 -> 2.9
    assert np.median(moved("mouthShrugUpper")[(np.abs(x) < 0.8) & (dm > 0.2) & (dm < 0.8), 1]) >= 2.0  # 0.8 -> 2.6
    press = moved("mouthPressLeft")  # the red narrows: each lip's outer border toward the line between them
    assert np.median(press[left_lip & (dm > 0.6) & (dm < 0.9), 1]) <= -1.0  # 0.0 -> -1.7
    assert np.median(press[left_lip & (dm < -0.7) & (dm > -1.0), 1]) >= 1.0  # 0.0 -> 3.3
    assert np.abs(press[left_lip & (np.abs(dm) < 0.05), 1]).max() < 0.5  # the line stays (the lips had crossed)
    corner = moved("mouthDimpleLeft")[(np.abs(x - MOUTH_HALF) < 0.4) & (np.abs(dm) < 0.4)]
    assert np.median(corner[:, 2]) <= -5.0  # the corner pulled back: 3.8 -> 6.1 mm
    lid = (np.abs(x - EYE_X) < 0.5) & (y < Y_EYE - 0.2) & (y > Y_EYE - 0.6)
    assert moved("eyeSquintLeft")[lid, 1].max() >= 3.0  # the lower lid rises 2.2 -> 3.2 mm


@pytest.mark.parametrize("pose", [{}, {"eyeSquintLeft": 1.0}, {"eyeBlinkLeft": 1.0, "eyeSquintLeft": 1.0},
                                  {"eyeBlinkLeft": 0.5, "eyeSquintLeft": 1.0},
                                  {"eyeBlinkLeft": 1.0, "eyeSquintLeft": 1.0, "cheekSquintLeft": 1.0},
                                  {"eyeSquintLeft": 1.0, "eyeLookDownLeft": 1.0}])
def test_a_squinting_lid_stays_in_front_of_the_eyeball(pose):
    """The lids cover the eyeball, never cut into it, with the squint's higher lower lid, with a blink or not
    (the least clearance 0.5 mm, blink and squint together)."""
    mesh = default_head()
    weights = np.zeros(len(mesh.shape_names))
    for name, value in pose.items():
        weights[mesh.shape_index(name)] = value
    part = mesh.part("skin")
    p = mesh.vertices(weights)[part.start:part.end]
    r2 = R_EYE ** 2 - (p[:, 0] - EYE_X) ** 2 - (p[:, 1] - Y_EYE) ** 2
    over = (r2 > 0) & (p[:, 2] > _eye_z())
    assert (p[over, 2] - (_eye_z() + np.sqrt(r2[over]))).min() > 0.02


def _eyes(mesh) -> tuple[float, float, float]:
    """The eyeballs' centre: distance from the midline, height, depth."""
    x, y, z = np.mean([np.abs(c) for _, _, c in mesh.eyeballs()], axis=0)
    return x, y, z


def _brow_profile(mesh, name: str) -> np.ndarray:
    """A brow shape's most vertical motion (mm, signed) along the brow, in bands of a fifth of the eye's distance
    from the midline, from the brow's head out (the skin over the eye's height to 3 cm above it, on the face's
    front, left side). The band over the midline is left out: the built-in head keeps the skin between the brows
    still, which capture holds for the head's pose."""
    ex, ey, ez = _eyes(mesh)
    p = mesh.neutral
    band = (p[:, 1] > ey + 0.6) & (p[:, 1] < ey + 3.0) & (p[:, 2] > ez - 0.2) & (p[:, 0] > 0)
    if name in mesh.shape_names:
        dy = mesh.shape_delta(name)[:, 1]
    else:  # ICT FaceKit's inner brow raise is a shape a side
        dy = mesh.shape_delta(f"{name}_L")[:, 1] + mesh.shape_delta(f"{name}_R")[:, 1]
    out = []
    for lo in np.arange(0.2, 1.8, 0.2):
        d = dy[band & (p[:, 0] / ex >= lo) & (p[:, 0] / ex < lo + 0.2)]
        out.append(d[np.argmax(np.abs(d))])
    return np.array(out) * mesh.metres_per_unit() * 1000


BROWS = [("browInnerUp", "browInnerUp"), ("browOuterUpLeft", "browOuterUp_L"), ("browDownLeft", "browDown_L")]


@pytest.mark.skipif(not ICT.is_file(), reason="needs ../shared")
@pytest.mark.parametrize("ours,theirs", BROWS, ids=[p[0] for p in BROWS])
def test_a_brow_moves_along_its_length_as_a_persons(ours, theirs, ict):
    """Along the brow, within a quarter of ICT FaceKit's most at every point. Before (2026-12-06), the lowering
    went 7.5 mm down against 3.8 and, beside the inner raise in sadness, flattened the brow's oblique; the outer
    raise lifted 5.5 mm over the tail alone (ICT: 8.0, from the eye's middle out); the inner raise stopped at the
    brow's middle (0.7 mm at the eye's outer corner, ICT 3.8)."""
    mine, person = _brow_profile(default_head(), ours), _brow_profile(ict, theirs)
    assert np.abs(mine - person).max() <= 0.25 * np.abs(person).max(), (mine.round(1), person.round(1))


@pytest.mark.skipif(not ICT.is_file(), reason="needs ../shared")
def test_a_wide_eye_lifts_its_lid_as_far_as_a_persons(ict):
    """The upper lid's rise at eyeWide 1: 2.3 mm before (ICT FaceKit 3.4), so a surprised face showed no white
    over the iris."""
    def rise(mesh, name):
        _, ey, ez = _eyes(mesh)
        p = mesh.neutral
        lid = (p[:, 1] > ey) & (p[:, 1] < ey + 1.5) & (p[:, 2] > ez) & (p[:, 0] > 0)
        return mesh.shape_delta(name)[lid, 1].max() * mesh.metres_per_unit() * 1000

    assert 0.85 <= rise(default_head(), "eyeWideLeft") / rise(ict, "eyeWide_L") <= 1.3


def test_sad_and_surprised_brows_read(skin):
    """Without ../shared: the network's brows for sadness and surprise at intensity 1 (its silent face) move the
    built-in head's brows as a person's would show them (mm on the brow's line, head / middle / tail). Sadness
    raises the brow's head most (before: head +2.1, middle -1.5: a frown's brow, not a sad one; now +2.5 / +1.1 /
    +0.2); surprise lifts the whole brow (before: +3.6 / +1.9 / +2.5, a barely raised brow; now +4.3 / +5.9 / +4.2)
    and bares the white over the iris (the wide eye's lid up 1.1 -> 1.7 mm)."""
    pos, moved = skin
    x, y, z = pos.T

    def on_brow(ax):  # the brow's line, as the skin's paint draws it
        return (np.abs(x - ax) < 0.25) & (np.abs(y - brow_line(ax)[1]) < 0.25) & (z > 5)

    def lift(pose, where):
        return np.median(sum(w * moved(n) for n, w in pose.items())[where, 1])

    head, middle, tail = on_brow(1.2), on_brow(3.0), on_brow(4.8)
    sad = {"browInnerUp": 0.54, "browDownLeft": 0.31}
    assert lift(sad, head) >= 2.4 and lift(sad, head) - lift(sad, tail) >= 2.0 and lift(sad, middle) > 0
    surprise = {"browInnerUp": 0.61, "browOuterUpLeft": 0.52, "eyeWideLeft": 0.48}
    assert min(lift(surprise, head), lift(surprise, tail)) >= 3.3 and lift(surprise, middle) >= 5.0
    lid = (np.abs(x - EYE_X) < 0.3) & (y > Y_EYE) & (y < Y_EYE + 0.7) & (z > 5)
    assert 0.48 * moved("eyeWideLeft")[lid, 1].max() >= 1.5


def forward_mm(mesh, name: str) -> float:
    """How far forward (+z) the shape brings the skin at most, in mm."""
    return float(skin_delta_mm(mesh, name)[:, 2].max())


@pytest.mark.skipif(not ICT.is_file(), reason="needs ../shared")
@pytest.mark.parametrize("ours,theirs", [("mouthPucker", "mouthPucker"), ("mouthFunnel", "mouthFunnel")])
def test_rounded_lips_come_forward_as_far_as_a_persons_not_a_snout(ours, theirs, ict):
    """ICT FaceKit's scanned pucker brings the lips 11 mm forward, its funnel 10; this head's had gone 17 and 15.5,
    and their shadow reached the jaw."""
    most, their_most = forward_mm(default_head(), ours), forward_mm(ict, theirs)
    assert 0.8 * their_most <= most <= 1.35 * their_most, (most, their_most)


@pytest.mark.parametrize("name", ["mouthPucker", "mouthFunnel"])
def test_rounding_fades_past_the_mouths_corners_without_a_crease(name, skin):
    """Along the rows under the lips, the forward move's slope changes gently from one vertex to the next (at most
    0.2 mm per mm, per vertex; now 0.06). It had stopped at the corners at a slope (a change of 0.76-1.01), a crease
    from each corner down to the jaw that the key light drew on every rounded vowel."""
    pos, moved = skin
    forward = moved(name)[:, 2]
    for below in (0.5, 1.0, 1.5, 2.0):
        row = np.flatnonzero((np.abs(pos[:, 1] - (Y_MOUTH - below)) < 0.06) & (pos[:, 2] > 3) & (np.abs(pos[:, 0]) < 5))
        row = row[np.argsort(pos[row, 0])]
        slope = np.diff(forward[row]) / np.maximum(np.diff(pos[row, 0]) * 10, 1e-6)
        assert np.abs(np.diff(slope)).max() < 0.2, below
