"""Train the default checkpoint from one command:

    .venv/bin/python -m emoface.train --shared ../shared --out checkpoints/emoface-default.pt

Labels the permissive data once (cached in --cache), trains, validates on held-out speakers and the held-out
FACEGOOD clip, and writes the checkpoint with its model card fields.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import sys
import time
from pathlib import Path

from emoface.errors import EmofaceError, need_torch

try:
    torch = need_torch("python -m emoface.train")
except EmofaceError as exc:
    print(f"emoface: error: {exc}", file=sys.stderr)
    sys.exit(2)

from emoface import __version__
from emoface.allocator import keep_freed_memory
from emoface.features import TRAIN_MEL_FLOOR
from emoface.model.config import SEALED
from emoface.model.net import NetConfig, save
from emoface.options import COUNT, LEARNING_RATE, SEED, STEPS, OneLineParser, number
from emoface.train.data import (GRID_HELD_OUT_EVERY, OUTPUT_CURVES, VALID_FACEGOOD, VALID_SPEAKERS, build_cache,
                                  load_cache)
from emoface.train.loop import RAISED_PITCH, TrainConfig, train, validate

ROOT = Path(__file__).resolve().parents[2]
# A bad number is one line naming its option, exit 2, before anything is labelled or trained (not NaN losses
# after the whole budget).
ROWS = number(0, integer=True)
WEIGHT = number(0)


def main(argv=None) -> int:
    keep_freed_memory()
    ap = OneLineParser(prog="python -m emoface.train", description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--cache", type=Path, default=ROOT / "data_cache")
    ap.add_argument("--out", type=Path, default=ROOT / "checkpoints" / "emoface-default.pt")
    ap.add_argument("--steps", type=STEPS, default=TrainConfig.steps, help="at most this many steps (1 or more)")
    ap.add_argument("--minutes", type=number(0), default=100.0,
                    help="wall-time budget for the training loop (0: none, the steps alone)")
    ap.add_argument("--batch", type=COUNT, default=TrainConfig.batch)
    ap.add_argument("--channels", type=COUNT, default=NetConfig.channels)
    ap.add_argument("--threads", type=COUNT, default=max(1, torch.get_num_threads()))
    ap.add_argument("--workers", type=COUNT, default=2, help="processes for labelling")
    ap.add_argument("--seed", type=SEED, default=0)
    ap.add_argument("--init", type=Path, help="start from this checkpoint (fine-tuning) instead of from scratch")
    ap.add_argument("--mel-floor", type=number(0, open_lo=True),
                    help=f"added to mel power before the log, above 0 (default {TRAIN_MEL_FLOOR:g}, or the --init "
                         "checkpoint's); lower keeps a quiet line's upper bands")
    ap.add_argument("--lr", type=LEARNING_RATE, default=TrainConfig.lr, help="learning rate, above 0 and at most 1")
    ap.add_argument("--background-voices", type=number(0, 1), default=TrainConfig.background_voices,
                    metavar="SHARE", help="share (0-1) of training crops with other talkers mixed in 6-25 dB below "
                                          "(0: none)")
    ap.add_argument("--music", type=number(0, 1), default=TrainConfig.music, metavar="SHARE",
                    help="share (0-1) of training crops with synthetic music mixed in 0-20 dB below (0: none)")
    ap.add_argument("--voice-share", type=number(0, 1), default=TrainConfig.voice_share, metavar="SHARE",
                    help="share (0-1) of the captured speakers' (GRID, FACEGOOD) crops heard as another voice: pitch "
                         "in --voice-pitch's span, formants moved with it (0: none)")
    ap.add_argument("--voice-pitch", type=number(40, 1000), nargs=2, default=TrainConfig.voice_pitch,
                    metavar=("LOW", "HIGH"), help="median pitches (Hz) --voice-share's voices are drawn between "
                                                  "(default %g %g)" % TrainConfig.voice_pitch)
    ap.add_argument("--raised-voice", type=number(0, 1), default=TrainConfig.raised_voice, metavar="SHARE",
                    help="share (0-1) of every talker's crops heard as a raised voice (a shout, a scream, a child: "
                         "median pitch %g-%g Hz, by the WORLD vocoder; 0: none)" % RAISED_PITCH)
    ap.add_argument("--speed-share", type=number(0, 1), default=TrainConfig.speed_share, metavar="SHARE",
                    help="share (0-1) of training crops played faster or slower, labels resampled alike")
    ap.add_argument("--speed-range", type=number(0.5, 2), nargs=2, default=TrainConfig.speed_range,
                    metavar=("SLOWEST", "FASTEST"), help="playback factors those crops are drawn between "
                                                        "(0.5-2; default 0.9 1.1)")
    ap.add_argument("--squared-weight", type=WEIGHT, default=TrainConfig.squared_weight,
                    help="weight of squared error beside L1 on the curves")
    ap.add_argument("--phone-weight", type=WEIGHT, default=TrainConfig.phone_weight,
                    help="weight of the auxiliary phone-naming loss (0: no phone head)")
    ap.add_argument("--capture-gain", type=number(1), default=TrainConfig.capture_gain, metavar="MAX",
                    help="most a captured curve's error is scaled up to weigh like the silver labels' (1: not at all)")
    ap.add_argument("--grid-share", type=number(0, 1), default=TrainConfig.grid_share, metavar="SHARE",
                    help="share (0-1) of training crops drawn from the captured GRID s1 speaker, whatever its hours")
    ap.add_argument("--facegood-share", type=number(0, 1), default=TrainConfig.facegood_share, metavar="SHARE",
                    help="share (0-1) of training crops drawn from FACEGOOD's captured speaker")
    ap.add_argument("--speech-encoder", metavar="PATH", default="",
                    help="local Hugging Face wav2vec2/HuBERT/WavLM directory to use instead of log-mel (frozen)")
    ap.add_argument("--lookahead", type=ROWS, metavar="ROWS",
                    help="future 100 Hz frames the network may hear (default 6: 60 ms); fewer for a live network")
    ap.add_argument("--stride", type=int, choices=(1, 2, 4),
                    help="2: the trunk at 50 Hz, half the arithmetic of a bake; 4: at 25 Hz, faster again but "
                         "p/b/m presses suffer (an --init network's blocks are mapped onto it); outputs stay at 100 "
                         "Hz. Default: the --init network's; from scratch 2, as the default network")
    ap.add_argument("--distill", type=Path, metavar="TEACHER",
                    help="also learn this trained network's curves on every crop (a smaller network from a larger)")
    ap.add_argument("--distill-weight", type=WEIGHT, default=TrainConfig.distill_weight,
                    help="weight of matching the --distill network beside the labels")
    ap.add_argument("--emotion-only", action="store_true",
                    help="learn only how emotion moves the face (the emotion encoder and each block's FiLM), with "
                         "--init: the layers that hear speech, and so its timing, closures and silences, stay")
    ap.add_argument("--row-smoothing", type=ROWS, metavar="ROWS",
                    help="half-width of the inference smoothing triangle in 100 Hz rows (default 3: +-30 ms)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(args.threads)

    started = time.time()
    if not (args.shared / "data" / "speech-en").is_dir():  # one line, not a traceback from deep in labelling
        ap.error(f"--shared {args.shared}: no data/speech-en folder there (the project's ../shared)")
    previous: dict = {}  # the runs an --init checkpoint came from
    # the network's shape before the data: a combination that cannot be made fails now, not after labelling
    net_cfg = NetConfig(channels=args.channels, speech_encoder=str(args.speech_encoder or ""),
                        mel_floor=TRAIN_MEL_FLOOR if args.mel_floor is None else args.mel_floor)
    init = None
    if args.init:
        from emoface.model.checkpoints import read_checkpoint
        from emoface.model.net import load

        init = load(args.init)
        before = read_checkpoint(args.init, "emoface.facenet/1", "emoface checkpoint").get("card", {})
        previous.update({k: before[k] for k in ("command", "trained_steps", "train_minutes") if k in before})
        if "previous" in before:
            previous["previous"] = before["previous"]
        net_cfg = dataclasses.replace(init.config)  # same architecture; train() sets the outputs
        if args.mel_floor is not None:  # other features: the first layers learn them again
            net_cfg.mel_floor = args.mel_floor
    try:
        stride = args.stride
        if stride is None:  # an --init network's own; from scratch, the default network's 50 Hz trunk
            stride = net_cfg.stride if init is not None else 2
        if stride != net_cfg.stride:  # an --init network's weights fit: fewer taps, at about the same times
            net_cfg = net_cfg.with_stride(stride)
        if args.lookahead is not None:  # the same weights fit: only the layers' padding moves
            net_cfg = net_cfg.with_lookahead(args.lookahead)
    except ValueError as err:
        ap.error(f"--stride/--lookahead: {err}")
    if args.emotion_only and init is None:
        ap.error("--emotion-only: needs --init, a trained network whose speech layers stay")
    if args.row_smoothing is not None:
        net_cfg = dataclasses.replace(net_cfg, row_half=max(0, args.row_smoothing))
    teacher = None
    if args.distill:
        from emoface.model.net import load

        teacher = load(args.distill).eval()
        if teacher.backbone is not None or list(teacher.config.out_names) != [*OUTPUT_CURVES, SEALED]:
            ap.error(f"--distill {args.distill}: not a log-mel network with this version's outputs")
    build_cache(args.shared, args.cache, workers=args.workers)
    train_clips, valid_clips = load_cache(args.cache)
    hours = sum(len(c.labels) for c in train_clips) / 100 / 3600
    logging.info("train: %d clips (%.2f h), validation: %d clips", len(train_clips), hours, len(valid_clips))
    cfg = TrainConfig(steps=args.steps, minutes=args.minutes, batch=args.batch, seed=args.seed, lr=args.lr,
                      squared_weight=args.squared_weight, phone_weight=args.phone_weight,
                      background_voices=args.background_voices, music=args.music, voice_share=args.voice_share,
                      voice_pitch=tuple(sorted(args.voice_pitch)), raised_voice=args.raised_voice,
                      capture_gain=args.capture_gain, distill_weight=args.distill_weight,
                      emotion_only=args.emotion_only,
                      grid_share=args.grid_share, facegood_share=args.facegood_share, speed_share=args.speed_share,
                      speed_range=tuple(sorted(args.speed_range)))
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def card(model, steps_done):
        return {
            "version": __version__, "trained_steps": steps_done, "train_config": cfg.__dict__,
            "data": {name: f"{sum(c.source == source for c in train_clips)} clips" for source, name in
                     (("speech-en", "speech-en (permissive folders)"), ("tts", "espeak-ng TTS lines"),
                      ("facegood", "facegood (MIT)"), ("grid", "GRID s1 captured by emoface capture (CC BY 4.0)"))},
            "validation": {"speakers": sorted(VALID_SPEAKERS), "facegood": VALID_FACEGOOD,
                           "grid": f"every {GRID_HELD_OUT_EVERY}th clip by name "
                                   f"({sum(c.source == 'grid' for c in valid_clips)} clips)",
                           "metrics": validate(model, valid_clips)},
            **({"previous": previous} if previous else {}),
            "command": " ".join(["python -m emoface.train", *(argv or sys.argv[1:])]),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
            "train_minutes": round((time.time() - started) / 60, 1),
        }

    def checkpoint(model, steps_done):
        save(model, args.out, card(model, steps_done))

    model, history = train(train_clips, cfg, net_cfg, valid_clips, on_checkpoint=checkpoint, init=init,
                           teacher=teacher)
    final = card(model, model.trained_steps)  # not the logged chunks: a time budget stops one part-way
    save(model, args.out, final)
    print(json.dumps(final["validation"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
