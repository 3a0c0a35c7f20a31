#!/usr/bin/env python3
"""Live link on loopback: minutes of speech streamed in real time to Live Link, VMC and WebSocket receivers.

    .venv/bin/python tools/benchmark_live.py [--minutes 10] [--serve-minutes 1] [-o docs/LIVE_BENCHMARK.md]

Runs `emoface stream` as its own process (so its CPU and memory are its own) on real speech from
../shared/data/speech-en when present (espeak-ng lines otherwise) joined with pauses, with receivers here:
a Live Link Face UDP socket, a VMC (OSC) UDP socket and a WebSocket client. Reports frames lost at each
receiver, end-to-end latency (audio sample in -> packet out, measured by the stream), jitter p99 (at the
stream and at the Live Link receiver), CPU (cores) and peak memory of the stream process.
Then `emoface serve` as its own process with a client process pushing the same speech in 20 ms messages
at real-time pace: frames late (by the server's own count), latency from audio arrival to send, frames lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FPS = 60


def speech(minutes: float, seed: int = 0) -> tuple[np.ndarray, str]:
    """Real English lines separated by 0.3-1.5 s pauses, `minutes` long."""
    from emoface.audio import load_audio
    from emoface.train.data import speech_en_items

    rng = np.random.default_rng(seed)
    want = int(minutes * 60 * 16000)
    parts, total = [], 0
    if (SHARED / "data" / "speech-en").is_dir():
        items = list(speech_en_items(SHARED))
        source = "speech-en (../shared/data/speech-en)"
        pick = lambda: load_audio(items[rng.integers(len(items))][1]).samples  # noqa: E731
    else:
        source = "espeak-ng lines"
        lines = ["We found the treasure before sunset.", "Bring me the map, said the captain.",
                 "They are coming from the north, we have to move now!", "Welcome back, friend."]

        def pick():
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "l.wav"
                subprocess.run(["espeak-ng", "-w", str(path), lines[rng.integers(len(lines))]], check=True)
                return load_audio(path).samples
    while total < want:
        x = pick()
        pause = np.zeros(int(rng.uniform(0.3, 1.5) * 16000), np.float32)
        parts += [x, pause]
        total += len(x) + len(pause)
    return np.concatenate(parts)[:want], source


class UdpCounter:
    def __init__(self, decode):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.decode, self.items, self.running = decode, [], True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.items.append((time.monotonic(), self.decode(data)))

    def stop(self):
        self.running = False
        self.thread.join()
        return self.items


def livelink_frame(data: bytes) -> int:
    n_dev = struct.unpack_from(">i", data, 1)[0]
    n_sub = struct.unpack_from(">i", data, 5 + n_dev)[0]
    return struct.unpack_from(">i", data, 9 + n_dev + n_sub)[0]


def vmc_applies(data: bytes) -> int:
    return data.count(b"/VMC/Ext/Blend/Apply")


class WsCounter:
    def __init__(self, url):
        self.url, self.frames, self.headers = url, [], 0
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()

    async def _run(self):
        from websockets.asyncio.client import connect

        for _ in range(600):  # the server starts with the stream
            try:
                async with connect(self.url) as ws:
                    async for message in ws:
                        msg = json.loads(message)
                        if msg["type"] == "frame":
                            self.frames.append(msg["frame"])
                        elif msg["type"] == "header":
                            self.headers += 1
                return
            except OSError:
                await asyncio.sleep(0.05)


PUSHER = """
import json, sys, time
from websockets.sync.client import connect
pcm = open(sys.argv[2], "rb").read()
frames = set()
with connect(sys.argv[1]) as ws:
    ws.recv()
    start = time.monotonic()
    for n, k in enumerate(range(0, len(pcm), 640)):  # 20 ms messages, paced as captured
        ws.send(pcm[k:k + 640])
        while True:  # read what has come, without waiting past the next message's time
            try:
                msg = json.loads(ws.recv(timeout=max(0.0, start + (n + 1) * 0.02 - time.monotonic())))
            except TimeoutError:
                break
            if msg["type"] == "frame":
                frames.add(msg["frame"])
print(json.dumps({"frames": len(frames), "span": max(frames) - min(frames) + 1 if frames else 0}))
"""


def serve_rows(audio: np.ndarray) -> list[tuple[str, str]]:
    """`emoface serve` in its own process, a client process pushing `audio` in real time; the server's figures."""
    import os
    import signal

    with tempfile.TemporaryDirectory() as tmp:
        pcm = Path(tmp) / "speech.s16"
        pcm.write_bytes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
        server = subprocess.Popen([sys.executable, "-m", "emoface.cli", "serve", "--port", "0", "--fps", str(FPS),
                                   "--stats-json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
        line = server.stderr.readline()
        url = line[line.index("ws://"):].split()[0]
        client = subprocess.run([sys.executable, "-c", PUSHER, url, str(pcm)], capture_output=True, text=True)
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    if client.returncode or server.returncode:
        raise SystemExit(f"serve benchmark failed:\n{client.stderr}\n{err}")
    stats, got = json.loads(out), json.loads(client.stdout)
    return [
        ("audio pushed",
         f"{len(audio) / 16000 / 60:.1f} min in 20 ms messages at real-time pace, from another process"),
        ("frames sent by the server (whole run, idle included)",
         f"{stats['frames_sent']} of {stats['frames_expected']} (late by more than a frame: {stats['frames_late']})"),
        ("lost at the pushing client while it spoke", str(got["span"] - got["frames"])),
        ("latency, audio sample in -> packet out",
         f"p50 {stats['latency_ms_p50']} ms, p99 {stats['latency_ms_p99']} ms"),
        ("jitter p99 at the server", f"{stats['jitter_ms_p99']} ms"),
        ("quiet audio skipped to catch up", f"{stats['quiet_skipped_s']} s"),
        ("CPU of the server process", f"{stats['cpu_cores']:.2f} cores"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--serve-minutes", type=float, default=1.0, help="speech pushed to `emoface serve` (0: skip)")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    audio, source = speech(args.minutes)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        sf.write(wav, audio, 16000)
        ll, vmc = UdpCounter(livelink_frame), UdpCounter(vmc_applies)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        ws_port = probe.getsockname()[1]
        probe.close()
        ws = WsCounter(f"ws://127.0.0.1:{ws_port}")
        cmd = [sys.executable, "-m", "emoface.cli", "stream", str(wav), "--fps", str(FPS), "--stats-json",
               "--to", f"livelink://127.0.0.1:{ll.port}", "--to", f"vmc://127.0.0.1:{vmc.port}",
               "--to", f"ws://127.0.0.1:{ws_port}"]
        t0 = time.monotonic()
        run = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        time.sleep(0.5)
        ll_items, vmc_items = ll.stop(), vmc.stop()
        ws.thread.join(timeout=5)
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        return 1
    stats = json.loads(run.stdout)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    expected = stats["frames_expected"]
    ll_frames = sorted({f for _, f in ll_items})
    arrivals = np.array([t for t, _ in ll_items])
    rx_jitter = np.abs(np.diff(arrivals) - 1 / FPS) * 1000
    rows = [
        ("audio", f"{len(audio) / 16000 / 60:.1f} min of {source}, {FPS} fps, {expected} frames expected"),
        ("frames sent by the stream", f"{stats['frames_sent']} of {stats['frames_expected']} "
                                      f"(late by more than a frame: {stats['frames_late']})"),
        ("lost at the Live Link receiver", str(expected - len(ll_frames))),
        ("lost at the VMC receiver (Apply messages)", str(expected - sum(n for _, n in vmc_items))),
        ("lost at the WebSocket client", str(expected - len(set(ws.frames)))),
        ("latency, audio sample in -> packet out", f"p50 {stats['latency_ms_p50']} ms, p99 {stats['latency_ms_p99']} ms"),
        ("jitter p99 (send intervals vs 1/60 s)", f"{stats['jitter_ms_p99']} ms at the stream, "
                                                 f"{np.percentile(rx_jitter, 99):.2f} ms at the Live Link receiver"),
        ("CPU of the stream process", f"{stats['cpu_cores']:.2f} cores (whole process: network, post, 3 targets)"),
        ("peak memory of the stream process", f"{peak_mb:.0f} MB (RSS)"),
        ("wall time", f"{wall:.0f} s"),
    ]
    import torch

    serve = serve_rows(audio[: int(args.serve_minutes * 60 * 16000)]) if args.serve_minutes > 0 else []
    text = "\n".join([
        "# Live link benchmark (loopback)", "",
        f"Command: `.venv/bin/python tools/benchmark_live.py --minutes {args.minutes:g}` ({time.strftime('%Y-%m-%d')}); "
        f"machine: {platform.machine()}, {torch.get_num_threads()} CPU threads available, torch {torch.__version__}, "
        "no GPU.", "",
        "`emoface stream` ran as its own process to three receivers at once (Live Link Face UDP, VMC UDP, "
        "a WebSocket client), neural engine, blinks/gaze/head on. Targets (issue): 0 frames lost, latency "
        "<= 150 ms end to end with the look-ahead, jitter p99 <= 4 ms at 60 fps, < 1 CPU core.", "",
        "| measure | result |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], "",
        "Latency is what the stream process measures from the arrival of the audio sample at a frame's time "
        "to the moment its packets leave; it is dominated by the designed delay (docs/LIVE.md: look-ahead + "
        "smoothing + one frame = 136 ms at 60 fps).", "",
        *([f"## `emoface serve` (`--serve-minutes {args.serve_minutes:g}`)", "",
           "`emoface serve` ran as its own process; another process pushed the speech to it as a client would "
           "(16 kHz s16le, 20 ms messages at real-time pace) and read the frames.", "",
           "| measure | result |", "|---|---|", *[f"| {k} | {v} |" for k, v in serve], "",
           "Latency from arrival includes the wait of each 20 ms message until the tick that animates it.", ""]
          if serve else [])])
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
