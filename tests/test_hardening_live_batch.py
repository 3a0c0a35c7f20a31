"""Input hardening of the live server and of batch bakes: an empty --token, WebSocket messages past the frame
limit, non-finite or out-of-range training options, output names near the file name limit, and a re-run that
trusted the bake index over the files it lists."""

import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from emoface.bake_index import INDEX_NAME, BakeIndex
from emoface.cli import main
from tests.conftest import folder_of
from tests.test_hardening_cli import one_error_line

ROOT = Path(__file__).resolve().parents[1]


# --- 1. an empty token does not turn authentication off ---------------------------------------------------
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["stream", "x.wav", "--to", "ws://127.0.0.1:0"]])
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_token_is_refused_at_start(command, value, capsys):
    from emoface.cli import build_parser

    with pytest.raises(SystemExit) as exc:  # the parser: without the check the server would start and run
        build_parser().parse_args([*command, "--token", value])
    assert exc.value.code == 2
    one_error_line(capsys.readouterr().err, "--token", "empty")


@pytest.mark.parametrize("query", ["?token=", "?token=%20%20"])
def test_an_empty_token_in_a_ws_url_is_refused(query, tmp_path, capsys):
    assert main(["stream", str(tmp_path / "x.wav"), "--to", f"ws://127.0.0.1:0/{query}"]) == 2
    one_error_line(capsys.readouterr().err, f"ws://127.0.0.1:0/{query}: token= is empty")


def test_the_hub_refuses_an_empty_token_too():
    from emoface.live.server import WebSocketHub
    from emoface.live.stage import Stage

    with pytest.raises(ValueError, match="token is empty"):
        WebSocketHub(Stage(lambda name: None), "127.0.0.1", 0, token="")


# --- 2. a message past the old 1 MiB frame limit gets its error reply ------------------------------------
async def _serve(client, audio=True):
    """A real WebSocket server (the pieces of `emoface serve`, or of `stream --to ws://` with audio=False) on a
    free port of 127.0.0.1, for as long as the client takes."""
    from emoface.animator import Animator
    from emoface.live.animator import PhoneticStreamer
    from emoface.live.server import WebSocketHub
    from emoface.live.session import LiveSession, PushSource

    session = LiveSession(PhoneticStreamer(Animator(engine="phonetic", fps=60), rig="livelink"), [], "livelink")
    hub = WebSocketHub(session, "127.0.0.1", 0, None, audio)
    await hub.start()
    stop = asyncio.Event()
    runner = asyncio.create_task(session.run(PushSource(), stop))
    try:
        return await asyncio.wait_for(client(f"ws://127.0.0.1:{hub.port}"), 60)
    finally:
        stop.set()
        await runner
        await hub.close()


async def _reply(ws, kind="error", timeout=10.0):
    end = time.monotonic() + timeout
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, end - time.monotonic())))
        if msg["type"] == kind:
            return msg


def _still_up(ws):
    async def check():
        await ws.send(json.dumps({"type": "dance"}))
        return (await _reply(ws))["message"]
    return check()


def test_a_whole_40_s_line_in_one_message_gets_an_error_reply_and_the_connection_stays():
    from websockets.asyncio.client import connect

    line = (np.sin(np.arange(40 * 16000) * 0.05) * 8000).astype("<i2").tobytes()  # 40 s, 1.28 MB
    assert len(line) > 2 ** 20

    async def client(url):
        async with connect(url, max_size=None) as ws:
            await _reply(ws, "header")
            await ws.send(line)
            error = (await _reply(ws))["message"]
            return error, await _still_up(ws)

    error, after = asyncio.run(_serve(client))
    assert "faster than real time" in error and "35.0" in error  # 5 s queued, the other 35 s refused
    assert "unknown message type" in after


def test_a_big_message_to_a_stream_and_a_long_text_message_get_error_replies():
    from websockets.asyncio.client import connect

    async def client(url):
        async with connect(url, max_size=None) as ws:
            await _reply(ws, "header")
            await ws.send(bytes(3 * 2 ** 20))
            audio = (await _reply(ws))["message"]
            await ws.send(json.dumps({"type": "reset", "padding": "x" * 2 ** 20}))
            text = (await _reply(ws))["message"]
            return audio, text, await _still_up(ws)

    audio, text, after = asyncio.run(_serve(client, audio=False))
    assert "takes no audio" in audio and "refused unread" in text and "unknown message type" in after


def test_past_the_documented_limit_the_connection_closes_with_1009():
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from emoface.live.server import MAX_MESSAGE_BYTES

    async def client(url):
        # not `async with`: the server closes the connection while this client still writes the 16 MiB, and
        # the client library's own close() then trips over that socket (asyncio: 'NoneType' has no call_soon)
        ws = await connect(url, max_size=None)
        await _reply(ws, "header")
        await ws.send(bytes(MAX_MESSAGE_BYTES))  # the limit itself is read and answered
        at_limit = (await _reply(ws))["message"]
        with pytest.raises(ConnectionClosed):  # seen while still sending it, or on the next read
            await ws.send(bytes(MAX_MESSAGE_BYTES + 2))
            while True:
                await ws.recv()
        return at_limit, ws.close_code

    at_limit, code = asyncio.run(_serve(client))
    assert "faster than real time" in at_limit and code == 1009


def test_the_limit_fits_5_s_of_any_format_and_is_documented():
    from emoface.live.server import MAX_CHANNELS, MAX_CONTROL_CHARS, MAX_MESSAGE_BYTES, MAX_RATE
    from emoface.live.session import MAX_AHEAD_S

    assert MAX_AHEAD_S * MAX_RATE * MAX_CHANNELS * 4 <= MAX_MESSAGE_BYTES
    doc = (ROOT / "docs" / "LIVE.md").read_text()
    assert f"{MAX_MESSAGE_BYTES // 2 ** 20} MiB" in doc and "1009" in doc
    assert f"{MAX_CONTROL_CHARS:,}" in doc


def test_audio_past_the_queue_is_refused_without_being_decoded():
    from emoface.live.server import _Client
    from emoface.live.session import PcmBuffer

    client, buffer = _Client(None, None), PcmBuffer()
    samples, cut = client.pcm(bytes(2 * 16000 * 60), buffer.room)  # a minute of s16 into an empty queue
    assert len(samples) < 16000 * 5.1 and cut > 16000 * 54
    with pytest.raises(ValueError, match="55.00 s refused"):
        buffer.append(samples, refused_before=cut)


# --- 3. training options are bounded ----------------------------------------------------------------------
TRAIN = ["train", "--capture", "takes", "-o", "actor.pt"]


@pytest.mark.parametrize("option, value", [("--lr", "nan"), ("--lr", "inf"), ("--lr", "-1"), ("--lr", "0"),
                                           ("--lr", "2"), ("--steps", "0"), ("--steps", "1.5"),
                                           ("--minutes", "nan"), ("--minutes", "0")])
def test_emoface_train_refuses_bad_numbers_in_one_line(option, value, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*TRAIN, option, value])
    assert exc.value.code == 2
    one_error_line(capsys.readouterr().err, f"argument {option}:")


def test_emoface_train_takes_good_numbers():
    from emoface.cli import build_parser

    args = build_parser().parse_args([*TRAIN, "--lr", "1e-3", "--steps", "5", "--minutes", "0.5"])
    assert (args.lr, args.steps, args.minutes) == (1e-3, 5, 0.5)


@pytest.mark.parametrize("option, value", [
    ("--lr", "nan"), ("--lr", "inf"), ("--lr", "-1"), ("--lr", "0"), ("--steps", "0"), ("--steps", "-5"),
    ("--minutes", "-1"), ("--minutes", "inf"), ("--batch", "0"), ("--channels", "0"), ("--threads", "0"),
    ("--workers", "0"), ("--seed", "-1"), ("--mel-floor", "0"), ("--mel-floor", "nan"),
    ("--background-voices", "1.5"), ("--background-voices", "-0.1"), ("--squared-weight", "nan"),
    ("--phone-weight", "-1"), ("--lookahead", "-1"), ("--row-smoothing", "-1"), ("--grid-share", "1.5"),
    ("--grid-share", "nan"), ("--speed-share", "1.5"), ("--speed-range", "0.4"), ("--speed-range", "inf"),
    ("--stride", "3"), ("--stride", "x")])
def test_python_m_emoface_train_refuses_bad_numbers_in_one_line(option, value, capsys, tmp_path):
    from emoface.train.__main__ import main as train_main

    with pytest.raises(SystemExit) as exc:  # before any labelling or training
        train_main(["--shared", str(tmp_path / "none"), "--cache", str(tmp_path / "cache"), option, value])
    assert exc.value.code == 2
    one_error_line(capsys.readouterr().err, f"argument {option}:")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("stride", ["1", "2"])
def test_a_network_shape_that_cannot_be_made_fails_before_any_labelling(stride, capsys, tmp_path):
    """The shipped network's trunk is at 50 Hz, and a 25 Hz one's is coarser: going back to a finer trunk is refused
    in one line, before the data cache (an hour of labelling on a fresh machine) is built."""
    from emoface.model.checkpoints import DEFAULT
    from emoface.model.net import FaceNet, load, save
    from emoface.train.__main__ import main as train_main

    (tmp_path / "shared" / "data" / "speech-en").mkdir(parents=True)
    coarse = tmp_path / "coarse.pt"
    save(FaceNet(load(DEFAULT).config.with_stride(4)), coarse)
    with pytest.raises(SystemExit) as exc:
        train_main(["--shared", str(tmp_path / "shared"), "--cache", str(tmp_path / "cache"), "--init",
                    str(DEFAULT if stride == "1" else coarse), "--stride", stride, "--out", str(tmp_path / "out.pt")])
    assert exc.value.code == 2
    one_error_line(capsys.readouterr().err, "--stride/--lookahead:", "only to a multiple")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out.pt").exists()


# --- 4. every legal output name can be written ------------------------------------------------------------
def _name_max(folder) -> int:
    try:
        return min(255, os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def test_a_240_character_name_bakes(bob, tmp_path, capsys):
    stem = "a" * 240
    audio = tmp_path / "in" / f"{stem}.wav"
    audio.parent.mkdir()
    shutil.copy(bob, audio)
    out = tmp_path / "out"
    assert main(["bake", str(audio), "-o", f"{out}/", "-q", "--no-gaze"]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted([INDEX_NAME, f"{stem}.json"])


@pytest.mark.parametrize("name", ["b" * 250 + ".json", "é" * 122 + ".txt", "line.json"])
@pytest.mark.parametrize("suffix", [".part", ".mp4"])
def test_temporary_names_fit_beside_any_legal_output_name(name, suffix, tmp_path):
    from emoface.formats import atomic_output, temporary_files, temporary_prefix

    assert len(os.fsencode(name)) <= _name_max(tmp_path)
    target = tmp_path / name
    prefix = temporary_prefix(target, suffix)
    assert len(os.fsencode(prefix)) + 8 + len(suffix) <= _name_max(tmp_path)
    with atomic_output(target, suffix=suffix) as tmp:
        assert temporary_files(target, suffix) == [Path(tmp)]  # what Ray's clean-up finds after Ctrl-C
        Path(tmp).write_text("whole")
    assert target.read_text() == "whole" and temporary_files(target, suffix) == []
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(target, suffix=suffix):
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    fd, leftover = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=tmp_path)  # a worker killed mid-write
    os.close(fd)
    assert temporary_files(target, suffix) == [Path(leftover)]


# --- 5. a re-run checks the outputs themselves, not only the index ----------------------------------------
@pytest.fixture
def folder_of_lines(bob, tmp_path):
    return folder_of(bob, tmp_path / "lines", ("good", "other"))


def _bake(lines, out, *extra):
    return main(["bake", str(lines), "-o", str(out), "--format", "json", "--no-gaze", *extra])


def test_a_truncated_output_is_baked_again(folder_of_lines, tmp_path, capsys):
    out = tmp_path / "out"
    assert _bake(folder_of_lines, out) == 0
    whole = (out / "good.json").read_bytes()
    other = (out / "other.json").stat().st_mtime_ns
    os.truncate(out / "good.json", 100)
    capsys.readouterr()
    assert _bake(folder_of_lines, out) == 0
    assert "baked 1 of 2" in capsys.readouterr().err
    assert (out / "good.json").read_bytes() == whole and (out / "other.json").stat().st_mtime_ns == other


def test_an_edited_output_of_the_same_size_is_baked_again_and_a_touched_one_is_not(folder_of_lines, tmp_path,
                                                                                     capsys):
    out = tmp_path / "out"
    assert _bake(folder_of_lines, out) == 0
    whole = (out / "good.json").read_bytes()
    (out / "good.json").write_bytes(whole.replace(b"0", b"1", 1))  # same size, new time
    later = time.time() + 100
    os.utime(out / "other.json", (later, later))  # same bytes, new time (a copy that did not keep times)
    capsys.readouterr()
    assert _bake(folder_of_lines, out) == 0
    assert "baked 1 of 2" in capsys.readouterr().err
    assert (out / "good.json").read_bytes() == whole
    assert (out / "other.json").stat().st_mtime == pytest.approx(later)


def test_an_index_from_the_previous_version_is_read_and_its_lines_checked(folder_of_lines, tmp_path, capsys):
    out = tmp_path / "out"
    assert _bake(folder_of_lines, out) == 0
    index = out / INDEX_NAME
    entries = [json.loads(line) for line in index.read_text().splitlines()]
    assert all({"size", "mtime_ns", "sha256"} <= set(e) for e in entries)
    index.write_text("".join(json.dumps({"out": e["out"], "key": e["key"]}) + "\n" for e in entries))
    assert BakeIndex(out).keys == {e["out"]: e["key"] for e in entries}  # still readable
    capsys.readouterr()
    assert _bake(folder_of_lines, out) == 0
    assert "baked 2 of 2" in capsys.readouterr().err  # nothing proved the files whole: baked again
    capsys.readouterr()
    assert _bake(folder_of_lines, out) == 0
    assert "baked 0 of 2" in capsys.readouterr().err  # and recorded with their figures now


def test_the_index_checks_size_time_and_hash(tmp_path):
    out = tmp_path / "line.json"
    out.write_text("{}" * 100)
    index = BakeIndex(tmp_path)
    index.record(out, "k")
    assert index.done(out, "k") and not index.done(out, "other key")
    again = BakeIndex(tmp_path)  # read back from the file
    assert again.done(out, "k")
    os.utime(out, ns=(out.stat().st_atime_ns, out.stat().st_mtime_ns + 10 ** 9))
    assert again.done(out, "k")  # the same bytes at another time
    out.write_text("[]" * 100)
    assert not again.done(out, "k")
    out.unlink()
    assert not again.done(out, "k")


@pytest.mark.slow  # a Ray instance takes a few seconds to start
def test_a_ray_rerun_bakes_a_truncated_output_again(folder_of_lines, tmp_path, capsys):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    assert _bake(folder_of_lines, out, "-q") == 0
    whole = (out / "good.json").read_bytes()
    os.truncate(out / "good.json", 100)
    capsys.readouterr()
    assert _bake(folder_of_lines, out, "--ray", "--ray-workers", "1") == 0
    assert "baked 1 of 2" in capsys.readouterr().err
    assert (out / "good.json").read_bytes() == whole
    assert all({"size", "mtime_ns", "sha256"} <= set(json.loads(line))
               for line in (out / INDEX_NAME).read_text().splitlines())
