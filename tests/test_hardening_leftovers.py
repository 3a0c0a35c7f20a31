"""Input hardening leftovers: a non-UTF-8 --text-file, UDP targets without a host, non-integer and overlong numbers in
WebSocket control messages, an `audio` message to a stream that plays a file, and capture's bad --rig.

Each test failed before its fix."""

import asyncio
import json
import subprocess

import imageio_ffmpeg
import pytest

from emoface.cli import main
from tests.test_hardening_cli import one_error_line
from tests.test_hardening_live_batch import _reply, _serve


# --- 1. a transcript file that is not UTF-8 is refused like a dialogue sheet that is not ------------------------
def test_a_text_file_that_is_not_utf8_is_one_error_line(bob, tmp_path, capsys):
    transcript = tmp_path / "t.txt"
    transcript.write_bytes(b"Bob popped \xff\xfe the big map\n")
    out = tmp_path / "x.json"
    assert main(["bake", str(bob), "--engine", "phonetic", "--text-file", str(transcript), "-o", str(out), "-q"]) == 2
    one_error_line(capsys.readouterr().err, str(transcript), "--text-file", "not UTF-8 text (byte 11)")
    assert not out.exists()


def test_a_utf8_text_file_with_a_bom_still_bakes(bob, tmp_path):
    transcript = tmp_path / "t.txt"
    transcript.write_bytes("\ufeffBob popped the big map\n".encode("utf-8"))
    out = tmp_path / "x.json"
    assert main(["bake", str(bob), "--engine", "phonetic", "--text-file", str(transcript), "-o", str(out), "-q"]) == 0
    assert out.exists()


# --- 2. a UDP target needs the receiver's host --------------------------------------------------------------------
@pytest.mark.parametrize("url", ["livelink://:11111", "vmc://:39539", "osc://:9000", "livelink://",
                                 "osc://[]:9000"])
@pytest.mark.parametrize("command", ["stream", "serve"])
def test_a_udp_target_without_a_host_is_one_error_line(command, url, tmp_path, capsys, monkeypatch):
    from emoface.live import commands

    def never(*args):
        raise AssertionError(f"{command} started with {url}")  # (serve would otherwise run until stopped)

    monkeypatch.setattr(commands, "_run", never)
    args = ["stream", str(tmp_path / "x.wav")] if command == "stream" else ["serve", "--port", "0"]
    assert main([*args, "--to", url, "--engine", "phonetic"]) == 2
    one_error_line(capsys.readouterr().err, f"{url}: ")


def test_udp_targets_with_a_host_are_still_taken():
    from emoface.live.sinks import parse_target

    assert parse_target("osc://[::1]:9000", "livelink")[1:3] == ("::1", 9000)
    assert parse_target("livelink://10.0.0.2", "livelink")[1:3] == ("10.0.0.2", 11111)
    assert parse_target("ws://:0", "livelink")[1] == "127.0.0.1"  # ws:// is served here, on loopback by default


# --- 3.-5. WebSocket control messages -----------------------------------------------------------------------------
def _replies(messages, audio=True):
    """The first error reply after each message (a `dance` after each one that is taken: its reply is then
    'unknown message type'), and whether the connection stays."""
    from websockets.asyncio.client import connect

    async def client(url):
        async with connect(url) as ws:
            await _reply(ws, "header")
            errors = []
            for message in messages:
                await ws.send(message)
                await ws.send(json.dumps({"type": "dance"}))
                errors.append((await _reply(ws))["message"])
                if "unknown message type" not in errors[-1]:
                    assert "unknown message type" in (await _reply(ws))["message"]  # the dance's: still up
            return errors

    return asyncio.run(_serve(client, audio))


@pytest.mark.parametrize("message,needle", [
    ('{"type": "audio", "channels": 1.5}', "channels must be an integer 1-8, not 1.5"),
    ('{"type": "audio", "sample_rate": 16000.5}', "sample_rate must be an integer 8000-96000, not 16000.5"),
    ('{"type": "audio", "channels": ' + "9" * 99 + "}", "channels must be an integer 1-8"),
    ('{"type": "audio", "channels": "2"}', 'channels must be an integer 1-8, not "2"'),  # a string, quoted
])
def test_a_non_integer_audio_layout_gets_an_error_reply(message, needle):
    [error] = _replies([message])
    assert needle in error


def test_a_message_that_is_not_json_is_told_so():
    """It had been told only the parser's own words ('Expecting value: line 1 column 1 (char 0)')."""
    [error] = _replies(["hello"])
    assert error == "message is not JSON (Expecting value at character 0)"


def test_whole_numbers_still_set_the_audio_layout():
    [after] = _replies(['{"type": "audio", "channels": 2.0, "sample_rate": 48000, "format": "f32le"}'])
    assert "unknown message type" in after  # no error for the audio message itself: the dance's reply is first


@pytest.mark.parametrize("message", ['{"type": "audio", "channels": ' + "1" * 5000 + "}",
                                     '{"type": "reset", "x": [-' + "7" * 5000 + "]}"])
def test_a_number_too_long_gets_a_plain_error_reply(message):
    [error] = _replies([message])
    assert "number too long (5000 digits)" in error and "sys." not in error and "int_max_str" not in error


def test_an_audio_message_to_a_stream_that_plays_a_file_gets_an_error_reply():
    [error] = _replies(['{"type": "audio", "sample_rate": 48000}'], audio=False)
    assert error == "this stream plays a file; it takes no audio from clients"


# --- 6. capture: a bad --rig is exit 2 before any face tracking ---------------------------------------------------
@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "v.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=duration=1:size=64x64:rate=25", "-f", "lavfi", "-i", "sine=duration=1", "-shortest",
                    str(path)], check=True)
    return path


@pytest.mark.parametrize("rig,needle", [('{"name": "x", "curves": [', "rig profile is not valid JSON"),
                                        (None, "rig profile not found"), ("nosuch", "unknown rig")])
def test_capture_refuses_a_bad_rig_with_exit_2_before_tracking(rig, needle, video, tmp_path, capsys, monkeypatch):
    from emoface.capture import take

    def no_tracking(*args, **kwargs):
        raise AssertionError("a face was tracked before --rig was checked")

    monkeypatch.setattr(take, "capture", no_tracking)
    if rig == "nosuch":
        given = rig
    else:
        given = str(tmp_path / "bad.json")
        if rig is not None:
            (tmp_path / "bad.json").write_text(rig)
    out = tmp_path / "x.json"
    assert main(["capture", str(video), "-o", str(out), "--rig", given, "-q"]) == 2
    one_error_line(capsys.readouterr().err, f"{given}: {needle}")
    assert not out.exists() and not out.with_suffix(".wav").exists()


def test_capture_refuses_a_format_that_cannot_hold_the_rig_with_exit_2(video, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["capture", str(video), "-o", str(out), "--format", "livelink-csv", "--rig", "metahuman", "-q"]) == 2
    one_error_line(capsys.readouterr().err, "--rig", "livelink-csv")
    assert not out.exists()


def test_a_number_too_long_in_a_rig_profile_is_one_line(tmp_path, capsys):
    """Python refuses to read integers of thousands of digits; that is the file's problem, said as such."""
    rig = tmp_path / "big.json"
    rig.write_text('{"name": "x", "curves": [{"name": "a", "from": {"JawOpen": ' + "9" * 5000 + "}}]}")
    assert main(["rigs", "show", str(rig)]) == 2
    line = one_error_line(capsys.readouterr().err, str(rig), "number too long")
    assert "set_int_max_str_digits" not in line


def test_an_adapted_network_that_does_worse_on_held_out_takes_is_told_so(tmp_path, monkeypatch, capsys):
    """A user adapting the shipped network to GRID s1's speaker (whom it already learnt) got a worse network
    and no word of it."""
    from emoface.cli import main
    from emoface.train import actor

    worse = {"before": {"jaw_r": 0.946, "mouth_r": 0.643}, "after": {"jaw_r": 0.878, "mouth_r": 0.550}}
    monkeypatch.setattr(actor, "finetune", lambda *args, **kwargs: worse)
    assert main(["train", "--capture", str(tmp_path), "-o", str(tmp_path / "actor.pt"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "0.946 -> 0.878" in err and "less well than the one it started from" in err
    better = {"before": worse["after"], "after": worse["before"]}
    monkeypatch.setattr(actor, "finetune", lambda *args, **kwargs: better)
    assert main(["train", "--capture", str(tmp_path), "-o", str(tmp_path / "actor.pt"), "-q"]) == 0
    assert "less well" not in capsys.readouterr().err
