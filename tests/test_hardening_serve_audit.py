"""`emoface serve` with many characters and untrusted clients (audit 5, /tmp/audit5/FINDINGS.md): one client must
not hurt another character. Behaviour tests only: what the server reads, refuses, closes and reports; latency and
throughput live in benchmarks (tools/benchmark_live.py), never in timed tests."""

import asyncio
import json
import logging
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_live import _serve, stage_factory

ROOT = Path(__file__).resolve().parents[1]


async def _with_hub(clients, stage_options=None, hub_options=None):
    """A running stage and hub; each client coroutine gets (url, hub). Returns (hub, total stats, results)."""
    hub, _, total, results = await _serve(20, clients, hub_options=hub_options, stage_options=stage_options,
                                          pass_hub=True)
    return hub, total, results


async def _raw_client(url: str, query: str = "/"):
    """A WebSocket handshake by hand: (reader, writer) of an open connection, its 101 read."""
    host, port = url[5:].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101"), response
    return reader, writer


def _frame(payload: bytes, opcode: int = 0x2) -> bytes:
    """A client's frame (masked with a zero key: the payload as it is)."""
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


async def _until(ws, predicate, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        msg = json.loads(await asyncio.wait_for(ws.recv(), end - time.monotonic()))
        if predicate(msg):
            return msg
    raise AssertionError("not seen")


# --- 1: a flood of tiny messages --------------------------------------------------------------------------

def test_a_flood_of_tiny_messages_is_read_a_bounded_slice_at_a_time(monkeypatch):
    """websockets parses a whole socket read in one call nothing interrupts (256 KiB: 32,768 two-byte messages,
    ~90 ms): the server reads a client READ_BYTES at a time, so the frames' timer runs between slices."""
    from websockets.asyncio.server import ServerConnection

    import emoface.live.server as server

    reads = []
    original = ServerConnection.data_received

    def recording(self, data):
        reads.append(len(data))
        return original(self, data)

    monkeypatch.setattr(ServerConnection, "data_received", recording)
    flood = _frame(b"\0\0") * 40000  # 320 KB of two-byte audio messages, written at once

    async def flooder(url, hub):
        reader, writer = await _raw_client(url, "/?character=flood")
        writer.write(flood)
        await writer.drain()
        while sum(reads) < len(flood):  # until the server has read it all
            await asyncio.sleep(0.05)
        writer.close()

    asyncio.run(_with_hub([flooder]))
    flood_reads = reads[1:]  # the first is the handshake
    assert sum(flood_reads) >= len(flood)
    assert max(flood_reads) <= 16 * 1024  # asyncio's own reads are 256 KiB
    assert max(flood_reads) <= server.READ_BYTES


def test_messages_past_the_rate_are_refused_and_a_sustained_flood_is_closed(monkeypatch):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    import emoface.live.server as server

    monkeypatch.setattr(server, "MAX_MESSAGES_PER_S", 50, raising=False)
    monkeypatch.setattr(server, "MESSAGE_BURST", 100, raising=False)
    monkeypatch.setattr(server, "FLOOD_CLOSE_S", 0.6, raising=False)

    async def flooder(url, hub):
        errors, code = [], None
        async with connect(url + "/?character=flood") as ws:
            await ws.recv()
            try:
                end = time.monotonic() + 3
                while time.monotonic() < end:
                    for _ in range(50):
                        await ws.send(json.dumps({"type": "emotion", "emotion": "happy"}))
                    await asyncio.sleep(0.01)
                    while True:  # what came back so far
                        try:
                            msg = json.loads(await asyncio.wait_for(ws.recv(), 0.001))
                        except asyncio.TimeoutError:
                            break
                        if msg["type"] == "error":
                            errors.append(msg["message"])
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
        return errors, code

    async def calm(url, hub):  # well within the rate: never refused
        async with connect(url + "/?character=calm") as ws:
            await ws.recv()
            for _ in range(60):
                await ws.send(json.dumps({"type": "emotion", "emotion": "sad"}))
                await asyncio.sleep(0.02)
            await ws.send(json.dumps({"type": "dance"}))
            return (await _until(ws, lambda m: m["type"] == "error"))["message"]

    _, _, [(errors, code), calm_error] = asyncio.run(_with_hub([flooder, calm]))
    rate = [e for e in errors if "messages a second" in e]
    assert rate and len(rate) <= 3  # refused unread, told at most once a second
    assert code == 1008  # past the rate for FLOOD_CLOSE_S: closed (policy violation)
    assert "unknown message type" in calm_error  # the calm client's messages were all read and answered


# --- 2: `character` hopping ------------------------------------------------------------------------------

def test_character_messages_past_a_rate_get_error_replies():
    from websockets.asyncio.client import connect

    import emoface.live.server as server

    async def hopper(url, hub):
        replies = []
        async with connect(url + "/?character=a") as ws:
            await ws.recv()
            await ws.send(b"\0\0" * 160)  # `a` has had audio: it is not closed when left
            for k in range(12):
                await ws.send(json.dumps({"type": "character", "character": "ab"[(k + 1) % 2]}))
                replies.append(await _until(ws, lambda m: m["type"] in ("header", "error")))
        return replies

    _, _, [replies] = asyncio.run(_with_hub([hopper]))
    kinds = [r["type"] for r in replies]
    assert kinds[:getattr(server, "CHARACTER_BURST", 4)] == ["header"] * getattr(server, "CHARACTER_BURST", 4)
    assert kinds.count("header") <= getattr(server, "CHARACTER_BURST", 4) + 2  # the rest refused (a few refill while it runs)
    assert "character messages a second" in next(r for r in replies if r["type"] == "error")["message"]


def test_the_server_creates_or_wakes_a_bounded_number_of_characters_a_second():
    """Creating a character builds a session (a few ms on the clock's thread): many connections each within their
    own limits are still bounded server-wide."""
    from emoface.live import stage as stage_module
    from emoface.live.stage import Stage, StageFull

    stage = Stage(stage_factory(), max_characters=200)
    stage.join("default")
    stage.g0 = time.monotonic()  # the clock runs: joins now start sessions
    made, refused, began = 0, None, time.monotonic()
    for k in range(80):
        try:
            stage.join(f"npc{k}")
            made += 1
        except StageFull as exc:
            refused = str(exc)
            break
    rate = getattr(stage_module, "STARTS_PER_S", 10)
    assert refused and "a second" in refused
    assert made <= getattr(stage_module, "STARTS_BURST", 20) + rate * (time.monotonic() - began) + 1


# --- 3: slots ---------------------------------------------------------------------------------------------

def test_a_silent_hopper_holds_no_slot_and_creates_a_bounded_number(monkeypatch):
    from websockets.asyncio.client import connect

    import emoface.live.server as server

    monkeypatch.setattr(server, "CHARACTER_MOVES_PER_S", 1000.0, raising=False)
    monkeypatch.setattr(server, "CHARACTER_BURST", 1000, raising=False)

    async def hopper(url, hub):
        replies = []
        async with connect(url + "/?character=h0") as ws:
            await ws.recv()
            for k in range(1, 12):
                await ws.send(json.dumps({"type": "character", "character": f"h{k}"}))
                replies.append(await _until(ws, lambda m: m["type"] in ("header", "error")))
                # the stage retires characters on its ticks (60 a second): a hop a couple of ticks apart leaves
                # none behind it (hops faster than the ticks had left all seven on an idle machine)
                await asyncio.sleep(0.035)
            on_stage = len(hub.stage.characters)
        await asyncio.sleep(0.3)  # a few ticks
        after = sorted(hub.stage.characters)
        async with connect(url + "/?character=talker") as ws:  # one that had audio lingers after its client
            await ws.recv()
            await ws.send(b"\0\0" * 1600)
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        return replies, on_stage, after, sorted(hub.stage.characters)

    _, _, [(replies, on_stage, after, lingering)] = asyncio.run(_with_hub([hopper]))
    creates = getattr(server, "CREATES_PER_MINUTE", 8)
    made = [r for r in replies if r["type"] == "header"]
    refused = [r["message"] for r in replies if r["type"] == "error"]
    assert len(made) == creates - 1  # its handshake created one
    assert refused and all(f"created {creates} characters" in m for m in refused)
    assert on_stage <= 3  # each one it left, never having had audio, was closed at once (default, h7, maybe h6)
    assert after == ["default"]  # and no slot is held once it is gone (the linger is 30 s)
    assert lingering == ["default", "talker"]


# --- 4: exit figures --------------------------------------------------------------------------------------

def test_closed_characters_stay_in_the_per_character_figures_and_target_lines():
    from emoface.live.server import WebSocketHub
    from emoface.live.stage import Stage

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    url = f"livelink://127.0.0.1:{rx.getsockname()[1]}"

    def make(name):
        from emoface.live.sinks import open_sink

        session = base(name)
        session.sinks = [open_sink(url, "livelink", subject=None if name == "default" else name)]
        return session

    base = stage_factory()

    async def run():
        from websockets.asyncio.client import connect

        stage = Stage(make, linger_s=0.2)
        stage.join("default")
        hub = WebSocketHub(stage, "127.0.0.1", 0, None, True)
        await hub.start()
        stop = asyncio.Event()
        runner = asyncio.create_task(stage.run(stop))
        for _ in range(2):  # npc_x twice: closed, then made again and closed again
            async with connect(f"ws://127.0.0.1:{hub.port}/?character=npc_x") as ws:
                await ws.recv()
                await ws.send(b"\0\0" * 3200)
                await asyncio.sleep(0.4)
            await asyncio.sleep(0.6)
            assert "npc_x" not in stage.characters
        stop.set()
        total = await runner
        await hub.close()
        return stage, total

    stage, total = asyncio.run(run())
    rx.close()
    per = stage.per_character()
    assert sorted(per) == ["default", "npc_x"] and per["npc_x"].sent > 0
    assert sum(s.sent for s in per.values()) == total.sent
    assert sum(s.expected for s in per.values()) == total.expected
    assert sum(int(s.latency.counts.sum()) for s in per.values()) == int(total.latency.counts.sum())
    lines = stage.sink_lines()
    npc = [line for line in lines if line.startswith("npc_x: ")]
    assert len(npc) == 1 and npc[0] == f"npc_x: {url}: {per['npc_x'].sent} datagrams"  # one line, both sessions


# --- 5: a client that stops reading -----------------------------------------------------------------------

def test_a_client_that_stops_reading_is_dropped_though_kernel_buffers_have_room(monkeypatch):
    """Frames sit in the kernel's buffers (the client's receive buffer, autotuned to megabytes) long before the
    server's own buffer grows: a client's reading is judged by its pongs. A speaker that never reads its frames
    but still sends is kept."""
    from websockets.asyncio.client import connect

    import emoface.live.server as server

    monkeypatch.setattr(server, "PING_EVERY_S", 0.2, raising=False)
    monkeypatch.setattr(server, "BEHIND_S", 0.3, raising=False)
    monkeypatch.setattr(server, "DROP_AFTER_S", 1.0, raising=False)

    async def stalled_viewer(url, hub):
        ws = await connect(url + "/?character=npc_a", max_queue=1)
        await ws.recv()
        ws.transport.pause_reading()  # stops reading at the socket: its kernel buffer still has room
        await asyncio.sleep(3.0)
        ws.transport.abort()

    async def speaker(url, hub):  # sends audio, never reads its frames: not dropped
        ws = await connect(url + "/?character=npc_a", max_queue=1)
        await ws.recv()
        ws.transport.pause_reading()
        for _ in range(150):
            await ws.send(b"\0\0" * 320)
            await asyncio.sleep(0.02)
        alive = ws.state.name == "OPEN"
        ws.transport.abort()
        return alive

    hub, _, [_, alive] = asyncio.run(_with_hub([stalled_viewer, speaker]))
    assert hub.dropped == 1 and alive


# --- 6: invalid UTF-8 -------------------------------------------------------------------------------------

def test_invalid_utf8_in_a_text_message_closes_with_1007_as_documented():
    """RFC 6455 (8.1) has the connection failed on a text message that is not UTF-8; websockets does so before
    the server sees the message. LIVE.md says so."""
    async def client(url, hub):
        reader, writer = await _raw_client(url, "/?character=npc")
        writer.write(_frame(b'{"type":"emotion","emotion":"\xff\xfe"}', opcode=0x1))
        while True:  # the server's frames (unmasked) until its close frame
            first, length = await asyncio.wait_for(reader.readexactly(2), 5)
            length &= 0x7F
            if length >= 126:
                length = int.from_bytes(await reader.readexactly(2 if length == 126 else 8), "big")
            payload = await reader.readexactly(length)
            if first & 0x0F == 0x8:
                writer.close()
                return struct.unpack(">H", payload[:2])[0]

    _, _, [code] = asyncio.run(_with_hub([client]))
    assert code == 1007
    robustness = (ROOT / "docs/LIVE.md").read_text().split("**Robustness.**")[1]
    assert "1007" in robustness and "UTF-8" in robustness


# --- 7: names ignore case ---------------------------------------------------------------------------------

def test_reserved_subjects_and_character_names_compare_without_case():
    from emoface.live.stage import Stage

    stage = Stage(stage_factory(), taken={"emoface": "livelink://127.0.0.1:11111 sends `default` as that subject"})
    stage.join("default")
    for name in ("emoface", "Emoface", "EMOFACE"):
        with pytest.raises(ValueError, match="sends `default`"):
            stage.can_join(name)
    stage.join("npc")
    with pytest.raises(ValueError, match="'npc' is on stage"):
        stage.can_join("NPC")
    with pytest.raises(ValueError, match="'default' is on stage"):
        stage.can_join("Default")
    stage.can_join("npc")  # the same name joins as ever


def test_a_name_differing_only_in_case_gets_400_naming_the_first():
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def client(url, hub):
        async with connect(url + "/?character=npc") as ws:
            await ws.recv()
            with pytest.raises(InvalidStatus) as err:
                async with connect(url + "/?character=NPC"):
                    pass
            await ws.send(json.dumps({"type": "character", "character": "Npc"}))
            reply = await _until(ws, lambda m: m["type"] == "error")
        return err.value.response.status_code, err.value.response.body.decode(), reply["message"]

    _, _, [(status, body, message)] = asyncio.run(_with_hub([client]))
    assert status == 400 and "'npc' is on stage" in body and "'npc' is on stage" in message


# --- 8: the handshake's query -----------------------------------------------------------------------------

@pytest.mark.parametrize("query, reason", [("/?character=", "character is empty"),
                                           ("/?charcter=npc_guard", "unknown query key 'charcter'"),
                                           ("/?character=a&character=b", "given twice")])
def test_an_empty_or_misspelt_character_query_gets_400(query, reason):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def client(url, hub):
        with pytest.raises(InvalidStatus) as err:
            async with connect(url + query):
                pass
        return err.value.response.status_code, err.value.response.body.decode()

    hub, _, [(status, body)] = asyncio.run(_with_hub([client]))
    assert status == 400 and reason in body
    assert sorted(hub.stage.characters) == ["default"] and hub.served == 0


# --- 9: the --host :: warning -----------------------------------------------------------------------------

def test_the_unprotected_bind_warning_prints_a_well_formed_ipv6_url(caplog):
    from emoface.live.server import WebSocketHub
    from emoface.live.stage import Stage

    async def run():
        stage = Stage(stage_factory())
        stage.join("default")
        hub = WebSocketHub(stage, "::", 0, None, True)
        try:
            await hub.start()
        except OSError as exc:  # no IPv6 here
            pytest.skip(f"cannot bind ::: {exc}")
        await hub.close()
        return hub

    with caplog.at_level(logging.WARNING, logger="emoface"):
        hub = asyncio.run(run())
    warning = next(r.getMessage() for r in caplog.records if "without a token" in r.getMessage())
    assert warning.startswith(f"ws://[::]:{hub.port} is reachable")
