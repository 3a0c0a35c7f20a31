"""The built-in head's skin is a texture, not vertex colours: lips, brows, lash lines and the hairline drawn at the
texture's resolution (vertex colours had drawn them as staircases at the grid's spacing), and what it draws travels
with a saved head."""

import copy

import numpy as np
import pytest

from emoface.errors import InputError
from emoface.render import default_head as head_module
from emoface.render.default_head import default_head
from emoface.render.mesh import load_mesh
from emoface.render.renderer import BACKGROUND, FaceRenderer


def still(mesh, **weights):
    w = np.zeros(len(mesh.shape_names), np.float32)
    for name, value in weights.items():
        w[mesh.shape_index(name)] = value
    return w


def test_the_texture_draws_what_the_vertex_colours_only_sampled():
    """Texels under a vertex have the vertex's colour (one painter for both), and between vertices the texture
    holds detail the grid cannot: across the upper lip's border it changes within a fraction of a grid row."""
    mesh = default_head()
    skin = mesh.part("skin")
    h, w = mesh.texture.shape[:2]
    uv = mesh.uv[skin.start:skin.end]
    cols = np.clip((uv[:, 0] * w).astype(int), 0, w - 1)
    rows = np.clip(((1 - uv[:, 1]) * h).astype(int), 0, h - 1)
    front = mesh.neutral[skin.start:skin.end, 2] > 5
    texel = mesh.texture[rows, cols].astype(float) / 255
    near = np.abs(texel - mesh.vertex_colors[skin.start:skin.end]).max(axis=1)[front]
    assert np.median(near) < 0.03
    # one grid row at the lips spans several texture rows, and the border's colour change is finer than a row
    lips = np.flatnonzero(front & (np.abs(mesh.neutral[skin.start:skin.end, 0]) < 0.2)
                          & (np.abs(mesh.neutral[skin.start:skin.end, 1] - head_module.Y_MOUTH - 0.9) < 0.4))
    assert len(lips) >= 2
    grid_rows = np.ptp(rows[lips]) / max(len(np.unique(rows[lips])) - 1, 1)
    column = mesh.texture[rows[lips].min() - 5:rows[lips].max() + 5, cols[lips][0]].astype(float)
    redness = column[:, 0] - column[:, 1]
    steps = np.abs(np.diff(redness))
    assert grid_rows >= 3 and (steps > 0.25 * steps.max()).sum() < grid_rows


def test_a_saved_head_keeps_its_texture_and_renders_the_same(tmp_path):
    mesh = default_head()
    mesh.save(tmp_path / "head.npz")
    loaded = load_mesh(tmp_path / "head.npz")
    assert np.array_equal(loaded.texture, mesh.texture) and np.array_equal(loaded.texture_roughness,
                                                                           mesh.texture_roughness)
    assert [p.textured for p in loaded.parts] == [p.textured for p in mesh.parts]
    assert loaded.part("skin").textured and not loaded.part("eyeball_l").textured
    with FaceRenderer(mesh, 96) as a, FaceRenderer(loaded, 96) as b:
        assert np.abs(a.render(still(mesh)).astype(int) - b.render(still(loaded)).astype(int)).max() <= 2


def test_the_hairs_matte_follows_the_drawn_hairline():
    """Roughness per texel: hair matte, skin with a sheen, lips glossier; the hair part's own edge runs along the
    grid's triangles, and where it and the drawn hairline disagreed the sheen had shown as grey steps."""
    mesh = default_head()
    rough = mesh.texture_roughness.astype(float) / 255
    hair = mesh.texture.astype(float).mean(axis=2) < 70
    assert rough[hair].mean() > 0.9 and np.median(rough[~hair]) < 0.7
    assert rough.min() < head_module.SKIN_ROUGHNESS - 0.05  # the lips


@pytest.mark.parametrize("pose, head", [({}, (0, 0, 0)), ({"jawOpen": 0.7}, (0, 0, 0)),
                                        ({"eyeWideLeft": 1.0, "eyeWideRight": 1.0}, (0, 0, 0)),
                                        ({}, (25, 0, 0)), ({}, (-25, 5, 0))])
def test_no_background_shows_through_the_face(pose, head):
    """The lid slits are longer than the eyeballs are wide: at their corners the picture looked through the head
    to the background, until a socket lining sat behind each eye (wide enough that a turned head's view through a
    corner meets it too)."""
    from emoface.render.drive import rotation

    mesh = default_head()
    with FaceRenderer(mesh, 384) as renderer:
        image = renderer.render(still(mesh, **pose), head=head).astype(int)
        z = float(head_module._eye_z()) + head_module.R_EYE
        corners = np.array([[cx + s * head_module.EYE_HALF * 0.95, head_module.Y_EYE, z]
                            for cx in (-head_module.EYE_X, head_module.EYE_X) for s in (-1, 1)])
        turned = (corners - renderer.pivot) @ rotation(*head).T + renderer.pivot
        pixels = renderer.project(turned)
    for col, row in pixels.round().astype(int):
        patch = image[row - 2:row + 3, col - 2:col + 3]
        assert (np.abs(patch - np.array(BACKGROUND) * 255).max(axis=2) > 6).all(), (col, row)


def test_a_texture_without_its_coordinates_is_refused_in_one_line(tmp_path):
    mesh = default_head()
    mesh.save(tmp_path / "head.npz")
    with np.load(tmp_path / "head.npz") as z:
        arrays = dict(z)
    for change, words in (({"uv": arrays["uv"][:10]}, "a texture needs uv"),
                          ({"texture": arrays["texture"].astype(np.float32)}, "texture must be uint8"),
                          ({"texture_roughness": arrays["texture_roughness"][:5]}, "texture_roughness must be")):
        np.savez(tmp_path / "bad.npz", **{**arrays, **change})
        with pytest.raises(InputError) as err:
            load_mesh(tmp_path / "bad.npz")
        assert words in str(err.value) and "\n" not in str(err.value)


def test_a_head_without_a_texture_renders_its_vertex_colours():
    """Heads that bring no texture (ICT FaceKit's pack, most files) render as before."""
    mesh = copy.copy(default_head())
    mesh.texture = mesh.uv = mesh.texture_roughness = None
    with FaceRenderer(mesh, 64) as renderer:
        image = renderer.render(still(mesh))
    assert (np.abs(image.astype(int) - np.array(BACKGROUND) * 255).max(axis=2) > 12).mean() > 0.3
