"""Live link: streamed curves equal a bake, every protocol checked by a real receiver, bad clients survived."""

import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.emotion.spec import EmotionTrack, parse_emotion
from emoface.live.animator import StreamingAnimator
from emoface.live.session import FileSource, LiveSession, Stats
from emoface.live.sinks import open_sink
from emoface.rigs import canonical_names
from tests.conftest import speak


def stream_in_chunks(streamer, samples, seed=0):
    rng, outs, i = np.random.default_rng(seed), [], 0
    while i < len(samples):
        k = int(rng.integers(1, 900))
        outs.append(streamer.push(samples[i:i + k]).values)
        i += k
    outs.append(streamer.finish().values)
    return np.concatenate(outs)


@pytest.mark.parametrize("fps, network", [(60, "default"), (30, "default"), (60, "live")])
def test_streamed_curves_equal_the_bake(speech_line, fps, network):
    from emoface.model import checkpoints

    audio = load_audio(speech_line)
    animator = Animator(fps=fps, rig="metahuman", blinks=False, gaze=False, head=False, accents=False,
                        checkpoint=checkpoints.LIVE if network == "live" else None)
    emotion = EmotionTrack(np.array([0.0, 1.2, 2.0]),  # sad: its heavy lids come after the network, live too
                           np.stack([parse_emotion("happy"), parse_emotion("angry:0.6"), parse_emotion("sad")]))
    baked = animator.animate(audio, emotion)
    streamed = stream_in_chunks(StreamingAnimator(animator, emotion), audio.samples)
    assert streamed.shape == baked.values.shape
    np.testing.assert_allclose(streamed, baked.values, atol=1e-4)


def test_stream_and_serve_use_the_low_latency_network():
    """The shipped live network hears 20 ms ahead and smooths +-10 ms: frames can leave 56 ms after their audio
    (the bake's network, which hears 250 ms ahead: 306 ms), which keeps audio in -> packet out under 100 ms
    (docs/LIVE_BENCHMARK.md)."""
    from emoface.live.commands import _live_checkpoint
    from emoface.model import checkpoints

    assert _live_checkpoint() == checkpoints.LIVE
    live = StreamingAnimator(Animator(fps=60, checkpoint=checkpoints.LIVE))
    default = StreamingAnimator(Animator(fps=60))
    assert live.latency_s == pytest.approx(0.056) and default.latency_s == pytest.approx(0.306)
    assert live.model.config.out_names == default.model.config.out_names


def test_after_the_warm_up_a_tick_imports_nothing():
    """A live link's first ticks must not stall on an import (scipy's erf alone takes 0.2-0.5 s, many frames):
    the warm-up before the clock starts runs every path a tick takes."""
    from emoface.model import checkpoints

    live = StreamingAnimator(Animator(fps=60, checkpoint=checkpoints.LIVE))
    live.warm_up()
    before = set(sys.modules)
    rng = np.random.default_rng(0)
    for _ in range(30):  # 10 ms ticks of noise: speech-like steps, small blocks
        live.push((0.1 * rng.standard_normal(160)).astype(np.float32))
    assert set(sys.modules) - before == set()


def test_the_face_keeps_living_through_silence():
    streamer = StreamingAnimator(Animator(fps=60))
    anim = streamer.push(np.zeros(16000 * 8, np.float32))
    assert anim.n_frames >= int((8 - streamer.latency_s) * 60) and np.isfinite(anim.values).all()
    assert anim["EyeBlinkLeft"].max() > 0.9  # blinks
    assert np.ptp(anim["LeftEyeYaw"]) > 0.01  # saccades (degrees / 180)
    assert np.ptp(anim["HeadYaw"]) > 0.003 and np.ptp(anim["HeadPitch"]) > 0.003  # head drift
    assert np.abs(np.diff(anim["HeadYaw"])).max() < 0.002  # ...smooth, not jittering


def decode_livelink(packet: bytes) -> dict:
    """Live Link Face v6, decoded from ../shared/reference/livelink_face.md alone."""
    pos = 0

    def take(fmt):
        nonlocal pos
        out = struct.unpack_from(fmt, packet, pos)
        pos += struct.calcsize(fmt)
        return out

    def string():
        (n,) = take(">i")
        return take(f">{n}s")[0].decode("utf-8")

    (version,) = take(">B")
    device, subject = string(), string()
    frame, sub_frame, num, den = take(">ifii")
    (count,) = take(">B")
    values = take(f">{count}f")
    assert pos == len(packet), "trailing bytes"
    return dict(version=version, device=device, subject=subject, frame=frame, sub_frame=sub_frame,
                rate=(num, den), values=np.array(values, np.float32))


def test_livelink_packet_bytes():
    from emoface.live.livelink import packet

    values = np.linspace(-1, 1, 61).astype(np.float32)
    data = packet(values, subject="", device_id="", frame=7, fps=60)
    assert len(data) == 270  # the spec's size with empty strings
    assert data[:1] == b"\x06" and data[1:9] == b"\x00" * 8
    assert data[9:13] == struct.pack(">i", 7) and data[17:25] == struct.pack(">ii", 60, 1) and data[25] == 61
    d = decode_livelink(packet(values, subject="NPC_Guard", device_id="emoface", frame=12345, fps=59.94))
    assert (d["version"], d["subject"], d["device"], d["frame"], d["rate"]) == (6, "NPC_Guard", "emoface", 12345,
                                                                                 (60000, 1001))
    np.testing.assert_array_equal(d["values"], values)
    with pytest.raises(ValueError):
        packet(values[:52])


class UdpReceiver:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.packets = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.running = True
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                self.packets.append(self.sock.recv(65536))
            except socket.timeout:
                pass

    def stop(self):
        time.sleep(0.2)
        self.running = False
        self.thread.join()
        self.sock.close()
        return self.packets


def test_livelink_can_fold_mouthclose_into_the_jaw_for_receivers_that_ignore_it():
    """Epic's stock MetaHuman mapping of Live Link Face curves has no MouthClose: with ?mouthclose=fold the lips
    sealed over an open jaw arrive as a jaw open only as far as the lips are; other curves as they were."""
    from emoface.errors import InputError
    from emoface.live.sinks import Frame

    names = canonical_names()
    values = np.zeros(len(names), np.float32)
    values[names.index("JawOpen")], values[names.index("MouthClose")] = 0.3, 0.2
    values[names.index("MouthSmileLeft")] = 0.4
    got = {}
    for option in ("", "?mouthclose=send", "?mouthclose=fold"):
        rx = UdpReceiver()
        sink = open_sink(f"livelink://127.0.0.1:{rx.port}{option}", "livelink")
        sink.frame(Frame(0, 0.0, values))
        sink.close()
        (got[option],) = [decode_livelink(p)["values"] for p in rx.stop()]
    np.testing.assert_array_equal(got[""], values)
    np.testing.assert_array_equal(got["?mouthclose=send"], values)
    folded = got["?mouthclose=fold"]
    assert folded[names.index("JawOpen")] == pytest.approx(0.1) and folded[names.index("MouthClose")] == 0.0
    keep = [i for i, n in enumerate(names) if n not in ("JawOpen", "MouthClose")]
    np.testing.assert_array_equal(folded[keep], values[keep])
    with pytest.raises(InputError, match="mouthclose"):
        open_sink("livelink://127.0.0.1:11111?mouthclose=drop", "livelink")


@pytest.fixture(scope="module")
def short_line(tmp_path_factory):
    return speak("Bob popped the map.", tmp_path_factory.mktemp("live") / "short.wav")


def run_session(path, sinks, rig="livelink", step=1, **animator_options):
    animator = Animator(fps=60, **animator_options)
    session = LiveSession(StreamingAnimator(animator, rig="livelink"), sinks, rig, step=step)
    stats = asyncio.run(session.run(FileSource(path)))
    for sink in sinks:
        sink.close()
    return session, stats


@pytest.mark.parametrize("step", [1, 2])
def test_livelink_stream_over_udp_matches_the_bake(short_line, step):
    """Every frame, in order, with the bake's values; animated one frame at a time or two (the commands' default
    at 60 fps), which sends the same frames a frame interval later."""
    rx = UdpReceiver()
    session, stats = run_session(short_line, [open_sink(f"livelink://127.0.0.1:{rx.port}?subject=Guard", "livelink")],
                                 step=step, blinks=False, gaze=False, head=False, accents=False)
    packets = [decode_livelink(p) for p in rx.stop()]
    baked = Animator(fps=60, blinks=False, gaze=False, head=False, accents=False).animate(load_audio(short_line))
    assert stats.sent == stats.expected == baked.n_frames == len(packets)
    assert [p["frame"] for p in packets] == list(range(baked.n_frames))
    assert {p["subject"] for p in packets} == {"Guard"} and {p["rate"] for p in packets} == {(60, 1)}
    np.testing.assert_allclose(np.stack([p["values"] for p in packets]), baked.values, atol=1e-4)
    summary = stats.summary(60)
    assert summary["latency_ms_p50"] > 100  # the look-ahead is really waited for
    one_step = session.streamer.latency_s + session.lead_s + session.margin_s
    assert session.delay_s == pytest.approx(one_step + (step - 1) / 60)


def test_vmc_bundles_reach_a_python_osc_server(short_line):
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import BlockingOSCUDPServer

    got, sizes = [], []
    dispatcher = Dispatcher()
    dispatcher.map("/VMC/Ext/Blend/Val", lambda addr, name, value: got.append((name, value)))
    dispatcher.map("/VMC/Ext/Blend/Apply", lambda addr: got.append(("APPLY", None)))

    class Server(BlockingOSCUDPServer):
        def verify_request(self, request, client_address):  # every datagram passes here: note its size
            sizes.append(len(request[0]))
            return True

    server = Server(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _, stats = run_session(short_line, [open_sink(f"vmc://127.0.0.1:{server.server_address[1]}", "livelink")])
        time.sleep(0.3)
    finally:
        server.shutdown()
    applies = [i for i, (name, _) in enumerate(got) if name == "APPLY"]
    assert len(applies) == stats.sent
    frame = got[applies[-2] + 1: applies[-1]]
    assert [n for n, _ in frame] == list(canonical_names()[:52])  # perfect-sync ARKit names, no rotations
    assert max(sizes) <= 1500 and len(sizes) >= 2 * stats.sent  # 52 values do not fit one datagram
    jaw = [v for n, v in got if n == "JawOpen"]
    assert max(jaw) > 0.2


def test_osc_messages_carry_names_then_whole_frames(short_line):
    from pythonosc.osc_message import OscMessage

    rx = UdpReceiver()
    _, stats = run_session(short_line, [open_sink(f"osc://127.0.0.1:{rx.port}?rig=metahuman", "livelink")])
    msgs = [OscMessage(p) for p in rx.stop()]
    names = [m for m in msgs if m.address == "/emoface/names"]
    frames = [m for m in msgs if m.address == "/emoface/frame"]
    assert len(frames) == stats.sent and [m.params[0] for m in frames] == list(range(stats.sent))
    first = [m for m in names if m.params[0] == 0][0]
    total, rig = first.params[1], first.params[2]
    assert rig == "metahuman" and total == 174 == len(frames[0].params) - 2
    joined = []
    for m in names[: len(names)]:
        if m.params[0] == len(joined):
            joined += m.params[3:]
        if len(joined) == total:
            break
    assert joined[0].startswith("CTRL_") and len(joined) == 174
    assert any(m.address == "/emoface/emotion" for m in msgs)


def test_an_unreachable_target_does_not_stop_the_stream(short_line):
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()  # nobody listens here now: loopback answers with ICMP port unreachable
    rx = UdpReceiver()
    sinks = [open_sink(f"livelink://127.0.0.1:{dead_port}", "livelink"),
             open_sink(f"livelink://127.0.0.1:{rx.port}", "livelink")]
    _, stats = run_session(short_line, sinks)
    assert len(rx.stop()) == stats.sent == stats.expected
    assert sinks[0].udp.errors > 0


# --- WebSocket ----------------------------------------------------------------------------------

def stage_factory(fps=60, sinks=None, seed=0, step=1):
    """make_session for a Stage, as `emoface serve` builds it: one network shared by every character."""
    from emoface.live.stage import character_seed

    animator = Animator(fps=fps)

    def make_session(name):
        streamer = StreamingAnimator(animator, rig="livelink", seed=character_seed(seed, name))
        return LiveSession(streamer, list((sinks or {}).get(name, [])), "livelink", step=step)

    return make_session


async def _serve(seconds, clients, token=None, hub_options=None, stage_options=None, pass_hub=False):
    """Run `emoface serve`'s pieces for a while with client coroutines (each given the URL, and the hub with
    pass_hub); returns (hub, the default character's session, all characters' stats, the clients' results)."""
    from emoface.live.server import WebSocketHub
    from emoface.live.stage import DEFAULT_CHARACTER, Stage

    stage = Stage(stage_factory(), **(stage_options or {}))
    session = stage.join(DEFAULT_CHARACTER).session
    hub = WebSocketHub(stage, "127.0.0.1", 0, token, True, **(hub_options or {}))
    stage.warm_up()
    await hub.start()
    stop = asyncio.Event()
    runner = asyncio.create_task(stage.run(stop))
    try:
        url = f"ws://127.0.0.1:{hub.port}"
        results = await asyncio.wait_for(asyncio.gather(*(c(url, hub) if pass_hub else c(url) for c in clients)),
                                         seconds + 10)
    finally:
        stop.set()
        stats = await runner
        await hub.close()
    return hub, session, stats, results


def test_websocket_header_frames_audio_and_control(bob):
    from websockets.asyncio.client import connect

    audio = load_audio(bob).samples

    async def speaker(url):
        async with connect(url) as ws:
            header = json.loads(await ws.recv())
            frames, errors, emotions = [], [], []
            pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
            for k in range(0, len(pcm), 640):  # 20 ms messages, a little faster than real time
                await ws.send(pcm[k:k + 640])
            await ws.send("this is not json")
            await ws.send(json.dumps({"type": "emotion", "emotion": "happy", "intensity": 0.8}))
            await ws.send(json.dumps({"type": "dance"}))
            await ws.send(b"\x01\x02\x03")  # half a sample
            t_end = time.monotonic() + 2.5
            while time.monotonic() < t_end:
                msg = json.loads(await ws.recv())
                {"frame": frames, "error": errors, "emotion": emotions}.get(msg["type"], []).append(msg)
            await ws.send(json.dumps({"type": "rig", "rig": "arkit"}))
            after = []
            while len(after) < 10:
                after.append(json.loads(await ws.recv()))
            return header, frames, errors, emotions, after

    hub, session, stats, [(header, frames, errors, emotions, after)] = asyncio.run(_serve(3, [speaker]))
    new_header = [m for m in after if m["type"] == "header"][0]
    assert new_header["rig"] == "arkit" and new_header["names"][0] == "eyeBlinkLeft"
    assert all(len(m["values"]) == 52 for m in after[after.index(new_header):] if m["type"] == "frame")
    assert header["type"] == "header" and header["rig"] == "livelink" and header["fps"] == 60
    assert header["names"] == list(canonical_names()) and header["sample_rate"] == 16000
    assert isinstance(header["audio_t0"], float) and header["stream"] == session.stream_id
    assert len(errors) == 3 and all(e["message"] for e in errors)  # three bad messages, one reply each
    assert emotions and emotions[0]["emotion"]["weights"]["happy"] == pytest.approx(0.8)
    idx = [f["frame"] for f in frames]
    assert idx == list(range(idx[0], idx[0] + len(idx)))  # the connection stayed up, nothing skipped
    jaw = np.array([f["values"][header["names"].index("JawOpen")] for f in frames])
    assert jaw.max() > 0.2  # the pushed speech moved the jaw
    assert all(len(f["values"]) == 61 for f in frames)


def test_websocket_token_and_a_stalled_client_does_not_hold_back_others(monkeypatch):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus
    import emoface.live.server as server

    monkeypatch.setattr(server, "SLOW_BYTES", 4096)
    monkeypatch.setattr(server, "SEND_BUFFER", 4096)
    monkeypatch.setattr(server, "DROP_AFTER_S", 0.5)

    async def no_token(url):
        with pytest.raises(InvalidStatus) as err:
            async with connect(url):
                pass
        return err.value.response.status_code

    async def stalled(url):
        host, port = url[5:].split(":")
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        s.connect((host, int(port)))
        s.sendall(b"GET /?token=s3cret HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        await asyncio.sleep(4)  # never reads
        s.close()
        return None

    async def reader(url):
        async with connect(url + "/?token=s3cret") as ws:
            json.loads(await ws.recv())
            got, t_end = 0, time.monotonic() + 3.5
            while time.monotonic() < t_end:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
                got += msg["type"] == "frame"
            return got

    hub, _, stats, (status, _, frames) = asyncio.run(_serve(4, [no_token, stalled, reader], token="s3cret"))
    assert status == 401
    assert frames >= 0.9 * 3.5 * 60  # the reader got (nearly) every frame while the other stalled
    assert hub.dropped == 1


def test_stream_command_and_its_errors(short_line, tmp_path):
    from emoface.cli import main

    rx = UdpReceiver()
    out = subprocess.run([sys.executable, "-m", "emoface.cli", "stream", str(short_line), "--to",
                          f"livelink://127.0.0.1:{rx.port}", "--stats-json"], capture_output=True, text=True,
                         timeout=120)
    packets = rx.stop()
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert stats["frames_sent"] == stats["frames_expected"] == len(packets) > 0
    assert "latency p50" in out.stderr and "jitter p99" in out.stderr
    assert main(["stream", str(short_line), "--to", "udp://127.0.0.1:5"]) == 2
    assert main(["stream", str(tmp_path / "missing.wav"), "--to", "livelink://127.0.0.1:5"]) == 2
    assert main(["stream", str(short_line)]) == 2  # nowhere to send
    for bad in ("0", "9", "1.5"):
        run = subprocess.run([sys.executable, "-m", "emoface.cli", "stream", str(short_line), "--to",
                              "livelink://127.0.0.1:5", "--frames-per-step", bad], capture_output=True, text=True)
        assert run.returncode == 2 and "--frames-per-step" in run.stderr.strip().splitlines()[-1]


def test_serve_exits_cleanly_on_ctrl_c():
    proc = subprocess.Popen([sys.executable, "-m", "emoface.cli", "serve", "--port", "0", "--to",
                             "livelink://127.0.0.1:5"], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stderr.readline()
        assert "ws://127.0.0.1:" in line, line
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        err = proc.stderr.read()
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    assert "frames sent" in err and "Traceback" not in err
    assert "emoface:   default: livelink://127.0.0.1:5: " in err  # whose sends each target line counts


def test_without_a_network_the_phonetic_engine_streams_its_own_bake(speech_line):
    from emoface.live.animator import PhoneticStreamer
    from emoface.metrics import pearson

    x = load_audio(speech_line).samples
    x = np.concatenate([x, np.zeros(16000, np.float32), x])  # two sentences and a pause
    animator = Animator(engine="phonetic", blinks=False, gaze=False, head=False)
    baked = animator.animate(load_audio(speech_line).__class__(x, "two", 16000))
    streamed = stream_in_chunks(PhoneticStreamer(animator), x)
    assert streamed.shape == baked.values.shape
    jaw = baked.names.index("JawOpen")
    assert pearson(streamed[:, jaw], baked.values[:, jaw]) > 0.85


def test_stream_falls_back_to_the_phonetic_engine(short_line, monkeypatch, tmp_path, capsys):
    from emoface.cli import main
    from emoface.model import checkpoints

    monkeypatch.setattr(checkpoints, "DEFAULT", tmp_path / "gone.pt")
    monkeypatch.setattr(checkpoints, "LIVE", tmp_path / "gone-live.pt")
    rx = UdpReceiver()
    assert main(["stream", str(short_line), "--to", f"livelink://127.0.0.1:{rx.port}", "--stats-json"]) == 0
    packets = rx.stop()
    stats = json.loads(capsys.readouterr().out)
    assert stats["frames_sent"] == stats["frames_expected"] == len(packets) > 0
    assert stats["latency_ms_p50"] > 1000  # seconds behind: the phone loop needs whole pieces


def test_a_session_no_audio_reached_reports_no_latency_rather_than_zero():
    """A server nobody spoke to had ended with 'latency p50 0.0 ms p99 0.0 ms', which reads as instant."""
    quiet = Stats(expected=150, sent=150)
    assert "latency n/a (no audio came in)" in quiet.line(60.0) and "latency p50" not in quiet.line(60.0)
    quiet.latency.add(42.0)
    assert "latency p50 42" in quiet.line(60.0)
