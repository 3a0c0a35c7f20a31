"""Train the optional emotion recogniser on RAVDESS (CC BY-NC-SA: the checkpoint is non-commercial).

    .venv/bin/python -m emoface.train.ser --shared ../shared --out checkpoints/ser-ravdess-nc.pt

First measures speaker-independent accuracy with leave-actors-out folds (no actor is in both training and
test), then trains on every actor for the shipped checkpoint. Calm is counted as neutral (7 classes).
Clips are normalised to one active-speech level (as at inference); training crops get random level, EQ and
noise so the recording does not decide the emotion, and read speech from speech-en (other speakers) is trained
on as neutral. Finally counts how ordinary read speech (NEUTRAL_READ, all neutral) is labelled: loud, clean
voice-over must not come out angry.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from emoface.audio import load_audio
from emoface.emotion.recognize import (SPEECH_LEVEL_DB, WINDOW_S, EmotionRecognizer, SERConfig, clip_label,
                                       normalise_level, save)
from emoface.emotion.spec import EMOTIONS
from emoface.features import FRAME_RATE, N_MELS, log_mel

log = logging.getLogger("emoface")
RAVDESS_TO_EMOFACE = {"neutral": "neutral", "calm": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
                      "fearful": "fear", "disgust": "disgust", "surprised": "surprise"}
FOLDS = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]
MEMBERS = 3
# ordinary read speech, all neutral: (speech-en folder, clips, clips per speaker) -> 24 clips, 9 voices
NEUTRAL_READ = [("vctk", 12, 3), ("ljspeech", 4, 4), ("kathleen_cc0", 4, 4), ("cmu_arctic", 4, 2)]
# read speech trained on as neutral (other speakers than NEUTRAL_READ's): recorded speech is not all acted
READ_TRAIN = [("vctk_extra", 24, 3), ("cmu_arctic_extra", 8, 2), ("misc_male", 5, 2), ("speechocean762", 23, 1)]
READ_TRAIN_LICENCES = ("VCTK (CC BY 4.0), CMU ARCTIC (BSD-style), misc_male (PD/MIT/CC BY 4.0), "
                       "speechocean762 (CC BY 4.0)")
EVAL_SPEAKERS = ("p225", "p226", "p227", "p228", "aew", "axb")  # never in READ_TRAIN


def load_ravdess(shared: Path):
    base = shared / "data" / "ravdess"
    items = []
    for row in csv.DictReader(open(base / "labels.csv")):
        audio = load_audio(base / "clips" / f"{row['file']}.flac").samples
        items.append(_entry(int(row["actor"]), EMOTIONS.index(RAVDESS_TO_EMOFACE[row["emotion"]]), audio))
    return items


def _entry(actor, label, audio):
    audio = normalise_level(audio)  # as at inference: the recording level is not the emotion
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
    crop = _recording(crop, rng)
    if rng.random() < 0.5:  # SpecAugment-style masks
        f = int(rng.integers(0, 70))
        crop[:, f:f + int(rng.integers(1, 10))] = crop.mean()
        t = int(rng.integers(0, win - 20))
        crop[t:t + int(rng.integers(1, 20))] = crop.mean()
    return crop


@lru_cache(maxsize=1)
def _noise_shapes() -> torch.Tensor:
    """Mean log-mel of unit-power white and pink noise: [2, mels], to add noise in the mel power domain."""
    n = np.random.default_rng(0).standard_normal(4 * 16000)
    pink = np.fft.irfft(np.fft.rfft(n) / np.sqrt(np.maximum(np.arange(len(n) // 2 + 1), 1)), len(n))
    return torch.stack([log_mel((x / np.sqrt(np.mean(x ** 2))).astype(np.float32)).mean(0) for x in (n, pink)])


def _recording(crop, rng):
    """Another recording of the same speech: level (+-4 dB), EQ (tilt, one bell), background noise (SNR 10-45 dB)."""
    crop = crop + float(rng.uniform(-1.0, 1.0))
    if rng.random() < 0.5:
        k = torch.linspace(-1, 1, N_MELS)
        eq = float(rng.uniform(-1, 1)) * k + float(rng.uniform(-1, 1)) * torch.exp(
            -((k - float(rng.uniform(-1, 1))) / float(rng.uniform(0.1, 0.5))) ** 2)
        crop = crop + eq
    if rng.random() < 0.5:
        power = 10 ** ((SPEECH_LEVEL_DB - rng.uniform(10, 45)) / 10)
        crop = torch.logaddexp(crop, _noise_shapes()[int(rng.integers(0, 2))] + float(np.log(power)))
    return crop


def fit(items, epochs: int = 60, seed: int = 0, members: int = 1) -> EmotionRecognizer:
    """`members` networks, each trained with its own seed on the same clips, saved as one model."""
    model = EmotionRecognizer(SERConfig(members=members, speech_level_db=SPEECH_LEVEL_DB))
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


def neutral_read_clips(shared: Path, spec=NEUTRAL_READ, skip=()) -> list[Path]:
    """`spec`'s clips from speech-en: the first files of each speaker (not ending in `skip`), in file order."""
    clips = []
    for folder, n, per_speaker in spec:
        base = shared / "data" / "speech-en" / folder
        rows = sorted(csv.DictReader(open(base / "transcripts.tsv"), delimiter="\t"), key=lambda r: r["file"])
        taken: Counter = Counter()
        for row in rows:
            if row["speaker"].endswith(skip) if skip else False:
                continue
            if taken[row["speaker"]] < per_speaker and sum(taken.values()) < n:
                taken[row["speaker"]] += 1
                clips.append(base / row["file"])
    return clips


def neutral_read_labels(model, shared: Path) -> dict[str, int]:
    """How ordinary read speech (neutral) is labelled, as counts per emotion."""
    return dict(Counter(EMOTIONS[clip_label(load_audio(p).samples, model)] for p in neutral_read_clips(shared)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emoface.train.ser", description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "checkpoints" / "ser-ravdess-nc.pt")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--voices", type=int, default=2, help="pitch-shifted copies of each training clip")
    ap.add_argument("--members", type=int, default=MEMBERS, help="networks (seeds) averaged in the model")
    ap.add_argument("--read-neutral", action=argparse.BooleanOptionalAction, default=True,
                    help="also train on read speech (speech-en, READ_TRAIN) as neutral (default: on)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    t0 = time.time()
    items = load_ravdess(args.shared)
    voices = with_new_voices(items, args.voices)  # copies keep their actor: they stay on its side of a fold
    read = neutral_read_clips(args.shared, READ_TRAIN, EVAL_SPEAKERS) if args.read_neutral else []
    neutral = EMOTIONS.index("neutral")
    voices += [_entry(0, neutral, load_audio(p).samples) for p in read]  # actor 0: training side of every fold
    folds = []
    for test_actors in FOLDS:
        model = fit([i for i in voices if i["actor"] not in test_actors], args.epochs, members=args.members)
        acc = accuracy(model, [i for i in items if i["actor"] in test_actors])
        folds.append({"test_actors": test_actors, "accuracy": round(acc, 4)})
        log.info("leave out actors %s: accuracy %.3f", test_actors, acc)
    mean = float(np.mean([f["accuracy"] for f in folds]))
    model = fit(voices, args.epochs, members=args.members)
    labels = neutral_read_labels(model, args.shared) if (args.shared / "data" / "speech-en").is_dir() else None
    log.info("neutral read speech labelled %s", labels)
    card = {"data": "RAVDESS actors 01-12 (CC BY-NC-SA 4.0): non-commercial use only",
            "classes": list(EMOTIONS), "calm": "counted as neutral", "window_s": WINDOW_S,
            "leave_actors_out": folds, "mean_accuracy": round(mean, 4), "epochs": args.epochs,
            "voices": args.voices, "members": args.members, "speech_level_db": SPEECH_LEVEL_DB,
            "augment": "level +-4 dB, EQ (tilt, bell) +-4 dB, white/pink noise at SNR 10-45 dB",
            "neutral_read": {"clips": len(neutral_read_clips(args.shared)) if labels else 0, "labels": labels},
            "read_neutral_train": {"clips": len(read), "data": READ_TRAIN_LICENCES} if read else None,
            "command": "python -m emoface.train.ser " + " ".join(argv or sys.argv[1:]),
            "minutes": round((time.time() - t0) / 60, 1)}
    save(model, args.out, card)
    print(json.dumps(card, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
