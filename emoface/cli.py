"""Command line: `emoface bake`, `rigs`, `analyze`, `eval`; `stream` and `serve` live in emoface.live.commands."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

import numpy as np

from emoface import __version__, formats
from emoface.allocator import keep_freed_memory
from emoface.audio import AUDIO_SUFFIXES, DEFAULT_MAX_DURATION_S
from emoface.emotion.spec import EMOTIONS, EmotionTrack, load_emotion_track, parse_emotion
from emoface.engines import DEFAULT_ENGINE, ENGINES
from emoface.errors import EmofaceError, InputError, from_os, need_torch
from emoface.options import (ARTICULATION, DURATION, FPS, INTENSITY, LEARNING_RATE, SEED, STEPS, OneLineParser, output,
                             quiet_broken_pipe)

log = logging.getLogger("emoface")
# names no bake writes: `-o line.mp4` is a user after a preview (or sound), not a folder of that name
MEDIA_SUFFIXES = AUDIO_SUFFIXES + (".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".gif", ".png", ".jpg", ".jpeg")


def _bake_parser(sub):
    p = sub.add_parser("bake", help="audio -> rig curve files", description="Bake speech to facial animation.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="audio files, directories or globs")
    p.add_argument("-o", "--output", type=output, required=True, help="output file (one input) or directory")
    p.add_argument("--format", choices=list(formats.FORMATS), help="default: from -o's suffix, else json")
    p.add_argument("--rig", help="arkit, livelink, metahuman, metahuman-expressions, or a rig profile .json "
                                 "(default: what the format needs: metahuman for .txt, arkit for .glb; else livelink)")
    p.add_argument("--fps", type=FPS, default=60.0, help="frames per second, 1-240 (default 60)")
    p.add_argument("--seed", type=SEED, default=0, help="seed for blinks, gaze and head motion, 0 or more (default 0)")
    p.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES),
                   help="neural: the trained network (default); phonetic: phonemes -> visemes")
    p.add_argument("--checkpoint", help="network checkpoint for --engine neural (default: the shipped one)")
    p.add_argument("--speech-encoder", metavar="PATH",
                   help="local Hugging Face model directory for a checkpoint trained on a pretrained backbone")
    emotion = p.add_mutually_exclusive_group()
    emotion.add_argument("--emotion", help=f"{'|'.join(EMOTIONS)}, a blend (happy:0.7+surprise:0.3; weights sum "
                                           "to at most 1), or auto (recognised from the audio); default neutral")
    emotion.add_argument("--emotion-track", type=Path, help="JSON keyframes [{time, emotion, intensity}, ...]")
    p.add_argument("--intensity", type=INTENSITY, help="0-1, scales --emotion (default 1)")
    p.add_argument("--articulation", type=ARTICULATION, default=1.0,
                   help="how far the mouth moves for speech, 0-2: 1 as the engine animates (default), below for a "
                        "mumble, above for a performance that reads at a distance; the emotion's own expression stays")
    text = p.add_mutually_exclusive_group()
    text.add_argument("--text", help="transcript (one input): the phones are force-aligned to it (the network: its "
                                     "lips close on p/b/m as aligned; phonetic engine: instead of phone recognition)")
    text.add_argument("--text-file", type=Path, help="file holding the transcript (one input)")
    p.add_argument("--recognizer", choices=["loop", "words"],
                   help="phonetic engine without a transcript: phone loop (default, fast) or English word "
                        "recognition then alignment (better lips, ~4x real time)")
    p.add_argument("--manifest", type=Path,
                   help="dialogue sheet CSV: audio, emotion, intensity, articulation, text, out")
    p.add_argument("--max-duration", type=DURATION, default=DEFAULT_MAX_DURATION_S, metavar="SECONDS",
                   help="refuse longer audio (default 1800)")
    for flag, what in (("blinks", "blinks"), ("gaze", "eye saccades"), ("head", "head motion"),
                       ("accents", "brows and lids on accents, tongue on TH"), ("smooth", "smoothing")):
        p.add_argument(f"--no-{flag}", dest=flag, action="store_false", help=f"no {what}")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="bake the lines on a Ray cluster (pip install -e \".[ray]\"): no ADDRESS starts one on this "
                        "machine; 'auto' or ray://host:10001 joins a running one (audio and outputs on storage every "
                        "worker sees)")
    p.add_argument("--ray-workers", type=int, metavar="N", help="Ray workers, each with the model loaded once "
                                                                 "(default: one per CPU of the cluster)")
    p.add_argument("--force", action="store_true",
                   help="bake every line again (into a folder, lines whose output was made from the same audio, "
                        "emotion, text, settings and model are otherwise skipped)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary on success")
    p.set_defaults(func=cmd_bake)


def _resolve_format_and_rig(args) -> tuple:
    out = Path(args.output)
    name = args.format or formats.for_suffix(out) or formats.DEFAULT_FORMAT
    fmt = formats.get(name)
    carries = getattr(fmt, "CARRIES", fmt.RIG)
    rig = args.rig or fmt.RIG or "livelink"
    if fmt.RIG and rig not in (fmt.RIG, carries):
        if fmt.RIG in ("visemes", "rhubarb") or carries in ("visemes", "rhubarb"):  # mouth shapes, not a rig
            raise InputError("--rig", f"does not apply to format {name}: it holds mouth shapes, whatever the rig")
        raise InputError("--rig", f"format {name} holds the {carries} rig only, not {rig}")
    if getattr(args, "fps", None):
        formats.check_fps(fmt, args.fps, "--fps")
    return fmt, fmt.RIG or rig


def cmd_bake(args) -> int:
    from emoface import batch
    from emoface.animator import Animator
    from emoface.rigs import load_rig

    if not args.inputs and not args.manifest:
        raise InputError("bake", "give audio INPUTs or --manifest")
    check_engine_options(args)
    if args.emotion_track and args.intensity is not None:
        raise InputError("--intensity", "scales --emotion; an --emotion-track gives each keyframe its intensity")
    fmt, rig = _resolve_format_and_rig(args)
    if args.ray_workers is not None and not args.ray:
        raise InputError("--ray-workers", "applies to a bake with --ray")
    if args.ray_workers is not None and not 1 <= args.ray_workers <= 4096:
        raise InputError("--ray-workers", f"{args.ray_workers} is not a number of workers (1-4096)")
    options = dict(engine=args.engine, rig=rig, fps=args.fps, seed=args.seed, blinks=args.blinks, gaze=args.gaze,
                   head=args.head, accents=args.accents, smooth=args.smooth, recognizer=args.recognizer or "loop",
                   checkpoint=args.checkpoint, speech_encoder=args.speech_encoder,
                   articulation=args.articulation)
    animator = Animator(**options)  # here too with --ray: a bad option or model fails once, before any worker
    out = args.output  # an OutputPath: it knows a trailing slash
    if args.manifest and not args.inputs and (args.text is not None or args.text_file or args.emotion_track):
        raise InputError("--text" if args.text is not None else "--text-file" if args.text_file else "--emotion-track",
                         "applies to one audio INPUT: a sheet gives each of its lines its own (text, emotion)")
    sheet_defaults = dict(emotion=args.emotion or "neutral",
                          intensity=1.0 if args.intensity is None else args.intensity)
    args.emotion = "neutral" if args.emotion is None else args.emotion  # --emotion "" is refused, not neutral
    args.intensity = 1.0 if args.intensity is None else args.intensity
    if args.emotion_track:
        emotion = load_emotion_track(args.emotion_track)
    elif args.emotion.strip().lower() == batch.AUTO:
        need_torch("--emotion auto")
        from emoface.emotion.recognize import load as load_recognizer

        load_recognizer()  # fail now, once, if the optional checkpoint is missing
        emotion = batch.Auto(args.intensity)
    else:
        emotion = EmotionTrack.constant(parse_emotion(args.emotion, args.intensity))
    text = args.text
    if text is not None and not text.strip():  # --text "$UNSET": not a line baked without its transcript unnoticed
        raise InputError("--text", "the transcript is empty (leave --text out to bake without one)")
    if args.text_file:
        if args.text_file.is_dir():
            raise InputError(args.text_file, "is a folder; --text-file names one transcript file")
        if not args.text_file.is_file():
            raise InputError(args.text_file, "transcript file not found")
        try:
            text = args.text_file.read_bytes().decode("utf-8").removeprefix("\ufeff")  # byte offsets of the file
        except UnicodeDecodeError as exc:
            raise InputError(args.text_file, f"--text-file is not UTF-8 text (byte {exc.start}); save the "
                                             "transcript as UTF-8") from None
        if not text.strip():
            raise InputError(args.text_file, "the transcript file is empty")

    jobs, bad, single = [], [], False
    if args.inputs:
        found = batch.expand_inputs(args.inputs)
        if not found:
            raise InputError(" ".join(args.inputs), "no audio files found")
        if text and len(found) > 1:
            raise InputError("--text", "a transcript applies to one input; use --manifest for many lines")
        single = len(found) == 1 and formats.for_suffix(out) is not None and not out.is_dir()
        if not single:
            _check_output_folder(out, one_input=len(found) == 1)
        jobs += [batch.Job(a, o, emotion, text) for a, o in batch.plan_outputs(found, out, fmt.SUFFIX, single)]
    if args.manifest:
        _check_output_folder(out)
        m_jobs, bad = batch.read_manifest(args.manifest, out, fmt.SUFFIX, **sheet_defaults)
        jobs += m_jobs
    for label, reason in bad:  # now, not after hours of baking: a sheet's bad rows can be mended while it runs
        print(f"emoface: error: {label}: {reason}", file=sys.stderr)
    where = dict(progress=not args.quiet, index_folder=None if single else out, force=args.force)
    try:
        if args.ray:
            from emoface import batch_ray

            report = batch_ray.run(jobs, options, fmt, args.max_duration, address=args.ray,
                                   workers=args.ray_workers, **where)
        else:
            report = batch.run(jobs, animator, fmt, args.max_duration, **where)
    except (KeyboardInterrupt, Terminated):
        if len(jobs) > 1:  # what a stopped batch leaves: whole files only, and a way on
            print("emoface: interrupted: the lines baked so far are kept whole; the same command again bakes the "
                  "rest", file=sys.stderr)
        raise
    report.failed = bad + report.failed
    total = len(jobs) + len(bad)
    if (total > 1 and report.failed) or (not args.quiet and not report.failed):
        skipped = f", {len(report.skipped)} already up to date (--force bakes them again)" if report.skipped else ""
        print(f"baked {len(report.written)} of {total} line(s) to {out} ({fmt.NAME}, rig "
              f"{getattr(fmt, 'CARRIES', None) or load_rig(rig).name}){skipped}", file=sys.stderr)
    if report.failed and total > 1:
        print(f"{len(report.failed)} failed:", file=sys.stderr)
        for label, reason in sorted(report.failed, key=_sheet_order):
            print(f"  {label}: {reason}", file=sys.stderr)
    if report.stopped:
        print(f"emoface: error: {report.stopped}", file=sys.stderr)
    return 1 if report.failed or report.stopped else 0


def _sheet_order(failure):
    """A failure's place in the summary: a sheet's rows in line order (its bad rows are found before any line
    bakes, the rest as they bake), other inputs by name."""
    source, _, line = failure[0].rpartition(":")
    return (source, int(line)) if line.isdigit() else (failure[0], 0)


def _check_output_folder(out: Path, command: str = "bake", one_input: bool = False) -> None:
    """-o as a folder: refused where it reads as a file's name (`-o lines.json`, a typo such as `-o line.jsn` for
    one input, which had baked into a new folder of that name)."""
    named = formats.for_suffix(out)
    if named and not out.is_dir():  # `-o lines.json` for a folder of lines made a folder of that name
        raise InputError(out, f"names a {named} file, but several inputs are written into an output folder: name "
                              "one (-o baked/)")
    if str(out) == "-":
        raise InputError("-o", "emoface writes files, not standard output: name a file or folder")
    if out.suffix.lower() in MEDIA_SUFFIXES and not out.is_dir():  # `-o line.mp4` had made a folder of that name
        preview = "a video preview is `emoface render`" if command == "bake" else "its side-by-side video is --preview"
        raise InputError(out, f"names a {out.suffix} file, but {command} writes animation files (.json, .txt, .csv, "
                              f".npz, .glb, .tsv) or a folder of them; {preview}")
    if one_input and out.suffix and not out.exists() and not getattr(out, "slash", False):
        known = ", ".join(sorted({fmt.SUFFIX for fmt in formats.FORMATS.values()}))
        meant = out.stem if formats.for_suffix(out.stem) else out.with_suffix(".json").name  # line.json.bak: line.json
        raise InputError(out, f"{out.suffix} is not an animation file's suffix ({known}): name a file such as "
                              f"{meant}, or a new folder with a trailing slash ({out}/)")
    if out.exists() and not out.is_dir():
        raise InputError(out, "is a file; -o names an output folder for several inputs (or a bake's --manifest), "
                              "or a name without a format's suffix such as .json")


def check_engine_options(args) -> None:
    """Options that only one engine or checkpoint uses are refused, not silently ignored."""
    neural = args.engine == "neural"
    if neural and getattr(args, "recognizer", None):
        raise InputError("--recognizer", "applies to --engine phonetic; the network needs no phone recognizer "
                                         "(give --text for exact lip closures)")
    if neural and getattr(args, "smooth", True) is False:
        raise InputError("--no-smooth", "applies to --engine phonetic; the network's smoothing is part of what it "
                                        "learnt")
    if not neural and (args.checkpoint or getattr(args, "speech_encoder", None)):
        raise InputError("--checkpoint" if args.checkpoint else "--speech-encoder", "applies to --engine neural")
    encoder = getattr(args, "speech_encoder", None)
    if encoder:
        if not Path(encoder).is_dir():
            raise InputError(encoder, "speech encoder folder not found (--speech-encoder names a local "
                                      "Hugging Face model directory)")
        from emoface.model import checkpoints

        if not checkpoints.load_network(args.checkpoint).config.speech_encoder:
            raise InputError("--speech-encoder", f"checkpoint {args.checkpoint or checkpoints.DEFAULT_NAME} uses "
                                                 "no pretrained speech encoder")


def cmd_rigs(args) -> int:
    from emoface.rigs import builtin_names, load_rig

    if args.action == "list":
        if args.name:  # `rigs list arkit` had listed them all, as if the name were not there
            raise InputError("rigs list", f"takes no rig name ({args.name!r}): `emoface rigs show {args.name}`")
        rigs = [load_rig(name) for name in builtin_names()]
        if args.json:
            print(json.dumps([rig.describe() for rig in rigs], indent=1))
        else:
            for rig in rigs:
                print(f"{rig.name:24s} {len(rig.names):4d} curves  {rig.description}")
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
    """One result per file (a JSON object per line with --json); a bad file gets one error line, the rest go on.

    Exit 0 when every file was analysed, 1 when some failed, 2 when all did (a lone bad file, as before).
    """
    from emoface.audio import load_audio

    need_torch("emoface analyze")
    from emoface.emotion.recognize import load, probabilities

    model = load(args.model)
    failed = 0
    for path in args.inputs:
        try:
            audio = load_audio(path, args.max_duration)
        except EmofaceError as exc:
            sys.stdout.flush()  # the error line lands between the results it came between
            print(f"emoface: error: {exc}", file=sys.stderr, flush=True)
            failed += 1
            continue
        times, probs = probabilities(model, audio.samples)
        track = [{"time": round(float(t), 3), "emotion": EMOTIONS[int(np.argmax(p))],
                  "probabilities": {e: round(float(x), 4) for e, x in zip(EMOTIONS, p)}} for t, p in zip(times, probs)]
        overall = probs.mean(axis=0)
        result = {"source": str(path), "duration": round(audio.duration, 3),
                  "emotion": EMOTIONS[int(np.argmax(overall))],
                  "probabilities": {e: round(float(x), 4) for e, x in zip(EMOTIONS, overall)}, "track": track}
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(f"{path}: {result['emotion']} ({overall.max():.0%})")
            for k in track:
                print(f"  {k['time']:7.2f}s  {k['emotion']:9s} {k['probabilities'][k['emotion']]:.0%}")
    if failed:
        print(f"{failed} of {len(args.inputs)} failed", file=sys.stderr)
    return 0 if not failed else 2 if failed == len(args.inputs) else 1


def cmd_eval(args) -> int:
    from emoface import evaluate

    if not (args.shared / "data").is_dir():
        raise InputError(args.shared, "no data/ folder here (point --shared at the shared data)")
    if args.output:
        formats.check_writable(args.output, "the tables")  # before the minutes of scoring, not after
    try:
        results = evaluate.run(args.shared, args.cache, args.checkpoint, channels=args.channels, voices=args.voices)
    except FileNotFoundError as exc:  # a shared folder with some of its data sets, or part of one
        raise InputError(args.shared, f"is missing {exc.filename} (the data sets emoface eval scores: "
                                      "speech-en, facegood, grid-s1)") from None
    text = evaluate.markdown(results, "emoface " + " ".join(args.argv))
    print(text)
    if args.output:
        with formats.atomic_output(args.output, what="the tables") as tmp:
            Path(tmp).write_text(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="emoface", description="Audio-driven emotional facial animation.")
    parser.add_argument("--version", action="version", version=f"emoface {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _bake_parser(sub)
    from emoface.live.commands import add_parsers

    add_parsers(sub)
    from emoface.render.commands import add_parsers as add_render_parsers

    add_render_parsers(sub)
    from emoface.capture.commands import add_parsers as add_capture_parsers

    add_capture_parsers(sub)
    r = sub.add_parser("rigs", help="list rigs or show one's curves",
                       description="The rigs emoface writes: the built-in ones, or a rig profile .json checked and "
                                   "shown.")
    r.add_argument("action", choices=["list", "show"],
                   help="list: the built-in rigs and their curve counts; show: one rig's curves and their ranges")
    r.add_argument("name", nargs="?", help="show: a built-in rig's name or a rig profile .json (checked as a bake "
                                           "would load it)")
    r.add_argument("--json", action="store_true", help="the same as JSON")
    r.set_defaults(func=cmd_rigs)
    a = sub.add_parser("analyze", help="recognise the emotion track of a line (what --emotion auto uses)",
                       description="Recognise the emotion in speech, in 1.5 s windows every 0.5 s and overall: the "
                                   "track --emotion auto bakes with (needs torch, the train extra; the recogniser "
                                   "is non-commercial).")
    a.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="audio files (one result each)")
    a.add_argument("--json", action="store_true", help="one JSON object per line, one line per file")
    a.add_argument("--model", help="emotion recognition checkpoint (default: the shipped non-commercial one)")
    a.add_argument("--max-duration", type=DURATION, default=DEFAULT_MAX_DURATION_S, metavar="SECONDS",
                   help="refuse longer audio (default 1800)")
    a.set_defaults(func=cmd_analyze)
    e = sub.add_parser("eval", help="measure the network against the phonetic engine and a loudness baseline",
                       description="Measure the network against the phonetic engine and a loudness baseline on "
                                   "held-out clips of the shared data (speech-en, FACEGOOD, GRID s1): markdown "
                                   "tables on stdout, as in docs/EVALUATION.md.")
    e.add_argument("--shared", type=Path, default=Path("../shared"),
                   help="the shared data folder, with data/ in it (default ../shared)")
    e.add_argument("--cache", type=Path, default=Path("data_cache"),
                   help="where converted capture is kept (default data_cache)")
    e.add_argument("--checkpoint", help="network checkpoint (default: the shipped one)")
    e.add_argument("-o", "--output", type=output, help="also write the markdown table here")
    e.add_argument("--channels", action="store_true",
                   help="also score every clip heard through other recording channels (phone line, bright, dull, "
                        "thin and quiet microphones): six times the work")
    e.add_argument("--voices", action="store_true",
                   help="also score GRID's held-out clips said in other voices (deeper, a woman's, a child's: the "
                        "WORLD vocoder, pip install -e \".[eval]\")")
    e.set_defaults(func=cmd_eval)
    t = sub.add_parser("train", help="adapt the network to an actor's captured takes (CPU, minutes)",
                       description="Fine-tune a checkpoint on captured takes (emoface capture outputs, Live Link Face "
                                   "CSV + audio, EmoFace WAV/ + VALID_CTR/, FACEGOOD); reports before/after on "
                                   "held-out takes. The full recipe is `make train`.")
    t.add_argument("--capture", nargs="+", type=Path, required=True, metavar="DIR", help="folders of takes")
    t.add_argument("--from", dest="source", metavar="CKPT", help="checkpoint to start from (default: the shipped one)")
    t.add_argument("-o", "--output", type=output, required=True, help="the fine-tuned checkpoint (.pt)")
    t.add_argument("--minutes", type=DURATION, default=10.0, help="training time budget (default 10)")
    t.add_argument("--steps", type=STEPS, default=2000,
                   help="at most this many steps, 1 or more (default 2000)")
    t.add_argument("--lr", type=LEARNING_RATE, default=3e-4,
                   help="learning rate, above 0 and at most 1 (default 3e-4)")
    t.add_argument("--seed", type=SEED, default=0, help="training seed, 0 or more (default 0)")
    t.add_argument("-q", "--quiet", action="store_true", help="no training log")
    t.set_defaults(func=cmd_train)
    return parser


def cmd_train(args) -> int:
    import json

    need_torch("emoface train")
    from emoface.train.actor import finetune

    if args.output.suffix != ".pt":
        raise InputError(args.output, "the fine-tuned checkpoint is written as .pt")
    formats.check_writable(args.output, "the checkpoint")  # before the minutes of training, not after
    for folder in args.capture:
        if not Path(folder).is_dir():
            raise InputError(folder, "is a file, not a folder: give the folder that holds the takes"
                             if Path(folder).exists() else "capture folder not found")
    if args.source and not Path(args.source).is_file():
        raise InputError(args.source, "checkpoint not found")
    report = finetune(args.capture, args.source, args.output, args.minutes, args.steps, args.lr, args.seed,
                      args.quiet)
    print(json.dumps(report, indent=1))
    b, a = report["before"], report["after"]
    print(f"held-out takes: jaw r {b['jaw_r']:.3f} -> {a['jaw_r']:.3f}, mouth r {b['mouth_r']:.3f} -> "
          f"{a['mouth_r']:.3f}; wrote {args.output}", file=sys.stderr)
    if round(a["mouth_r"], 3) < round(b["mouth_r"], 3) and round(a["jaw_r"], 3) < round(b["jaw_r"], 3):
        log.warning("the adapted network follows the held-out takes less well than the one it started from (which "
                    "may know this speaker already: the shipped one learnt GRID s1); keep that one, or capture "
                    "more takes")
    return 0


class _OneLine(logging.Formatter):
    def format(self, record):
        return f"emoface: {record.levelname.lower()}: {record.getMessage()}"


def main(argv=None) -> int:
    keep_freed_memory()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    previous = _terminate_like_interrupt()
    try:
        parser = build_parser()
        args, extras = parser.parse_known_args(argv)
        if extras:  # named against the command's own help, not the top level's
            command = _command_parser(parser, getattr(args, "func", None)) or parser
            command.error(f"unrecognized arguments: {' '.join(extras)}")
        args.argv = list(sys.argv[1:] if argv is None else argv)
        return args.func(args)
    except EmofaceError as exc:
        print(f"emoface: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"emoface: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        quiet_broken_pipe()
        return 0
    except OSError as exc:  # a path the OS refused outright (a name too long): one line naming it, not a traceback
        print(f"emoface: error: {from_os(exc) if exc.filename else exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Terminated:
        return 143
    finally:
        log.removeHandler(handler)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _command_parser(parser, func):
    """The (sub)command parser whose command is func: its errors point to `emoface COMMAND --help`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found = _command_parser(sub, func)
                if found is not None:
                    return found
    return parser if parser.get_default("func") is func else None


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so that half-written outputs are removed as on Ctrl-C."""


def _terminate_like_interrupt():
    def handler(signum, frame):
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        return None


if __name__ == "__main__":
    # `python -m emoface.cli` runs this file as __main__, a second copy beside the emoface.cli that the other
    # modules import: its classes (the interruption a signal raises) would not be theirs, and a SIGTERM during a
    # Ray bake ended in a traceback. Run the package's copy.
    from emoface.cli import main as package_main

    sys.exit(package_main())
