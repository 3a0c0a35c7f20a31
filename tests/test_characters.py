"""Many characters on one `emoface serve`: each has its own audio, emotion, rig and clock, and nothing one
character's clients do reaches another's; the limits hold; Live Link carries each under its own subject."""

import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from emoface.audio import load_audio
from tests.test_live import _serve

JAW = "JawOpen"


async def _listen(ws, seconds, into):
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            into.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except asyncio.TimeoutError:
            break


async def _next(ws, kind):
    """The next message of a kind (frames and state messages of the character keep coming meanwhile)."""
    while (msg := json.loads(await ws.recv()))["type"] != kind:
        pass
    return msg


def _jaw(messages):
    header = next(m for m in messages if m["type"] == "header")
    j = header["names"].index(JAW)
    return np.array([m["values"][j] for m in messages if m["type"] == "frame" and m["stream"] == header["stream"]])


def test_one_characters_changes_stay_in_that_character(bob):
    """A speaks, turns happy, changes rig, floods and resets; B, on the same server, hears none of it."""
    from websockets.asyncio.client import connect

    pcm = (np.clip(load_audio(bob).samples, -1, 1) * 32767).astype("<i2").tobytes()

    async def speaker(url):
        async with connect(f"{url}/?character=npc_a") as ws:
            got = []
            for k in range(0, len(pcm), 640):
                await ws.send(pcm[k:k + 640])
            await ws.send(json.dumps({"type": "emotion", "emotion": "happy"}))
            await _listen(ws, 2.5, got)
            await ws.send(np.zeros(16000 * 8, "<i2").tobytes())  # a flood: 8 s at once, past its 5 s bound
            await ws.send(json.dumps({"type": "rig", "rig": "arkit"}))
            await ws.send(json.dumps({"type": "reset"}))
            await _listen(ws, 0.5, got)
            return got

    async def viewer(url):  # a second client of A: a viewer gets A's frames
        async with connect(f"{url}/?character=npc_a") as ws:
            got = []
            await _listen(ws, 2.0, got)
            return got

    async def bystander(url):
        async with connect(f"{url}/?character=npc_b") as ws:
            got = []
            await _listen(ws, 3.5, got)
            # its own audio is still taken while A's queue is full
            await ws.send(np.zeros(1600, "<i2").tobytes())
            await _listen(ws, 0.3, got)
            return got

    _, _, stats, (a, view, b) = asyncio.run(_serve(4, [speaker, viewer, bystander]))
    a_headers = [m for m in a if m["type"] == "header"]
    assert {h["character"] for h in a_headers} == {"npc_a"}
    assert [h["rig"] for h in a_headers][-1] == "arkit"
    assert any(m["type"] == "error" and "faster than real time" in m["message"] for m in a)
    assert _jaw(a).max() > 0.2  # A spoke
    assert _jaw(view).max() > 0.2  # and its viewer saw it
    assert {m["stream"] for m in view if m["type"] == "frame"} <= {h["stream"] for h in a_headers}

    b_headers = [m for m in b if m["type"] == "header"]
    assert len(b_headers) == 1 and b_headers[0]["character"] == "npc_b"
    assert b_headers[0]["rig"] == "livelink" and b_headers[0]["emotion"]["summary"].startswith("neutral")
    assert not [m for m in b if m["type"] in ("emotion", "error")]
    assert {m["stream"] for m in b if m["type"] == "frame"} == {b_headers[0]["stream"]}  # no reset reached B
    assert _jaw(b).max() < 0.1  # nobody spoke to B
    frames = [m["frame"] for m in b if m["type"] == "frame"]
    assert frames == list(range(frames[0], frames[0] + len(frames)))  # its clock ran on, no frame lost
    assert stats.sent > 0


def test_limits_on_characters_and_clients():
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def client(url):
        outcomes = []
        async with connect(f"{url}/?character=one") as first:
            await first.recv()
            for path in ("/?character=two", "/?character=bad%20name", "/?character=one", "/"):
                try:
                    async with connect(url + path) as ws:
                        outcomes.append(json.loads(await ws.recv())["character"])
                except InvalidStatus as exc:
                    outcomes.append(exc.response.status_code)
            # a character message moves a client, and is refused past the limit
            await first.send(json.dumps({"type": "character", "character": "default"}))
            moved = await _next(first, "header")
            await first.send(json.dumps({"type": "character", "character": "three"}))
            refused = await _next(first, "error")
        return outcomes, moved, refused

    *_, [(outcomes, moved, refused)] = asyncio.run(_serve(2, [client], hub_options={"character_clients": 1},
                                                          stage_options={"max_characters": 2}))
    # default and one exist: a third is refused (503); a bad name is 400; `one` is full (503); default has room
    assert outcomes == [503, 400, 503, "default"]
    assert moved["type"] == "header" and moved["character"] == "default"
    assert refused["type"] == "error" and "limit of 2 characters" in refused["message"]


def test_a_character_nobody_uses_is_closed():
    from websockets.asyncio.client import connect

    from emoface.live.server import WebSocketHub
    from emoface.live.stage import DEFAULT_CHARACTER, Stage
    from tests.test_live import stage_factory

    async def run():
        stage = Stage(stage_factory(), linger_s=0.3)
        stage.join(DEFAULT_CHARACTER)
        hub = WebSocketHub(stage, "127.0.0.1", 0, None, True)
        await hub.start()
        stop = asyncio.Event()
        runner = asyncio.create_task(stage.run(stop))
        async with connect(f"ws://127.0.0.1:{hub.port}/?character=extra") as ws:
            await ws.recv()
            await asyncio.sleep(stage.characters["extra"].session.streamer.latency_s + 0.1)  # frames flow (look-ahead passed)
            during = sorted(stage.characters)
            paused_default = stage.characters["default"].paused  # nobody receives it: not animated
        await asyncio.sleep(0.8)
        after = sorted(stage.characters)
        stop.set()
        total = await runner
        await hub.close()
        return during, after, total, paused_default

    during, after, total, paused_default = asyncio.run(run())
    assert during == ["default", "extra"] and after == ["default"] and paused_default
    assert total.sent > 0  # the closed character's frames are still counted


def _livelink_subject(data: bytes) -> str:
    n_dev = struct.unpack_from(">i", data, 1)[0]
    n_sub = struct.unpack_from(">i", data, 5 + n_dev)[0]
    return data[9 + n_dev: 9 + n_dev + n_sub].decode()


def test_serve_sends_each_character_to_live_link_under_its_own_name():
    from websockets.sync.client import connect

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    vmc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    vmc.bind(("127.0.0.1", 0))
    vmc.settimeout(0.2)
    proc = subprocess.Popen([sys.executable, "-m", "emoface.cli", "serve", "--port", "0",
                             "--to", f"livelink://127.0.0.1:{rx.getsockname()[1]}",
                             "--to", f"vmc://127.0.0.1:{vmc.getsockname()[1]}?character=npc1"],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stderr.readline()
        url = line[line.index("ws://"):].split()[0]
        with connect(f"{url}/?character=npc1") as ws:
            ws.recv()
            subjects, vmc_packets, end = set(), 0, time.monotonic() + 1.5
            while time.monotonic() < end:
                try:
                    subjects.add(_livelink_subject(rx.recv(2048)))
                except socket.timeout:
                    pass
                try:
                    vmc.recv(2048)
                    vmc_packets += 1
                except socket.timeout:
                    pass
        from websockets.exceptions import InvalidStatus

        with pytest.raises(InvalidStatus) as taken:  # it would share default's subject: two faces on one
            connect(f"{url}/?character=emoface")
        assert taken.value.response.status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        rx.close()
        vmc.close()
    assert subjects == {"emoface", "npc1"}  # default under the URL's subject, npc1 under its name
    assert vmc_packets > 0  # the VMC target takes npc1 only, as its ?character= says


@pytest.mark.parametrize("url, message", [
    ("livelink://127.0.0.1:11111?character=npc1", "is for emoface serve"),
])
def test_stream_refuses_a_character_target(bob, url, message):
    run = subprocess.run([sys.executable, "-m", "emoface.cli", "stream", str(bob), "--to", url],
                         capture_output=True, text=True)
    assert run.returncode != 0 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_characters_animated_together_move_as_each_alone(bob, speech_line):
    """The stage runs its characters' networks together (emoface.live.stage): every character's frames, after
    blinks, gaze and head, are the ones it would make alone, each with its own emotion and seed."""
    from emoface.animator import Animator
    from emoface.emotion.spec import EmotionTrack, parse_emotion
    from emoface.live.animator import StreamingAnimator
    from emoface.model.checkpoints import LIVE
    from emoface.model.stream import run_together

    animator = Animator(checkpoint=LIVE, fps=60.0)
    lines = [load_audio(bob).samples, load_audio(speech_line).samples]
    emotions = [EmotionTrack.constant(parse_emotion("surprise")), None]

    def streamers():
        return [StreamingAnimator(animator, emotions[k], rig="livelink", seed=k) for k in range(len(lines))]

    alone, together = streamers(), streamers()
    frames_alone, frames_together = [[] for _ in lines], [[] for _ in lines]
    for i in range(0, max(map(len, lines)), 267):  # one tick's audio at 60 fps
        chunks = [x[i:i + 267] for x in lines]
        fed = [k for k, c in enumerate(chunks) if len(c)]
        for k in fed:
            frames_alone[k].append(alone[k].push(chunks[k]).values)
            together[k].feed(chunks[k])
        for k, rows in zip(fed, run_together([together[k].net for k in fed])):
            frames_together[k].append(together[k].collect(rows).values)
    for k in range(len(lines)):
        a, b = np.concatenate(frames_alone[k]), np.concatenate(frames_together[k])
        assert len(a) == len(b) > 60 and a.std() > 0.01
        np.testing.assert_allclose(b, a, atol=1e-4)


def test_the_lead_follows_the_computing_time_and_no_send_moves():
    """Eight characters take longer to animate than one: when the computing before the sends takes longer than
    the lead, every character's lead grows with it; its sends stay on the clock's ticks (t0 + delay unchanged),
    only its delay grows. When the computing is quick again, the lead comes back to half a frame."""
    from emoface.live.session import COMPUTE_LEAD
    from emoface.live.stage import LEAD_SPARE_S, Stage
    from tests.test_live import stage_factory

    stage = Stage(stage_factory())
    for name in ("npc0", "npc1"):
        stage.join(name)
    stage.g0 = time.monotonic()
    for c in stage.characters.values():
        stage._start(c)
    sessions = [c.session for c in stage.characters.values()]
    grid = [s.t0 + s.delay_s for s in sessions]
    half = COMPUTE_LEAD / stage.fps
    assert all(abs(s.lead_s - half) < 1e-9 for s in sessions)

    stage.compute_s.extend([0.012] * 100)  # 12 ms a tick: longer than half a frame at 60 fps
    stage.adapt_lead()
    assert all(abs(s.lead_s - (0.012 + LEAD_SPARE_S)) < 1e-9 for s in sessions)
    assert np.allclose([s.t0 + s.delay_s for s in sessions], grid, atol=1e-9)  # the sends did not move
    stage.compute_s.extend([0.030] * 120)  # more than a frame: the lead stops at one frame
    stage.adapt_lead()
    assert all(abs(s.lead_s - 1 / stage.fps) < 1e-9 for s in sessions)

    stage.join("npc2")  # a character that joins now gets the lead the others have
    assert abs(stage.characters["npc2"].session.lead_s - 1 / stage.fps) < 1e-9
    stage.compute_s.extend([0.002] * 120)
    stage.adapt_lead()
    assert all(abs(c.session.lead_s - half) < 1e-9 for c in stage.characters.values())
    assert np.allclose([s.t0 + s.delay_s for s in sessions], grid, atol=1e-9)


def test_characters_stepping_two_frames_at_a_time_take_turns():
    """Two frames a step (the commands' default at 60 fps): each character animates every other tick, and the
    stage puts half of them on each tick, so every tick animates half the characters; each one's delay is a frame
    longer than at one frame a step, and its sends stay on the clock's ticks."""
    from emoface.live.stage import Stage
    from tests.test_live import stage_factory

    stage = Stage(stage_factory(step=2))
    for name in ("npc0", "npc1", "npc2", "npc3", "npc4"):
        stage.join(name)
    stage.g0 = time.monotonic()
    for c in stage.characters.values():
        stage._start(c)
    sessions = [c.session for c in stage.characters.values()]
    assert sorted(s.phase for s in sessions) == [0, 0, 0, 1, 1]
    for tick in range(6):
        assert len([s for s in sessions if s.due(tick)]) == (3 if tick % 2 == 0 else 2)
    assert all(s.due(t) != s.due(t + 1) for s in sessions for t in range(4))  # every other tick, each
    single = stage_factory()("solo")
    single.lead_s = stage.lead_s
    assert all(s.delay_s == pytest.approx(single.delay_s + 1 / stage.fps) for s in sessions)
    for s in sessions:  # the sends (t0 + delay + k / fps) fall on the clock's ticks (g0 + n / fps)
        ticks = (s.t0 + s.delay_s - stage.g0) * stage.fps
        assert abs(ticks - round(ticks)) < 1e-6
    stage.close("npc1")  # a newcomer takes the tick fewer characters use
    assert stage.join("npc5").session.phase == sessions[1].phase


def test_a_crowded_server_takes_longer_steps_and_comes_back():
    """A server whose thread stays busier than BUSY_MORE animates a frame more a step (a step costs much the same
    however many frames it animates), up to STEP_MAX; once the crowd has gone it comes back to the command's step,
    never below. Every character's delay follows, its sends stay on the clock's ticks, and the characters' steps
    are spread over the ticks again."""
    from emoface.live.stage import BUSY_BACK, BUSY_MORE, STEP_HOLD_S, STEP_MAX, Stage
    from tests.test_live import stage_factory

    stage = Stage(stage_factory(step=2))
    for name in ("npc0", "npc1", "npc2"):
        stage.join(name)
    stage.g0 = time.monotonic()
    for c in stage.characters.values():
        stage._start(c)
    sessions = [c.session for c in stage.characters.values()]
    grid, delay = [s.t0 + s.delay_s for s in sessions], sessions[0].delay_s
    for _ in range(STEP_HOLD_S - 1):
        stage.adapt_step(BUSY_MORE + 0.1)
    stage.adapt_step(0.6)  # a quieter second: it starts counting again
    assert stage.step == 2 and all(s.step == 2 for s in sessions)
    for _ in range(STEP_HOLD_S):
        stage.adapt_step(BUSY_MORE + 0.1)
    assert stage.step == 3 and all(s.step == 3 for s in sessions)
    assert sorted(s.phase for s in sessions) == [0, 0, 1]  # two ticks of three: each network pass carries half
    assert all(s.delay_s == pytest.approx(delay + 1 / stage.fps) for s in sessions)
    assert np.allclose([s.t0 + s.delay_s for s in sessions], grid, atol=1e-9)  # the sends did not move
    assert stage.join("npc3").session.step == 3  # a newcomer steps as the others do
    for _ in range(STEP_HOLD_S * 5):
        stage.adapt_step(0.99)
    assert stage.step == STEP_MAX
    assert {c.session.phase for c in stage.characters.values()} == {0, STEP_MAX // 2}  # half a step apart
    for _ in range(STEP_HOLD_S * 5):
        stage.adapt_step(BUSY_BACK - 0.1)
    assert stage.step == 2 and all(c.session.step == 2 for c in stage.characters.values())
    assert np.allclose([s.t0 + s.delay_s for s in sessions], grid, atol=1e-9)


def test_a_crowded_server_comes_back_once_a_burst_has_passed():
    """A crowd that keeps a server's thread at 60% takes a frame more a step through a burst of load (the
    machine's), and a frame less once the thread would have room for it again: not only once it is nearly idle,
    which a crowd that stays never lets it be (every character kept that frame interval of delay for good).
    Whether there is room is reckoned from the animating's share, which grows as steps get shorter."""
    from emoface.live.stage import BUSY_MORE, STEP_HOLD_S, Stage
    from tests.test_live import stage_factory

    stage = Stage(stage_factory(step=2))
    stage.join("npc0")
    for _ in range(STEP_HOLD_S):
        stage.adapt_step(BUSY_MORE + 0.05, 0.6)
    assert stage.step == 3
    for _ in range(STEP_HOLD_S * 3):  # 60% busy, 45% animating: 82% at two frames a step, too close
        stage.adapt_step(0.6, 0.45)
    assert stage.step == 3
    for _ in range(STEP_HOLD_S - 1):  # the burst is over: 52% busy, 34% animating, 69% at two frames a step
        stage.adapt_step(0.52, 0.34)
    assert stage.step == 3  # not before STEP_HOLD_S seconds
    stage.adapt_step(0.52, 0.34)
    assert stage.step == 2 and stage.characters["npc0"].session.step == 2


def test_a_busy_server_never_takes_shorter_steps_than_asked():
    """--frames-per-step 8 is more than adapt_step's own ceiling: a busy server keeps it, never going to fewer."""
    from emoface.live.stage import BUSY_MORE, STEP_HOLD_S, Stage
    from tests.test_live import stage_factory

    stage = Stage(stage_factory(step=8))
    stage.join("npc0")
    for _ in range(STEP_HOLD_S * 3):
        stage.adapt_step(BUSY_MORE + 0.1)
    assert stage.step == 8 and stage.characters["npc0"].session.step == 8
