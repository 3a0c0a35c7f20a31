"""What a user audit of `emoface capture`, the take importer and `emoface train --capture` found (2026-12-05):
a preview could write over the take itself and a capture over the actor's own recording of its sound; a camera's
sound longer or shorter than its picture made a pair training refused, or was called a truncated file; a cut .npz
or half a FACEGOOD folder was a traceback; captures at 15 fps did not import back; and an unwritable checkpoint
failed after the whole training."""

import subprocess

import numpy as np
import pytest
import soundfile as sf

from emoface import formats
from emoface.animation import Animation
from emoface.audio import load_track
from emoface.capture.commands import fitted_sound
from emoface.capture.imports import read_takes
from emoface.cli import main
from emoface.rigs import canonical_names
from tests.test_hardening_cli import one_error_line


def _video(path, picture_s=2.0, sound_s=2.0):
    """A test pattern (no face) with a tone: enough for what is refused before any tracking."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=128x128:rate=25:d={picture_s}",
                    "-f", "lavfi", "-i", f"sine=f=300:sample_rate=16000:d={sound_s}", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True)
    return path


@pytest.mark.parametrize("where", ["--preview", "-o"])
def test_a_take_is_never_written_over(tmp_path, capsys, where):
    takes = tmp_path / "takes"
    takes.mkdir()
    video = _video(takes / "a.mp4")
    _video(takes / "b.mp4")
    before = video.read_bytes()
    argv = ["capture", str(takes), "-o", str(tmp_path / "out"), "--preview", str(takes)] if where == "--preview" \
        else ["capture", str(video), "-o", str(tmp_path / "x.json"), "--preview", str(video)]
    assert main(argv) == 2
    one_error_line(capsys.readouterr().err, "is one of the videos being captured")
    assert video.read_bytes() == before


def test_an_actors_own_sound_beside_the_take_is_left_alone(tmp_path, capsys):
    video = _video(tmp_path / "c.mp4")
    own = tmp_path / "c.wav"
    sf.write(own, np.zeros((48000, 2), np.float32), 48000)  # a separately recorded 48 kHz stereo track
    before = own.read_bytes()
    assert main(["capture", str(video), "-o", str(tmp_path), "-q"]) == 1
    one_error_line(capsys.readouterr().err, "c.wav: is not a sound track capture wrote")
    assert own.read_bytes() == before and not (tmp_path / "c.json").exists()


def test_the_sound_is_fitted_to_the_picture():
    tone = np.ones(16000 * 3, np.float32)
    assert len(fitted_sound("v.mp4", tone, 2.0)) == 32000  # cut at the picture's end
    padded = fitted_sound("v.mp4", tone, 4.0)
    assert len(padded) == 64000 and not padded[48000:].any()  # silence after the camera's sound stopped


def test_a_picture_longer_than_its_sound_is_not_a_truncated_file(tmp_path):
    video = _video(tmp_path / "v.mp4", picture_s=3.0, sound_s=1.0)
    assert abs(load_track(video).duration - 1.0) < 0.1


def test_a_cut_npz_take_and_half_a_facegood_folder_are_one_line_each(tmp_path):
    anim = Animation.zeros(canonical_names(), 30.0, 60, "livelink")
    formats.write_atomic(formats.get("npz"), anim, tmp_path / "t.npz")
    (tmp_path / "t.npz").write_bytes((tmp_path / "t.npz").read_bytes()[:300])
    sf.write(tmp_path / "t.wav", np.zeros(32000, np.float32), 16000)
    assert [(label.endswith("t.npz"), "not a curve file emoface reads" in reason)
            for label, reason in read_takes(tmp_path)] == [(True, True)]
    facegood = tmp_path / "fg"
    (facegood / "clips").mkdir(parents=True)
    np.savez(facegood / "curves_30fps.npz", names=np.array(["a"]), c1=np.zeros((30, 1)))  # no arkit_map.csv
    (found,) = list(read_takes(facegood))
    assert found[0] == str(facegood) and "not a whole FACEGOOD folder" in found[1]


@pytest.mark.parametrize("fmt", ["livelink-csv", "emoface-txt"])
def test_a_capture_at_15_fps_imports_back(tmp_path, fmt):
    anim = Animation.zeros(canonical_names(), 15.0, 45, "livelink")
    anim["JawOpen"] = np.linspace(0, 1, 45)
    from emoface.rigs import retarget

    module = formats.get(fmt)
    formats.write_atomic(module, retarget(anim, module.RIG), tmp_path / f"take{module.SUFFIX}")
    sf.write(tmp_path / "take.wav", np.zeros(48000, np.float32), 16000)  # 3 s, as the 45 frames
    (take,) = list(read_takes(tmp_path))
    assert not isinstance(take, tuple), take
    assert take.anim.fps == 15.0


def test_stray_json_beside_the_takes_is_no_take(tmp_path):
    (tmp_path / "notes.json").write_text('{"actor": "A. Smith"}')
    sf.write(tmp_path / "take.wav", np.zeros(32000, np.float32), 16000)
    formats.write_atomic(formats.get("json"), Animation.zeros(canonical_names(), 30.0, 60, "livelink"),
                         tmp_path / "take.json")
    assert [t.name for t in read_takes(tmp_path)] == ["take"]


def test_an_unwritable_checkpoint_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "actor.pt").mkdir()
    assert main(["train", "--capture", str(tmp_path), "-o", str(tmp_path / "actor.pt")]) == 2
    one_error_line(capsys.readouterr().err, "actor.pt: cannot write the checkpoint: a folder has that name")


def test_a_file_given_as_the_takes_folder_is_named_so(tmp_path, capsys):
    take = tmp_path / "take.json"
    take.write_text("{}")
    assert main(["train", "--capture", str(take), "-o", str(tmp_path / "a.pt")]) == 2
    one_error_line(capsys.readouterr().err, "is a file, not a folder")


def test_a_sideways_face_is_said_to_be(shared, tmp_path, caplog):
    """A portrait take without its rotation tag: the mouth reads, the lids do not; capture says to turn it."""
    source = shared / "data" / "grid-s1" / "video" / "bbaf2n.mp4"
    if not source.is_file():
        pytest.skip("needs ../shared/data/grid-s1")
    side = tmp_path / "side.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-t", "1", "-vf", "transpose=2", "-c:a", "aac",
                    str(side)], check=True)
    assert main(["capture", str(side), "-o", str(tmp_path / "side.json"), "-q", "--passes", "1"]) == 0
    assert "the face is not upright in the picture" in caplog.text


def test_sets_in_an_actors_subfolders_are_found(tmp_path):
    """EmoFace's WAV/ + VALID_CTR/ one folder down, beside a flat take: both read."""
    anim = Animation.zeros(canonical_names(), 60.0, 120, "livelink")
    from emoface.rigs import retarget

    session = tmp_path / "session1"
    (session / "WAV").mkdir(parents=True)
    (session / "VALID_CTR").mkdir()
    formats.write_atomic(formats.get("emoface-txt"), retarget(anim, "metahuman"), session / "VALID_CTR" / "a.txt")
    sf.write(session / "WAV" / "a.wav", np.zeros(32000, np.float32), 16000)
    formats.write_atomic(formats.get("json"), anim, tmp_path / "b.json")
    sf.write(tmp_path / "b.wav", np.zeros(32000, np.float32), 16000)
    assert sorted(t.name for t in read_takes(tmp_path)) == ["a", "b"]


def test_a_video_cut_short_is_refused_not_captured_in_part(tmp_path, capsys):
    """A copy or upload that stopped half way keeps its header (a phone's MP4 with its index first): its picture
    ended early and capture had written a fraction of the take, exit 0 (2026-12-06 audit). A bake refuses such
    audio; a capture now refuses such a video, with or without its sound."""
    whole = _video(tmp_path / "whole.mp4", picture_s=4.0, sound_s=4.0)
    indexed = tmp_path / "indexed.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(whole), "-c", "copy", "-movflags", "+faststart",
                    str(indexed)], check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(indexed.read_bytes()[:indexed.stat().st_size // 2])
    for extra in ([], ["--no-audio"]):
        assert main(["capture", str(cut), "-o", str(tmp_path / "cut.json"), "-q", *extra]) == 1
        one_error_line(capsys.readouterr().err, "but its header says 4.00 s (truncated file?)")
        assert not (tmp_path / "cut.json").exists()
    # a camera whose sound runs on past its picture is no file cut short
    longer = _video(tmp_path / "longer.mp4", picture_s=2.0, sound_s=4.0)
    assert main(["capture", str(longer), "-o", str(tmp_path / "longer.json"), "-q"]) == 1
    assert "truncated" not in capsys.readouterr().err  # refused for its test pattern's want of a face, as before


def test_an_empty_takes_folder_is_one_line(tmp_path, capsys):
    """The folder's own reason alone: it had come with a second line counting 0 usable takes."""
    (tmp_path / "takes").mkdir()
    assert main(["train", "--capture", str(tmp_path / "takes"), "-o", str(tmp_path / "actor.pt")]) == 2
    one_error_line(capsys.readouterr().err, "takes: no takes found")
