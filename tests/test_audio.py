import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from emoface.audio import SAMPLE_RATE, load_audio
from emoface.errors import InputError


def tone(seconds=1.0, rate=44100, channels=2):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


@pytest.mark.parametrize("suffix, rate, channels", [(".wav", 44100, 2), (".flac", 96000, 1), (".ogg", 8000, 1),
                                                     (".wav", 48000, 6)])
def test_any_common_file_becomes_mono_16k(tmp_path, suffix, rate, channels):
    path = tmp_path / f"x{suffix}"
    sf.write(path, tone(1.5, rate, channels), rate)
    audio = load_audio(path)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.duration - 1.5) < 0.01 and audio.original_rate == rate
    spectrum = np.abs(np.fft.rfft(audio.samples))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / len(audio.samples) - 220) < 2


def test_mp3(tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    wav, mp3 = tmp_path / "x.wav", tmp_path / "x.mp3"
    sf.write(wav, tone(2.0, 44100, 1), 44100)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), str(mp3)], check=True)
    assert abs(load_audio(mp3).duration - 2.0) < 0.1


def expect_error(path, problem, **kw):
    with pytest.raises(InputError, match=problem) as err:
        load_audio(path, **kw)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.wav", "file not found")


def test_corrupt_file(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    expect_error(path, "not a readable audio file")


def test_truncated_data(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, tone(3.0, 16000, 1), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError):
        load_audio(path)


def test_text_file_is_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("hello")
    expect_error(path, "not a readable audio file")


def test_zero_length(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    expect_error(path, "empty")


def test_too_long_is_refused_before_decoding(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(16000 * 5, np.float32), 16000)
    expect_error(path, "over the 4 s limit", max_duration_s=4)
    assert load_audio(path, max_duration_s=6).duration == pytest.approx(5)


def test_sample_rate_out_of_range(tmp_path):
    path = tmp_path / "low.wav"
    sf.write(path, np.zeros(4000, np.float32), 4000)
    expect_error(path, "outside 8000-96000")


def test_silence_is_not_an_error(silence):
    assert load_audio(silence).is_silent
