"""What a user audit of `emoface render` and `emoface plot` found (2026-12-05): a .txt baked at another rate than
60 previewed at the wrong speed, --fps silently re-timed files that record their own, --audio replaced an audio
input's sound and a longer sound played on under a still face, outputs that cannot be written were a traceback
after the whole render, odd sizes were resized by a library's warning, and viseme files were told to bake again."""

import subprocess

import numpy as np
import pytest

from emoface import formats
from emoface.animation import Animation
from emoface.cli import main
from emoface.rigs import canonical_names
from tests.test_hardening_cli import one_error_line


def _durations(path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "csv=p=0",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return {kind: float(seconds) for kind, seconds in (line.split(",") for line in out.split())}


def _bake(bob, tmp_path, name, *options):
    out = tmp_path / name
    assert main(["bake", str(bob), "-o", str(out), "-q", *options]) == 0
    return out


def test_a_txt_baked_at_30_fps_renders_in_step_with_fps(bob, tmp_path, capsys):
    txt = _bake(bob, tmp_path, "line.txt", "--fps", "30")
    video = tmp_path / "line.mp4"
    assert main(["render", str(txt), "-o", str(video), "--audio", str(bob), "--fps", "30", "--size", "64", "-q"]) == 0
    d = _durations(video)
    assert abs(d["video"] - d["audio"]) < 0.05, d
    capsys.readouterr()
    # without --fps it is read at 60: half the sound's length, which a warning names with the way out
    assert main(["render", str(txt), "-o", str(video), "--audio", str(bob), "--size", "64", "-q"]) == 0
    assert "give --fps" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["render", "plot"])
def test_fps_is_refused_for_a_file_that_records_its_own(bob, tmp_path, capsys, command):
    baked = _bake(bob, tmp_path, "line.json")
    out = tmp_path / ("x.mp4" if command == "render" else "x.png")
    assert main([command, str(baked), "-o", str(out), "--fps", "30"]) == 2
    one_error_line(capsys.readouterr().err, "--fps", "records its own frame rate (60 fps)")
    assert not out.exists()


def test_audio_input_takes_no_other_sound(bob, speech_line, tmp_path, capsys):
    out = tmp_path / "x.mp4"
    assert main(["render", str(bob), "-o", str(out), "--audio", str(speech_line)]) == 2
    one_error_line(capsys.readouterr().err, "--audio", "its own sound track")
    assert not out.exists()


def test_a_longer_sound_is_cut_at_the_video_end(tmp_path, speech_line, capsys):
    anim = Animation.zeros(canonical_names(), 30.0, 30, "livelink")  # 1 s; the sound is longer
    anim["JawOpen"] = np.linspace(0, 0.5, 30)
    baked = formats.write_atomic(formats.get("json"), anim, tmp_path / "short.json")
    video = tmp_path / "short.mp4"
    assert main(["render", str(baked), "-o", str(video), "--audio", str(speech_line), "--size", "64", "-q"]) == 0
    assert "out of step" in capsys.readouterr().err
    d = _durations(video)
    assert d["audio"] <= d["video"] + 0.03, d


@pytest.mark.parametrize("where", ["a folder", "under a file", "export under a file"])
def test_an_output_that_cannot_be_written_is_one_line_before_any_frame(bob, tmp_path, capsys, where):
    baked = _bake(bob, tmp_path, "line.json")
    (tmp_path / "taken.mp4").mkdir()
    video, export = {"a folder": (tmp_path / "taken.mp4", None),
                     "under a file": (baked / "x.mp4", None),
                     "export under a file": (tmp_path / "ok.mp4", baked / "x.glb")}[where]
    argv = ["render", str(baked), "-o", str(video), "--size", "64", "-q"]
    argv += ["--export", str(export)] if export else []
    assert main(argv) == 2
    one_error_line(capsys.readouterr().err, "cannot write")
    assert not (tmp_path / "ok.mp4").exists()  # refused before the video, not after it


def test_a_plot_into_a_folder_is_one_line(bob, tmp_path, capsys):
    baked = _bake(bob, tmp_path, "line.json")
    (tmp_path / "taken.png").mkdir()
    assert main(["plot", str(baked), "-o", str(tmp_path / "taken.png")]) == 2
    one_error_line(capsys.readouterr().err, "cannot write the plot: a folder has that name")


def test_an_odd_size_is_refused(bob, tmp_path, capsys):
    assert main(["render", str(bob), "-o", str(tmp_path / "x.mp4"), "--size", "101"]) == 2
    one_error_line(capsys.readouterr().err, "--size", "give 102")


@pytest.mark.parametrize("suffix", [".visemes.json", ".tsv"])
def test_mouth_shape_files_are_not_previews(bob, tmp_path, capsys, suffix):
    shapes = _bake(bob, tmp_path, "line" + suffix)
    assert main(["render", str(shapes), "-o", str(tmp_path / "x.mp4")]) == 2
    one_error_line(capsys.readouterr().err, "holds mouth shapes (visemes), not rig curves")


def test_a_csv_renders_with_the_sound_of_its_name_beside_it(bob, tmp_path, capsys):
    import shutil

    csv = _bake(bob, tmp_path, "line.csv")
    shutil.copy(bob, tmp_path / "line.wav")
    video = tmp_path / "line.mp4"
    assert main(["render", str(csv), "-o", str(video), "--size", "64", "-q"]) == 0
    assert "silent" not in capsys.readouterr().err and "audio" in _durations(video)


def test_a_short_csv_takes_fps_and_a_plot_says_when_the_lengths_disagree(bob, tmp_path, capsys):
    anim = Animation.zeros(canonical_names(), 30.0, 24, "livelink")  # 0.8 s: its timecodes never pass a second
    csv = formats.write_atomic(formats.get("livelink-csv"), anim, tmp_path / "short.csv")
    out = tmp_path / "short.png"
    assert main(["plot", str(csv), "-o", str(out), "--fps", "30"]) == 0
    capsys.readouterr()
    assert main(["plot", str(csv), "-o", str(out), "--audio", str(bob)]) == 0  # read at 60, 0.4 s of a longer line
    assert "give --fps" in capsys.readouterr().err


@pytest.mark.parametrize("change", ["BlendShapeCount", "bom", "trailing comma"])
def test_live_link_csv_as_other_tools_write_it(tmp_path, change):
    from emoface.render.inputs import read_animation

    anim = Animation.zeros(canonical_names(), 60.0, 90, "livelink")
    anim["JawOpen"] = np.linspace(0, 1, 90)
    path = formats.write_atomic(formats.get("livelink-csv"), anim, tmp_path / "take.csv")
    text = path.read_text()
    text = {"BlendShapeCount": text.replace("BlendshapeCount", "BlendShapeCount", 1),
            "bom": "\ufeff" + text,
            "trailing comma": "\n".join(line + "," for line in text.splitlines()) + "\n"}[change]
    path.write_text(text, encoding="utf-8")
    back = read_animation(path)
    assert back.n_frames == 90 and back.fps == 60.0 and abs(back["JawOpen"][-1] - 1) < 1e-5


def test_a_render_interrupted_leaves_no_file_and_ffmpeg_says_nothing(tmp_path, capfd):
    """Ctrl-C (or SIGTERM) mid-render: the half-written video is removed, and ffmpeg is stopped first. It had been
    left to finish a file already removed, printing "Unable to re-open ... output file for shifting data" and
    "Error writing trailer" as all the user saw (2026-12-06 audit)."""
    from emoface.render.video import write_mp4

    def frames():
        for i in range(40):
            if i == 20:
                raise KeyboardInterrupt
            yield np.full((64, 64, 3), 6 * i, np.uint8)

    out = tmp_path / "preview.mp4"
    with pytest.raises(KeyboardInterrupt):
        write_mp4(frames(), 40, 25.0, (64, 64), out, progress=False)
    import gc

    gc.collect()  # where an unclosed writer would have let ffmpeg go on
    assert list(tmp_path.iterdir()) == []
    assert capfd.readouterr().err == ""
