"""The WebSocket side of a live session (docs/LIVE.md has the schema with examples).

Server -> client, JSON text: a `header` (stream id, rig, names, fps, audio t0) on connect and whenever it
changes, `emotion` when the emotion changes, then one `frame` per frame (index, audio time, values in
header order). Client -> server: binary PCM (16 kHz mono s16le unless an `audio` message says otherwise)
and JSON control messages: `emotion`, `reset`, `rig`, `audio`. A bad message gets an `error` reply and the
connection stays; a client that cannot keep up has frames skipped, then is dropped, never waited for.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import json
import logging
import socket
import time
from urllib.parse import parse_qs, urlsplit

import numpy as np

from emoface.emotion.spec import EMOTIONS, parse_emotion
from emoface.errors import EmofaceError
from emoface.live.session import LiveSession, PcmBuffer
from emoface.live.sinks import Frame, StreamInfo
from emoface.rigs import builtin_names

log = logging.getLogger("emoface")
SCHEMA_VERSION = 1
SEND_BUFFER = 64 * 1024  # kernel send buffer per client: frames must not sit for seconds in a slow one
SLOW_BYTES = 64 * 1024  # more than this waiting in our buffer as well (~1 s of frames): skip frames for it
DROP_AFTER_S = 5.0  # skipped this long without catching up: close it
PCM_FORMATS = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}


def header_message(info: StreamInfo) -> dict:
    return {"type": "header", "version": SCHEMA_VERSION, "stream": info.stream_id, "rig": info.rig,
            "names": list(info.names), "fps": info.fps, "audio_t0": round(info.audio_t0, 6),
            "sample_rate": 16000, "emotion": emotion_body(info)}


def emotion_body(info: StreamInfo) -> dict:
    return {"summary": info.emotion, "weights": dict(zip(EMOTIONS, info.emotion_weights))}


def frame_message(stream_id: str, frame: Frame, rig: str) -> dict:
    return {"type": "frame", "stream": stream_id, "frame": frame.index, "time": round(frame.time, 6),
            "values": [round(float(v), 5) for v in frame.on(rig)]}


class _Client:
    def __init__(self, conn):
        self.conn = conn
        self.rate, self.channels, self.dtype = 16000, 1, PCM_FORMATS["s16le"]
        self.resampler = None
        self.slow_since = None
        self.skipped = 0

    def pcm(self, data: bytes) -> np.ndarray:
        if len(data) % (self.dtype.itemsize * self.channels):
            raise ValueError(f"PCM message of {len(data)} bytes is not whole {self.channels}-channel "
                             f"{self.dtype.itemsize * 8}-bit frames")
        x = np.frombuffer(data, self.dtype).astype(np.float32)
        if self.dtype.kind == "i":
            x /= 32768.0
        x = x.reshape(-1, self.channels).mean(axis=1)
        if self.rate != 16000:
            if self.resampler is None:
                import soxr

                self.resampler = soxr.ResampleStream(self.rate, 16000, 1, dtype="float32")
            x = self.resampler.resample_chunk(x)
        return x


class WebSocketHub:
    """Serves one LiveSession over WebSocket: broadcast out, audio and control in."""

    def __init__(self, session: LiveSession, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 audio: PcmBuffer | None = None, rig: str | None = None):
        self.session, self.host, self.port, self.token = session, host, port, token
        self.audio = audio  # None: this stream plays a file; client audio is refused
        self.rig = rig  # the rig frames are sent on (None: the session's)
        self.clients: dict = {}
        self.server = None
        self.dropped = 0
        session.listeners.append(self._event)

    async def start(self) -> None:
        from websockets.asyncio.server import serve

        self.server = await serve(self._handler, self.host, self.port, process_request=self._check_token,
                                  max_size=2 ** 20, ping_interval=5, ping_timeout=10)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _check_token(self, connection, request):
        if not self.token:
            return None
        query = parse_qs(urlsplit(request.path).query)
        given = (query.get("token") or [""])[-1]
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = auth[len("Bearer "):]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "a valid token is needed (?token=...)\n")
        return None

    @property
    def frame_rig(self) -> str:
        return self.rig or self.session.rig

    # --- out -----------------------------------------------------------------------------------
    def _event(self, kind: str, payload) -> None:
        if kind == "frame":
            self._broadcast(frame_message(self.session.stream_id, payload, self.frame_rig))
        elif kind == "header":
            self._broadcast(self._header(payload))
        elif kind == "state":
            self._broadcast({"type": "state", "stream": self.session.stream_id,
                             "time": round(self.session.streamer.time, 6), "state": payload})
        elif kind == "emotion":
            self._broadcast({"type": "emotion", "stream": payload.stream_id, "time": round(self.session.streamer.time, 6),
                             "emotion": emotion_body(payload)})

    def _header(self, info: StreamInfo) -> dict:
        if self.rig and self.rig != info.rig:
            info = StreamInfo(info.stream_id, self.rig, tuple(self.session._rig(self.rig).names), info.fps,
                              info.audio_t0, info.emotion, info.emotion_weights)
        return header_message(info)

    def _broadcast(self, message: dict) -> None:
        from websockets.asyncio.server import broadcast

        if not self.clients:
            return
        now = time.monotonic()
        ready = []
        for client in list(self.clients.values()):
            transport = client.conn.transport
            backlog = transport.get_write_buffer_size() if transport is not None else 0
            if backlog <= SLOW_BYTES:
                client.slow_since = None
                ready.append(client.conn)
                continue
            client.skipped += 1
            client.slow_since = client.slow_since or now
            if now - client.slow_since > DROP_AFTER_S:
                log.warning("dropping a WebSocket client that stopped reading (%d frames skipped)", client.skipped)
                self.dropped += 1
                self.clients.pop(client.conn.id, None)
                if transport is not None:
                    transport.abort()
        broadcast(ready, json.dumps(message, separators=(",", ":")))

    # --- in ------------------------------------------------------------------------------------
    async def _handler(self, conn) -> None:
        client = _Client(conn)
        sock = conn.transport.get_extra_info("socket") if conn.transport is not None else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self.clients[conn.id] = client
        try:
            await conn.send(json.dumps(self._header(self.session.info()), separators=(",", ":")))
            async for message in conn:
                reply = self._handle(client, message)
                if reply is not None:
                    await conn.send(json.dumps(reply))
        except Exception as exc:  # a broken connection ends only itself
            log.debug("WebSocket client ended: %s", exc)
        finally:
            self.clients.pop(conn.id, None)

    def _handle(self, client: _Client, message) -> dict | None:
        try:
            if isinstance(message, bytes):
                if self.audio is None:
                    raise ValueError("this stream plays a file; it takes no audio from clients")
                self.audio.append(client.pcm(message))
                return None
            return self._control(client, json.loads(message))
        except (ValueError, TypeError, KeyError, EmofaceError) as exc:
            return {"type": "error", "message": str(exc)[:300]}

    def _control(self, client: _Client, msg) -> dict | None:
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise ValueError('a control message is a JSON object with a "type"')
        kind = msg["type"]
        if kind == "emotion":
            intensity = float(msg.get("intensity", 1.0))
            if not 0.0 <= intensity <= 1.0:
                raise ValueError("intensity must be 0-1")
            self.session.set_emotion(parse_emotion(str(msg["emotion"])) * intensity)
        elif kind == "reset":
            if self.audio is not None:
                self.audio.clear()
            self.session.reset()
        elif kind == "rig":
            rig = str(msg["rig"])
            if rig not in builtin_names():  # clients may not make the server read files
                raise ValueError(f"unknown rig {rig!r} (built-in rigs: {', '.join(builtin_names())})")
            if self.rig:
                self.rig = rig
                self._broadcast(self._header(self.session.info()))
            else:
                self.session.set_rig(rig)
        elif kind == "audio":
            fmt = str(msg.get("format", "s16le"))
            rate, channels = int(msg.get("sample_rate", 16000)), int(msg.get("channels", 1))
            if fmt not in PCM_FORMATS or not 8000 <= rate <= 96000 or not 1 <= channels <= 8:
                raise ValueError("audio: format s16le|f32le, sample_rate 8000-96000, channels 1-8")
            client.dtype, client.rate, client.channels, client.resampler = PCM_FORMATS[fmt], rate, channels, None
        else:
            raise ValueError(f"unknown message type {kind!r} (emotion, reset, rig, audio)")
        return None


async def run_with_hub(session: LiveSession, source, hub: WebSocketHub | None, stop: asyncio.Event):
    if hub is not None:
        await hub.start()
        log.info("WebSocket stream on ws://%s:%d", hub.host, hub.port)
    try:
        return await session.run(source, stop)
    finally:
        if hub is not None:
            await hub.close()
