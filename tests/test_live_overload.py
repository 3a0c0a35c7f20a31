"""A live face stays near its voice when the thread that animates it is starved or stalled: frames whose moment has
passed are dropped instead of sent late one after another, the clock skips to now, audio held up by a stall is
skipped, and a crowded server that other processes starve takes longer steps."""

import asyncio
import time

import numpy as np
import pytest

from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.live.animator import StreamingAnimator
from emoface.live.session import MAX_LATE_S, FileSource, LiveSession, PushSource
from emoface.live.sinks import Sink
from tests.conftest import speak

FPS = 60


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    return speak("We found the treasure before sunset, and nobody saw us leave.",
                 tmp_path_factory.mktemp("overload") / "line.wav")


class StallingSink(Sink):
    """A receiver that records when each frame left, and holds the thread once (as a starved process would)."""

    rig = "livelink"

    def __init__(self, at_frame: int, seconds: float):
        self.at_frame, self.seconds = at_frame, seconds
        self.sent = []  # (frame index, monotonic time)

    def frame(self, frame) -> None:
        self.sent.append((frame.index, time.monotonic()))
        if frame.index == self.at_frame:
            time.sleep(self.seconds)


def lateness(session: LiveSession, sink: StallingSink) -> np.ndarray:
    return np.array([t - session.send_time(i) for i, t in sink.sent])


def test_a_stalled_stream_drops_the_frames_it_missed_and_goes_on_from_now(line):
    """Before: every frame due during a 0.8 s stall left afterwards, one per tick, so the face stayed 0.8 s behind
    its voice for the rest of the line."""
    sink = StallingSink(at_frame=30, seconds=0.8)
    session = LiveSession(StreamingAnimator(Animator(fps=FPS), rig="livelink"), [sink], "livelink", step=2)
    stats = asyncio.run(session.run(FileSource(line)))
    late = lateness(session, sink)
    assert stats.dropped >= 0.8 * FPS - MAX_LATE_S * FPS - 10  # the stall's frames, bar those still fresh
    assert stats.sent + stats.dropped == stats.expected
    assert late.max() < MAX_LATE_S + 0.05 + 1 / FPS  # the sink's own frame waited out the stall: a frame more
    after = np.array([i for i, _ in sink.sent]) > 30 + (0.8 + MAX_LATE_S) * FPS + 10  # past those still fresh
    assert after.sum() > 60 and np.percentile(late[after], 95) < 2 / FPS  # then on time again


def test_a_stalled_server_skips_to_now(line):
    """The same on `emoface serve`'s shared clock (Stage.run), with audio pushed at a client's pace."""
    from emoface.live.stage import DEFAULT_CHARACTER, Stage
    from tests.test_live import stage_factory

    sink = StallingSink(at_frame=40, seconds=0.8)
    samples = load_audio(line).samples

    async def run():
        stage = Stage(stage_factory(sinks={DEFAULT_CHARACTER: [sink]}, step=2))
        session = stage.join(DEFAULT_CHARACTER).session
        stage.warm_up()
        stop = asyncio.Event()
        runner = asyncio.create_task(stage.run(stop))
        start = time.monotonic()
        for k in range(0, len(samples), 160):  # 10 ms messages, sent as they are captured
            await asyncio.sleep(max(0.0, start + (k + 160) / 16000 - time.monotonic()))
            session.buffer.append(samples[k:k + 160], time.monotonic())
        await asyncio.sleep(0.3)
        stop.set()
        return session, await runner

    session, stats = asyncio.run(run())
    late = lateness(session, sink)
    assert stats.dropped > 0 and late.max() < MAX_LATE_S + 0.05 + 1 / FPS
    after = np.array([i for i, _ in sink.sent]) > 40 + (0.8 + MAX_LATE_S) * FPS + 10
    assert after.sum() > 60 and np.percentile(late[after], 95) < 2 / FPS


def test_audio_held_up_by_a_stall_is_skipped_though_it_is_speech(line):
    """A sender's 1 s stall, then its audio at once: waiting for a pause kept the face a second behind until one
    came (seconds, in unbroken speech). Driven by a clock; a short hiccup still waits for a pause
    (tests/test_hardening_live.py)."""
    session = LiveSession(StreamingAnimator(Animator(fps=FPS), rig="livelink"), [], "livelink")
    x = load_audio(line).samples
    source, step = PushSource(), 320
    session.t0, t, sent, waits = 0.0, 0.0, 0, []
    while t < 3.2:
        t += 0.02
        held = 0.3 <= t < 1.3
        while not held and sent < min(len(x), int(t * 16000)):
            session.buffer.append(x[sent:sent + step], t)
            sent += step
        session.compute_tick(source, t)
        waits.append(session.buffer.queued / 16000)
    waits = np.array(waits)
    assert waits[int(1.4 / 0.02):int(1.6 / 0.02)].min() > 0.9  # the stall's second waits, in speech...
    assert waits[int(2.5 / 0.02):].max() < 0.05  # ...for at most a reckoning or two, not until a pause
    assert 0.9 < session.stats.stall_skipped_s < 1.05
    assert session.stats.summary(FPS)["stall_skipped_s"] == pytest.approx(session.stats.stall_skipped_s, abs=0.01)


def test_a_starved_server_takes_longer_steps_and_comes_back_only_after_keeping_time():
    """Other processes on the machine starve the server: its thread is not busy (it is not given the CPU), but its
    ticks begin late. That counts as busy; a frame less a step waits until the clock has kept time a while."""
    from emoface.live.stage import BEHIND_MORE, STEP_CALM_S, STEP_HOLD_S, Stage
    from tests.test_live import stage_factory

    stage = Stage(stage_factory(step=2))
    stage.join("npc0")
    for _ in range(STEP_HOLD_S):
        stage.adapt_step(0.3, 0.2, BEHIND_MORE + 0.2)  # a third of a core, a quarter of the ticks late
    assert stage.step == 3
    for _ in range(STEP_CALM_S - 1):  # on time now, and the thread would have room at a frame less
        stage.adapt_step(0.3, 0.2, 0.0)
    assert stage.step == 3
    for _ in range(STEP_HOLD_S):
        stage.adapt_step(0.3, 0.2, 0.0)
    assert stage.step == 2
