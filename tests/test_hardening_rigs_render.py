"""Issue 11, rigs and previews: bad rig profiles and meshes are one line naming the file (10, 15, 17), signed
profile curves keep their sign and a file baked on a custom rig reads back (10), render refuses options it would
ignore (12, 15), and a baked file finds its audio from anywhere (20)."""

import json
import shutil
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from emoface import formats
from emoface.animation import Animation
from emoface.cli import main
from emoface.errors import InputError
from emoface.render.inputs import read_animation, source_audio
from emoface.render.mesh import BlendshapeMesh, Part, build_deltas, load_mesh
from emoface.rigs import canonical_names, load_rig, retarget


def _profile(tmp_path, data, name="mychar.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _canonical(**values) -> Animation:
    anim = Animation.zeros(canonical_names(), 30, 1, "livelink")
    for name, v in values.items():
        anim[name] = v
    return anim


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("emoface: error: "), err
    return err[0]


def _wav(path, seconds=0.6):
    """A voiced tone: enough for the network to move the jaw, short enough to render fast."""
    t = np.arange(int(16000 * seconds)) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 160 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone.astype(np.float32), 16000)
    return path


def _streams(path) -> str:
    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True)
    return run.stderr


YAW = {"name": "mychar", "curves": {"Yaw": {"HeadYaw": 180}, "Mouth_Open": {"JawOpen": 1.0},
                                    "Smile": {"MouthSmileLeft": 0.5, "MouthSmileRight": 0.5}}}


# --- 10: profiles are validated; signed curves keep their sign; baked custom-rig files read back -------------

@pytest.mark.parametrize("weight", ["NaN", "Infinity", "-Infinity", '"abc"', "true", "1e300", "null"])
def test_profile_weight_must_be_a_finite_number(tmp_path, capsys, weight):
    path = _profile(tmp_path, '{"name": "mychar", "curves": {"Mouth_Open": {"JawOpen": %s}}}' % weight)
    with pytest.raises(InputError) as err:
        load_rig(str(path))
    assert str(path) in str(err.value) and "Mouth_Open" in str(err.value) and "JawOpen" in str(err.value)
    out = tmp_path / "line.json"
    assert main(["bake", str(_wav(tmp_path / "line.wav")), "-o", str(out), "--rig", str(path), "-q"]) == 2
    assert str(path) in _one_error_line(capsys)
    assert not out.exists()


def test_map_form_keeps_negative_values(tmp_path):
    """{"Yaw": {"HeadYaw": 180}} is degrees both ways: without a range, a curve that can go negative is not
    clipped (it was clamped to 0-1, losing every turn to the right)."""
    rig = load_rig(str(_profile(tmp_path, YAW)))
    out = retarget(_canonical(HeadYaw=-0.1, JawOpen=0.5), rig)
    assert out["Yaw"][0] == pytest.approx(-18.0) and out["Mouth_Open"][0] == pytest.approx(0.5)
    assert retarget(_canonical(HeadYaw=0.25), rig)["Yaw"][0] == pytest.approx(45.0)
    # a curve that can only be positive is a blend shape weight: it saturates at 1 as before
    gain = load_rig(str(_profile(tmp_path, {"name": "gain", "curves": {"Jaw": {"JawOpen": 2.0}}}, "gain.json")))
    assert retarget(_canonical(JawOpen=0.8), gain)["Jaw"][0] == pytest.approx(1.0)


def test_range_form_in_either_layout(tmp_path):
    as_map = {"name": "a", "curves": {"Yaw": {"from": {"HeadYaw": 180}, "range": [-90, 90]}}}
    as_list = {"name": "b", "curves": [{"name": "Yaw", "from": {"HeadYaw": 180}, "range": [-90, 90]}]}
    for data in (as_map, as_list):
        rig = load_rig(str(_profile(tmp_path, data, data["name"] + ".json")))
        assert retarget(_canonical(HeadYaw=-0.75), rig)["Yaw"][0] == pytest.approx(-90.0)
        assert retarget(_canonical(HeadYaw=0.1), rig)["Yaw"][0] == pytest.approx(18.0)


@pytest.mark.parametrize("fmt", ["json", "npz"])
def test_a_file_baked_on_a_custom_rig_reads_back_renders_and_plots(tmp_path, capsys, fmt):
    """The baked file carries its profile: the profile file can be gone, render and plot still work, and the
    curves it maps come back as the canonical curves they came from."""
    wav = _wav(tmp_path / "line.wav")
    profile = _profile(tmp_path, YAW)
    custom, live = tmp_path / f"custom.{fmt}", tmp_path / f"live.{fmt}"
    for out, rig in ((custom, str(profile)), (live, "livelink")):
        assert main(["bake", str(wav), "-o", str(out), "--rig", rig, "--fps", "10", "--seed", "2", "-q"]) == 0
    profile.unlink()
    back, ref = read_animation(custom), read_animation(live)
    assert back.rig == "livelink" and back.n_frames == ref.n_frames
    for name in ("HeadYaw", "JawOpen", "MouthSmileLeft"):
        np.testing.assert_allclose(back[name] if name != "MouthSmileLeft" else
                                   (back["MouthSmileLeft"] + back["MouthSmileRight"]),
                                   ref[name] if name != "MouthSmileLeft" else
                                   (ref["MouthSmileLeft"] + ref["MouthSmileRight"]), atol=2e-6)
    assert np.abs(ref["HeadYaw"]).max() > 0  # the head moves, so the round trip is not vacuous
    assert main(["plot", str(custom), "-o", str(tmp_path / "c.png")]) == 0
    assert main(["render", str(custom), "-o", str(tmp_path / "c.mp4"), "--size", "64", "-q"]) == 0
    assert "Audio: aac" in _streams(tmp_path / "c.mp4")


def test_an_old_custom_rig_file_without_its_profile_says_so(tmp_path):
    anim = Animation.zeros(["Yaw"], 30, 2, "mychar", {"source": "x.wav"})
    path = formats.write_atomic(formats.get("json"), anim, tmp_path / "old.json")
    with pytest.raises(InputError, match="carries no rig profile") as err:
        read_animation(path)
    assert str(path) in str(err.value)


# --- 15: every bad profile field is one line naming the file and the problem ------------------------------

BOARD = {"name": "myboard", "kind": "board", "expressions": "metahuman-expressions"}


@pytest.mark.parametrize("data, problem", [
    ({"name": "x"}, "no curves"),
    ([1, 2], "JSON object"),
    ({"name": ["x"], "curves": {"A": {"JawOpen": 1}}}, "name must be a non-empty string"),
    ({"curves": {"A": {"JawOpen": 1}}}, "name must be a non-empty string"),
    ({"name": "x", "curves": [{"name": ["x"], "from": {"JawOpen": 1}}]}, "curve 1 name must be a non-empty string"),
    ({"name": "x", "curves": [{"from": {"JawOpen": 1}}]}, "curve 1 name must be a non-empty string"),
    ({"name": "x", "curves": ["JawOpen"]}, "curve 1: expected an object"),
    ({"name": "x", "curves": {"A": {"JawOpen": "abc"}}}, "weight of 'JawOpen' must be a number"),
    ({"name": "x", "curves": {"A": 1.0}}, "expected a map of canonical curve names to weights"),
    ({"name": "x", "curves": [{"name": "A", "from": {"JawOpen": 1}, "range": [0]}]}, "must be [low, high]"),
    ({"name": "x", "curves": [{"name": "A", "from": {"JawOpen": 1}, "range": "0-1"}]}, "must be [low, high]"),
    ({"name": "x", "curves": [{"name": "A", "from": {"JawOpen": 1}, "range": [1, 0]}]}, "low < high"),
    ({"name": "x", "curves": [{"name": "A", "from": {"JawOpen": 1}, "range": [0, "1"]}]}, "must be a number"),
    ({"name": "x", "curves": [{"name": "A", "from": {"JawOpen": 1}, "rnage": [0, 1]}]}, "unknown key 'rnage'"),
    ({"name": "x", "curves": [{"name": "A", "from": {}}, {"name": "A", "from": {}}]}, "appears twice"),
    ({"name": "x", "curves": {"A": {"JawOpen": 1}}, "kind": "bones"}, "kind must be"),
    ({"name": "arkit", "curves": {"A": {"JawOpen": 1}}}, "built-in rig"),
    (BOARD, "no controls"),
    ({**BOARD, "expressions": "nosuchrig"}, "expressions: nosuchrig: unknown rig"),
    ({**BOARD, "controls": [{"name": "c"}]}, "control 'c' has no range"),
    ({**BOARD, "controls": [{"name": "c", "range": [1, 1]}]}, "two different ends"),
    ({**BOARD, "controls": [{"name": "c", "range": [0, 1], "positive": ["nope"]}]}, "unknown curve 'nope'"),
    ({**BOARD, "controls": [{"name": "c", "range": [0, 1], "positive": "CTRL_x"}]}, "list of curve names"),
])
def test_bad_profile_is_one_line(tmp_path, capsys, data, problem):
    path = _profile(tmp_path, data)
    with pytest.raises(InputError) as err:
        load_rig(str(path))
    assert err.value.source == str(path) and problem in err.value.problem
    assert main(["rigs", "show", str(path)]) == 2
    line = _one_error_line(capsys)
    assert str(path) in line and problem in line


def test_a_valid_board_profile_over_a_custom_rig_round_trips(tmp_path):
    """A board profile is validated by the same code as the built-in metahuman rig, and embeds its rig."""
    _profile(tmp_path, {"name": "exprs", "curves": {"Open": {"JawOpen": 1}, "Left": {"JawLeft": 1},
                                                    "Right": {"JawRight": 1}}}, "exprs.json")
    board = load_rig(str(_profile(tmp_path, {"name": "myboard", "kind": "board", "expressions": str(
        tmp_path / "exprs.json"), "controls": [{"name": "jawX", "range": [-1, 1], "positive": ["Left"],
                                                "negative": ["Right"]}]})))
    out = retarget(_canonical(JawRight=0.4), board)
    assert out["jawX"][0] == pytest.approx(-0.4)
    (tmp_path / "exprs.json").unlink()
    back = retarget(out, "livelink")  # from the embedded profile alone
    assert back["JawRight"][0] == pytest.approx(0.4, abs=1e-6)


def test_render_fps_zero_is_one_line(tmp_path, capsys):
    wav = _wav(tmp_path / "line.wav")
    out = tmp_path / "x.mp4"
    for fps in ("0", "nan", "-5", "1000"):
        with pytest.raises(SystemExit) as exit_:
            main(["render", str(wav), "-o", str(out), "--fps", fps, "--size", "64", "-q"])
        assert exit_.value.code == 2
        assert "--fps" in _one_error_line(capsys)
    assert not out.exists()


# --- 12: render refuses options a baked file would silently ignore ------------------------------------------

@pytest.mark.parametrize("option", [["--emotion", "happy"], ["--intensity", "0.5"], ["--text", "hi"],
                                    ["--seed", "3"], ["--engine", "phonetic"]])  # --fps: test_hardening_previews
def test_render_baked_file_refuses_audio_options(tmp_path, capsys, option):
    baked = formats.write_atomic(formats.get("json"), Animation.zeros(canonical_names(), 30, 3, "livelink"),
                                 tmp_path / "line.json")
    out = tmp_path / "x.mp4"
    assert main(["render", str(baked), "-o", str(out), "--size", "64", "-q", *option]) == 2
    line = _one_error_line(capsys)
    assert option[0] in line and "audio input only" in line
    assert not out.exists()


def test_render_grid_refuses_an_emotion(tmp_path, capsys):
    out = tmp_path / "x.mp4"
    assert main(["render", str(_wav(tmp_path / "a.wav")), "-o", str(out), "--grid", "emotions", "--emotion", "sad",
                 "-q"]) == 2
    assert "--emotion" in _one_error_line(capsys) and not out.exists()


# --- 17: bad meshes are one line naming the file, and no video ----------------------------------------------

def _tiny_mesh(path):
    """Two triangles, one ARKit shape, two coloured parts: the smallest mesh render takes."""
    neutral = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], np.float32)
    names, deltas = build_deltas({"jawOpen": (np.array([0, 1]), np.array([[0, -0.1, 0], [0, -0.1, 0]]))}, 4)
    mesh = BlendshapeMesh(neutral, np.array([[0, 1, 2], [1, 3, 2]]), names, deltas,
                          [Part("skin", 0, 2), Part("lips", 2, 4)], np.ones((4, 3), np.float32))
    mesh.save(path)
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _nan_at(a, value=np.nan):
    a = a.astype(np.float32)
    a.flat[0] = value
    return a


MESH_FAULTS = {
    "neutral NaN": (lambda m: {**m, "neutral": _nan_at(m["neutral"])}, "neutral holds NaN"),
    "neutral inf": (lambda m: {**m, "neutral": _nan_at(m["neutral"], np.inf)}, "neutral holds NaN or infinite"),
    "delta NaN": (lambda m: {**m, "delta_value": _nan_at(m["delta_value"])}, "delta_value holds NaN"),
    "delta inf": (lambda m: {**m, "delta_value": _nan_at(m["delta_value"], -np.inf)}, "delta_value holds NaN"),
    "delta not x3": (lambda m: {**m, "delta_value": m["delta_value"].ravel()[:-1]}, "do not fit"),
    "offsets backwards": (lambda m: {**m, "delta_offsets": np.array([2, 0])}, "do not fit"),
    "triangles fractional": (lambda m: {**m, "triangles": m["triangles"] + 0.5}, "whole numbers"),
    "neutral text": (lambda m: {**m, "neutral": np.array(["a", "b", "c"])}, "neutral must be numbers"),
    "group_colors NaN": (lambda m: {**m, "group_colors": _nan_at(m["group_colors"])}, "group_colors holds NaN"),
    "group_colors short": (lambda m: {**m, "group_colors": m["group_colors"][:1]}, "group_colors must be [2"),
    "group_colors 2 wide": (lambda m: {**m, "group_colors": m["group_colors"][:, :2]}, "group_colors must be"),
    "group_colors 0-255": (lambda m: {**m, "group_colors": m["group_colors"] * 255}, "group_colors must lie"),
    "group_ranges past end": (lambda m: {**m, "group_ranges": np.array([[0, 2], [2, 9]])}, "group_ranges"),
    "group_ranges missing": (lambda m: {k: v for k, v in m.items() if k != "group_ranges"}, "group_ranges"),
    "group_roughness short": (lambda m: {**m, "group_roughness": m["group_roughness"][:1]}, "group_roughness"),
    "vertex_colors short": (lambda m: {**m, "vertex_colors": m["vertex_colors"][:3]}, "vertex_colors must be [4"),
    "vertex_colors NaN": (lambda m: {**m, "vertex_colors": _nan_at(m["vertex_colors"])}, "vertex_colors holds"),
    "vertex_colors negative": (lambda m: {**m, "vertex_colors": -m["vertex_colors"].astype(float)},
                               "vertex_colors must lie"),
}


def test_tiny_mesh_is_valid(tmp_path):
    _tiny_mesh(tmp_path / "ok.npz")
    mesh = load_mesh(tmp_path / "ok.npz")
    assert mesh.shape_names == ("jawOpen",) and [p.name for p in mesh.parts] == ["skin", "lips"]


@pytest.mark.parametrize("fault", list(MESH_FAULTS))
def test_bad_mesh_is_one_line_and_no_video(tmp_path, capsys, fault):
    change, problem = MESH_FAULTS[fault]
    bad = tmp_path / "bad.npz"
    arrays = change(_tiny_mesh(bad))
    bad.unlink()
    np.savez(bad, **arrays)
    with pytest.raises(InputError) as err:
        load_mesh(bad)
    assert err.value.source == str(bad) and problem in err.value.problem
    baked = formats.write_atomic(formats.get("json"), Animation.zeros(canonical_names(), 30, 3, "livelink"),
                                 tmp_path / "line.json")
    out = tmp_path / "x.mp4"
    assert main(["render", str(baked), "-o", str(out), "--mesh", str(bad), "--size", "64", "-q"]) == 2
    line = _one_error_line(capsys)
    assert str(bad) in line and problem in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "line.json"]


# --- 20: a baked file finds its audio when rendered from elsewhere or moved --------------------------------

def test_baked_file_finds_its_audio_from_another_folder_and_after_a_move(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    _wav(project / "vo" / "line.wav")
    monkeypatch.chdir(project)
    assert main(["bake", "vo/line.wav", "-o", "out/line.json", "--fps", "10", "-q"]) == 0
    meta = json.loads((project / "out" / "line.json").read_text())["metadata"]
    assert meta["source"] == "vo/line.wav"  # as given
    assert meta["source_abs"] == str(project / "vo" / "line.wav")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    baked = project / "out" / "line.json"
    assert source_audio(read_animation(baked), baked) == project / "vo" / "line.wav"
    assert main(["render", str(baked), "-o", "a.mp4", "--size", "64", "-q"]) == 0
    assert "Audio: aac" in _streams(elsewhere / "a.mp4")
    assert "no source audio" not in capsys.readouterr().err

    moved = tmp_path / "moved"
    shutil.move(project, moved)  # the absolute path is gone too: found relative to the baked file's folders
    baked = moved / "out" / "line.json"
    assert source_audio(read_animation(baked), baked) == moved / "vo" / "line.wav"
    alone = tmp_path / "alone"  # only the baked file and its audio, side by side
    alone.mkdir()
    shutil.copy(baked, alone / "line.json")
    shutil.copy(moved / "vo" / "line.wav", alone / "line.wav")
    assert source_audio(read_animation(alone / "line.json"), alone / "line.json") == alone / "line.wav"
