#!/usr/bin/env python3
"""Speed of the network on one CPU core: batch real-time factor and one streaming step.

    .venv/bin/python tools/benchmark_neural.py [--checkpoint PATH] [-o docs/NEURAL_SPEED.md]

Batch: log-mel + network over a minute of speech (espeak-ng), best of 5: the numpy network bakes and live links
run (emoface.model.numpy_net), and beside it the torch FaceNet that training runs, from the same checkpoint.
Streaming: audio pushed 1/60 s at a time (one 60 fps frame), time per push, over 30 s of audio.
Also the whole `bake` pipeline (network + post-processing + MetaHuman retarget) per minute of audio.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: numpy's BLAS reads this when it loads
import numpy as np  # noqa: E402
import torch  # noqa: E402

from emoface.allocator import keep_freed_memory  # noqa: E402
from emoface.animator import Animator  # noqa: E402
from emoface.audio import from_array, load_audio  # noqa: E402
from emoface.emotion.spec import EmotionTrack, parse_emotion  # noqa: E402
from emoface.model.checkpoints import DEFAULT, load_checkpoint, load_network  # noqa: E402
from emoface.model.infer import predict_100hz  # noqa: E402
from emoface.model.stream import StreamingNet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEXT = ("The caravan left at dawn, and by noon the riders could see the mountains. Nobody spoke. "
        "Bring me the map, said the captain, we camp by the river tonight. ")


def minute_of_speech() -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), TEXT * 6], check=True)
        x = load_audio(path).samples
    return np.tile(x, int(np.ceil(60 * 16000 / len(x))))[: 60 * 16000]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "NEURAL_SPEED.md")
    args = ap.parse_args()
    keep_freed_memory()  # as every emoface command does first
    torch.set_num_threads(1)
    model, torch_model = load_network(args.checkpoint), load_checkpoint(args.checkpoint)
    x = minute_of_speech()
    emotion = EmotionTrack.constant(parse_emotion("happy:0.7"))

    def best(net) -> float:
        predict_100hz(net, x[:16000], emotion)
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            predict_100hz(net, x, emotion)
            runs.append(time.perf_counter() - t0)
        return min(runs)

    batch_s, torch_s = best(model), best(torch_model)

    stream = StreamingNet(model)
    w = parse_emotion("happy:0.7")
    chunk = 16000 // 60
    steps = []
    for i in range(0, 30 * 16000, chunk):
        t0 = time.perf_counter()
        stream.push(x[i:i + chunk], w)
        steps.append(time.perf_counter() - t0)
    steps = np.array(steps[60:]) * 1000  # after the first second

    animator = Animator(engine="neural", rig="metahuman", checkpoint=args.checkpoint)
    audio = from_array(x, 16000, "minute")
    animator.animate(from_array(x[:32000], 16000, "warm-up"))
    t0 = time.perf_counter()
    animator.animate(audio)
    bake_s = time.perf_counter() - t0

    params = sum(p.numel() for p in torch_model.parameters())
    size_mb = Path(str(args.checkpoint or DEFAULT)).stat().st_size / 1e6
    text = f"""# Network speed (one CPU core)

Produced by `.venv/bin/python tools/benchmark_neural.py` on {platform.machine()} ({platform.processor() or 'cpu'}),
numpy {np.__version__} with OPENBLAS_NUM_THREADS=1 (torch {torch.__version__} with `torch.set_num_threads(1)`),
{time.strftime('%Y-%m-%d')}.
Checkpoint: {Path(str(args.checkpoint or DEFAULT)).name}, {params / 1e6:.2f} M parameters, {size_mb:.1f} MB;
look-ahead {model.config.lookahead * 10} ms + 12.5 ms (half the STFT window).

| measure | result | target |
|---|---|---|
| batch: log-mel + network, 60 s of speech (numpy: bakes, previews, live) | {batch_s * 1000:.0f} ms = **{60 / batch_s:.0f}x real time** | >= 200x |
| the same on torch (training's FaceNet) | {torch_s * 1000:.0f} ms = {60 / torch_s:.0f}x real time | |
| streaming: one push of 1/60 s of audio (p50 / p99 / max) | {np.percentile(steps, 50):.2f} / {np.percentile(steps, 99):.2f} / {steps.max():.2f} ms | well under 16 ms |
| whole `bake` pipeline to MetaHuman (network, post, retarget), 60 s | {bake_s:.2f} s = {60 / bake_s:.0f}x real time | |
"""
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
