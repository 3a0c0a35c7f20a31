"""Issue 11 items 7, 16, 18: truncated files, files that are not what their name says, m4a/AAC input, and
long audio analysed in bounded blocks (with the same numbers as one pass over the whole line)."""

import json
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from emoface import audio as audio_mod
from emoface import features, formats, prosody
from emoface.animation import Animation
from emoface.audio import SAMPLE_RATE, ffmpeg_exe, load_audio
from emoface.batch import AUDIO_SUFFIXES, expand_inputs
from emoface.cli import main
from emoface.emotion.spec import EmotionTrack, parse_emotion
from emoface.errors import InputError
from tests.conftest import speak


def cli(*args):
    """The CLI in its own process: decoders write to file descriptor 2 directly, past any Python capture."""
    return subprocess.run([sys.executable, "-m", "emoface.cli", *map(str, args)], capture_output=True, text=True)


def speechy(seconds: float, rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """Voiced-like test signal: a gliding harmonic tone under a syllable-rate envelope, with pauses and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) * (np.sin(2 * np.pi * 0.2 * t) > -0.6)
    return (0.2 * voice * envelope + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


# --- 7: truncated data ---------------------------------------------------------------------------------------

def cut_wav(tmp_path, seconds=4.6, keep_bytes=640, subtype="PCM_16"):
    path = tmp_path / "cut.wav"
    sf.write(path, speechy(seconds), SAMPLE_RATE, subtype=subtype)
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"data") + 8 + keep_bytes])  # the header, then keep_bytes of the data
    return path


def test_truncated_wav_is_refused_with_both_lengths(tmp_path):
    path = cut_wav(tmp_path)
    with pytest.raises(InputError) as err:
        load_audio(path)
    assert str(err.value) == (f"{path}: audio data ends at 0.02 s but the header says 4.60 s (truncated file?)")


def test_truncated_wav_fails_its_line_in_a_bake(tmp_path):
    path, out = cut_wav(tmp_path), tmp_path / "cut.json"
    result = cli("bake", path, "-o", out)
    assert result.returncode == 1 and not out.exists()
    assert result.stderr.strip().splitlines() == [
        f"emoface: error: {path}: audio data ends at 0.02 s but the header says 4.60 s (truncated file?)"]


def test_a_few_missing_milliseconds_warn_and_bake(tmp_path, caplog):
    path = cut_wav(tmp_path, seconds=2.0, keep_bytes=2 * (2 * SAMPLE_RATE - 160))  # 10 ms short
    with caplog.at_level(logging.WARNING, logger="emoface"):
        audio = load_audio(path)
    assert audio.duration == pytest.approx(1.99)
    assert "0.010 s before its header says" in caplog.text


@pytest.mark.parametrize("fmt, subtype", [("WAV", "FLOAT"), ("WAVEX", "PCM_24"), ("RF64", "PCM_16"),
                                           ("AIFF", "PCM_16")])
def test_truncated_wav_rf64_and_aiff_are_refused_whole_ones_load(tmp_path, fmt, subtype):
    path = tmp_path / "line.bin"
    sf.write(path, speechy(3.0), SAMPLE_RATE, format=fmt, subtype=subtype)
    assert load_audio(path).duration == pytest.approx(3.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"audio data ends at 1\.\d\d s but the header says 3\.00 s"):
        load_audio(path)


def test_a_cut_flac_says_it_may_be_truncated(tmp_path):
    """libsndfile's FLAC decoder only says it lost sync; the line now says what that usually means."""
    path = tmp_path / "line.flac"
    sf.write(path, speechy(3.0), SAMPLE_RATE, format="FLAC")
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(InputError, match=r"header declares 3\.00 s: a truncated or damaged file\?\)$"):
        load_audio(path)


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_a_file_name_that_is_not_utf8_bakes(tmp_path):
    """A Latin-1 name (from an old zip or share) had been an internal error in every format."""
    path = tmp_path / os.fsdecode(b"caf\xe9.flac")
    sf.write(tmp_path / "cafe.flac", speechy(1.0), SAMPLE_RATE, format="FLAC")
    os.rename(tmp_path / "cafe.flac", path)
    assert load_audio(path).duration == pytest.approx(1.0)
    result = cli("bake", path, "-o", tmp_path / "out", "--format", "npz")
    assert result.returncode == 0, result.stderr
    assert b"caf\xe9.npz" in os.listdir(os.fsencode(tmp_path / "out"))


# --- 16: files that are not what they say; m4a/AAC through ffmpeg --------------------------------------------

def test_text_file_named_mp3_gets_one_line_with_the_reason(tmp_path):
    path, out = tmp_path / "line.mp3", tmp_path / "line.json"
    path.write_text("This is the script for the line, not its recording.\n" * 20)
    result = cli("bake", path, "-o", out)
    assert result.returncode == 1 and not out.exists()
    assert result.stderr.strip().splitlines() == [
        f"emoface: error: {path}: not a readable audio file (it is a text file, not audio)"]  # no "Note:" lines


@pytest.mark.parametrize("name, content, reason", [
    ("noise.mp3", bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)), "no audio frames found"),
    ("empty.mp3", b"", "only 0 bytes, too short to be audio"),
    ("notes.m4a", "hello\n".encode() * 50, "it is a text file, not audio"),
    ("noise.m4a", bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)), "ffmpeg: "),
])
def test_unreadable_files_say_why_in_one_line(tmp_path, capfd, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=reason) as err:
        load_audio(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert capfd.readouterr().err == ""  # nothing from the decoders themselves


@pytest.fixture(scope="module")
def spoken_m4a(tmp_path_factory):
    folder = tmp_path_factory.mktemp("m4a")
    wav = speak("The merchant counted the coins twice before he smiled.", folder / "line.wav")
    m4a = folder / "line.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(wav), "-ar", "44100", "-ac", "2", "-c:a", "aac",
                    str(m4a)], check=True)
    return wav, m4a


def test_m4a_speech_bakes_like_its_wav(spoken_m4a, tmp_path):
    wav, m4a = spoken_m4a
    out = tmp_path / "line.json"
    assert main(["bake", str(m4a), "-o", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    # the encoder's end padding (1-2 AAC frames, 25-45 ms) is cut back to the container's length
    assert 0 <= doc["frame_count"] - np.ceil(sf.info(str(wav)).duration * 60) <= 1
    a, b = load_audio(m4a), load_audio(wav)
    assert a.original_rate == 44100 and 0 <= a.duration - b.duration <= 0.011
    # the same speech: loudness envelopes agree (AAC is lossy, and its decoder delay shifts a few ms)
    env_a, env_b = (prosody._frame_rms_db(x.samples)[:150] for x in (a, b))
    assert np.corrcoef(env_a, env_b)[0, 1] > 0.95


def test_folders_pick_up_m4a_and_aac(spoken_m4a, tmp_path):
    for suffix in (".m4a", ".aac", ".mp4", ".webm"):
        assert suffix in AUDIO_SUFFIXES
    (tmp_path / "vo").mkdir()
    (tmp_path / "vo" / "a.m4a").write_bytes(spoken_m4a[1].read_bytes())
    assert [rel.name for _, rel in expand_inputs([str(tmp_path / "vo")])] == ["a.m4a"]


def test_m4a_without_audio_stream_and_over_the_limit(spoken_m4a, tmp_path):
    video = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=32x32:d=1", "-c:v", "mpeg4",
                    str(video)], check=True)
    with pytest.raises(InputError, match="no audio stream"):
        load_audio(video)
    with pytest.raises(InputError, match="over the 1 s limit"):
        load_audio(spoken_m4a[1], max_duration_s=1)


# --- 18: bounded blocks, the same numbers ----------------------------------------------------------------------

def yin_f0(x, n, wanted=None):
    """yin's own choice of f0 per 10 ms frame (column 0 of the candidates)."""
    return prosody._pitch_candidates(x, n, wanted)[0][:, 0]


def test_blockwise_prosody_equals_the_whole_array(monkeypatch):
    librosa = pytest.importorskip("librosa")
    x = speechy(12.3, seed=2)
    n = 1 + len(x) // prosody.HOP
    whole_db, whole_f0 = prosody._frame_rms_db(x), yin_f0(x, n)  # 12 s: two 1000-frame blocks
    monkeypatch.setattr(prosody, "BLOCK", 37)  # many blocks, edges everywhere
    np.testing.assert_array_equal(prosody._frame_rms_db(x), whole_db)
    np.testing.assert_array_equal(yin_f0(x, n), whole_f0)
    # and the reference: librosa's yin over the whole signal in one pass
    ref = librosa.yin(x, fmin=prosody.FMIN, fmax=prosody.FMAX, sr=SAMPLE_RATE, frame_length=prosody.YIN_FRAME,
                      hop_length=prosody.HOP, center=True)
    np.testing.assert_allclose(whole_f0, ref, rtol=1e-6)
    a = prosody.analyse(x, 740, 60.0)
    monkeypatch.setattr(prosody, "BLOCK", 1000)
    b = prosody.analyse(x, 740, 60.0)
    np.testing.assert_array_equal(a.voiced, b.voiced)
    np.testing.assert_array_equal(a.loudness, b.loudness)
    assert a.voiced.mean() > 0.2  # the test signal does exercise the pitch tracker
    # measuring only some frames gives those frames' numbers exactly (analyse skips the quiet ones)
    wanted = np.random.default_rng(0).random(n) < 0.4
    some = yin_f0(x, n, wanted)
    np.testing.assert_array_equal(some[wanted], whole_f0[wanted])
    assert not some[~wanted].any()


def test_blockwise_log_mel_equals_one_stft(monkeypatch):
    librosa = pytest.importorskip("librosa")
    assert np.array_equal(features.mel_filters(), librosa.filters.mel(sr=SAMPLE_RATE, n_fft=features.N_FFT,
                                                                      n_mels=features.N_MELS, fmin=40, fmax=7600))
    x = speechy(7.77, seed=3)
    monkeypatch.setattr(features, "BLOCK", 10 ** 9)
    whole = features.log_mel(x)
    monkeypatch.setattr(features, "BLOCK", 53)
    torch.testing.assert_close(features.log_mel(x), whole, atol=1e-4, rtol=0)
    torch.testing.assert_close(features.log_mel_frames(x, 0, 5), whole[:5], atol=1e-4, rtol=0)
    torch.testing.assert_close(features.log_mel_frames(x, 700, len(whole)), whole[700:], atol=1e-4, rtol=0)


@pytest.mark.parametrize("loader", ["load_network", "load_checkpoint"])  # numpy (bakes) and torch (training)
def test_blockwise_network_equals_one_pass(loader):
    from emoface.model import checkpoints
    from emoface.model.infer import predict_100hz

    model = getattr(checkpoints, loader)(None)
    x = speechy(9.0, seed=4)
    emotion = EmotionTrack.constant(parse_emotion("happy:0.7"))
    whole = predict_100hz(model, x, emotion, block_rows=10 ** 9)
    for block in (50, 333):
        np.testing.assert_allclose(predict_100hz(model, x, emotion, block_rows=block), whole, atol=1e-5)


def test_blockwise_decode_equals_whole_file_resample(tmp_path, monkeypatch):
    import soxr

    path = tmp_path / "hires.wav"
    stereo = np.stack([speechy(6.0, 96000, seed=5), speechy(6.0, 96000, seed=6)], axis=1)
    sf.write(path, stereo, 96000, subtype="FLOAT")
    monkeypatch.setattr(audio_mod, "READ_BLOCK", 4096)
    got = load_audio(path).samples
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    want = soxr.resample(data.mean(axis=1), 96000, SAMPLE_RATE, quality="HQ")
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-6


def test_streamed_json_is_the_same_document(tmp_path):
    rng = np.random.default_rng(7)
    anim = Animation(("JawOpen", "Blink"), 60.0, rng.random((50, 2)).astype(np.float32), "custom",
                     {"source": "vo/é.wav", "seed": 3})
    path = tmp_path / "a.json"
    formats.json_format.write(anim, path)
    doc = {"schema": "emoface.animation/1", "fps": 60.0, "rig": "custom", "frame_count": 50,
           "names": ["JawOpen", "Blink"], "metadata": anim.metadata,
           "frames": [[round(float(v), 6) for v in row] for row in anim.values]}
    assert path.read_text() == json.dumps(doc, separators=(",", ":")) + "\n"


def test_blockwise_retarget_equals_one_pass():
    from emoface.rigs import _by_blocks, canonical_names, load_rig

    values = np.random.default_rng(8).random((2345, len(canonical_names()))).astype(np.float32)
    for name in ("metahuman", "livelink", "arkit"):
        rig = load_rig(name)
        np.testing.assert_array_equal(_by_blocks(rig.from_canonical, values, block=100), rig.from_canonical(values))


# --- truncated MP3 and Ogg; progress bars kept out of logs -------------------------------------------------------

@pytest.fixture(scope="module")
def line_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("mp3") / "line.wav"
    sf.write(path, speechy(3.6, 44100, seed=9), 44100)
    return path


def encode(wav, out, *options):
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), *map(str, options), str(out)], check=True)
    return out


def cut(path, keep_bytes, name=None):
    target = path.with_name(name or f"cut{keep_bytes}{path.suffix}")
    target.write_bytes(path.read_bytes()[:keep_bytes])
    return target


@pytest.mark.parametrize("keep_bytes", [2000, 5000])
def test_truncated_mp3_is_one_line_nonzero_and_no_output(line_wav, tmp_path, keep_bytes):
    path = cut(encode(line_wav, tmp_path / "line.mp3"), keep_bytes)
    out = tmp_path / "line.json"
    result = cli("bake", path, "-o", out)
    assert result.returncode != 0 and not out.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines  # no "Warning: Xing stream size off..." from the decoder
    assert re.fullmatch(rf"emoface: error: {re.escape(str(path))}: audio data ends at \d\.\d\d s but the header "
                        r"says 3\.6\d s \(truncated file\?\)", lines[0]), lines[0]


@pytest.mark.parametrize("options", [
    (),                                                        # ffmpeg's default: 128 kb/s CBR with an Info tag
    ("-b:a", "32k", "-ar", "16000", "-ac", "1"),               # MPEG-2, low rate
    ("-b:a", "320k", "-ar", "48000", "-ac", "2"),
    ("-q:a", "2"),                                             # VBR with a Xing tag
    ("-q:a", "9", "-ar", "22050"),
    ("-ar", "8000", "-b:a", "24k"),                            # MPEG-2.5
    ("-metadata", "title=Line 7", "-id3v2_version", "3", "-write_id3v1", "1"),  # ID3v2 and ID3v1 tags
    ("-b:a", "64k", "-write_xing", "0"),                       # CBR without a Xing/Info tag: length estimated
    ("-q:a", "0", "-write_xing", "0"),                         # VBR without one: the estimate is far off
])
def test_whole_mp3s_load_whole_and_quietly(line_wav, tmp_path, capfd, options):
    path = encode(line_wav, tmp_path / "line.mp3", *options)
    audio = load_audio(path)
    assert audio.duration == pytest.approx(3.6, abs=0.06)  # a decoder pads or trims a frame or two
    assert capfd.readouterr().err == ""
    cutoff = cut(path, path.stat().st_size // 2)
    if "-write_xing" not in options:  # without a length in the file a cut one cannot be told from a short one
        with pytest.raises(InputError, match="truncated file"):
            load_audio(cutoff)
    assert capfd.readouterr().err == ""


def test_whole_mp3_with_a_big_id3_tag_bakes(line_wav, tmp_path):
    path = encode(line_wav, tmp_path / "line.mp3", "-metadata", f"comment={'x' * 100_000}",
                  "-id3v2_version", "3")
    assert path.read_bytes()[:3] == b"ID3" and path.stat().st_size > 100_000
    out = tmp_path / "line.json"
    result = cli("bake", path, "-o", out)
    assert result.returncode == 0 and result.stderr.startswith("baked 1 of 1 line(s)")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # the summary, no decoder lines
    assert json.loads(out.read_text())["frame_count"] == pytest.approx(3.6 * 60, abs=4)


@pytest.mark.parametrize("suffix, options", [(".ogg", ("-c:a", "libvorbis")), (".opus", ("-c:a", "libopus"))])
def test_truncated_ogg_and_opus_are_refused(line_wav, tmp_path, suffix, options):
    path = encode(line_wav, tmp_path / f"line{suffix}", *options)
    assert load_audio(path).duration == pytest.approx(3.6, abs=0.03)
    for keep in (path.stat().st_size // 2, path.stat().st_size - 1):
        with pytest.raises(InputError, match=r"audio data ends at \d\.\d\d s without the stream's end mark"):
            load_audio(cut(path, keep))


def test_batch_to_a_log_has_no_progress_bar_only_the_lines(line_wav, tmp_path):
    folder, out, log_file = tmp_path / "vo", tmp_path / "out", tmp_path / "bake.log"
    folder.mkdir()
    sf.write(folder / "a.wav", speechy(1.5, seed=10), SAMPLE_RATE)
    encode(line_wav, folder / "b.mp3")
    bad = cut(encode(line_wav, tmp_path / "c.mp3"), 3000, "c.mp3")
    (folder / "c.mp3").write_bytes(bad.read_bytes())
    with open(log_file, "w") as err:  # stderr redirected to a file, as in a build log
        code = subprocess.run([sys.executable, "-m", "emoface.cli", "bake", str(folder), "-o", str(out)],
                              stdout=subprocess.DEVNULL, stderr=err).returncode
    text = log_file.read_text()
    assert code != 0 and "\r" not in text and "baking" not in text
    lines = text.strip().splitlines()
    assert lines[0].startswith(f"emoface: error: {folder / 'c.mp3'}: audio data ends at") and len(lines) == 4
    assert lines[1].startswith("baked 2 of 3 line(s)") and lines[2] == "1 failed:"
    assert sorted(p.name for p in out.glob("*.json")) == ["a.json", "b.json"]


def test_progress_bars_only_on_a_terminal(monkeypatch):
    from emoface.progress import show_progress

    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    monkeypatch.setattr(sys, "stderr", Stream(True))
    assert show_progress() and show_progress(True) and not show_progress(False)
    monkeypatch.setattr(sys, "stderr", Stream(False))
    assert not show_progress() and not show_progress(True)
    monkeypatch.setattr(sys, "stderr", None)
    assert not show_progress()
