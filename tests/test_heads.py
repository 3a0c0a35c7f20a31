"""The heads people see: the built-in one (always) and ICT FaceKit (with ../shared): shapes that do what
Apple's reference shows, and a scanned head painted where it brings no textures."""

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from emoface.capture.basis import canonical_shapes
from emoface.render.default_head import default_head
from emoface.render.mesh import is_eyeball, load_mesh

ICT = Path(__file__).resolve().parents[2] / "shared" / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"


HEADS = [pytest.param("built-in", id="built-in"),
         pytest.param("ict", id="ict", marks=pytest.mark.skipif(not ICT.is_file(), reason="needs ../shared"))]


def load(name):
    return default_head() if name == "built-in" else load_mesh(ICT)


def skin_of(mesh) -> np.ndarray:
    """Indices of the face's own skin (the first part: the built-in head's `skin`, ICT's `face`)."""
    part = mesh.parts[0]
    return np.arange(part.start, part.end)


def shape(mesh, canonical: str) -> np.ndarray:
    """[V, 3] motion of a canonical curve at 1.0 (both halves of a split shape)."""
    return sum(mesh.shape_delta(mesh.shape_names[k]) for k in canonical_shapes(mesh.shape_names)[canonical])


@contextmanager
def painted_green(mesh, part_name: str):
    """The mesh with one part drawn pure green, to find it in a render; the cached head is restored after."""
    part = mesh.part(part_name)
    kept = mesh.vertex_colors[part.start:part.end].copy()
    mesh.vertex_colors[part.start:part.end] = (0.0, 1.0, 0.0)
    try:
        yield
    finally:
        mesh.vertex_colors[part.start:part.end] = kept


def green_pixels(image) -> np.ndarray:
    return np.argwhere((image[:, :, 1] > 2 * image[:, :, 0] + 20) & (image[:, :, 1] > 2 * image[:, :, 2] + 20))


def lip_line(mesh) -> np.ndarray:
    """The skin vertices of the line between the lips (the built-in head's mouth is cut along it)."""
    from emoface.render.default_head import MOUTH_HALF, Y_MOUTH

    skin = mesh.neutral[:mesh.parts[0].end]
    return np.flatnonzero((np.abs(skin[:, 1] - Y_MOUTH) < 1e-4) & (np.abs(skin[:, 0]) < MOUTH_HALF + 0.1))


def eyes_and_chin(mesh):
    skin = mesh.neutral[skin_of(mesh)]
    front = skin[:, 2] > np.percentile(skin[:, 2], 60)
    midline = np.flatnonzero((np.abs(skin[:, 0] - np.median(skin[:, 0])) < 0.5) & front)
    chin = skin_of(mesh)[midline[np.argmin(skin[midline, 1])]]
    eye_y = np.mean([c[1] for _, _, c in mesh.eyeballs()])
    return eye_y, chin


@pytest.mark.parametrize("name", HEADS)
def test_jaw_open_drops_the_chin(name):
    mesh = load(name)
    eye_y, chin = eyes_and_chin(mesh)
    drop = -shape(mesh, "JawOpen")[chin, 1]
    assert drop > 0.1 * (eye_y - mesh.neutral[chin, 1])


@pytest.mark.parametrize("name", HEADS)
def test_pucker_narrows_the_mouth(name):
    mesh = load(name)
    skin = skin_of(mesh)
    left = skin[np.argmax(np.abs(shape(mesh, "MouthSmileLeft")[skin]).sum(1))]  # the corners the smiles pull
    right = skin[np.argmax(np.abs(shape(mesh, "MouthSmileRight")[skin]).sum(1))]
    puckered = mesh.neutral + shape(mesh, "MouthPucker")
    rest_w = np.linalg.norm(mesh.neutral[left] - mesh.neutral[right])
    assert np.linalg.norm(puckered[left] - puckered[right]) < 0.85 * rest_w  # ICT FaceKit: 0.81; built-in: 0.61


@pytest.mark.parametrize("name", HEADS)
def test_no_tooth_in_front_of_the_lips_at_rest(name):
    mesh = load(name)
    assert_teeth_behind_the_skin(mesh, mesh.neutral)


@pytest.mark.parametrize("pose", [{"mouthPucker": 1.0}, {"mouthFunnel": 1.0},
                                  {"jawOpen": 0.4, "mouthPucker": 1.0, "mouthFunnel": 1.0}])
def test_rounded_lips_draw_the_skin_over_the_teeth(pose):
    """The built-in head's lips gather two fifths of the mouth's width in: the cheeks drawn after them ride forward
    over the teeth, which stay where they are."""
    mesh = default_head()
    weights = np.zeros(len(mesh.shape_names), np.float32)
    for name, value in pose.items():
        weights[mesh.shape_index(name)] = value
    assert_teeth_behind_the_skin(mesh, mesh.vertices(weights))


def assert_teeth_behind_the_skin(mesh, posed: np.ndarray) -> None:
    """Seen from the front, no tooth is nearer than the face's skin over it (where the lips part, none is)."""
    from scipy.spatial import cKDTree

    teeth = np.concatenate([np.arange(p.start, p.end) for p in mesh.parts if "teeth" in p.name and not p.hidden])
    skin = posed[skin_of(mesh)]
    skin = skin[skin[:, 2] > np.percentile(skin[:, 2], 60)]  # the face, not the back of the head
    tree = cKDTree(skin[:, :2])
    scale = float(np.ptp(mesh.neutral[teeth, 0]))
    for v in posed[teeth]:
        near = tree.query_ball_point(v[:2], 0.05 * scale)
        if near:  # the skin over this tooth, seen from the front
            assert v[2] < skin[near, 2].max(), v


@pytest.mark.skipif(not ICT.is_file(), reason="needs ../shared")
def test_a_head_without_textures_is_painted_readable():
    """ICT FaceKit brings no colours: lash cards are hidden (opaque they draw black bars), brows are painted on
    the skin over the eyes, and the mouth darkens toward its back (an open jaw shows a mouth, not pink)."""
    mesh = load_mesh(ICT)
    assert all(p.hidden for p in mesh.parts if "lash" in p.name)
    colors = mesh.colors()[:, :3].mean(axis=1)
    skin = skin_of(mesh)
    for part, _, centre in mesh.eyeballs():
        r = float(np.median(np.linalg.norm(mesh.neutral[part.start:part.end] - centre, axis=1)))
        v = mesh.neutral[skin]
        above = skin[(np.abs(v[:, 0] - centre[0]) < r) & (v[:, 2] > centre[2]) & (v[:, 1] > centre[1] + r)
                     & (v[:, 1] < centre[1] + 5 * r)]
        darkest = above[colors[above] < np.percentile(colors[above], 15)]
        assert colors[darkest].mean() < 0.6 * np.median(colors[above])  # a brow, not a shadow
        height = (mesh.neutral[darkest, 1] - centre[1]) / r
        assert 1.2 < np.median(height) < 2.6  # over the eye, where brows grow
    mouth = next(p for p in mesh.parts if p.name.startswith("mouth"))
    z, c = mesh.neutral[mouth.start:mouth.end, 2], colors[mouth.start:mouth.end]
    assert c[z < np.percentile(z, 20)].mean() < 0.6 * c[z > np.percentile(z, 80)].mean()
    socket, eyeball = mesh.part("eye_socket_l"), next(p for p in mesh.parts if is_eyeball(p.name))
    assert socket.color != eyeball.color  # the socket lining is not painted as sclera


@pytest.mark.skipif(not ICT.is_file(), reason="needs ../shared")
def test_a_head_without_textures_gets_lips():
    """The vermilion is painted around the mouth opening: redder than the cheeks above and below the middle of
    the mouth, and gone past its corners."""
    from emoface.render.paint import mouth_opening

    mesh = load_mesh(ICT)
    colors = mesh.colors()[:, :3]
    redness = colors[:, 0] / np.maximum(colors[:, 1], 1e-6)
    skin = skin_of(mesh)
    is_skin, is_mouth = np.zeros(mesh.n_vertices, bool), np.zeros(mesh.n_vertices, bool)
    is_skin[skin] = True
    for q in mesh.parts:
        is_mouth[q.start:q.end] |= q.name.startswith(("mouth", "teeth"))
    loop = mesh.neutral[mouth_opening(mesh.neutral, mesh.triangles, is_skin, is_mouth)]
    half, x0 = np.ptp(loop[:, 0]) / 2, np.mean(loop[:, 0])
    p = mesh.neutral[skin]
    band = (p[:, 1] > loop[:, 1].min() - 0.3 * half) & (p[:, 1] < loop[:, 1].max() + 0.3 * half) \
        & (p[:, 2] > loop[:, 2].min() - half)
    lips = skin[band & (np.abs(p[:, 0] - x0) < 0.2 * half)]
    cheeks = skin[band & (np.abs(np.abs(p[:, 0] - x0) - 1.5 * half) < 0.2 * half)]
    eye_y = min(c[1] for _, _, c in mesh.eyeballs())  # the mouth's opening, not an eye's or the neck's edge:
    assert 0.03 < half / np.ptp(mesh.neutral[:, 1]) < 0.12 and eye_y - 8 * half < loop[:, 1].mean() < eye_y - half
    assert len(lips) > 10 and len(cheeks) > 10
    assert np.median(redness[lips]) > 1.2 * np.median(redness[cheeks])
    assert np.median(redness[cheeks]) < 1.05 * np.median(redness[skin])  # past the corners: skin


@pytest.mark.parametrize("pose", [{"jawOpen": 1.0}, {"jawLeft": 1.0}, {"jawRight": 1.0}, {"mouthLeft": 1.0},
                                  {"mouthRight": 1.0}, {"jawOpen": 0.4, "mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
                                  {"mouthFunnel": 1.0}, {"mouthStretchLeft": 1.0, "mouthStretchRight": 1.0},
                                  {"mouthPucker": 1.0}, {"jawOpen": 0.3, "mouthFunnel": 0.5, "mouthPucker": 0.4},
                                  {"jawOpen": 0.4, "mouthFunnel": 1.0, "mouthPucker": 1.0}])
def test_the_mouth_shows_only_between_the_lips(pose):
    """No dark wedge or hole beside the lips in any pose: the inside of the mouth, drawn in a colour of its own,
    is seen only within the opening the lips' edges outline."""
    from matplotlib.path import Path as Outline
    from scipy.spatial import ConvexHull

    from emoface.render.renderer import FaceRenderer

    mesh = default_head()
    edge = lip_line(mesh)
    weights = np.zeros(len(mesh.shape_names))
    for name, value in pose.items():
        weights[mesh.shape_index(name)] = value
    with painted_green(mesh, "mouth"), FaceRenderer(mesh, 256) as renderer:
        image = renderer.render(weights).astype(int)
        lips = renderer.project(renderer.posed_vertices(weights)[edge])
    green = green_pixels(image)
    hull = lips[ConvexHull(lips).vertices]
    centre = hull.mean(axis=0)
    opening = Outline(centre + 1.15 * (hull - centre) + np.sign(hull - centre) * 2)  # a pixel or two of slack
    outside = ~opening.contains_points(green[:, ::-1] + 0.5)
    assert outside.sum() <= 3, f"{outside.sum()} pixels of the mouth's inside show beside the lips"


@pytest.mark.parametrize("pose", [{"jawOpen": 0.4, "mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
                                  {"jawOpen": 0.3, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8},
                                  {"jawOpen": 0.5, "mouthSmileLeft": 1.0},
                                  {"jawOpen": 0.4, "mouthStretchLeft": 1.0, "mouthStretchRight": 1.0},
                                  {"jawOpen": 0.3, "mouthSmileLeft": 1.0, "mouthSmileRight": 1.0,
                                   "mouthLowerDownLeft": 0.6, "mouthLowerDownRight": 0.6}])
def test_a_smile_over_an_open_jaw_shows_no_hole_at_the_corners(pose):
    """The mouth's inside widens with the corners a smile or a stretch draws out: the background had shown
    through the head beside the teeth (a user's preview of a happy line)."""
    from matplotlib.path import Path as Outline
    from scipy.spatial import ConvexHull

    from emoface.render.renderer import BACKGROUND, FaceRenderer

    mesh = default_head()
    edge = lip_line(mesh)
    weights = np.zeros(len(mesh.shape_names))
    for name, value in pose.items():
        weights[mesh.shape_index(name)] = value
    with FaceRenderer(mesh, 512) as renderer:
        image = renderer.render(weights).astype(int)
        lips = renderer.project(renderer.posed_vertices(weights)[edge])
    hull = lips[ConvexHull(lips).vertices]
    seen = np.argwhere(np.abs(image - np.array(BACKGROUND) * 255).sum(-1) < 25)
    through = Outline(hull).contains_points(seen[:, ::-1] + 0.5)
    assert through.sum() <= 10, f"{through.sum()} pixels of background show through the mouth"


@pytest.mark.parametrize("pose", [{"jawOpen": 0.16, "tongueOut": 0.35}, {"tongueOut": 1.0},
                                  {"jawOpen": 0.3, "tongueOut": 1.0}])
def test_the_tongue_comes_out_between_the_lips(pose):
    """A TH (the phonetic engine's jaw, the accents' TongueOut) shows the tongue's tip between the teeth, and a
    tongue out lies between the lips: it had come out through the lower lip, a second lip under the first."""
    from emoface.post.accents import TONGUE_OUT
    from emoface.render.renderer import FaceRenderer

    assert pose.get("tongueOut") in (TONGUE_OUT, 1.0)
    mesh = default_head()
    edge = lip_line(mesh)
    seen = {}
    with painted_green(mesh, "tongue"), FaceRenderer(mesh, 256) as renderer:
        for name, out in (("with", pose), ("without", {**pose, "tongueOut": 0.0})):
            weights = np.zeros(len(mesh.shape_names))
            for shape, value in out.items():
                weights[mesh.shape_index(shape)] = value
            seen[name] = green_pixels(renderer.render(weights).astype(int))
            if name == "with":
                line = renderer.project(renderer.posed_vertices(weights)[edge])[:, 1].mean()
    assert len(seen["with"]) > 2 * len(seen["without"]) + 20, (len(seen["with"]), len(seen["without"]))
    assert abs(np.median(seen["with"][:, 0]) - line) <= 4, "the tongue shows below the lips, not between them"


@pytest.mark.parametrize("pose", [{"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
                                  {"mouthSmileLeft": 0.7, "mouthSmileRight": 0.7, "cheekSquintLeft": 0.56,
                                   "cheekSquintRight": 0.56},
                                  {"noseSneerLeft": 0.7, "noseSneerRight": 0.7}])
def test_a_smile_or_a_sneer_keeps_shut_lips_shut(pose):
    """Happy and disgusted lines have their p/b/m: the built-in head's smile curves the lips and lifts the cheeks,
    its sneer lifts the nose's wings, and neither parts the lips over the teeth (a first smile had)."""
    from emoface.render.renderer import FaceRenderer

    mesh = default_head()
    weights = np.zeros(len(mesh.shape_names))
    for name, value in pose.items():
        weights[mesh.shape_index(name)] = value
    with painted_green(mesh, "teeth_upper"), painted_green(mesh, "mouth"), FaceRenderer(mesh, 256) as renderer:
        assert len(green_pixels(renderer.render(weights).astype(int))) <= 3


@pytest.mark.parametrize("yaw", [0.0, 15.0, -30.0])
def test_a_turned_eye_shows_its_white_into_the_corners(yaw):
    """Where the eye's slit runs past the eyeball (its corners; a turned head's far corner widely) the socket's lining
    shows: a person shows the white running on there and only a little pink at the inner corner (the caruncle).
    An all-pink lining had shown as pink wedges either side of the iris whenever the head turned."""
    from emoface.render.renderer import FaceRenderer

    mesh = default_head()
    weights = np.zeros(len(mesh.shape_names))
    with FaceRenderer(mesh, 512) as renderer:
        image = renderer.render(weights, head=(yaw, 0.0, 0.0)).astype(int)
    pink = seen = 0
    for part in ("eye_socket_l", "eye_socket_r"):
        with painted_green(mesh, part), FaceRenderer(mesh, 512) as renderer:
            where = green_pixels(renderer.render(weights, head=(yaw, 0.0, 0.0)).astype(int))
        colours = image[where[:, 0], where[:, 1]]
        pink += int((colours[:, 0] > 1.4 * colours[:, 1]).sum())
        seen += len(where)
    assert seen > 20  # the lining does show at the corners
    assert pink <= 0.5 * seen, f"{pink} of the {seen} pixels the corners show are pink"


@pytest.mark.parametrize("yaw", [50.0, -50.0])
def test_a_turned_head_shows_no_background_through_its_eyes(yaw):
    """Past the eyeball the slit's corners look into the socket's lining, never through the head (at 50 degrees a
    shallower lining had shown the background at the eyes' inner corners)."""
    from emoface.render.default_head import EYE_X, Y_EYE, _eye_z
    from emoface.render.drive import rotation
    from emoface.render.renderer import FaceRenderer

    mesh = default_head()
    with FaceRenderer(mesh, 512) as renderer:
        renderer.render(np.zeros(len(mesh.shape_names)), head=(yaw, 0.0, 0.0))
        solid = renderer.depth > 0
        turned = (np.array([[cx, Y_EYE, _eye_z()] for cx in (EYE_X, -EYE_X)]) - renderer.pivot) @ \
            rotation(yaw, 0.0, 0.0).T + renderer.pivot
        eyes = renderer.project(turned).astype(int)
    holes = 0
    for col, row in eyes:
        for line in solid[row - 12:row + 13, col - 30:col + 31]:
            drawn = np.flatnonzero(line)
            if len(drawn):
                holes += int((~line[drawn[0]:drawn[-1] + 1]).sum())  # background with the face either side
    assert holes <= 5, f"{holes} pixels of background show through the eyes"


def test_a_sneer_shows_on_the_built_in_head():
    """Disgust reads: the sneer lifts the nose's wings half a centimetre (it had moved them 3.5 mm, unseen)."""
    mesh = default_head()
    lift = shape(mesh, "NoseSneerLeft")[skin_of(mesh), 1]
    assert lift.max() >= 0.5
