"""Command line: `emoface bake`, `rigs`, `analyze`, `eval`; `stream` and `serve` live in emoface.live.commands."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from emoface import __version__, formats
from emoface.audio import DEFAULT_MAX_DURATION_S
from emoface.emotion.spec import EMOTIONS, EmotionTrack, load_emotion_track, parse_emotion
from emoface.engines import DEFAULT_ENGINE, ENGINES
from emoface.errors import EmofaceError, InputError

log = logging.getLogger("emoface")


def _bake_parser(sub):
    p = sub.add_parser("bake", help="audio -> rig curve files", description="Bake speech to facial animation.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="audio files, directories or globs")
    p.add_argument("-o", "--output", required=True, help="output file (one input) or directory")
    p.add_argument("--format", choices=list(formats.FORMATS), help="default: from -o's suffix, else json")
    p.add_argument("--rig", help="arkit, livelink, metahuman, metahuman-expressions, or a rig profile .json "
                                 "(default: what the format needs, else livelink)")
    p.add_argument("--fps", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0, help="seed for blinks, gaze and head motion")
    p.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES),
                   help="neural: the trained network (default); phonetic: phonemes -> visemes")
    p.add_argument("--checkpoint", help="network checkpoint for --engine neural (default: the shipped one)")
    p.add_argument("--speech-encoder", metavar="PATH",
                   help="local Hugging Face model directory for a checkpoint trained on a pretrained backbone")
    p.add_argument("--emotion", default="neutral",
                   help=f"{'|'.join(EMOTIONS)}, a blend (happy:0.7+surprise:0.3), or auto (recognised from the audio)")
    p.add_argument("--intensity", type=float, default=1.0, help="0-1, scales --emotion")
    p.add_argument("--emotion-track", type=Path, help="JSON keyframes [{time, emotion, intensity}, ...]")
    text = p.add_mutually_exclusive_group()
    text.add_argument("--text", help="transcript (one input): forced alignment instead of phone recognition")
    text.add_argument("--text-file", type=Path, help="file holding the transcript (one input)")
    p.add_argument("--recognizer", choices=["loop", "words"], default="loop",
                   help="without a transcript: phone loop (fast) or English word recognition then alignment "
                        "(better lips, ~6x slower)")
    p.add_argument("--manifest", type=Path, help="dialogue sheet CSV: audio, emotion, intensity, text, out")
    p.add_argument("--max-duration", type=float, default=DEFAULT_MAX_DURATION_S, metavar="SECONDS",
                   help="refuse longer audio (default 1800)")
    for flag, what in (("blinks", "blinks"), ("gaze", "eye saccades"), ("head", "head motion"),
                       ("smooth", "smoothing")):
        p.add_argument(f"--no-{flag}", dest=flag, action="store_false", help=f"no {what}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary on success")
    p.set_defaults(func=cmd_bake)


def _resolve_format_and_rig(args) -> tuple:
    out = Path(args.output)
    name = args.format or formats.for_suffix(out) or formats.DEFAULT_FORMAT
    fmt = formats.get(name)
    rig = args.rig or fmt.RIG or "livelink"
    if fmt.RIG and rig != fmt.RIG:
        raise InputError("--rig", f"format {name} holds the {fmt.RIG} rig only, not {rig}")
    return fmt, rig


def cmd_bake(args) -> int:
    from emoface import batch
    from emoface.animator import Animator

    if not args.inputs and not args.manifest:
        raise InputError("bake", "give audio INPUTs or --manifest")
    fmt, rig = _resolve_format_and_rig(args)
    animator = Animator(engine=args.engine, rig=rig, fps=args.fps, seed=args.seed, blinks=args.blinks,
                        gaze=args.gaze, head=args.head, smooth=args.smooth,
                        recognizer=args.recognizer, checkpoint=args.checkpoint,
                        speech_encoder=args.speech_encoder)
    out = Path(args.output)
    if args.emotion_track:
        emotion = load_emotion_track(args.emotion_track)
    elif args.emotion.strip().lower() == batch.AUTO:
        from emoface.emotion.recognize import load as load_recognizer

        load_recognizer()  # fail now, once, if the optional checkpoint is missing
        emotion = batch.AUTO
    else:
        emotion = EmotionTrack.constant(parse_emotion(args.emotion, args.intensity))
    text = args.text
    if args.text_file:
        if not args.text_file.is_file():
            raise InputError(args.text_file, "transcript file not found")
        text = args.text_file.read_text(encoding="utf-8", errors="replace")

    jobs, bad = [], []
    if args.inputs:
        found = batch.expand_inputs(args.inputs)
        if not found:
            raise InputError(" ".join(args.inputs), "no audio files found")
        if text and len(found) > 1:
            raise InputError("--text", "a transcript applies to one input; use --manifest for many lines")
        single = len(found) == 1 and formats.for_suffix(out) is not None and not out.is_dir()
        jobs += [batch.Job(a, o, emotion, text) for a, o in batch.plan_outputs(found, out, fmt.SUFFIX, single)]
    if args.manifest:
        m_jobs, bad = batch.read_manifest(args.manifest, out, fmt.SUFFIX)
        if args.emotion_track:
            for j in m_jobs:
                j.emotion = emotion
        jobs += m_jobs
    report = batch.run(jobs, animator, fmt, args.max_duration, progress=not args.quiet)
    report.failed = bad + report.failed
    for label, reason in bad:
        print(f"emoface: error: {label}: {reason}", file=sys.stderr)
    total = len(jobs) + len(bad)
    if (total > 1 and report.failed) or (not args.quiet and not report.failed):
        print(f"baked {len(report.written)} of {total} line(s) to {out} ({fmt.NAME}, rig {rig})", file=sys.stderr)
    if report.failed and total > 1:
        print(f"{len(report.failed)} failed:", file=sys.stderr)
        for label, reason in report.failed:
            print(f"  {label}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_rigs(args) -> int:
    from emoface.rigs import builtin_names, load_rig

    if args.action == "list":
        for name in builtin_names():
            rig = load_rig(name)
            print(f"{name:24s} {len(rig.names):4d} curves  {rig.description}")
        return 0
    if not args.name:
        raise InputError("rigs show", "name a rig (see `emoface rigs list`)")
    rig = load_rig(args.name)
    if args.json:
        print(json.dumps({**rig.describe(), "names": list(rig.names),
                          "ranges": [[float(a), float(b)] for a, b in zip(rig.lo, rig.hi)]}, indent=1))
    else:
        print(f"{rig.name}: {len(rig.names)} curves. {rig.description}")
        for name, lo, hi in zip(rig.names, rig.lo, rig.hi):
            print(f"  {name}  [{lo:g}, {hi:g}]")
    return 0


def cmd_analyze(args) -> int:
    from emoface.audio import load_audio
    from emoface.emotion.recognize import load, probabilities

    audio = load_audio(args.input, args.max_duration)
    times, probs = probabilities(load(args.model), audio.samples)
    track = [{"time": round(float(t), 3), "emotion": EMOTIONS[int(np.argmax(p))],
              "probabilities": {e: round(float(x), 4) for e, x in zip(EMOTIONS, p)}} for t, p in zip(times, probs)]
    overall = probs.mean(axis=0)
    result = {"source": str(args.input), "emotion": EMOTIONS[int(np.argmax(overall))],
              "probabilities": {e: round(float(x), 4) for e, x in zip(EMOTIONS, overall)}, "track": track}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{args.input}: {result['emotion']} ({overall.max():.0%})")
        for k in track:
            print(f"  {k['time']:7.2f}s  {k['emotion']:9s} {k['probabilities'][k['emotion']]:.0%}")
    return 0


def cmd_eval(args) -> int:
    from emoface import evaluate

    if not (args.shared / "data").is_dir():
        raise InputError(args.shared, "no data/ folder here (point --shared at the shared data)")
    results = evaluate.run(args.shared, args.cache, args.checkpoint)
    text = evaluate.markdown(results, "emoface " + " ".join(args.argv))
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoface", description="Audio-driven emotional facial animation.")
    parser.add_argument("--version", action="version", version=f"emoface {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _bake_parser(sub)
    from emoface.live.commands import add_parsers

    add_parsers(sub)
    from emoface.render.commands import add_parsers as add_render_parsers

    add_render_parsers(sub)
    r = sub.add_parser("rigs", help="list rigs or show one's curves")
    r.add_argument("action", choices=["list", "show"])
    r.add_argument("name", nargs="?")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_rigs)
    a = sub.add_parser("analyze", help="recognise the emotion track of a line (what --emotion auto uses)")
    a.add_argument("input", type=Path)
    a.add_argument("--json", action="store_true")
    a.add_argument("--model", help="emotion recognition checkpoint (default: the shipped non-commercial one)")
    a.add_argument("--max-duration", type=float, default=DEFAULT_MAX_DURATION_S)
    a.set_defaults(func=cmd_analyze)
    e = sub.add_parser("eval", help="measure the network against the phonetic engine and a loudness baseline")
    e.add_argument("--shared", type=Path, default=Path("../shared"))
    e.add_argument("--cache", type=Path, default=Path("data_cache"), help="where converted capture is kept")
    e.add_argument("--checkpoint", help="network checkpoint (default: the shipped one)")
    e.add_argument("-o", "--output", type=Path, help="also write the markdown table here")
    e.set_defaults(func=cmd_eval)
    return parser


class _OneLine(logging.Formatter):
    def format(self, record):
        return f"emoface: {record.levelname.lower()}: {record.getMessage()}"


def main(argv=None) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except EmofaceError as exc:
        print(f"emoface: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"emoface: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        log.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
