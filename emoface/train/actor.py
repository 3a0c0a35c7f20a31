"""`emoface train --capture DIR... --from CKPT -o actor.pt`: adapt the network to one actor's captured takes.

Minutes of an actor's takes (any layout emoface.capture.imports reads) teach the network that actor's mouth;
the emotion layer is laid over the captured neutral curves for a random emotion per crop, as in the main recipe,
so emotion control is still trained and kept. A share of the takes (by name order, the last ones) is held out,
and the network is scored on them before and after: what the actor gains is measured, not assumed.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np

from emoface import __version__, formats
from emoface.errors import InputError

log = logging.getLogger("emoface")
HELD_OUT_SHARE = 0.2
MOUTH_REPORTED = ("JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthSmileLeft", "MouthStretchLeft",
                  "MouthLowerDownLeft", "MouthUpperUpLeft")


def takes_to_clips(folders: list[Path]) -> tuple[list, list[tuple[str, str]]]:
    """Clips (100 frames/s, emotion-layer ready) from every take under the folders, and the ones refused."""
    from emoface.capture.imports import read_takes
    from emoface.features import FRAME_RATE
    from emoface.prosody import analyse
    from emoface.train.data import Clip, label_frames

    clips, bad = [], []
    for folder in folders:
        for take in read_takes(Path(folder)):
            if isinstance(take, tuple):
                bad.append(take)
                continue
            n = int(math.ceil(take.audio.duration * FRAME_RATE))
            labels = label_frames(take.anim, n)
            pro = analyse(take.audio.samples, n, FRAME_RATE)
            prosody = {"loudness": pro.loudness, "f0": pro.f0.astype(np.float32), "voiced": pro.voiced,
                       "speech": pro.speech}
            clips.append(Clip(take.name, take.audio.samples, labels, take.measured.copy(), prosody, "actor",
                              "actor"))
    return clips, bad


def score(checkpoint, clips) -> dict:
    """Jaw r, mean mouth-curve r and mean L1 over the measured curves, neutral emotion, held-out clips."""
    from emoface.animator import Animator
    from emoface.audio import from_array
    from emoface.features import FRAME_RATE
    from emoface.metrics import pearson
    from emoface.rigs import canonical_names

    animator = Animator(engine="neural", checkpoint=str(checkpoint), fps=FRAME_RATE, blinks=False, gaze=False,
                        head=False, accents=False)
    names = canonical_names()
    jaw, mouth, l1 = [], [], []
    for clip in clips:
        pred = animator.animate_canonical(from_array(clip.audio, 16000, clip.key)).values
        n = min(len(pred), len(clip.labels))
        pred, ref = pred[:n], clip.labels[:n]
        cols = [names.index(c) for c in MOUTH_REPORTED if clip.mask[names.index(c)] and ref[:, names.index(c)].std()
                > 1e-3]
        jaw.append(pearson(pred[:, names.index("JawOpen")], ref[:, names.index("JawOpen")]))
        mouth.append(float(np.mean([pearson(pred[:, c], ref[:, c]) for c in cols])) if cols else 0.0)
        l1.append(float(np.abs(pred[:, cols] - ref[:, cols]).mean()) if cols else 0.0)
    return {"jaw_r": float(np.mean(jaw)), "mouth_r": float(np.mean(mouth)), "mouth_l1": float(np.mean(l1)),
            "takes": len(clips)}


def finetune(folders: list[Path], source: str | None, out: Path, minutes: float, steps: int, lr: float,
             seed: int = 0, quiet: bool = False) -> dict:
    import torch

    from emoface.model import checkpoints
    from emoface.model.net import load, save
    from emoface.train.loop import TrainConfig, train

    clips, bad = takes_to_clips(folders)
    if not clips and bad and {label for label, _ in bad} <= {str(f) for f in folders}:
        for label, reason in bad[:-1]:  # each folder's own reason (none found, no such folder) says it all
            print(f"emoface: error: {label}: {reason}", file=sys.stderr)
        raise InputError(*bad[-1])
    for label, reason in bad:
        print(f"emoface: error: {label}: {reason}", file=sys.stderr)
    if len(clips) < 2:
        raise InputError(" ".join(map(str, folders)), f"{len(clips)} usable take(s): fine-tuning needs at least "
                                                      "two (one is held out to measure it)")
    clips.sort(key=lambda c: c.key)
    held = max(1, int(round(HELD_OUT_SHARE * len(clips))))
    train_clips, valid = clips[:-held], clips[-held:]
    source = source or str(checkpoints.DEFAULT)
    before = score(source, valid)
    init = load(source)
    cfg = TrainConfig(steps=steps, minutes=minutes, lr=lr, seed=seed, facegood_share=0.0, grid_share=0.0,
                      log_every=25, workers=0)
    started = time.time()
    if quiet:
        log.setLevel(logging.WARNING)
    fit_before = score(source, train_clips)
    torch.manual_seed(seed)
    model, history = train(train_clips, cfg, dataclasses.replace(init.config), init=init)
    card = {"version": __version__, "fine_tuned": {
        "from": str(source), "takes": [c.key for c in train_clips], "held_out": [c.key for c in valid],
        "minutes": round((time.time() - started) / 60, 1), "steps": model.trained_steps,
        "loss_first": history[0] if history else None, "loss_last": history[-1] if history else None}}
    with formats.atomic_output(out, what="the checkpoint") as tmp:
        save(model, tmp, card)
    after = score(out, valid)
    fit_after = score(out, train_clips)
    report = {"before": before, "after": after, "train_takes": len(train_clips), "held_out_takes": len(valid),
              "train_fit_l1": [round(fit_before["mouth_l1"], 5), round(fit_after["mouth_l1"], 5)],
              "loss": [round(history[0], 4), round(history[-1], 4)] if history else [],
              "minutes": round((time.time() - started) / 60, 1)}
    return report
