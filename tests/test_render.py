"""Previews: the default head and ICT FaceKit render offscreen, shapes move the right regions, MP4 and GLB."""

import json

import numpy as np
import pytest
import soundfile as sf

from emoface.cli import main
from emoface.render import default_head as head_module
from emoface.render.default_head import ARKIT_SHAPES, default_head
from emoface.render.mesh import load_mesh
from emoface.render.renderer import FaceRenderer
from tests.conftest import SHARED, speak

ICT = SHARED / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"
SIZE = 256


@pytest.fixture(scope="module")
def head():
    return default_head()


@pytest.fixture(scope="module")
def renderer(head):
    with FaceRenderer(head, SIZE) as r:
        yield r


def weights(mesh, **values):
    w = np.zeros(len(mesh.shape_names), np.float32)
    for name, v in values.items():
        w[mesh.shape_index(name)] = v
    return w


def changed(a, b, threshold=12):
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > threshold


def box(image_mask, centre, half):
    c, r = np.round(centre).astype(int)
    return image_mask[r - half:r + half, c - half:c + half]


def test_default_head_has_every_arkit_shape_and_moves_with_each(head):
    assert set(ARKIT_SHAPES) <= set(head.shape_names) and len(ARKIT_SHAPES) == 52
    still = [n for n in ARKIT_SHAPES if np.abs(head.shape_delta(n)).max() < 0.01]
    assert still == []
    names = {p.name for p in head.parts}
    assert {"skin", "teeth_upper", "teeth_lower", "tongue", "mouth", "eyeball_l", "eyeball_r"} <= names


def test_jaw_open_changes_the_mouth_and_not_the_forehead(head, renderer):
    neutral = renderer.render(weights(head))
    jaw = renderer.render(weights(head, jawOpen=1.0))
    diff = changed(neutral, jaw)
    mouth = renderer.project([0, head_module.Y_MOUTH - 0.6, head_module._face_z(0, head_module.Y_MOUTH)])[0]
    forehead = renderer.project([0, head_module.Y_EYE + 3.5, head_module._face_z(0, head_module.Y_EYE + 3.5)])[0]
    assert box(diff, mouth, SIZE // 20).mean() > 0.5
    assert box(diff, forehead, SIZE // 12).mean() == 0
    # the open mouth shows its dark inside: darker pixels where the lips met
    c, r = np.round(mouth).astype(int)
    assert jaw[r - 2:r + 3, c - 4:c + 5].mean() < neutral[r - 2:r + 3, c - 4:c + 5].mean() - 20


def _eye_pixel(head, renderer, side):
    x = head_module.EYE_X if side == "l" else -head_module.EYE_X
    return renderer.project([x, head_module.Y_EYE, head_module._eye_z() + head_module.R_EYE])[0]


def test_blink_closes_the_eye(head, renderer):
    open_eye = renderer.render(weights(head))
    shut = renderer.render(weights(head, eyeBlinkLeft=1.0))
    c, r = np.round(_eye_pixel(head, renderer, "l")).astype(int)
    assert open_eye[r - 1:r + 2, c - 1:c + 2].mean() < 60  # the pupil
    assert shut[r - 1:r + 2, c - 1:c + 2].mean() > 90  # skin over it
    c2, r2 = np.round(_eye_pixel(head, renderer, "r")).astype(int)
    assert shut[r2 - 1:r2 + 2, c2 - 1:c2 + 2].mean() < 60  # only the left eye blinked
    assert c > SIZE / 2  # the character's left eye is on the image's right (we face the character)


def test_blink_brings_the_upper_lid_down(head):
    """As Apple's eyeBlink shows: the upper lid comes down to a lower lid that barely rises, so the shut lids
    meet below the open eye's slit."""
    x = head_module.EYE_X
    rest, shut = head.vertices(weights(head)), head.vertices(weights(head, eyeBlinkLeft=1.0))
    near = (np.abs(rest[:, 0] - x) < 0.3) & (np.abs(rest[:, 1] - head_module.Y_EYE) < 0.8) & \
        (rest[:, 2] > head_module._eye_z())  # the lids over the left eye's centre
    upper, lower = near & (rest[:, 1] > head_module.Y_EYE + 0.2), near & (rest[:, 1] < head_module.Y_EYE - 0.2)
    fall = (rest[upper, 1] - shut[upper, 1]).max()
    rise = (shut[lower, 1] - rest[lower, 1]).max()
    assert fall > 3 * rise > 0


def test_a_shut_lid_closes_no_further(head, renderer):
    """A blink while looking down or squinting renders as the blink alone over the eye: the lids do not pass
    through each other (which showed the iris through a fold)."""
    from emoface.animation import Animation
    from emoface.render.drive import mesh_motion
    from emoface.rigs import CANONICAL_RIG, canonical_names

    anim = Animation.zeros(canonical_names(), 30.0, 3, CANONICAL_RIG)
    anim["EyeBlinkLeft"][:] = 1.0
    anim["EyeLookDownLeft"][1] = anim["EyeSquintLeft"][2] = 1.0
    motion = mesh_motion(anim, head.shape_names)
    c, r = np.round(_eye_pixel(head, renderer, "l")).astype(int)
    shots = [renderer.render(motion.weights[k])[r - 12:r + 13, c - 16:c + 17].astype(int) for k in range(3)]
    for shot in shots[1:]:
        assert np.abs(shot - shots[0]).max() < 40


def _pupil_column(image, centre, half=10):
    c, r = np.round(centre).astype(int)
    patch = image[r - half:r + half, c - half:c + half].astype(int).sum(axis=2)
    rows, cols = np.nonzero(patch < patch.min() + 30)
    return c - half + cols.mean()


def test_gaze_turns_the_irises(head, renderer):
    eye = _eye_pixel(head, renderer, "l")
    ahead = renderer.render(weights(head), eyes=[[0, 0], [0, 0]])
    left = renderer.render(weights(head), eyes=[[20, 0], [20, 0]])
    right = renderer.render(weights(head), eyes=[[-20, 0], [-20, 0]])
    assert _pupil_column(left, eye) > _pupil_column(ahead, eye) + 2 > _pupil_column(right, eye) + 4


def test_mesh_file_round_trip(tmp_path, head):
    path = tmp_path / "head.npz"
    head.save(path)
    back = load_mesh(path)
    assert back.shape_names == head.shape_names and [p.name for p in back.parts] == [p.name for p in head.parts]
    w = weights(head, jawOpen=0.7, mouthSmileLeft=0.5, eyeBlinkRight=1.0)
    np.testing.assert_allclose(back.vertices(w), head.vertices(w), atol=1e-5)
    np.testing.assert_allclose(back.colors(), head.colors(), atol=1 / 255)


@pytest.mark.parametrize("content, problem", [(b"not a zip", "not a blendshape mesh npz"), (None, "lacks")])
def test_bad_mesh_is_one_line(tmp_path, capsys, speech_line, content, problem):
    bad = tmp_path / "bad.npz"
    if content is None:
        np.savez(bad, neutral=np.zeros((3, 3)))
    else:
        bad.write_bytes(content)
    out = tmp_path / "x.mp4"
    assert main(["render", str(speech_line), "-o", str(out), "--mesh", str(bad), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and problem in err[0]
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def _probe(path):
    """(streams text, duration s, video frames) from the bundled ffmpeg."""
    import subprocess

    import imageio_ffmpeg

    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return run.stderr, seconds, frames


def test_render_mp4_has_video_and_audio_of_the_line(tmp_path, capsys):
    wav = speak("Hello there.", tmp_path / "hello.wav")
    info = sf.info(wav)
    out = tmp_path / "hello.mp4"
    glb = tmp_path / "hello.glb"
    assert main(["render", str(wav), "-o", str(out), "--size", "128", "--fps", "25", "--emotion", "happy",
                 "--export", str(glb), "-q"]) == 0
    streams, seconds, frames = _probe(out)
    assert "Video: h264" in streams and "Audio: aac" in streams and "128x128" in streams
    expected = int(np.ceil(info.duration * 25))
    assert frames == expected
    assert abs(seconds - info.duration) < 0.1
    import pygltflib

    gltf = pygltflib.GLTF2().load(str(glb))
    assert gltf.meshes[0].extras["targetNames"][0] in ARKIT_SHAPES
    assert gltf.accessors[gltf.animations[0].samplers[0].input].count == frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello.glb", "hello.mp4", "hello.wav"]


def test_render_a_baked_file_keeps_its_fps_and_finds_its_audio(tmp_path):
    wav = speak("Yes.", tmp_path / "yes.wav")
    baked = tmp_path / "yes.json"
    assert main(["bake", str(wav), "-o", str(baked), "--fps", "24", "--rig", "metahuman", "-q"]) == 0
    out = tmp_path / "yes.mp4"
    assert main(["render", str(baked), "-o", str(out), "--size", "96", "-q"]) == 0
    streams, seconds, frames = _probe(out)
    assert "24 fps" in streams and "Audio: aac" in streams
    assert frames == json.loads(baked.read_text())["frame_count"]


@pytest.mark.slow
def test_emotion_grid_labels_seven_views(tmp_path):
    wav = tmp_path / "tone.wav"
    speak("Hi.", wav)
    out = tmp_path / "grid.mp4"
    assert main(["render", str(wav), "-o", str(out), "--grid", "emotions", "--size", "96", "--fps", "15",
                 "--intensity", "0.5", "-q"]) == 0  # the seven at half strength, as an animator compares them
    streams, _, _ = _probe(out)
    assert "384x192" in streams and "Audio: aac" in streams


def test_bake_glb_format(tmp_path, speech_line):
    out = tmp_path / "line.glb"
    assert main(["bake", str(speech_line), "-o", str(out), "--fps", "30", "-q"]) == 0
    from emoface import formats

    back = formats.read(out)
    assert back.rig == "livelink" and back.fps == 30 and back["JawOpen"].max() > 0.2  # with the head's turns


@pytest.fixture(scope="module")
def ict():
    if not ICT.is_file():
        pytest.skip("../shared/assets/ict-facekit is not present")
    return load_mesh(ICT)


def test_ict_facekit_renders_through_the_same_loader(ict):
    assert len(ict.neutral) == 26719 and len(ict.shape_names) == 57
    assert {p.name for p in ict.parts if p.hidden} >= {"eye_occlusion_l", "lacrimal_r", "eye_blend_l"}
    with FaceRenderer(ict, SIZE) as r:
        neutral = r.render(np.zeros(len(ict.shape_names), np.float32))
        jaw = r.render(weights(ict, jawOpen=1.0))
        blink = r.render(weights(ict, eyeBlink_L=1.0, eyeBlink_R=1.0))
        left = r.render(np.zeros(len(ict.shape_names), np.float32), eyes=[[25, 0], [25, 0]])
        teeth = ict.part("teeth")
        mouth = r.project(ict.neutral[teeth.start:teeth.end].mean(axis=0))[0]
        brow = ict.neutral[ict.part("face").start:ict.part("face").end]
        top = r.project([0, brow[:, 1].max() - 2.0, brow[brow[:, 1] > brow[:, 1].max() - 3, 2].max()])[0]
        eye = ict.part("eyeball_l")
        eye_px = r.project(ict.neutral[eye.start:eye.end][np.argmax(ict.neutral[eye.start:eye.end, 2])])[0]
    assert box(changed(neutral, jaw), mouth, SIZE // 20).mean() > 0.3
    assert box(changed(neutral, jaw), top, SIZE // 16).mean() == 0
    c, row = np.round(eye_px).astype(int)
    assert neutral[row - 1:row + 2, c - 1:c + 2].mean() < 80  # an iris and pupil, not a white ball
    assert blink[row - 1:row + 2, c - 1:c + 2].mean() > neutral[row - 1:row + 2, c - 1:c + 2].mean() + 40
    assert _pupil_column(left, eye_px, 8) > _pupil_column(neutral, eye_px, 8) + 1.5


def _card_before_a_wall(card_faces_the_wall: bool = False):
    """A wall (z = 0) and a card standing 3 units in front of it (facing the camera and light, or turned back to the
    wall as a rolled-out lip's inner side is to the light)."""
    from emoface.render.mesh import BlendshapeMesh, Part, build_deltas

    def quad(half, z, top):
        return np.array([[-half, -half, z], [half, -half, z], [-half, top, z], [half, top, z]], np.float32)

    neutral = np.vstack([quad(6.0, 0.0, 6.0), quad(1.0, 3.0, 1.0)])
    card = np.array([[4, 5, 6], [5, 7, 6]])
    tris = np.vstack([[[0, 1, 2], [1, 3, 2]], card[:, ::-1] if card_faces_the_wall else card])
    # a shape that moves both: a preview frames what the shapes move, so both are in the picture
    names, deltas = build_deltas({"jawOpen": (np.arange(8), np.tile([0.0, -0.1, 0.0], (8, 1)))}, 8)
    return BlendshapeMesh(neutral, tris, names, deltas, [Part("skin", 0, 8)], np.ones((8, 3), np.float32))


def _darker_in_the_cards_shadow(mesh, frame="head", shadows=True) -> float:
    """How much darker the wall is where the card's shadow falls than as far off on its other side (0-255)."""
    from emoface.render.drive import rotation
    from emoface.render.renderer import LIGHTING

    travel = -rotation(*LIGHTING["even" if frame == "face" else "portrait"][1][0])[:, 2]  # the key light's direction
    shadow = np.array([0.0, 0.0, 3.0]) + travel * (3.0 / -travel[2])  # the card's centre cast on the wall
    lit = shadow * [-1, -1, 0]  # as far from the card on its other side: in the key's light
    with FaceRenderer(mesh, 160, frame=frame, shadows=shadows) as renderer:
        image = renderer.render(np.zeros(len(mesh.shape_names), np.float32)).astype(float).mean(axis=2)
        (c0, r0), (c1, r1) = np.round(renderer.project(np.array([shadow, lit]))).astype(int)
    return image[r1 - 2:r1 + 3, c1 - 2:c1 + 3].mean() - image[r0 - 2:r0 + 3, c0 - 2:c0 + 3].mean()


def test_a_preview_key_light_casts_shadows_and_a_measuring_render_does_not():
    """Shadows (the nose's on the cheek, the jaw's on the neck) are what give a preview's face its depth (unless
    `--no-shadows`, for speed); capture's basis and round trip render without them, under the light the shipped
    basis was measured in."""
    mesh = _card_before_a_wall()
    assert _darker_in_the_cards_shadow(mesh) > 40  # 70 of 255
    assert abs(_darker_in_the_cards_shadow(mesh, shadows=False)) < 5
    assert abs(_darker_in_the_cards_shadow(mesh, frame="face")) < 5


def test_a_sheet_turned_from_the_key_light_still_casts_its_shadow():
    """A face is an open sheet: where the key light meets a lip's inner side (a rounded, rolled-out lower lip), the lip
    must still shade the chin under it (pyrender's shadow pass drew only the sides turned to the light: the chin showed
    a lit, jagged patch in the lip's shade)."""
    assert _darker_in_the_cards_shadow(_card_before_a_wall(card_faces_the_wall=True)) > 40
