"""The WebSocket side of a live session (docs/LIVE.md has the schema with examples).

Server -> client, JSON text: a `header` (stream id, character, rig, names, fps, audio t0) on connect and
whenever it changes, `emotion` when the emotion changes, then one `frame` per frame (index, audio time, values
in header order). Client -> server: binary PCM (16 kHz mono s16le unless an `audio` message says otherwise)
and JSON control messages: `emotion`, `articulation`, `reset`, `rig`, `audio`, `character`. Each client is with
one character (emoface.live.stage): its frames come from it, its audio and control go to it. A bad message gets an
`error` reply and the connection stays (one over MAX_MESSAGE_BYTES, which the WebSocket library cannot read,
is closed with code 1009); a client that cannot keep up has frames skipped, then is dropped, never waited for.
Hostile clients: audio is bounded (emoface.live.session.PcmBuffer), control is applied once per tick
(latest wins), browsers on other origins are refused unless named, and every message sent is strict JSON.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import http
import ipaddress
import json
import logging
import math
import re
import socket
import time
from collections import deque
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from emoface.articulation import HIGHEST as HIGHEST_ARTICULATION, LOWEST as LOWEST_ARTICULATION
from emoface.emotion.spec import EMOTIONS, parse_emotion
from emoface.errors import EmofaceError
from emoface.live.session import LiveSession, check_pcm
from emoface.live.sinks import Frame, StreamInfo
from emoface.live.stage import DEFAULT_CHARACTER, Bucket, Character, Stage, StageFull
from emoface.rigs import builtin_names, load_rig

log = logging.getLogger("emoface")
SCHEMA_VERSION = 1
SEND_BUFFER = 64 * 1024  # kernel send buffer per client: frames must not sit for seconds in a slow one
SLOW_BYTES = 64 * 1024  # more than this waiting in our buffer as well (~1 s of frames): skip frames for it
# The kernel buffers on both sides (the client's receive buffer above all: autotuned up to megabytes) hold many
# seconds of frames before our own buffer grows, so a client's reading is judged by its pongs: a client answers
# a ping once it has read everything sent before it. A ping unanswered BEHIND_S: it reads frames that old (or
# none): frames are skipped for it. One that has answered no ping and sent nothing for DROP_AFTER_S is closed;
# one that still sends (a speaker that never reads its frames) is kept, and sent no frames.
PING_EVERY_S = 1.0  # a ping to every client this often (at most one waits for its pong)
BEHIND_S = 1.0
DROP_AFTER_S = 5.0  # more than SLOW_BYTES waiting this long, or silent and not reading this long: close it
# One socket read is parsed whole by websockets in one call that nothing can interrupt: asyncio reads 256 KiB,
# 32,768 two-byte messages, 89-99 ms on the thread that sends every character's frames. Reads of READ_BYTES bound a
# call to about 3 ms of parsing (1024 two-byte messages; 16 KiB took 5.8 ms, longer than the 2 ms the frame clock
# wakes early), and the frames' timer runs between reads. Audio as it is captured is 320 bytes a message.
READ_BYTES = 8 * 1024
# messages a client may send a second, with bursts of up to MESSAGE_BURST (a token bucket). Audio in 10 ms
# messages is 100 a second; a burst of thousands of control messages is coalesced (the latest wins) and passes.
# Past it messages are refused unread, with one `error` reply a second; a client still past it after
# FLOOD_CLOSE_S seconds is closed with 1008 (policy violation)
MAX_MESSAGES_PER_S, MESSAGE_BURST = 1000, 10000
FLOOD_CLOSE_S = 3.0
# `character` messages a connection may send a second (a burst of CHARACTER_BURST): a move starts the character's
# line anew, and a move that creates one builds a session (a few milliseconds each, on the frame clock's thread)
CHARACTER_MOVES_PER_S, CHARACTER_BURST = 2.0, 4
CREATES_PER_MINUTE = 8  # characters one connection may create a minute (its handshake's included)
QUERY_KEYS = ("character", "token")  # what a client's URL may say
YIELD_AFTER_S = 0.002  # a client's messages are handled in turns of this long, then the frames get the loop
PCM_FORMATS = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}
MAX_RATE, MAX_CHANNELS = 96000, 8  # the most an `audio` message may declare
# One message may carry all the audio that may wait ahead (MAX_AHEAD_S) in any format a client may declare
# (5 s of 96 kHz 8-channel f32le: 15.4 MB), so whatever could be queued at all gets an `error` reply for what
# is not, never a dropped connection. Past it the WebSocket library closes with 1009 before the message is read.
MAX_MESSAGE_BYTES = 16 * 2 ** 20  # >= MAX_AHEAD_S * MAX_RATE * MAX_CHANNELS * 4 (tests/test_hardening_live_batch.py)
MAX_QUEUE = 4  # messages read ahead per client (websockets' default 16 x 16 MiB would be 256 MiB a client)
MAX_CONTROL_CHARS = 64 * 1024  # a JSON control message is a few dozen bytes: longer ones are refused unparsed
MAX_INT_DIGITS = 100  # an integer in a control message; longer ones are refused (not Python's int-size limit)
# each control message's keys besides "type"
CONTROL_KEYS = {"emotion": ("emotion", "intensity"), "articulation": ("articulation",), "reset": (),
                "rig": ("rig",), "audio": ("format", "sample_rate", "channels"), "character": ("character",)}


def dumps(message: dict) -> str:
    """Every message sent: compact and strict JSON (NaN or Infinity raise here instead of reaching a client)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


class _NotFinite(ValueError):
    """NaN, Infinity or -Infinity in a client's JSON (its name the message)."""


def _refuse_constant(name: str):
    raise _NotFinite(name)


# the key a refused constant came under, for the error to name it ("articulation": NaN)
_CONSTANT_KEY = re.compile(r'"([^"\\]{1,40})"\s*:\s*(?:-?Infinity|NaN)')


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"number too long ({len(text.lstrip('-'))} digits): numbers in a control message have at "
                         f"most {MAX_INT_DIGITS}")
    return int(text)


def loads(text) -> object:
    """A client's JSON, strictly: NaN/Infinity refused; integers too long and nesting too deep to parse are
    ValueErrors."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int)
    except _NotFinite as exc:
        key = _CONSTANT_KEY.search(text) if isinstance(text, str) else None
        raise ValueError(f"{f'{key[1]} ' if key else ''}{exc} is not JSON: numbers must be finite") from None
    except RecursionError:
        raise ValueError("message nested too deeply") from None
    except json.JSONDecodeError as exc:  # the parser's own words say where, not what
        raise ValueError(f"message is not JSON ({exc.msg} at character {exc.pos})") from None


def _number(msg: dict, key: str, default, lo: float, hi: float, integer: bool = False) -> float:
    """msg[key] (default when absent): a finite number in [lo, hi]; with integer, a whole one (16000 or 16000.0)."""
    value = msg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, float) and not (math.isfinite(value) and (value.is_integer() or not integer))) \
            or not lo <= value <= hi:  # ints are compared as they are: a 99-digit one is no float
        raise ValueError(f"{key} must be {'an integer' if integer else 'a number'} {lo:g}-{hi:g}, "
                         f"not {json.dumps(value)[:40]}")
    return value


def _string(msg: dict, key: str, example: str) -> str:
    value = msg.get(key)
    if not isinstance(value, str):
        raise ValueError(f'"{key}" must be a string such as "{example}"')
    return value


def parse_query(path: str) -> dict:
    """A client's URL query -> {key: value}: only QUERY_KEYS, each once; a misspelt `?charcter=npc` or an empty
    `?character=` must not put a client on `default` unsaid (ValueError)."""
    query = {}
    for key, value in parse_qsl(urlsplit(path).query, keep_blank_values=True):
        if key not in QUERY_KEYS:
            raise ValueError(f"unknown query key {key[:40]!r} (a client's URL takes {' and '.join(QUERY_KEYS)})")
        if key in query:
            raise ValueError(f"{key} is given twice in the URL")
        query[key] = value
    if "character" in query and not query["character"]:
        raise ValueError("character is empty (leave it out for `default`)")
    return query


def origin_key(origin: str) -> str:
    """An Origin as browsers compare them: scheme://host[:port], case-insensitive, no trailing slash."""
    return origin.strip().rstrip("/").lower()


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def header_message(info: StreamInfo, character: str = DEFAULT_CHARACTER) -> dict:
    return {"type": "header", "version": SCHEMA_VERSION, "stream": info.stream_id, "character": character,
            "rig": load_rig(info.rig).name,  # a profile's name, never its path on this machine
            "names": list(info.names), "fps": float(info.fps), "audio_t0": round(info.audio_t0, 6),
            "sample_rate": 16000, "emotion": emotion_body(info)}


def emotion_body(info: StreamInfo) -> dict:
    return {"summary": info.emotion, "weights": dict(zip(EMOTIONS, info.emotion_weights))}


def frame_message(stream_id: str, frame: Frame, rig: str) -> dict:
    """The values at 5 decimals: numpy's round of the float32 values in float64 is Python's round() exactly
    (v x 1e5 is exact), in one call instead of one per value (a sixth of the time; a crowded server sends 480
    frames a second)."""
    return {"type": "frame", "stream": stream_id, "frame": frame.index, "time": round(frame.time, 6),
            "values": np.round(frame.on(rig).astype(np.float64), 5).tolist()}


class _Client:
    def __init__(self, conn, character: Character):
        self.conn, self.character = conn, character
        self.rate, self.channels, self.dtype = 16000, 1, PCM_FORMATS["s16le"]
        self.resampler = None
        self.slow_since = None
        self.skipped = 0
        self.heard_from = time.monotonic()  # its last message
        self.messages = Bucket(MAX_MESSAGES_PER_S, MESSAGE_BURST)  # past it: refused unread (a flood)
        self.refused, self.flood_since, self.last_refused, self.flood_told = 0, None, -math.inf, -math.inf
        self.moves = Bucket(CHARACTER_MOVES_PER_S, CHARACTER_BURST)  # `character` messages
        self.created: deque = deque()  # when this connection created characters (the last minute's)

    def pcm(self, data: bytes, room: int | None = None) -> tuple[np.ndarray, int]:
        """A PCM message -> (16 kHz mono samples, 16 kHz samples cut off unread). room: what the character's
        queue can still take; the message's audio past it (and a 10 ms margin for the resampler) is refused
        without being decoded, so decoding a big message costs no more than the audio that fits (reading its bytes
        still takes the loop its time: docs/LIVE.md, Message size)."""
        frame = self.dtype.itemsize * self.channels
        if len(data) % frame:
            raise ValueError(f"PCM message of {len(data)} bytes is not whole {self.channels}-channel "
                             f"{self.dtype.itemsize * 8}-bit frames")
        cut = 0
        if room is not None:
            keep = math.ceil((room + 160) * self.rate / 16000)  # frames of the message that may be queued
            frames = len(data) // frame
            if frames > keep:
                cut = int((frames - keep) * 16000 / self.rate)
                data = memoryview(data)[:keep * frame]
        x = np.frombuffer(data, self.dtype).astype(np.float32)
        if self.dtype.kind == "i":  # whole numbers scaled: finite and within full scale already
            x *= np.float32(1 / 32768)
        else:
            x = check_pcm(x)  # before the resampler: NaN would stay in it
        if self.channels > 1:
            x = x.reshape(-1, self.channels).mean(axis=1)
        if self.rate != 16000:
            if self.resampler is None:
                import soxr

                self.resampler = soxr.ResampleStream(self.rate, 16000, 1, dtype="float32")
            x = self.resampler.resample_chunk(x)
        return x, cut


class WebSocketHub:
    """Serves the characters of a Stage (or one LiveSession) over WebSocket: each client is with one character,
    whose frames it gets and to which its audio and control go."""

    def __init__(self, stage, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 audio=False, rig: str | None = None, allow_origins=(), max_clients: int = 64,
                 character_clients: int = 16):
        if token is not None and not token.strip():  # `--token "$UNSET"`: not a reason to let everyone in
            raise ValueError("the token is empty: give a non-empty token, or none to accept every client")
        if isinstance(stage, LiveSession):  # one session (a stream): the stage of that one character
            session, stage = stage, Stage()
            stage.add(DEFAULT_CHARACTER, session, None)
        self.stage, self.host, self.port, self.token = stage, host, port, token
        self.audio = bool(audio)  # False: this stream plays a file; client audio is refused
        self.rig = rig  # the rig frames are sent on (None: each character's session's)
        self.allow_origins = {origin_key(o) for o in allow_origins or ()}
        self.max_clients, self.character_clients = max_clients, character_clients
        self.clients: dict = {}
        self.server = None
        self.dropped = 0
        self.served = 0  # clients that connected, for the exit line
        for character in stage.characters.values():
            self._attach(character)
        stage.on_new.append(self._attach)

    def _attach(self, character: Character) -> None:
        character.frame_rig = self.rig
        character.session.listeners.append(lambda kind, payload: self._event(character, kind, payload))

    async def start(self) -> None:
        from websockets.asyncio.server import serve

        # no permessage-deflate: a frame is a few hundred bytes sent 60 times a second to every client, and
        # deflating each frame and inflating each audio message was 4% of an 8-character server's time (and a zlib
        # state each way per connection)
        self.server = await serve(self._handler, self.host, self.port, process_request=self._check_request,
                                  max_size=MAX_MESSAGE_BYTES, max_queue=MAX_QUEUE, ping_interval=None,
                                  ping_timeout=None, compression=None)  # our own pings: _ping
        self._pinger = asyncio.create_task(self._ping())
        self.port = self.server.sockets[0].getsockname()[1]
        if not self.token and not is_loopback(self.host):
            log.warning("%s is reachable beyond this machine without a token: anyone who can reach it can "
                        "send audio and read frames (set --token)", self.url)

    @property
    def url(self) -> str:
        return f"ws://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    def stats(self) -> str:
        """The exit line's for this target, as each UDP target has its own."""
        return f"{self.url}: {self.served} client(s)" + (f", {self.dropped} dropped for not reading"
                                                           if self.dropped else "")

    async def _ping(self) -> None:
        """A ping to each client every PING_EVERY_S unless one still waits for its pong (_behind reads their age;
        websockets' keepalive would close a speaker that never reads its frames, and waits for none of them)."""
        pings = set()
        while True:
            await asyncio.sleep(PING_EVERY_S)
            for client in list(self.clients.values()):
                if not getattr(client.conn, "pending_pings", None):
                    task = asyncio.ensure_future(client.conn.ping())  # it waits while the client's buffer drains
                    pings.add(task)
                    task.add_done_callback(lambda t: (pings.discard(t), t.cancelled() or t.exception()))

    async def close(self) -> None:
        if getattr(self, "_pinger", None) is not None:
            self._pinger.cancel()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _check_request(self, connection, request):
        """The handshake: a browser page from another origin is refused unless --allow-origin names it (with a
        token and no --allow-origin, the token alone decides); native clients send no Origin. Then the token,
        then room for the client and its character."""
        origins = request.headers.get_all("Origin")
        if origins and (self.allow_origins or not self.token):
            if any(origin_key(o) not in self.allow_origins for o in origins):
                return connection.respond(http.HTTPStatus.FORBIDDEN,
                                          "cross-origin WebSocket connections are refused "
                                          f"(Origin: {origins[0][:100]}); the server allows it with --allow-origin\n")
        try:
            query = parse_query(request.path)
        except ValueError as exc:
            return connection.respond(http.HTTPStatus.BAD_REQUEST, f"{exc}\n")
        if self.token:
            given = query.get("token", "")
            auth = request.headers.get_all("Authorization")
            scheme, _, credentials = (auth[0] if len(auth) == 1 else "").strip().partition(" ")
            if scheme.lower() == "bearer":  # auth schemes are case-insensitive (RFC 9110)
                given = credentials.strip()
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return connection.respond(http.HTTPStatus.UNAUTHORIZED, "a valid token is needed (?token=...)\n")
        name = query.get("character", DEFAULT_CHARACTER)
        try:
            self._room(name)
        except StageFull as exc:
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, f"{exc}\n")
        except ValueError as exc:
            return connection.respond(http.HTTPStatus.BAD_REQUEST, f"{exc}\n")
        return None

    def _room(self, name: str, new_client: bool = True) -> None:
        """Raises StageFull (no room: try later) or ValueError (a bad name) unless a client may join `name`
        (a new connection, or one of ours moving there)."""
        if new_client and len(self.clients) >= self.max_clients:
            raise StageFull(f"the server has its limit of {self.max_clients} clients")
        self.stage.can_join(name)
        character = self.stage.characters.get(name)
        if character is not None and len(character.clients) >= self.character_clients:
            raise StageFull(f"character {name} has its limit of {self.character_clients} clients")

    def _frame_rig(self, character: Character) -> str:
        return character.frame_rig or character.session.rig

    # --- out -----------------------------------------------------------------------------------
    def _event(self, character: Character, kind: str, payload) -> None:
        session = character.session
        if kind == "frame":
            if character.header_due:
                character.header_due = False
                self._broadcast(character, self._header(character, session.info()))
            self._broadcast(character, frame_message(session.stream_id, payload, self._frame_rig(character)))
        elif kind == "header":
            self._broadcast(character, self._header(character, payload))
        elif kind == "state":
            self._broadcast(character, {"type": "state", "stream": session.stream_id,
                                        "time": round(session.streamer.time, 6), "state": payload})
        elif kind == "emotion":
            self._broadcast(character, {"type": "emotion", "stream": payload.stream_id,
                                        "time": round(session.streamer.time, 6), "emotion": emotion_body(payload)})

    def _header(self, character: Character, info: StreamInfo) -> dict:
        rig = self._frame_rig(character)
        if rig != info.rig:
            info = StreamInfo(info.stream_id, rig, tuple(character.session._rig(rig).names), info.fps,
                              info.audio_t0, info.emotion, info.emotion_weights)
        return header_message(info, character.name)

    def _broadcast(self, character: Character, message: dict) -> None:
        from websockets.asyncio.server import broadcast

        if not character.clients:
            return
        now = time.monotonic()
        ready = []
        for client in list(character.clients.values()):
            transport = client.conn.transport
            backlog = transport.get_write_buffer_size() if transport is not None else 0
            behind = self._behind(client.conn)
            client.slow_since = (client.slow_since or now) if backlog > SLOW_BYTES else None
            if backlog <= SLOW_BYTES and behind <= BEHIND_S:
                ready.append(client.conn)
                continue
            client.skipped += 1
            stuck = behind > DROP_AFTER_S and now - client.heard_from > DROP_AFTER_S  # reads nothing, says nothing
            if stuck or (client.slow_since is not None and now - client.slow_since > DROP_AFTER_S):
                log.warning("dropping a WebSocket client that stopped reading (%d frames skipped)", client.skipped)
                self.dropped += 1
                self._leave(client)
                self.clients.pop(client.conn.id, None)
                if transport is not None:
                    transport.abort()
        broadcast(ready, dumps(message))

    @staticmethod
    def _behind(conn) -> float:
        """How long the client's oldest unanswered ping has waited: it has read nothing sent since (0: none)."""
        pings = getattr(conn, "pending_pings", None)  # websockets: ping data -> (pong waiter, loop time sent)
        if not pings:
            return 0.0
        try:
            return conn.loop.time() - min(sent for _, sent in pings.values())
        except (AttributeError, TypeError, ValueError):  # another websockets' layout: the byte count alone
            return 0.0

    # --- in ------------------------------------------------------------------------------------
    def _leave(self, client: _Client) -> None:
        if client.character.clients.pop(client.conn.id, None) is not None:
            self.stage.left(client.character)

    def _join(self, client: _Client, name: str) -> None:
        """Moves the client to character `name` (created if new): its frames, and a header now."""
        now = time.monotonic()
        while client.created and now - client.created[0] > 60:
            client.created.popleft()
        creates = name not in self.stage.characters
        if creates and len(client.created) >= CREATES_PER_MINUTE:
            raise ValueError(f"this connection created {CREATES_PER_MINUTE} characters in the last minute, its "
                             f"limit; join one that exists or wait")
        character = self.stage.join(name)
        if creates:
            client.created.append(now)
        if client.character is not None:
            self._leave(client)
        client.character = character
        character.clients[client.conn.id] = client

    async def _handler(self, conn) -> None:
        client = _Client(conn, None)
        try:
            name = parse_query(conn.request.path).get("character", DEFAULT_CHARACTER) \
                if conn.request is not None else DEFAULT_CHARACTER
            self._room(name)  # again: others may have joined since the handshake was checked
            self._join(client, name)
        except ValueError as exc:
            await conn.close(1013, str(exc)[:120])  # 1013: try again later
            return
        transport = conn.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        try:  # CPython's selector transport reads recv(self.max_size) (a class attribute, 256 KiB): ours is smaller
            if transport is not None and isinstance(getattr(transport, "max_size", None), int):
                transport.max_size = READ_BYTES
        except AttributeError:  # another event loop's transport: the message rate limit still holds
            pass
        self.clients[conn.id] = client
        self.served += 1
        try:
            await conn.send(dumps(self._header(client.character, client.character.session.info())))
            turn = time.monotonic()
            async for message in conn:
                now = client.heard_from = time.monotonic()
                if client.messages.take(now):
                    reply = self._handle(client, message)
                else:
                    reply = self._flood(client, now)
                    if client.flood_since is not None and now - client.flood_since > FLOOD_CLOSE_S:
                        log.warning("closing a WebSocket client that sent more than %d messages a second for %g s",
                                    MAX_MESSAGES_PER_S, FLOOD_CLOSE_S)
                        self._leave(client)
                        conn.close_timeout = 1.0  # it may not read our close either
                        await conn.close(1008, f"more than {MAX_MESSAGES_PER_S} messages a second for "
                                               f"{FLOOD_CLOSE_S:g} s")
                        break
                if reply is not None:
                    await conn.send(dumps(reply))
                if time.monotonic() - turn > YIELD_AFTER_S:  # a flood must not hold the loop: frames go out
                    await asyncio.sleep(0)
                    turn = time.monotonic()
        except Exception as exc:  # a broken connection ends only itself
            log.debug("WebSocket client ended: %s", exc)
        finally:
            self.clients.pop(conn.id, None)
            self._leave(client)

    @staticmethod
    def _flood(client: _Client, now: float) -> dict | None:
        """A message past the client's rate, refused unread: an `error` reply at most once a second."""
        client.refused += 1
        if now - client.last_refused > 1.0:  # refusals with a second between them: a new burst
            client.flood_since = now
        client.last_refused = now
        if now - client.flood_told < 1.0:
            return None
        client.flood_told = now
        return {"type": "error", "message": f"more than {MAX_MESSAGES_PER_S} messages a second: {client.refused} "
                                            f"refused unread so far (send audio as it is captured, 10-100 ms a "
                                            f"message); past it for {FLOOD_CLOSE_S:g} s the connection is closed "
                                            f"(1008)"}

    def _handle(self, client: _Client, message) -> dict | None:
        """One client message -> None, or a reply. Nothing a client sends ends its connection."""
        try:
            if isinstance(message, bytes):
                if not self.audio:
                    raise ValueError("this stream plays a file; it takes no audio from clients")
                buffer = client.character.session.buffer
                samples, cut = client.pcm(message, buffer.room)
                client.character.heard = client.character.heard or len(samples) > 0
                buffer.append(samples, refused_before=cut)
                return None
            if len(message) > MAX_CONTROL_CHARS:  # parsing megabytes of JSON would hold every character's frames
                raise ValueError(f"control message of {len(message)} characters refused unread: a JSON control "
                                 f"message is at most {MAX_CONTROL_CHARS} (audio goes in binary messages)")
            return self._control(client, loads(message))
        except (ValueError, TypeError, KeyError, EmofaceError) as exc:
            return {"type": "error", "message": str(exc)[:300]}
        except Exception as exc:  # anything else is still this message's fault, not a reason to hang up
            log.debug("WebSocket message refused", exc_info=True)
            return {"type": "error", "message": f"could not handle this message ({type(exc).__name__}: {exc})"[:300]}

    def _control(self, client: _Client, msg) -> dict | None:
        """Checked here (errors go to the sender at once), applied by the character's session on its next tick."""
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise ValueError('a control message is a JSON object with a "type"')
        kind = msg["type"]
        if kind in CONTROL_KEYS:  # a misspelt "intensty" must not play the emotion at full strength unsaid
            unknown = [key for key in msg if key != "type" and key not in CONTROL_KEYS[kind]]
            if unknown:
                raise ValueError(f"unknown key {str(unknown[0])[:40]!r} in this {kind} message (it has "
                                 f"{', '.join(('type',) + CONTROL_KEYS[kind])})")
        character = client.character
        session = character.session
        if kind == "emotion":
            intensity = _number(msg, "intensity", 1.0, 0.0, 1.0)
            spec = _string(msg, "emotion", "happy:0.7+surprise:0.3")
            session.request_emotion(parse_emotion(spec, intensity, source="emotion"))
        elif kind == "articulation":  # required: a message without it is a mistake, not a return to 1
            session.request_articulation(_number(msg, "articulation", None, LOWEST_ARTICULATION,
                                                 HIGHEST_ARTICULATION))
        elif kind == "reset":
            if not self.audio:  # a file's clock cannot start again mid-file: every target would wait for it
                raise ValueError("this stream plays a file; a reset starts a new line of clients' audio (serve)")
            session.request_reset()
        elif kind == "rig":
            rig = _string(msg, "rig", "metahuman")
            if rig not in builtin_names():  # clients may not make the server read files
                raise ValueError(f"unknown rig {rig[:40]!r} (built-in rigs: {', '.join(builtin_names())})")
            if character.frame_rig:
                character.frame_rig, character.header_due = rig, True
            else:
                session.request_rig(rig)
        elif kind == "audio":
            if not self.audio:  # as for binary audio: say so rather than accept a format nothing will use
                raise ValueError("this stream plays a file; it takes no audio from clients")
            fmt = msg.get("format", "s16le")
            if not isinstance(fmt, str) or fmt not in PCM_FORMATS:
                raise ValueError(f"audio: format must be {' or '.join(PCM_FORMATS)}")
            rate = int(_number(msg, "sample_rate", 16000, 8000, MAX_RATE, integer=True))
            channels = int(_number(msg, "channels", 1, 1, MAX_CHANNELS, integer=True))
            client.dtype, client.rate, client.channels, client.resampler = PCM_FORMATS[fmt], rate, channels, None
        elif kind == "character":
            name = _string(msg, "character", "npc_guard")
            if not client.moves.take():  # a move starts a line anew, or builds a character: not a flood of them
                raise ValueError(f"more than {CHARACTER_MOVES_PER_S:g} character messages a second (a burst of "
                                 f"{CHARACTER_BURST}): refused; the connection stays with {character.name}")
            if name != character.name:
                self._room(name, new_client=False)
                self._join(client, name)
                client.resampler = None  # a new stream: nothing of the old one's audio carries over
            return self._header(client.character, client.character.session.info())
        else:
            raise ValueError(f"unknown message type {kind[:40]!r} ({', '.join(CONTROL_KEYS)})")
        return None


async def run_with_hub(runner, source, hub: WebSocketHub | None, stop: asyncio.Event):
    """runner: a LiveSession playing `source`, or a Stage of characters (source None)."""
    runner.warm_up()  # the first network pass allocates; before clients can connect and start sending
    # What start-up made lives as long as the process: frozen, the collector's full passes on the clock scan only
    # what came since (a full pass over everything held a frame back by about 30 ms)
    gc.collect()
    gc.freeze()
    if hub is not None:
        await hub.start()
        log.info("WebSocket stream on %s", hub.url)
    try:
        return await (runner.run(stop) if isinstance(runner, Stage) else runner.run(source, stop))
    finally:
        gc.unfreeze()
        if hub is not None:
            await hub.close()
