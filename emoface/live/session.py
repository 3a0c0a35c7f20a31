"""A live session: audio in at real-time pace, frames out on a fixed schedule stamped by the audio clock.

Frame i shows the face at audio time i / fps and leaves at t0 + delay + i / fps, where t0 is the wall
time of audio time 0 and delay covers the network's look-ahead and smoothing, the half frame before a send in
which its frames are computed, and the frames a step animates ahead of their sends (`step`): 0.084 s at 60 fps,
two frames a step, with the live network.
Deadlines are absolute, so sleeps never accumulate drift. When no audio arrives (a client stalls, the
microphone is quiet) the clock still advances over silence: blinks, gaze and head keep moving.
Control (emotion, rig, reset) is requested at any time and applied on the next tick, latest wins, so a
flood of requests costs the frames nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from emoface.animation import Animation
from emoface.articulation import check as check_articulation
from emoface.audio import SAMPLE_RATE, load_audio
from emoface.emotion.spec import EmotionTrack, describe
from emoface.live.animator import StreamingAnimator
from emoface.live.sinks import Frame, Sink, StreamInfo
from emoface.rigs import CANONICAL_RIG, load_rig

log = logging.getLogger("emoface")
MAX_AHEAD_S = 5.0  # audio that may wait ahead of the clock: a burst, not a file sent at once
LATE_AFTER_FRAMES = 1  # a frame is late if it leaves more than this many frame intervals after its send time
# live, a face this far behind its voice is worse than a frame missing: a frame that would leave more than
# MAX_LATE_S after its send time is dropped, and a clock that far behind (its thread starved or stalled) skips
# to the tick due now instead of sending every tick it missed
MAX_LATE_S = 0.25
# catching up after a sender's hiccup (LiveSession._catch_up)
CATCH_UP_EVERY_S, KEEP_WAITING_S, HICCUP_S = 0.5, 0.002, 2.0
STALL_SKIP_S = 0.5  # late audio waiting longer than this (a stall) is skipped at once, speech too
SKIP_MIN = SAMPLE_RATE // 1000  # samples: skips are whole milliseconds or more
FILLED = -1.0  # the 'arrival time' of silence the clock filled when no audio had come
COMPUTE_LEAD = 0.5  # frame intervals: a tick's audio is animated this long before its frames leave


class AudioQueueFull(ValueError):
    """Audio pushed faster than real time, past MAX_AHEAD_S: the excess was refused."""


def check_pcm(samples) -> np.ndarray:
    """Mono float32 samples fit to animate: non-finite audio is refused (it would poison the network's
    state for the rest of the session); beyond full scale is clipped, as a sound card would."""
    x = np.asarray(samples, np.float32).reshape(-1)
    bad = np.count_nonzero(~np.isfinite(x))
    if bad:
        raise ValueError(f"PCM holds {bad} NaN or infinite samples of {len(x)}: refused (samples must be finite)")
    return np.clip(x, -1.0, 1.0)


class PcmBuffer:
    """Audio waiting to be animated, with the (monotonic) time each chunk arrived. Every source pushes
    through here, so it is the one bound on queued audio: at most max_ahead_s waits (memory stays small and
    one fast client cannot put everyone else's speech minutes behind)."""

    def __init__(self, max_ahead_s: float = MAX_AHEAD_S):
        self.chunks: deque = deque()
        self.queued = 0
        self.max_samples = int(max_ahead_s * SAMPLE_RATE)

    @property
    def room(self) -> int:
        """Samples that may still be queued."""
        return max(0, self.max_samples - self.queued)

    def append(self, samples: np.ndarray, arrival: float | None = None, refused_before: int = 0) -> None:
        """Queue samples; past the bound the excess is refused with AudioQueueFull (what fits is kept).
        refused_before: samples of the same message the caller already cut off unread (counted in the error)."""
        samples = check_pcm(samples)
        room = self.room
        refused = max(0, len(samples) - room) + refused_before
        if len(samples) > room:
            samples = samples[:room].copy()  # not a view that keeps the whole message alive
        if len(samples):
            self.chunks.append([samples, time.monotonic() if arrival is None else arrival])
            self.queued += len(samples)
        if refused > 0:
            raise AudioQueueFull(f"audio arrives faster than real time: {refused / SAMPLE_RATE:.2f} s refused, "
                                 f"{self.max_samples / SAMPLE_RATE:g} s already wait (send audio as it is captured)")

    def take(self, n: int) -> list[tuple[np.ndarray, float]]:
        """Up to n samples as (samples, arrival) pieces."""
        out = []
        while n > 0 and self.chunks:
            samples, arrival = self.chunks[0]
            piece, rest = samples[:n], samples[n:]
            out.append((piece, arrival))
            n -= len(piece)
            self.queued -= len(piece)
            if len(rest):
                self.chunks[0][0] = rest
            else:
                self.chunks.popleft()
        return out

    def peek(self, n: int) -> np.ndarray:
        """The first n samples (fewer if fewer wait), left in the queue."""
        out, have = [], 0
        for samples, _ in self.chunks:
            if have >= n:
                break
            out.append(samples[: n - have])
            have += len(out[-1])
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def clear(self) -> None:
        self.chunks = deque()
        self.queued = 0


class FileSource:
    """A file played at real-time pace: its audio 'arrives' as the clock reaches it."""

    live = False

    def __init__(self, path, max_duration=None):
        kwargs = {} if max_duration is None else {"max_duration": max_duration}
        self.audio = load_audio(path, **kwargs)
        self.delivered = 0

    @property
    def done(self) -> bool:
        return self.delivered >= len(self.audio.samples)

    def poll(self, buffer: PcmBuffer, t0: float, now: float) -> None:
        due = min(len(self.audio.samples), int((now - t0) * SAMPLE_RATE))
        if due > self.delivered:
            buffer.append(self.audio.samples[self.delivered:due], t0 + due / SAMPLE_RATE)
            self.delivered = due


class PushSource:
    """Audio pushed from elsewhere (WebSocket clients) into the buffer. Pushed audio is animated from the tick
    after it arrives; when none is there the clock fills silence, and audio arriving after that waits behind it
    (the buffer adapts to the sender's jitter). No extra slack: it would only add to the delay."""

    live = True
    done = False

    def poll(self, buffer, t0, now) -> None:
        pass


FINE_S = 0.002  # the last stretch of each wait for a tick, slept precisely (blocking the loop that long)


async def until(deadline: float, stop: asyncio.Event, fine: float = FINE_S) -> float:
    """Sleep to a monotonic deadline (within a tick; stop is looked at on waking); the wait it had (<= 0: late).
    The event loop wakes to the millisecond (epoll's timeout), which alone put up to 1 ms of jitter on every
    frame; so it wakes `fine` early and the rest is slept in the thread, to a tenth of a millisecond (sends need
    that; the computing before them does not, and passes fine=0 so that clients' audio comes in meanwhile)."""
    wait = deadline - time.monotonic()
    if wait > fine:  # a plain sleep: waiting on `stop` as well cost a task per wait, and a wait is under a tick
        await asyncio.sleep(wait - fine)
    while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
        time.sleep(left)
    return wait


class Histogram:
    """Milliseconds in 0.05 ms bins up to 5 s: percentiles over a whole session in fixed memory."""

    BIN_MS, TOP_MS = 0.05, 5000.0

    def __init__(self):
        self.counts = np.zeros(int(self.TOP_MS / self.BIN_MS) + 1, np.int64)

    def add(self, ms: float) -> None:
        self.counts[min(len(self.counts) - 1, max(0, int(ms / self.BIN_MS)))] += 1

    def merge(self, other: "Histogram") -> None:
        self.counts += other.counts

    def percentile(self, q: float) -> float:
        total = self.counts.sum()
        if not total:
            return 0.0
        k = int(np.searchsorted(np.cumsum(self.counts), q / 100 * total))
        return (k + 0.5) * self.BIN_MS


SCALARS = ("expected", "sent", "late", "dropped", "underrun_s", "skipped_s", "stall_skipped_s")  # Stats' sums


@dataclass
class Stats:
    expected: int = 0
    sent: int = 0
    late: int = 0
    dropped: int = 0  # frames that would have left more than MAX_LATE_S late (a starved or stalled thread)
    underrun_s: float = 0.0
    skipped_s: float = 0.0  # quiet pushed audio skipped to catch up after a sender's hiccup
    stall_skipped_s: float = 0.0  # late audio skipped at once, speech too: it had waited past STALL_SKIP_S
    latency: Histogram = field(default_factory=Histogram)  # audio sample in -> packet out, ms
    jitter: Histogram = field(default_factory=Histogram)  # |send interval - 1/fps|, ms
    cpu_s: float = 0.0
    wall_s: float = 0.0

    def merge(self, other: "Stats") -> None:
        """Another session's frames and timings added to these (CPU and wall time are the caller's)."""
        for name in SCALARS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latency.merge(other.latency)
        self.jitter.merge(other.jitter)

    def summary(self, fps: float) -> dict:
        return {"frames_sent": self.sent, "frames_expected": self.expected, "frames_late": self.late,
                "frames_dropped": self.dropped,
                "latency_ms_p50": round(self.latency.percentile(50), 1),
                "latency_ms_p99": round(self.latency.percentile(99), 1),
                "jitter_ms_p99": round(self.jitter.percentile(99), 2),
                "cpu_cores": round(self.cpu_s / self.wall_s, 3) if self.wall_s else 0.0,
                "silence_filled_s": round(self.underrun_s, 2), "quiet_skipped_s": round(self.skipped_s, 2),
                "stall_skipped_s": round(self.stall_skipped_s, 2)}

    def line(self, fps: float) -> str:
        s = self.summary(fps)
        dropped = f", dropped {s['frames_dropped']}" if s["frames_dropped"] else ""
        latency = (f"latency p50 {s['latency_ms_p50']} ms p99 {s['latency_ms_p99']} ms" if self.latency.counts.any()
                   else "latency n/a (no audio came in)")  # not 0 ms: nothing was measured
        return (f"frames sent {s['frames_sent']}/{s['frames_expected']} (late {s['frames_late']}{dropped}), "
                f"{latency}, "
                f"jitter p99 {s['jitter_ms_p99']} ms, CPU {s['cpu_cores']:.2f} cores")


class LiveSession:
    """Runs a StreamingAnimator against the wall clock and fans its frames out to sinks."""

    def __init__(self, streamer: StreamingAnimator, sinks: list[Sink], rig: str, margin_s: float = 0.003,
                 step: int = 1):
        if streamer.rig.name != CANONICAL_RIG:
            raise ValueError("a live session's animator makes canonical curves; sinks retarget them")
        self.streamer, self.sinks = streamer, list(sinks)
        self.fps = streamer.fps
        self.rig = str(rig)  # a built-in rig's name or a rig profile's path
        self._rigs = {}
        self.margin_s = margin_s
        self.lead_s = COMPUTE_LEAD / self.fps  # how long before a tick's sends its audio is animated (move_lead)
        # frames a step animates, one step every `step` ticks. A step has a cost of its own however little audio it
        # takes (the network's layers, blinks, gaze and head: small numpy calls each), so two frames a step cost
        # a third less animating than one (docs/LIVE.md); the frames wait for their sends: delay_s grows
        self.step = int(step)
        self.phase = 0  # its steps come on the ticks where (tick + phase) % step == 0 (a stage staggers them)
        self.buffer = PcmBuffer()
        self.stats = Stats()
        self.pending: deque = deque()
        self.listeners = []  # callables(kind, payload) for header/frame/emotion events (the WebSocket server)
        self.stream_id = uuid.uuid4().hex[:12]
        self._arrivals: list = []  # (first sample index, arrival time or FILLED)
        self._consumed = 0
        self._expected_before = 0  # frames due in lines before the last reset
        self.t0 = self.t0_wall = 0.0  # monotonic and Unix time of audio time 0
        self._next = 0
        self._last_sent = None
        self._controls: dict = {}  # requested changes, applied on the next tick (latest wins)
        self.warm = False
        self._gap = self._debt = 0  # samples: silence filled since audio last flowed; late audio's extra wait
        self._least_waiting, self._catch_up_at, self._excess = None, 0.0, 0
        self._failed_sinks: set = set()
        self.align = None  # a shared clock (emoface.live.stage): t0 on its send grid
        self._finished = False

    # --- control -------------------------------------------------------------------------------
    def info(self) -> StreamInfo:
        w = self.streamer.emotion.at(np.array([self.streamer.time]))[0]
        return StreamInfo(self.stream_id, self.rig, tuple(self._rig(self.rig).names), self.fps, self.t0_wall,
                          describe(w), [round(float(x), 4) for x in w])

    def announce(self) -> None:
        info = self.info()
        self._to_sinks("header", info)
        self._notify("header", info)

    def _to_sinks(self, method: str, payload) -> None:
        """One failing sink is reported once and skipped; the stream and the other sinks go on."""
        for sink in self.sinks:
            try:
                getattr(sink, method)(payload)
            except Exception as exc:
                if id(sink) not in self._failed_sinks:
                    self._failed_sinks.add(id(sink))
                    log.warning("%s: %s failed (%s); going on", getattr(sink, "url", type(sink).__name__),
                                method, exc)

    def _notify(self, kind: str, payload) -> None:
        for listener in self.listeners:
            try:
                listener(kind, payload)
            except Exception:  # one broken receiver must not stop the stream for the others
                log.exception("live %s listener failed", kind)

    def set_emotion(self, vec: np.ndarray) -> None:
        self.streamer.set_emotion(vec)
        info = self.info()
        info.emotion, info.emotion_weights = describe(vec), [round(float(x), 4) for x in vec]
        self._to_sinks("header", info)
        self._notify("emotion", info)

    def set_articulation(self, amount: float) -> None:
        self.streamer.set_articulation(amount)

    def set_rig(self, rig: str) -> None:
        self._rig(rig)
        self.rig = rig
        self.announce()

    def reset(self) -> None:
        """A new line: the audio clock and frame numbers restart at 0 from now."""
        self.buffer.clear()
        self._new_line()

    def _new_line(self) -> None:
        self._expected_before += max(0, self._next)
        emotion = self.streamer.emotion.at(np.array([self.streamer.time]))[0]
        self.streamer.reset()
        self.streamer.emotion = EmotionTrack.constant(emotion)  # the emotion is a setting: it stays
        self.pending.clear()
        self._arrivals, self._consumed, self._last_sent = [], 0, None
        self._gap = self._debt = 0
        self._least_waiting, self._excess = None, 0
        self.stream_id = uuid.uuid4().hex[:12]
        self._start()
        self.announce()

    # requests from clients: checked by the caller, applied on the next tick, the latest of each kind wins
    def request_emotion(self, vec: np.ndarray) -> None:
        self._controls["emotion"] = vec

    def request_articulation(self, amount: float) -> None:
        self._controls["articulation"] = check_articulation(amount)

    def request_rig(self, rig: str) -> None:
        self._rig(rig)  # a rig that cannot load is refused now, to the client that asked
        self._controls["rig"] = rig

    def request_reset(self) -> None:
        """Audio queued so far is dropped now; what arrives after this belongs to the new line."""
        self.buffer.clear()
        self._controls["reset"] = True

    def _apply_controls(self) -> None:
        controls, self._controls = self._controls, {}
        if "rig" in controls:
            self.rig = controls["rig"]
        if controls.get("reset"):
            self._new_line()  # announces, on the new rig too
        elif "rig" in controls:
            self.announce()
        if "emotion" in controls:
            self.set_emotion(controls["emotion"])
        if "articulation" in controls:
            self.set_articulation(controls["articulation"])

    # --- the clock -----------------------------------------------------------------------------
    @property
    def delay_s(self) -> float:
        """From audio time to send time: the animator's look-ahead, plus the lead of the computing before a send,
        plus the frames a step animates ahead of their sends (`step`), plus a margin."""
        return self.streamer.latency_s + self.lead_s + (self.step - 1) / self.fps + self.margin_s

    def _start(self) -> None:
        now, wall = time.monotonic(), time.time()
        self.t0 = now if self.align is None else self.align(now, self.delay_s)
        self.t0_wall = wall - (now - self.t0)
        # ticks run on the send grid t0 + delay + k / fps; those before frame 0's (k < 0) only animate
        self._next = math.ceil((now - self.t0 - self.delay_s) * self.fps - 1e-6)

    def send_time(self, index: float) -> float:
        """When frame `index` leaves: its place on the send grid (monotonic time)."""
        return self.t0 + self.delay_s + index / self.fps

    def index_at(self, when: float) -> int:
        """The frame that is due at a tick of the send grid at monotonic time `when`."""
        return int(round((when - self.t0 - self.delay_s) * self.fps))

    def move_lead(self, lead_s: float) -> None:
        """Animate lead_s (instead of self.lead_s) before each send, the sends staying where they are: audio time
        moves against the wall clock by the difference, so the delay grows or shrinks by it. Longer: the clock
        asks for that much audio sooner, and silence fills it if none came. Shorter: the audio that waits then
        waits that much longer, and is skipped at the next quiet moment as a sender's hiccup would be."""
        self._delay_by(lead_s - self.lead_s)
        self.lead_s = lead_s

    def set_step(self, step: int) -> None:
        """Animate `step` frames a step from now on, the sends staying where they are (as move_lead): the delay
        grows or shrinks by a frame interval for each frame more or less a step."""
        self._delay_by((step - self.step) / self.fps)
        self.step = step

    def _delay_by(self, change: float) -> None:
        """Audio time moves `change` seconds earlier against the send grid (negative: later)."""
        self.t0 -= change
        self.t0_wall -= change
        if change < 0:
            self._debt += int(round(-change * SAMPLE_RATE))

    @property
    def played(self) -> bool:
        """A file has played and every frame of it is sent."""
        return self._finished and not self.pending

    def due(self, tick: int) -> bool:
        """Whether this session animates at clock tick `tick` (one tick in `step`)."""
        return (tick + self.phase) % self.step == 0

    def _rig(self, name):
        if name not in self._rigs:
            self._rigs[name] = load_rig(name)
        return self._rigs[name]

    def _take(self, source, now: float) -> np.ndarray | None:
        """The audio due by now (silence where a live source sent none), or None."""
        try:
            source.poll(self.buffer, self.t0, now)
        except AudioQueueFull as exc:  # a source far ahead of the clock (the loop stalled): keep what fits
            log.warning("%s", exc)
        target = int((now - self.t0) * SAMPLE_RATE)
        need = target - self._consumed
        pieces = self.buffer.take(max(0, need)) if not source.done or self.buffer.queued else []
        got = sum(len(p) for p, _ in pieces)
        if source.live and got < need:  # nothing arrived in time: the face idles over silence
            pieces.append((np.zeros(need - got, np.float32), FILLED))
            self.stats.underrun_s += (need - got) / SAMPLE_RATE
            self._gap += need - got
        elif got and self._gap:  # audio flows again: if it stopped only briefly, it was late by that much
            if self._gap <= HICCUP_S * SAMPLE_RATE:
                self._debt += self._gap
            self._gap = 0
        start = self._consumed
        for samples, arrival in pieces:
            self._arrivals.append((self._consumed, arrival))
            self._consumed += len(samples)
        if self._consumed > start:  # one step per tick: each push has a cost of its own, however short
            return np.concatenate([p for p, _ in pieces])
        return None

    def _catch_up(self, now: float) -> None:
        """Pushed audio that arrives after the clock needed it follows the silence filled meanwhile, so all the
        audio after it waits that much longer, for good: a sender's hiccup, or only its message size (the
        clock asks for audio up to now; a sender of 10 ms messages has sent audio up to 0-10 ms ago), would add
        to the delay for the rest of the session. Audio that has waited the whole last CATCH_UP_EVERY_S beyond
        KEEP_WAITING_S is that much too late (up to the debt): it is skipped where the queue's head is quiet, on
        any tick until the next reckoning, so the delay comes back at the next pause. More than STALL_SKIP_S too
        late (a stall of the sender or of this thread) is skipped at once, speech too: a face that far behind its
        voice is worse than a syllable it misses. Audio a client sends ahead on purpose (a whole line after a
        reset) builds no debt and is never skipped."""
        waiting = self.buffer.queued
        self._least_waiting = waiting if self._least_waiting is None else min(self._least_waiting, waiting)
        if now >= self._catch_up_at:
            self._excess = max(0, min(self._debt, self._least_waiting - int(KEEP_WAITING_S * SAMPLE_RATE)))
            self._least_waiting, self._catch_up_at = None, now + CATCH_UP_EVERY_S
            if self._excess > STALL_SKIP_S * SAMPLE_RATE:
                stalled = sum(len(piece) for piece, _ in self.buffer.take(self._excess))
                self.stats.stall_skipped_s += stalled / SAMPLE_RATE
                self._debt -= stalled
                self._excess = 0
        if self._excess < SKIP_MIN:
            return
        block = SAMPLE_RATE // 100  # quiet is judged over the next 10 ms; less may be skipped (the excess's rest)
        quiet = 10 ** (max(self.streamer.loudness.level - 30.0, -60.0) / 10)  # the live speech detector's floor
        skipped = 0
        while self._excess - skipped >= SKIP_MIN:
            head = self.buffer.peek(block)
            if len(head) < block or np.mean(head.astype(np.float64) ** 2) > quiet:
                break
            skipped += sum(len(piece) for piece, _ in self.buffer.take(min(block, self._excess - skipped)))
        self._excess -= skipped
        self._debt -= skipped
        self.stats.skipped_s += skipped / SAMPLE_RATE

    def _queue(self, anim: Animation) -> None:
        first = self.streamer.n_out - anim.n_frames
        for j in range(anim.n_frames):
            self.pending.append((first + j, anim.values[j]))

    def _arrival_of(self, sample: int) -> float:
        k = bisect.bisect_right(self._arrivals, (sample, float("inf"))) - 1
        return self._arrivals[max(0, k)][1]

    def _send_due(self, index_limit: int) -> None:
        now = time.monotonic()
        while self.pending and self.pending[0][0] <= index_limit:
            i, values = self.pending.popleft()
            if now - self.send_time(i) > MAX_LATE_S:  # its moment has passed: the face goes on from now
                self.stats.dropped += 1
                continue
            frame = Frame(i, i / self.fps, values)
            self._to_sinks("frame", frame)
            self._notify("frame", frame)
            sent = time.monotonic()
            self.stats.sent += 1
            if sent > self.send_time(i + LATE_AFTER_FRAMES):
                self.stats.late += 1
            arrival = self._arrival_of(int(round(i / self.fps * SAMPLE_RATE)))
            if arrival != FILLED:  # latency is of audio that arrived, not of the silence filled for none
                self.stats.latency.add(1000 * (sent - arrival))
            if self._last_sent is not None:
                self.stats.jitter.add(1000 * abs(sent - self._last_sent - 1 / self.fps))
            self._last_sent = sent
        # keep the arrival records a few seconds deep
        if len(self._arrivals) > 4096:
            self._arrivals = self._arrivals[-2048:]

    def _state(self) -> None:
        state = "speaking" if self.streamer.speaking else "idle"
        if state != getattr(self, "_last_state", None):
            self._last_state = state
            self._to_sinks("state", state)
            self._notify("state", state)

    def warm_up(self) -> None:
        """Run the engine once (the first pass allocates). Before a server listens: audio that clients sent
        while this ran would wait behind it for the rest of the session."""
        if not self.warm:
            self.streamer.warm_up()
            self.warm = True

    def begin(self) -> None:
        """The clock starts: audio time 0 is now (on the shared grid, if any); the header goes out."""
        self.warm_up()
        self._finished = False
        self._start()
        self.announce()

    def send_tick(self, index: int | None = None) -> None:
        """At a tick's deadline: requests since the last tick, then the frames due (computed lead_s ago).
        index: the frame due now on a shared clock (the session's own clock counts its ticks)."""
        self._apply_controls()
        if index is not None:
            self._next = index
        self._send_due(self._next)
        self._next += 1

    def compute_tick(self, source, now: float | None = None) -> bool:
        """lead_s before the next sends: animate the audio that has arrived by `now` (default: the monotonic clock's
        time).
        True once a file has played and all is sent."""
        fed = self.feed_tick(source, now)
        return self.collect_tick(source, self.streamer.net.run() if fed else None)

    def feed_tick(self, source, now: float | None = None) -> bool:
        """compute_tick's first half (a stage runs its characters' networks together between the halves): True
        when the audio now waits in the network (then collect_tick(source, rows) finishes the tick, else with
        None)."""
        self._tick_now = now = time.monotonic() if now is None else now
        samples = self._take(source, now)
        if samples is None:
            return False
        if isinstance(self.streamer, StreamingAnimator):
            self.streamer.feed(samples)
            return True
        self._queue(self.streamer.push(samples))
        return False

    def collect_tick(self, source, rows: np.ndarray | None) -> bool:
        """compute_tick's second half: the network's new rows for this character (None: nothing ran for it)."""
        if rows is not None:
            self._queue(self.streamer.collect(rows))
        if source.live:
            self._catch_up(self._tick_now)
        return self._end_tick(source)

    def _end_tick(self, source) -> bool:
        if source.done and not self.buffer.queued and not self._finished:
            self._queue(self.streamer.finish())
            self._finished = True
        self._state()
        return self.played

    def end(self) -> None:
        """The session's figures: a finished file expects exactly its frames; a live stream one per tick that
        came due."""
        self.stats.expected = self._expected_before + (self.streamer.n_out if self._finished else max(0, self._next))

    async def run(self, source, stop: asyncio.Event | None = None) -> Stats:
        """Until the source is done (a file) or stop is set (a server): feed, animate, send on schedule."""
        stop = stop or asyncio.Event()
        self.warm_up()
        cpu0, wall0 = time.process_time(), time.monotonic()
        self.begin()
        tick = 0
        try:
            while not stop.is_set():
                wait = await until(self.send_time(self._next), stop)
                if stop.is_set():
                    break
                if wait < -MAX_LATE_S:  # starved or stalled: the ticks missed are not sent late, one by one
                    behind = self.index_at(time.monotonic()) - self._next
                    self._next, tick = self._next + behind, tick + behind
                self.send_tick()
                await until(self.send_time(self._next) - self.lead_s, stop, fine=0.0)
                if stop.is_set():
                    break
                if self.compute_tick(source) if self.due(tick) else self.played:
                    break
                tick += 1
                if wait <= 0:
                    await asyncio.sleep(0)  # running late: still let clients' audio in, every tick
        finally:
            self.end()
            self.stats.cpu_s += time.process_time() - cpu0
            self.stats.wall_s += time.monotonic() - wall0
        return self.stats
