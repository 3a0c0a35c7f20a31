"""The Unreal plugin's contract, checked from this side: the shared vectors are what `emoface serve` really sends,
the expected subject updates follow the plugin's rules, and the plugin descriptor names the right modules.

The plugin's automation test (EmoFace.LiveLink.Protocol) replays the same files inside Unreal.
"""

import asyncio
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from emoface.audio import load_audio
from tests.conftest import speak

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "unreal_plugin" / "EmoFaceLiveLink"
VECTORS = ROOT / "unreal_plugin" / "tests" / "vectors"


def frame_rate(fps: float) -> list[int]:
    """The FFrameRate the plugin stamps frames with: fps/1; an NTSC rate as the server's Live Link packets carry
    it (29.97 -> 30000/1001); else thousandths in lowest terms."""
    from math import gcd

    if float(fps).is_integer():
        return [int(fps), 1]
    ntsc = round(fps * 1.001)
    if abs(fps - ntsc / 1.001) < 5e-3:
        return [ntsc * 1000, 1001]
    thousandths = int(round(fps * 1000))
    return [thousandths // gcd(thousandths, 1000), 1000 // gcd(thousandths, 1000)]


def replay(messages: list[dict]) -> dict:
    """What the plugin pushes to Live Link for a message sequence (the rules in EmoFaceStreamProtocol.h).

    header: the subject's static data is (re)pushed (property names = names; a reset restarts frame numbers,
    so Live Link's buffer must start over too). frame: pushed when its stream is the current header's and it
    has one value per name; otherwise dropped and counted. Everything else changes no subject data.
    """
    updates, dropped, header = [], 0, None
    for m in messages:
        if m.get("type") == "header":
            header = m
            updates.append({"event": "static", "property_names": m["names"]})
        elif m.get("type") == "frame":
            if header is None or m.get("stream") != header["stream"] or len(m.get("values", [])) != len(header["names"]):
                dropped += 1
                continue
            updates.append({"event": "frame", "frame": m["frame"],
                            "scene_time": {"frame": m["frame"], "rate": frame_rate(header["fps"])},
                            "values": m["values"]})
    return {"subject_updates": updates, "dropped_frames": dropped}


def character_url(url: str, character: str) -> str:
    """The URL the plugin connects to for a character (EmoFaceCharacterUrl in EmoFaceStreamProtocol.h): the
    server's `character` query parameter added, unless there is no character or the URL names one already."""
    if not character:
        return url
    _, _, query = url.partition("?")
    if any(item.startswith("character=") for item in query.split("&")):
        return url
    if "?" in url:
        return url + ("" if url.endswith(("?", "&")) else "&") + f"character={character}"
    return url + ("/?" if "/" not in url.partition("://")[2] else "?") + f"character={character}"


CHARACTER_URLS = [("ws://127.0.0.1:8765", "npc1"), ("ws://127.0.0.1:8765/", "guard_2"),
                  ("ws://127.0.0.1:8765/?token=s3cret", "merchant.v2"), ("ws://127.0.0.1:8765/?character=bob", "npc1"),
                  ("ws://127.0.0.1:8765/?", "a-b"), ("wss://example.com/emoface", "npc1"), ("ws://127.0.0.1:8765", "")]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def record_session(url: str, pcm: bytes) -> list[dict]:
    """The scenario behind the vectors: connect, set an emotion, speak a line, send a bad message, switch to the
    MetaHuman expression curves, reset. Every server message, in order."""
    from websockets.asyncio.client import connect

    messages = []
    async with connect(url) as ws:
        async def drain(seconds):
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                try:
                    messages.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
                except asyncio.TimeoutError:
                    break

        await drain(0.2)
        await ws.send(json.dumps({"type": "emotion", "emotion": "happy", "intensity": 0.8}))
        for k in range(0, len(pcm), 640):
            await ws.send(pcm[k:k + 640])
        await drain(1.6)
        await ws.send(json.dumps({"type": "dance"}))
        await drain(0.2)
        await ws.send(json.dumps({"type": "rig", "rig": "metahuman-expressions"}))
        await drain(0.3)
        await ws.send(json.dumps({"type": "reset"}))
        await drain(0.3)
    return messages


def capture(wav: Path) -> list[dict]:
    from tests.test_live import _serve

    samples = load_audio(wav).samples
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    *_, [messages] = asyncio.run(_serve(3, [lambda url: record_session(url, pcm)]))
    return messages


def first(messages, type_, **match):
    return next(m for m in messages if m["type"] == type_ and all(m.get(k) == v for k, v in match.items()))


def shape(value):
    """A message's structure: keys and JSON types, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


@pytest.fixture(scope="module")
def live_messages(tmp_path_factory):
    wav = speak("Bob popped the big map.", tmp_path_factory.mktemp("unreal") / "bob.wav")
    return capture(wav)


def test_vectors_are_what_the_server_sends(live_messages):
    session = read_jsonl(VECTORS / "session.jsonl")
    for name, type_, match in (("header_livelink", "header", {"rig": "livelink"}),
                               ("header_metahuman_expressions", "header", {"rig": "metahuman-expressions"}),
                               ("frame_livelink", "frame", {}), ("emotion", "emotion", {}),
                               ("state", "state", {}), ("error", "error", {})):
        vector = json.loads((VECTORS / f"{name}.json").read_text())
        live = first(live_messages, type_, **match)
        assert shape(live) == shape(vector), name
        assert vector in session, f"{name}.json is one of the recorded session's messages"
        if type_ == "header":
            assert live["names"] == vector["names"] and live["fps"] == vector["fps"]
            assert live["version"] == vector["version"] == 1
    headers = [m for m in live_messages if m["type"] == "header"]
    assert [h["rig"] for h in headers] == ["livelink", "metahuman-expressions", "metahuman-expressions"]
    assert headers[2]["stream"] != headers[1]["stream"]  # the reset starts a new stream
    assert all(n.startswith("CTRL_expressions_") for n in headers[1]["names"])
    current, counted = None, 0
    for m in live_messages:  # every frame fits the header before it: the plugin can trust that order
        if m["type"] == "header":
            current = m
        elif m["type"] == "frame":
            assert m["stream"] == current["stream"] and len(m["values"]) == len(current["names"])
            assert m["time"] == pytest.approx(m["frame"] / current["fps"], abs=1e-6)
            counted += 1
    assert counted > 100


def test_character_urls_reach_their_character():
    """The plugin's Character field: the vectors follow the rule, and the server puts each URL's client with the
    character that URL names (the header says which)."""
    from websockets.asyncio.client import connect

    from tests.test_live import _serve

    vectors = json.loads((VECTORS / "character_urls.json").read_text())
    assert [(v["url"], v["character"]) for v in vectors] == CHARACTER_URLS
    assert all(character_url(v["url"], v["character"]) == v["expected"] for v in vectors)

    async def client(url):
        headers = []
        for v in vectors:
            path = v["expected"].partition("://")[2].partition("/")[2]
            async with connect(f"{url}/{path}" if path else url) as ws:
                headers.append(json.loads(await ws.recv()))
        return headers

    *_, [headers] = asyncio.run(_serve(2, [client]))
    want = [dict(kv.split("=") for kv in v["expected"].partition("?")[2].split("&") if "=" in kv).get(
        "character", "default") for v in vectors]
    assert [h["character"] for h in headers] == want == ["npc1", "guard_2", "merchant.v2", "bob", "a-b", "npc1",
                                                         "default"]
    streams = {h["character"]: h["stream"] for h in headers}
    assert len(set(streams.values())) == len(streams)  # each character its own stream


def test_expected_subject_updates_follow_the_rules():
    for messages, expected in (("session.jsonl", "expected_subject.json"),
                               ("edge_cases.jsonl", "expected_edge_cases.json")):
        got = replay(read_jsonl(VECTORS / messages))
        assert got == json.loads((VECTORS / expected).read_text()), messages
    edge = json.loads((VECTORS / "expected_edge_cases.json").read_text())
    assert edge["dropped_frames"] >= 2  # a stale stream and a wrong value count are in there


def test_session_vector_covers_every_message_kind():
    session = read_jsonl(VECTORS / "session.jsonl")
    kinds = {m["type"] for m in session}
    assert kinds == {"header", "frame", "emotion", "state", "error"}
    expected = json.loads((VECTORS / "expected_subject.json").read_text())
    frames = [u for u in expected["subject_updates"] if u["event"] == "frame"]
    assert frames and expected["dropped_frames"] == 0
    jaw = session[0]["names"].index("JawOpen")
    assert max(f["values"][jaw] for f in frames if len(f["values"]) == 61) > 0.2  # the speech is in there


def test_uplugin_names_its_modules_and_dependencies():
    descriptor = json.loads((PLUGIN / "EmoFaceLiveLink.uplugin").read_text())
    assert descriptor["FileVersion"] == 3
    modules = {m["Name"]: m for m in descriptor["Modules"]}
    assert modules["EmoFaceLiveLink"]["Type"] == "Runtime"
    for name in modules:
        build = (PLUGIN / "Source" / name / f"{name}.Build.cs").read_text()
        assert re.search(rf"class {name}\s*:\s*ModuleRules", build)
        for dep in ("LiveLinkInterface", "WebSockets", "Json"):
            assert f'"{dep}"' in build
    assert {"Name": "LiveLink", "Enabled": True} in descriptor["Plugins"]


def test_plugin_sources_include_only_what_exists():
    sources = list((PLUGIN / "Source").rglob("*.[ch]*"))
    assert sources
    local = {p.name for p in sources}
    for path in sources:
        text = path.read_text()
        assert text.count("{") == text.count("}"), path
        for include in re.findall(r'#include "([^"]+)"', text):
            name = Path(include).name
            if name.startswith(("EmoFace", "SEmoFace")) and not name.endswith(".generated.h"):  # UHT makes those
                assert name in local, f"{path.name} includes missing {include}"
