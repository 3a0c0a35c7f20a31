"""Train the optional emotion recogniser on RAVDESS (CC BY-NC-SA: the checkpoint is non-commercial).

    .venv/bin/python -m emoface.train.ser --shared ../shared --out checkpoints/ser-ravdess-nc.pt

First measures speaker-independent accuracy with leave-actors-out folds (no actor is in both training and
test), then trains on every actor for the shipped checkpoint. Calm is counted as neutral (7 classes).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from emoface.audio import load_audio
from emoface.emotion.recognize import WINDOW_S, EmotionRecognizer, SERConfig, clip_label, save
from emoface.emotion.spec import EMOTIONS
from emoface.features import FRAME_RATE, log_mel

log = logging.getLogger("emoface")
RAVDESS_TO_EMOFACE = {"neutral": "neutral", "calm": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
                      "fearful": "fear", "disgust": "disgust", "surprised": "surprise"}
FOLDS = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]
MEMBERS = 3


def load_ravdess(shared: Path):
    base = shared / "data" / "ravdess"
    items = []
    for row in csv.DictReader(open(base / "labels.csv")):
        audio = load_audio(base / "clips" / f"{row['file']}.flac").samples
        items.append(_entry(int(row["actor"]), EMOTIONS.index(RAVDESS_TO_EMOFACE[row["emotion"]]), audio))
    return items


def _entry(actor, label, audio):
    mel = log_mel(audio)
    energy = mel.mean(1)
    active = torch.nonzero(energy > energy.max() - 6.0).flatten()  # frames within ~26 dB of the peak
    lo, hi = (int(active[0]), int(active[-1]) + 1) if len(active) else (0, len(mel))
    return dict(actor=actor, label=label, mel=mel, active=(lo, hi), audio=audio)


def with_new_voices(items, copies: int = 2, seed: int = 0):
    """Each training clip again with its pitch moved (+-1..3 semitones): more voices, same emotion."""
    from emoface.train.augment import pitch

    rng = np.random.default_rng(seed)
    out = list(items)
    for item in items:
        for _ in range(copies):
            shift = rng.uniform(1, 3) * rng.choice([-1, 1])
            out.append(_entry(item["actor"], item["label"], pitch(item["audio"], shift)))
    return out


def _crop(item, win, rng):
    mel = item["mel"]
    lo, hi = item["active"]
    centre = int(rng.integers(lo, max(lo + 1, hi)))
    start = int(np.clip(centre - win // 2, 0, max(0, len(mel) - win)))
    crop = mel[start:start + win]
    if len(crop) < win:
        crop = torch.cat([crop, crop.new_full((win - len(crop), crop.shape[1]), float(mel.min()))])
    crop = crop + float(rng.uniform(-2.0, 2.0))  # level: +-9 dB
    if rng.random() < 0.5:  # SpecAugment-style masks
        f = int(rng.integers(0, 70))
        crop[:, f:f + int(rng.integers(1, 10))] = crop.mean()
        t = int(rng.integers(0, win - 20))
        crop[t:t + int(rng.integers(1, 20))] = crop.mean()
    return crop


def fit(items, epochs: int = 60, seed: int = 0, members: int = 1) -> EmotionRecognizer:
    """`members` networks, each trained with its own seed on the same clips, saved as one model."""
    model = EmotionRecognizer(SERConfig(members=members))
    allm = torch.cat([i["mel"] for i in items])
    model.mel_mean.copy_(allm.mean(0))
    model.mel_std.copy_(allm.std(0).clamp(min=1e-3))
    for k in range(members):
        one = EmotionRecognizer(SERConfig())
        one.load_state_dict({n: v for n, v in model.state_dict().items() if n.startswith("mel_")}, strict=False)
        _train(one, items, epochs, seed + 1000 * k)
        model.members[k].load_state_dict(one.members[0].state_dict())
    return model.eval()


def _train(model: EmotionRecognizer, items, epochs: int, seed: int) -> None:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-3)
    steps = epochs * (len(items) // 32)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    win = int(WINDOW_S * FRAME_RATE)
    labels = torch.tensor([i["label"] for i in items])
    for step in range(steps):
        idx = rng.integers(0, len(items), 32)
        batch = torch.stack([_crop(items[k], win, rng) for k in idx])
        loss = torch.nn.functional.cross_entropy(model.train()(batch), labels[idx], label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 500 == 0:
            log.info("step %d/%d loss %.3f", step + 1, steps, loss.item())
    model.eval()


def accuracy(model, items) -> float:
    return float(np.mean([clip_label(i["audio"], model) == i["label"] for i in items]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emoface.train.ser", description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "checkpoints" / "ser-ravdess-nc.pt")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--voices", type=int, default=2, help="pitch-shifted copies of each training clip")
    ap.add_argument("--members", type=int, default=MEMBERS, help="networks (seeds) averaged in the model")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    t0 = time.time()
    items = load_ravdess(args.shared)
    voices = with_new_voices(items, args.voices)  # copies keep their actor: they stay on its side of a fold
    folds = []
    for test_actors in FOLDS:
        model = fit([i for i in voices if i["actor"] not in test_actors], args.epochs, members=args.members)
        acc = accuracy(model, [i for i in items if i["actor"] in test_actors])
        folds.append({"test_actors": test_actors, "accuracy": round(acc, 4)})
        log.info("leave out actors %s: accuracy %.3f", test_actors, acc)
    mean = float(np.mean([f["accuracy"] for f in folds]))
    model = fit(voices, args.epochs, members=args.members)
    card = {"data": "RAVDESS actors 01-12 (CC BY-NC-SA 4.0): non-commercial use only",
            "classes": list(EMOTIONS), "calm": "counted as neutral", "window_s": WINDOW_S,
            "leave_actors_out": folds, "mean_accuracy": round(mean, 4), "epochs": args.epochs,
            "voices": args.voices, "members": args.members,
            "command": "python -m emoface.train.ser " + " ".join(argv or sys.argv[1:]),
            "minutes": round((time.time() - t0) / 60, 1)}
    save(model, args.out, card)
    print(json.dumps(card, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
