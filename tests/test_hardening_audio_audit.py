"""Audit of audio input files (findings 3, 4, 8-14): videos whose picture outlasts their sound, channels in
opposite phase, the sample-rate rule for ffmpeg formats, named pipes, the --max-duration message, misnamed
files, names that look like ffmpeg protocols, an Ogg cut inside its headers, and folder bakes of every format."""

import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from emoface.audio import SAMPLE_RATE, ffmpeg_exe, load_audio
from emoface.batch import expand_inputs
from emoface.errors import InputError

needs_ffmpeg = pytest.mark.skipif(ffmpeg_exe() is None or shutil.which("ffprobe") is None,
                                  reason="ffmpeg and ffprobe are not installed (make installs them)")


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "emoface.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def ff(*args):
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)],
                   check=True)


def tone(seconds: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A syllable-like tone: 180 Hz with harmonics under a 3 Hz envelope."""
    t = np.arange(int(seconds * rate)) / rate
    voice = sum(np.sin(2 * np.pi * 180 * k * t) / k for k in range(1, 5))
    return (0.25 * voice * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)).astype(np.float32)


@pytest.fixture
def line_wav(tmp_path):
    path = tmp_path / "src.wav"
    sf.write(path, tone(1.9), SAMPLE_RATE, subtype="PCM_16")
    return path


# --- 3: a picture that runs longer than the sound, a sound that starts late ---------------------------------

@needs_ffmpeg
@pytest.mark.parametrize("name, codec", [("clip.mp4", "aac"), ("clip.mov", "pcm_s16le")])
def test_a_video_whose_picture_outlasts_its_sound_bakes_the_sound(tmp_path, line_wav, name, codec):
    path, out = tmp_path / name, tmp_path / "clip.json"
    ff("-f", "lavfi", "-i", "color=c=blue:s=64x64:r=25:d=3", "-i", line_wav, "-c:v", "libx264", "-c:a", codec, path)
    assert load_audio(path).duration == pytest.approx(1.9, abs=0.03)
    result = cli("bake", path, "-o", out)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["metadata"]["duration_s"] == pytest.approx(1.9, abs=0.03)


@needs_ffmpeg
def test_an_m4a_whose_sound_starts_late_is_not_called_truncated(tmp_path, line_wav):
    path = tmp_path / "delayed.m4a"
    ff("-itsoffset", "1", "-i", line_wav, "-c:a", "aac", path)
    audio = load_audio(path)  # no picture to keep in step with: the line is the sound
    assert audio.duration == pytest.approx(1.95, abs=0.06)


@needs_ffmpeg
def test_a_sound_that_starts_after_the_picture_keeps_frame_0_on_the_picture(tmp_path, line_wav, caplog):
    path = tmp_path / "late.mp4"
    ff("-f", "lavfi", "-i", "color=c=blue:s=64x64:r=25:d=3", "-itsoffset", "1", "-i", line_wav, "-map", "0:v",
       "-map", "1:a", "-c:v", "libx264", "-c:a", "aac", path)
    with caplog.at_level(logging.WARNING, logger="emoface"):
        audio = load_audio(path)
    lead = int(0.9 * SAMPLE_RATE)
    assert not np.any(audio.samples[:lead]) and np.abs(audio.samples[lead + 1600:]).max() > 0.1
    assert audio.duration == pytest.approx(2.9, abs=0.1)
    assert "sound starts 0.9" in caplog.text and "silence first" in caplog.text


@needs_ffmpeg
def test_plot_takes_a_video_whose_picture_outlasts_its_sound(tmp_path, line_wav):
    path = tmp_path / "clip.mp4"
    ff("-f", "lavfi", "-i", "color=c=blue:s=64x64:r=25:d=3", "-i", line_wav, "-c:v", "libx264", "-c:a", "aac", path)
    result = cli("plot", path, "-o", tmp_path / "curves.png")
    assert result.returncode == 0 and (tmp_path / "curves.png").is_file(), result.stderr


# --- 4: channels in opposite phase ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["flipped.wav", "flipped.flac"])
def test_channels_in_opposite_phase_use_the_loudest_channel(tmp_path, caplog, name):
    path, x = tmp_path / name, tone(1.5)
    sf.write(path, np.stack([0.95 * x, -x], 1), SAMPLE_RATE)
    with caplog.at_level(logging.WARNING, logger="emoface"):
        audio = load_audio(path)
    assert not audio.is_silent
    np.testing.assert_allclose(audio.samples, load_audio_mono(tmp_path, -x), atol=1e-3)
    assert "channels cancel" in caplog.text and "channel 2 alone" in caplog.text


def load_audio_mono(tmp_path, x):
    path = tmp_path / "mono.wav"
    sf.write(path, x, SAMPLE_RATE, subtype="FLOAT")
    return load_audio(path).samples


@needs_ffmpeg
def test_channels_in_opposite_phase_in_an_ffmpeg_format_too(tmp_path, caplog):
    wav, path, x = tmp_path / "flipped.wav", tmp_path / "flipped.mka", tone(1.5)
    sf.write(wav, np.stack([x, -x], 1), SAMPLE_RATE, subtype="PCM_16")
    ff("-i", wav, "-c:a", "flac", path)
    with caplog.at_level(logging.WARNING, logger="emoface"):
        audio = load_audio(path)
    assert np.abs(audio.samples).max() > 0.2 and "channels cancel" in caplog.text


def test_ordinary_stereo_is_mixed_as_before_without_a_warning(tmp_path, caplog):
    path, x = tmp_path / "stereo.wav", tone(1.5)
    sf.write(path, np.stack([x, 0.3 * x[::-1]], 1), SAMPLE_RATE, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="emoface"):
        audio = load_audio(path)
    np.testing.assert_array_equal(audio.samples, np.stack([x, 0.3 * x[::-1]], 1).mean(axis=1))
    assert "cancel" not in caplog.text


# --- 8: the sample-rate rule for ffmpeg formats ---------------------------------------------------------------

@needs_ffmpeg
@pytest.mark.parametrize("name, rate, codec", [("low.mov", 4000, "pcm_s16le"), ("high.mka", 192000, "flac")])
def test_the_sample_rate_rule_applies_to_ffmpeg_formats(tmp_path, name, rate, codec):
    src, path, out = tmp_path / "src.wav", tmp_path / name, tmp_path / "x.json"
    sf.write(src, tone(1.0, rate), rate, subtype="PCM_16")
    ff("-i", src, "-c:a", codec, path)
    result = cli("bake", path, "-o", out)
    assert result.returncode == 1 and not out.exists()
    assert result.stderr.strip().splitlines() == [
        f"emoface: error: {path}: sample rate {rate} Hz is outside 8000-96000 Hz"]


# --- 9: a named pipe -----------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize("name", ["line.wav", "line.m4a"])
def test_a_named_pipe_is_refused_not_waited_on(tmp_path, name):
    path, out = tmp_path / name, tmp_path / "x.json"
    os.mkfifo(path)
    result = cli("bake", path, "-o", out, timeout=20)  # a bake that opens the pipe waits for a writer: times out
    assert result.returncode == 1 and not out.exists()
    assert result.stderr.strip().splitlines() == [
        f"emoface: error: {path}: is not a regular file (a named pipe, device or socket?); give an audio file"]


# --- 10: the --max-duration message --------------------------------------------------------------------------

@pytest.mark.parametrize("limit, said", [(10, "audio is 10.3 s long, over the 10 s limit"),
                                         (10.29, "audio is 10.3 s long, over the 10.29 s limit")])
def test_the_length_refusal_shows_numbers_that_differ(tmp_path, limit, said):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(int(10.3 * 8000), np.float32), 8000, subtype="PCM_16")
    with pytest.raises(InputError) as err:
        load_audio(path, max_duration_s=limit)
    assert err.value.problem == said


# --- 11: audio that libsndfile cannot read, whatever its name -------------------------------------------------

@needs_ffmpeg
@pytest.mark.parametrize("name, args", [("aac_named.wav", ["-c:a", "aac", "-f", "mp4"]),
                                        ("aac_named.mp3", ["-c:a", "aac", "-f", "mp4"]),
                                        ("flac_in.ogg", ["-c:a", "flac", "-f", "ogg"])])
def test_audio_libsndfile_cannot_read_is_decoded_by_ffmpeg(tmp_path, line_wav, name, args):
    path, out = tmp_path / name, tmp_path / "x.json"
    ff("-i", line_wav, *args, path)
    assert load_audio(path).duration == pytest.approx(1.9, abs=0.03)
    result = cli("bake", path, "-o", out)
    assert result.returncode == 0 and out.is_file(), result.stderr


def test_noise_named_wav_still_gets_its_one_line(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)))
    with pytest.raises(InputError, match=r"noise\.wav: not a readable audio file \("):
        load_audio(path)


# --- 12: names that start like an ffmpeg protocol ------------------------------------------------------------

@needs_ffmpeg
@pytest.mark.parametrize("name", ["concat:take1.m4a", "pipe:1.m4a", "subfile:x.m4a"])
def test_a_name_that_looks_like_an_ffmpeg_protocol_is_opened_as_a_file(tmp_path, line_wav, name, monkeypatch):
    ff("-i", line_wav, "-c:a", "aac", tmp_path / "ok.m4a")
    os.rename(tmp_path / "ok.m4a", tmp_path / name)
    monkeypatch.chdir(tmp_path)  # relative, as a user types it
    assert load_audio(name).duration == pytest.approx(1.9, abs=0.03)


# --- 13: an Ogg cut inside its headers -----------------------------------------------------------------------

@needs_ffmpeg
def test_an_ogg_cut_inside_its_headers_is_called_truncated_not_empty(tmp_path, line_wav):
    path = tmp_path / "full.ogg"
    ff("-i", line_wav, "-c:a", "libvorbis", path)
    data = path.read_bytes()
    pages = [i for i in range(len(data)) if data[i:i + 4] == b"OggS"]  # 0: id header, 1: comments + setup
    for cut in (pages[1] + 100, pages[2] - 10, pages[2] + 10):  # inside the setup header, in the first audio page
        (tmp_path / "cut.ogg").write_bytes(data[:cut])
        with pytest.raises(InputError) as err:
            load_audio(tmp_path / "cut.ogg")
        assert "truncated" in err.value.problem and "empty" not in err.value.problem, cut


# --- 14: a folder bake finds every format a single bake reads ------------------------------------------------

def test_a_folder_finds_aifc_caf_au_and_w64(tmp_path):
    x = tone(0.5)
    (tmp_path / "vo").mkdir()
    for name, fmt, subtype in [("a.aifc", "AIFF", "ULAW"), ("b.caf", "CAF", "PCM_16"), ("c.au", "AU", "PCM_16"),
                               ("d.w64", "W64", "PCM_16")]:
        sf.write(tmp_path / "vo" / name, x, SAMPLE_RATE, format=fmt, subtype=subtype)
    found = [p.name for p, _ in expand_inputs([str(tmp_path / "vo")])]
    assert found == ["a.aifc", "b.caf", "c.au", "d.w64"]


def test_an_output_under_a_file_and_a_transcript_folder_say_what_they_are(bob, tmp_path, capsys):
    from emoface.cli import main
    from tests.test_hardening_cli import one_error_line

    (tmp_path / "notes").write_text("a file, not a folder")
    assert main(["bake", str(bob), "-o", str(tmp_path / "notes" / "line.json"), "-q"]) == 1  # the line failed
    one_error_line(capsys.readouterr().err, "notes is a file, not a folder")
    assert main(["bake", str(bob), "-o", str(tmp_path / "x.json"), "--text-file", str(tmp_path), "-q"]) == 2
    one_error_line(capsys.readouterr().err, "is a folder; --text-file names one transcript file")


def test_a_file_with_two_audio_streams_says_which_one_is_baked(bob, tmp_path, capsys):
    import subprocess

    from emoface.cli import main

    two = tmp_path / "two.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-i", str(bob),
                    "-map", "0:a", "-map", "1:a", "-t", "2", "-c:a", "aac", str(two)], check=True)
    assert main(["bake", str(two), "-o", str(tmp_path / "two.json"), "-q"]) == 0  # a silent guide track first
    assert "2 audio streams; the first is used" in capsys.readouterr().err
