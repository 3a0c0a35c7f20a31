"""Many characters on one `emoface serve`: each character is a live session of its own (audio stream, emotion,
rig, clock, blinks), and all of them run on one send clock, so every character's frames leave at the start of
a tick and no character's network pass delays another's packets.

A character exists while someone uses it: clients name it when they connect (docs/LIVE.md), the first one
creates it, and it is closed LINGER_S after its last client left, or at once if it never had audio (`default`,
the character of clients that name none and of the UDP targets, always stays); one that nobody receives is paused
until a client joins. Limits: at most max_characters at once (global), at most STARTS_PER_S characters created or
woken a second (each builds or resets a session on the clock's thread), and each character's own audio bound
(emoface.live.session.PcmBuffer), so one character's flood fills only its queue. Names compare without case
(Live Link subjects are Unreal FNames, which ignore it). A closed character's figures are kept for the exit
lines (per_character, sink_lines).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import zlib
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from emoface.live.session import COMPUTE_LEAD, MAX_LATE_S, SCALARS, LiveSession, PushSource, Stats, until
from emoface.model.stream import run_together

log = logging.getLogger("emoface")
DEFAULT_CHARACTER = "default"
LINGER_S = 30.0  # a character nobody uses any more is closed after this long
LEAD_SPARE_S = 0.0015  # the computing before the sends is given its recent p95 time and this much more
# a crowded server takes longer steps rather than fall behind (Stage.adapt_step)
BUSY_MORE = 0.8  # share of a core its thread is busy: above, a frame more a step
BUSY_BACK = 0.75  # a frame less a step once the thread would be under this share at it (Stage.adapt_step)
STEP_HOLD_S, STEP_MAX = 3, 4  # seconds beyond either before the step changes; the most frames a step
BEHIND_MORE, STEP_CALM_S = 0.05, 10  # share of a second's ticks begun late: behind; seconds on time before a step back
STARTS_PER_S, STARTS_BURST = 10.0, 20  # characters created or woken from a pause, server-wide (a few ms each)
MAX_CLOSED_NAMES = 256  # closed characters whose figures are kept by name; later ones are summed as OTHERS
OTHERS = "(other closed characters)"
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")  # names become Live Link subjects: plain and short


def phases(step: int) -> list[int]:
    """The ticks of a step on which characters take theirs: every tick at one or two frames a step; at more, two
    ticks half a step apart, so each network pass carries half the characters (one pass every tick would cost its
    per-call price every tick; all of them on one tick would take longer than a frame)."""
    groups = min(step, 2)
    return [g * (step // groups) for g in range(groups)]


class Bucket:
    """A token bucket: `rate` a second, up to `burst` at once."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _pack(stats: Stats) -> tuple:
    """A closed character's figures, small: a Stats holds two 800 KB histograms, mostly empty bins."""
    def sparse(h):
        nz = np.flatnonzero(h.counts)
        return nz.astype(np.int32), h.counts[nz]
    return {k: getattr(stats, k) for k in SCALARS}, sparse(stats.latency), sparse(stats.jitter)


def _unpack(packed: tuple) -> Stats:
    scalars, latency, jitter = packed
    stats = Stats(**scalars)
    stats.latency.counts[latency[0]] = latency[1]
    stats.jitter.counts[jitter[0]] = jitter[1]
    return stats


def _sink_line(sinks: list) -> str:
    """One target's exit line over the sessions of one character name (a name closed and made again)."""
    if len(sinks) > 1 and all(hasattr(s, "udp") and hasattr(s, "url") for s in sinks):
        sent, errors = sum(s.udp.sent for s in sinks), sum(s.udp.errors for s in sinks)
        return f"{sinks[0].url}: {sent} datagrams" + (f", {errors} send errors" if errors else "")
    return "; ".join(s.stats() for s in sinks)


class StageFull(ValueError):
    """A new character was asked for while max_characters already run."""


def check_name(name) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"character must be 1-64 letters, digits, '_', '.' or '-', not {str(name)[:40]!r}")
    return name


def character_seed(seed: int, name: str) -> int:
    """Each character blinks and moves on its own; `default` keeps the command's --seed as it is."""
    return seed if name == DEFAULT_CHARACTER else (seed * 1_000_003 + zlib.crc32(name.encode())) % 2 ** 31


@dataclass
class Character:
    name: str
    session: LiveSession
    source: object  # where its audio comes from (PushSource: its clients)
    clients: dict = field(default_factory=dict)  # WebSocket connection id -> client (emoface.live.server)
    frame_rig: str | None = None  # the rig its WebSocket frames are sent on (None: the session's)
    header_due: bool = False  # frame_rig changed: a header goes out before the next frame
    empty_since: float | None = None
    paused: bool = False  # nobody receives it: not animated (Stage._paused)
    heard: bool = False  # a client's audio reached it: it lingers after its last client (else closed at once)


class Stage:
    """The characters of a server and their shared clock. make_session(name) builds a new character's session;
    None: a stage of the characters added to it only (a stream of one file or microphone)."""

    def __init__(self, make_session=None, max_characters: int = 16, linger_s: float = LINGER_S,
                 taken: dict | None = None):
        self.make_session, self.max_characters, self.linger_s = make_session, max_characters, linger_s
        self.taken = taken or {}  # names no character may have -> why (a Live Link subject `default` is sent as)
        self.characters: dict[str, Character] = {}
        self.on_new = []  # callables(character): the WebSocket server attaches its listener
        self.closed = Stats()  # figures of characters already closed
        self.closed_by_name: dict = {}  # their figures by name (_pack), for the exit lines
        self.closed_sinks: dict = {}  # (name, target url) -> the closed sessions' sinks, for their exit lines
        self.starts = Bucket(STARTS_PER_S, STARTS_BURST)
        self.stats = Stats()  # the clock's own CPU and wall time
        self.fps = None
        self.g0 = None  # monotonic time of the clock's tick 0 (None until run() starts it)
        self.lead_s = None  # how long before the sends every character animates (adapt_lead)
        self.compute_s: deque = deque(maxlen=120)  # the last ticks' computing times
        self.step = self.base_step = None  # frames every character's step animates now; the command's (adapt_step)
        self._strain = 0  # seconds in a row the thread was busier than BUSY_MORE (> 0), or would have room (< 0)
        self._calm = 0  # seconds in a row the clock kept time (adapt_step)

    def add(self, name: str, session: LiveSession, source) -> Character:
        if self.fps is None:
            self.fps, self.lead_s = session.fps, COMPUTE_LEAD / session.fps
        elif session.fps != self.fps:
            raise ValueError("every character on one clock has the same fps")
        if self.step is None:
            self.step = self.base_step = session.step
        session.step = self.step  # before it starts: its delay follows
        # its steps on the ticks the fewest others take theirs (LiveSession.step): every tick has its share
        taken = [c.session.phase for c in self.characters.values()]
        session.phase = min(phases(session.step), key=taken.count)
        character = Character(check_name(name), session, source)
        self.characters[name] = character
        for callback in self.on_new:
            callback(character)
        if self.g0 is not None:
            self._start(character)
        return character

    def can_join(self, name: str) -> None:
        """Raises (ValueError, StageFull) unless a client may use this character now."""
        check_name(name)
        if name in self.characters:
            return
        key = name.lower()  # names become Live Link subjects, Unreal FNames: `NPC` and `npc` are one
        for taken, why in self.taken.items():
            if taken.lower() == key:
                raise ValueError(f"character {name!r}: {why} (names ignore case); choose another name")
        for other in self.characters:
            if other.lower() == key:
                raise ValueError(f"character {name!r}: {other!r} is on stage, and names ignore case (Live Link "
                                 f"subjects are Unreal names); join {other!r} or choose another name")
        if self.make_session is None:
            raise ValueError(f"this stream has one character ({', '.join(self.characters)}); "
                             f"{name[:40]!r} is not one of them")
        if len(self.characters) >= self.max_characters:
            raise StageFull(f"the server runs its limit of {self.max_characters} characters")

    def join(self, name: str) -> Character:
        """The character of this name, created if it is new (may raise, as can_join)."""
        self.can_join(name)
        wakes = name not in self.characters or self.characters[name].paused
        if wakes and name != DEFAULT_CHARACTER and self.g0 is not None and not self.starts.take():
            raise StageFull(f"the server creates or wakes at most {STARTS_PER_S:g} characters a second; try again")
        if name not in self.characters:
            session = self.make_session(name)
            if name != DEFAULT_CHARACTER:  # that one is there from the start
                log.info("character %s joins (%d on stage)", name, len(self.characters) + 1)
            self.add(name, session, PushSource())
        character = self.characters[name]
        character.empty_since = None
        if character.paused:  # nobody watched it: it starts a new line now, before its new client's header
            character.paused = False
            character.session.reset()
        return character

    @staticmethod
    def _paused(character: Character) -> bool:
        """A character nobody receives (no client, no UDP target) is not animated: its clock stops until a
        client joins, which starts a new line. An idle `default` on a server without targets costs nothing."""
        if not character.clients and not character.session.sinks and not character.session.buffer.queued:
            character.paused = True
        return character.paused

    def left(self, character: Character) -> None:
        """A client of it left: with none left, its linger starts (none if it never had audio: _retire)."""
        if not character.clients and character.empty_since is None:
            character.empty_since = time.monotonic()

    def align(self, now: float, delay: float) -> float:
        """A session's t0 near `now` whose send grid (t0 + delay + k / fps) falls on this clock's ticks."""
        return self.g0 + round((now + delay - self.g0) * self.fps) / self.fps - delay

    def _start(self, character: Character) -> None:
        session = character.session
        session.align = self.align
        session.lead_s = self.lead_s  # before begin(): its delay, and so its t0, follow
        if any(c.session.warm for c in self.characters.values()):
            session.warm = True  # the process's network is warm: a new character must not stall the clock
        session.begin()

    def _retire(self, now: float) -> None:
        for name, character in list(self.characters.items()):
            # one that never had audio holds no slot once its clients left (a client hopping through names
            # without talking would fill the stage for the linger)
            linger = self.linger_s if character.heard else 0.0
            if name != DEFAULT_CHARACTER and not character.clients and character.empty_since is not None \
                    and now - character.empty_since >= linger:
                self.close(name)

    def close(self, name: str) -> None:
        character = self.characters.pop(name)
        character.session.end()
        self.closed.merge(character.session.stats)
        key = name if name in self.closed_by_name or len(self.closed_by_name) < MAX_CLOSED_NAMES else OTHERS
        stats = character.session.stats
        if key in self.closed_by_name:
            stats = _unpack(self.closed_by_name[key])
            stats.merge(character.session.stats)
        self.closed_by_name[key] = _pack(stats)
        for sink in character.session.sinks:
            sink.close()
            kept = self.closed_sinks.setdefault((key, getattr(sink, "url", type(sink).__name__)), [])
            if kept and hasattr(sink, "udp") and hasattr(kept[-1], "udp"):  # one line's sums: keep one sink
                kept[-1].udp.sent += sink.udp.sent
                kept[-1].udp.errors += sink.udp.errors
            else:
                kept.append(sink)
        log.info("character %s closed (%s)", name, f"nobody used it for {self.linger_s:g} s" if character.heard
                 else "its last client left and it never had audio")

    def per_character(self) -> dict:
        """name -> Stats of every character the server had: those on stage and those closed (a name closed and
        made again: its sessions summed), so they add up to total()."""
        out = {name: _unpack(packed) for name, packed in self.closed_by_name.items()}
        for name, character in self.characters.items():
            if name in out:
                out[name].merge(character.session.stats)
            else:
                out[name] = character.session.stats
        return out

    def sink_lines(self) -> list[str]:
        """The exit lines of every character's UDP targets, closed characters' too: `name: target: figures`."""
        sinks = {key: list(kept) for key, kept in self.closed_sinks.items()}
        for name, character in self.characters.items():
            for sink in character.session.sinks:
                sinks.setdefault((name, getattr(sink, "url", type(sink).__name__)), []).append(sink)
        live = [k for k in sinks if k[0] in self.characters]  # on stage first, as before
        return [f"{name}: {_sink_line(sinks[(name, url)])}" for name, url in
                live + [k for k in sinks if k not in live]]

    def warm_up(self) -> None:
        for character in self.characters.values():
            character.session.warm_up()

    async def run(self, stop: asyncio.Event) -> Stats:
        """Tick by tick until stop: every character's due frames go out, then, lead_s before the next sends (half a
        frame, more for many characters: adapt_lead), each whose step it is (LiveSession.step) animates its new
        audio."""
        cpu0, wall0 = time.process_time(), time.monotonic()
        self.g0 = time.monotonic()
        for character in self.characters.values():
            self._start(character)
        n = 0
        second = (time.process_time(), time.monotonic())
        computing, late_ticks = 0.0, 0  # since `second`: seconds spent animating; ticks begun a frame late or more
        try:
            while not stop.is_set():
                deadline = self.g0 + n / self.fps
                wait = await until(deadline, stop)
                if stop.is_set():
                    break
                if wait < -MAX_LATE_S:  # starved or stalled: on to the tick due now (the frames missed are dropped)
                    n = int((time.monotonic() - self.g0) * self.fps)
                    deadline = self.g0 + n / self.fps
                late_ticks += wait < -1 / self.fps
                characters = [c for c in self.characters.values() if not self._paused(c)]
                for character in characters:
                    character.session.send_tick(character.session.index_at(deadline))
                await until(deadline + 1 / self.fps - self.lead_s, stop, fine=0.0)
                if stop.is_set():
                    break
                began = time.monotonic()
                self._compute([c for c in characters if c.session.due(n)])
                self.compute_s.append(time.monotonic() - began)
                computing += self.compute_s[-1]
                if time.monotonic() - second[1] >= 1.0:  # once a second
                    self.adapt_lead()
                    now = (time.process_time(), time.monotonic())
                    wall = max(1e-3, now[1] - second[1])
                    self.adapt_step((now[0] - second[0]) / wall, computing / wall, late_ticks / self.fps)
                    second, computing, late_ticks = now, 0.0, 0
                self._retire(time.monotonic())
                n += 1
                if wait <= 0:
                    await asyncio.sleep(0)  # running late: still let clients' audio in, every tick
        finally:
            for character in self.characters.values():
                character.session.end()
            self.stats.cpu_s += time.process_time() - cpu0
            self.stats.wall_s += time.monotonic() - wall0
        return self.total()

    def adapt_lead(self) -> None:
        """Many characters take longer to animate than one: the lead before the sends follows the recent p95
        computing time (from half a frame up to a whole one), so sends are not held up by it, and every character
        moves with it (LiveSession.move_lead: the sends stay on the grid, the delay changes by as much). It grows
        at once and shrinks only by more than a millisecond, so it does not hunt."""
        if not self.compute_s:
            return
        need = float(np.percentile(self.compute_s, 95)) + LEAD_SPARE_S
        lead = min(1.0, max(COMPUTE_LEAD, need * self.fps)) / self.fps
        if lead > self.lead_s or lead < self.lead_s - 0.001:
            self.lead_s = lead
            for character in self.characters.values():
                character.session.move_lead(lead)

    def adapt_step(self, busy: float, computing: float = 0.0, behind: float = 0.0) -> None:
        """A crowded server takes longer steps rather than fall behind: a step costs much the same however many
        frames it animates (docs/LIVE.md, Timing), and a thread that cannot keep up reads its clients' audio late,
        so their delay grows without bound. `busy`: the share of a core the server used in the last second;
        `computing`: the share of it spent animating. After STEP_HOLD_S seconds in a row above BUSY_MORE every
        character animates a frame more a step (up to STEP_MAX), its delay a frame interval longer; after as long
        in which the thread would stay under BUSY_BACK at a frame less a step, a frame less, back to the command's
        step: so a burst of load (the machine's, or a crowd that has gone) costs the delay only while it lasts.
        That estimate takes the animating to cost as much a step at a frame less, so more a second (steps cost a
        little less with fewer frames, so the thread is a little idler than estimated and the step does not hunt).
        `behind`: the share of the last second's ticks begun a frame late or more. A thread that other processes
        starve of the CPU is not busy but behind: above BEHIND_MORE it counts as busy, and a frame less a step is
        tried only after STEP_CALM_S seconds on time (its estimate knows nothing of the others' load).
        The characters' steps are spread over the ticks again (phases); their sends do not move."""
        back = busy + computing / (self.step - 1) if self.step and self.step > 1 else busy  # at a frame less
        self._calm = 0 if behind > BEHIND_MORE else self._calm + 1
        want = 1 if busy > BUSY_MORE or behind > BEHIND_MORE else -1 if back < BUSY_BACK and \
            self._calm >= STEP_CALM_S else 0
        self._strain = self._strain + want if want and self._strain * want >= 0 else want
        if abs(self._strain) < STEP_HOLD_S or self.step is None:
            return
        step = min(max(STEP_MAX, self.base_step), max(self.base_step, self.step + want))  # never below the command's
        self._strain = 0
        if step == self.step:
            return
        log.info("%d frames a step (the server's thread was %.0f%% busy)", step, 100 * busy)
        self.step = step
        ticks = phases(step)
        for k, character in enumerate(self.characters.values()):
            character.session.set_step(step)
            character.session.phase = ticks[k % len(ticks)]
        self.compute_s.clear()

    @staticmethod
    def _compute(characters: list[Character]) -> None:
        """Each character animates the audio that has arrived; the networks of those that have new audio run
        together (one matrix product per layer for all of them: emoface.model.stream.run_together)."""
        fed = [c for c in characters if c.session.feed_tick(c.source)]
        rows: dict = {}
        groups: dict = {}
        for c in fed:  # characters of one network (a server has one; a stage could hold several)
            groups.setdefault(id(c.session.streamer.net.w), []).append(c)
        for group in groups.values():
            rows.update(zip(map(id, group), run_together([c.session.streamer.net for c in group])))
        for c in characters:
            c.session.collect_tick(c.source, rows.get(id(c)))

    def total(self) -> Stats:
        """All characters' frames, latency and jitter together (closed ones too), with the clock's CPU."""
        total = Stats()
        total.merge(self.closed)
        for character in self.characters.values():
            total.merge(character.session.stats)
        total.cpu_s, total.wall_s = self.stats.cpu_s, self.stats.wall_s
        return total
