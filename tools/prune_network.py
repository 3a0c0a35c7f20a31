#!/usr/bin/env python3
"""A network with fewer channels cut from a trained one, to be fine-tuned (`python -m emoface.train --init OUT`).

    .venv/bin/python tools/prune_network.py checkpoints/emoface-default.pt 112 /tmp/narrow.pt [--shared ../shared]

Keeps the `channels` residual channels that carry the most (their RMS over 60 speech-en clips, more for those the
output head reads strongly) and, in each block, the hidden channels whose GELU outputs reach the residual most
(their RMS times the 1x1 mix's weights), and slices every weight to them. The layer norms then see fewer channels,
so the cut network needs fine-tuning before it is any use: it starts nearer a good network than a random one.
What a narrower network costs and buys: docs/EVALUATION.md, "A narrower network for speed".
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def importance(model, clips) -> tuple[np.ndarray, np.ndarray]:
    """(residual channel scores [c], hidden channel scores per block [blocks, c]) over the clips, neutral."""
    from emoface.features import log_mel_frames_np, n_frames
    from emoface.model.numpy_net import NumpyNet, film_terms, finish

    net = NumpyNet.from_torch(model)
    c = model.config.channels
    residual, hidden, frames = np.zeros(c), np.zeros((len(net.blocks), c)), 0
    emo = net.embed_emotion(np.eye(7, dtype=np.float32)[:1])
    for samples in clips:
        mel = log_mel_frames_np(samples, 0, n_frames(len(samples)), model.config.mel_floor)
        x = net.convolve(0, (mel - net.mel_mean) / net.mel_std)
        residual += (x ** 2).sum(0)
        for i, block in enumerate(net.blocks):
            y = net.convolve(i + 1, x)
            eps, mix = block[2], block[5]
            terms = film_terms(block, emo)
            h = y - y.mean(1, keepdims=True)
            h = h / np.sqrt((h ** 2).mean(1, keepdims=True) + eps) * terms[0] + terms[1]
            gelu = 0.5 * h * (1 + _erf(h / np.sqrt(2)))
            hidden[i] += (gelu ** 2).sum(0) * (mix ** 2).sum(1)
            x = finish(block, x, y, terms)
            residual += (x ** 2).sum(0)
        frames += len(x)
    reads = np.linalg.norm(model.head.weight.detach().numpy(), axis=0)
    return np.sqrt(residual / frames) * (1 + reads / reads.mean()), hidden


def _erf(x):
    from scipy.special import erf

    return erf(x)


def pruned(model, channels: int, scores: tuple[np.ndarray, np.ndarray]):
    """A FaceNet of `channels` channels holding the model's weights at the best-scored ones."""
    import torch

    from emoface.model.net import FaceNet

    residual, hidden = scores
    keep = torch.as_tensor(np.sort(np.argsort(-residual)[:channels]))
    inner = [torch.as_tensor(np.sort(np.argsort(-h)[:channels])) for h in hidden]
    c = model.config.channels
    state = {}
    for name, v in model.state_dict().items():
        parts = name.split(".")
        if name in ("stem.conv.weight", "stem.conv.bias"):
            v = v[keep]
        elif name in ("head.weight", "phone_head.weight"):
            v = v[:, keep]
        elif parts[0] == "blocks":
            h, tail = inner[int(parts[1])], ".".join(parts[2:])
            if tail == "conv.conv.weight":
                v = v[h][:, keep]
            elif tail in ("conv.conv.bias", "norm.weight", "norm.bias"):
                v = v[h]
            elif tail in ("film.weight", "film.bias"):  # scale then shift, each over the hidden channels
                v = torch.cat([v[:c][h], v[c:][h]])
            elif tail == "mix.weight":
                v = v[keep][:, h]
            elif tail == "mix.bias":
                v = v[keep]
        state[name] = v.clone()
    out = FaceNet(replace(model.config, channels=channels))
    out.load_state_dict(state, strict=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("channels", type=int)
    ap.add_argument("output", type=Path)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    from emoface.audio import load_audio
    from emoface.model.net import load, save

    model = load(args.checkpoint)
    if not 0 < args.channels < model.config.channels:
        ap.error(f"channels: 1 to {model.config.channels - 1}")
    files = sorted((args.shared / "data" / "speech-en").glob("*/audio/*.flac"))[::40][:60]
    if not files:
        ap.error(f"no speech-en clips under {args.shared}")
    narrow = pruned(model, args.channels, importance(model, [load_audio(f).samples for f in files]))
    save(narrow, args.output, card={**getattr(model, "card", {}), "pruned_from": args.checkpoint.name,
                                    "pruned_to_channels": args.channels})
    print(f"{args.output}: {sum(p.numel() for p in narrow.parameters()) / 1e6:.2f} M parameters "
          f"(from {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
