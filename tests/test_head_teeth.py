"""The built-in head's teeth read as a person's, not a comb: each tooth its own width along the arch (the upper
central incisors widest, the lower incisors narrow), a small V between neighbours at the edge, a gum that arches
over each tooth, and none of it showing through lips that are shut."""

import numpy as np
import pytest

from emoface.render.default_head import default_head
from tests.test_heads import green_pixels, painted_green


def _outline(mesh, part_name: str, upper: bool, only_gum: bool = False):
    """The part's front face seen from the front, every 0.01 cm across the face: the outline of its edge (the
    lowest y above, the highest below; of its gum alone with only_gum: the gum's margin), and the point there
    (x, z)."""
    part = mesh.part(part_name)
    pos = mesh.neutral
    tris = mesh.triangles[(mesh.triangles >= part.start).all(1) & (mesh.triangles < part.end).all(1)]
    normals = np.zeros_like(pos)
    for k in range(3):
        np.add.at(normals, tris[:, k], np.cross(pos[tris[:, 1]] - pos[tris[:, 0]], pos[tris[:, 2]] - pos[tris[:, 0]]))
    front = normals[:, 2] * np.sign(normals[part.start + np.argmax(pos[part.start:part.end, 2]), 2]) > 0
    if only_gum:
        col = np.asarray(mesh.vertex_colors, float)
        front &= col[:, 0] - col[:, 1] > 0.15  # pink
    seg = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    seg = seg[front[seg].all(1)]
    a, b = pos[seg[:, 0]], pos[seg[:, 1]]
    xs = np.arange(-1.7, 1.7, 0.01)
    t = (xs[None, :] - a[:, :1]) / np.where(np.abs(b[:, :1] - a[:, :1]) > 1e-9, b[:, :1] - a[:, :1], np.nan)
    inside = (t >= 0) & (t <= 1)
    y = np.where(inside, a[:, 1:2] + t * (b[:, 1:2] - a[:, 1:2]), np.nan)
    z = np.where(inside, a[:, 2:3] + t * (b[:, 2:3] - a[:, 2:3]), np.nan)
    pick = np.nanargmin(np.where(np.isnan(y), np.inf, y if upper else -y), axis=0)
    cols = np.arange(len(xs))
    return y[pick, cols], np.stack([xs, z[pick, cols]], -1)


def _peaks(x: np.ndarray, values: np.ndarray, rise: float, reach: float = 0.15) -> list[int]:
    """Indices of local maxima of values along x standing `rise` above the lowest value within `reach` cm on
    each side."""
    out = []
    for i in range(len(values)):
        lo = values[(x >= x[i] - reach) & (x < x[i])]
        hi = values[(x > x[i]) & (x <= x[i] + reach)]
        if (len(lo) and len(hi) and values[i] >= max(lo.max(), hi.max())
                and values[i] - lo.min() >= rise and values[i] - hi.min() >= rise):
            if not out or x[i] - x[out[-1]] > 0.05:
                out.append(i)
    return out


def _teeth_widths(mesh, part_name: str, upper: bool):
    """Tooth widths across the front, between the V's of neighbours' edges (the edge's notches toward the root),
    in cm along the arch, and where each tooth's middle is across the face."""
    edge, at = _outline(mesh, part_name, upper)
    notches = _peaks(at[:, 0], edge if upper else -edge, rise=0.015)
    assert len(notches) >= 5, f"{part_name}: no V between neighbours ({len(notches)} notches)"
    ends = at[notches]
    widths = np.linalg.norm(np.diff(ends, axis=0), axis=1)
    return widths, (ends[1:, 0] + ends[:-1, 0]) / 2


def test_teeth_are_each_their_own_width_the_upper_central_incisors_widest():
    mesh = default_head()
    widths, middles = _teeth_widths(mesh, "teeth_upper", upper=True)
    order = np.argsort(np.abs(middles))
    centrals, others = widths[order[:2]], widths[order[2:]]
    assert np.all(np.abs(middles[order[:2]]) < 0.6)  # one each side of the middle
    assert centrals.min() > 1.1 * others.max(), (widths, middles)
    assert widths.max() > 1.2 * widths.min()  # not a comb of equal teeth
    lower, lower_middles = _teeth_widths(mesh, "teeth_lower", upper=False)
    lower_centrals = lower[np.argsort(np.abs(lower_middles))[:2]]
    assert lower_centrals.max() < 0.75 * centrals.min()  # a lower incisor is narrow (5 mm against 8.5)


def test_the_gum_arches_over_each_tooth():
    """The gum's margin on the front runs up over each upper tooth and down between neighbours (a straight gum
    line reads as a denture)."""
    mesh = default_head()
    gum, at = _outline(mesh, "teeth_upper", upper=True, only_gum=True)
    near = (np.abs(at[:, 0]) < 1.4) & ~np.isnan(gum)
    x, margin = at[near, 0], gum[near]
    assert np.ptp(margin) > 0.1
    assert len(_peaks(x, margin, rise=0.03, reach=0.25)) >= 4  # over both central and lateral incisors at least
    assert len(_peaks(x, -margin, rise=0.03, reach=0.25)) >= 3  # the papillae between them


@pytest.mark.parametrize("pose", [{}, {"mouthRollLower": 1.0}, {"mouthPucker": 1.0}, {"mouthClose": 0.3,
                                                                                       "jawOpen": 0.3}])
def test_no_tooth_shows_through_shut_lips(pose):
    """A shut mouth hides its teeth: not a pixel of either arch in the render."""
    from emoface.render.renderer import FaceRenderer

    mesh = default_head()
    weights = np.zeros(len(mesh.shape_names))
    for name, value in pose.items():
        weights[mesh.shape_index(name)] = value
    with painted_green(mesh, "teeth_upper"), painted_green(mesh, "teeth_lower"), FaceRenderer(mesh, 256) as renderer:
        assert len(green_pixels(renderer.render(weights).astype(int))) == 0


def test_the_lower_teeth_ride_on_the_jaw():
    """Opening the jaw carries the lower teeth down with the chin; the upper teeth stay."""
    mesh = default_head()
    lower, upper = mesh.part("teeth_lower"), mesh.part("teeth_upper")
    weights = np.zeros(len(mesh.shape_names))
    weights[mesh.shape_index("jawOpen")] = 1.0
    moved = mesh.vertices(weights) - mesh.neutral
    assert moved[lower.start:lower.end, 1].max() < -0.3
    assert np.abs(moved[upper.start:upper.end]).max() < 1e-6


@pytest.mark.parametrize("pose", [{"jawOpen": 0.2}, {"jawOpen": 0.4}, {"mouthRollLower": 1.0, "jawOpen": 0.1}])
def test_an_open_mouth_shows_the_upper_teeth(pose):
    """A person's upper incisors reach a few millimetres below the upper lip, over the lower ones: they show in an
    open mouth and rest on the lower lip in an F. Their edges had stopped a millimetre under the lips' line, hidden
    behind the upper lip (2 pixels of them here), and a talking mouth read as toothless."""
    from emoface.render.renderer import FaceRenderer

    mesh = default_head()
    weights = np.zeros(len(mesh.shape_names))
    for name, value in pose.items():
        weights[mesh.shape_index(name)] = value
    with painted_green(mesh, "teeth_upper"), FaceRenderer(mesh, 256) as renderer:
        assert len(green_pixels(renderer.render(weights).astype(int))) >= 25
