"""`emoface stream` and `emoface serve`: the live commands (parsers and what they run)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from emoface.engines import DEFAULT_ENGINE, ENGINES
from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion
from emoface.errors import InputError
from emoface.options import ARTICULATION, COUNT, FPS, INTENSITY, PORT, SEED, number

log = logging.getLogger("emoface")
STEP = number(1, 8, integer=True)
STEP_S = 1 / 30  # how often the network steps by default (--frames-per-step): every other frame at 60 fps


def default_step(fps: float) -> int:
    """Frames a step animates unless --frames-per-step says: a step about every STEP_S (docs/LIVE.md, Timing)."""
    return max(1, round(STEP_S * fps))


def token(text: str) -> str:
    """--token: a shared secret. Empty or blank (`--token "$UNSET_VAR"`) would turn authentication off
    unnoticed, so it is refused; leave --token out to accept every client."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the token is empty: give a non-empty token, or leave --token out to "
                                         "accept every client")
    return text


def _common(p) -> None:
    p.add_argument("--to", action="append", default=[], metavar="URL",
                   help="livelink://host:port[?subject=NAME&device=ID&mouthclose=fold], vmc://host:port[?rig=R], "
                        "osc://host:port[?rig=R], ws://host:port[?rig=R&token=T] (a WebSocket server); serve: "
                        "&character=NAME on livelink://, vmc:// or osc:// sends that character only; repeat for "
                        "several")
    p.add_argument("--rig", default="livelink", help="rig of osc:// and ws:// frames (default livelink)")
    p.add_argument("--fps", type=FPS, default=60.0, help="frames per second, 1-240 (default 60)")
    p.add_argument("--emotion", default="neutral",
                   help=f"{'|'.join(EMOTIONS)} or a blend (happy:0.7+surprise:0.3); default neutral")
    p.add_argument("--intensity", type=INTENSITY, default=1.0, help="0-1, scales --emotion (default 1)")
    p.add_argument("--articulation", type=ARTICULATION, default=1.0, metavar="A",
                   help="how far the mouth moves for speech: 1 as the engine animates, below for a mumble, above "
                        "for a performance that reads at a distance; the emotion's own expression stays (0-2, "
                        "default 1; serve: each client can change its character's)")
    p.add_argument("--seed", type=SEED, default=0, help="seed for blinks, gaze and head motion, 0 or more (default "
                                                         "0; serve: a character's is seeded by its name too)")
    p.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES),
                   help="neural (default: 0.08 s behind the audio) or phonetic (phone loop on pieces cut at "
                        "pauses: about 2.4 s behind; also used when the network checkpoint is missing)")
    p.add_argument("--checkpoint", help="network checkpoint (default: the shipped low-latency live network)")
    p.add_argument("--frames-per-step", type=STEP, metavar="N",
                   help="frames animated at a time, 1-8 (default: a step every 1/30 s, 2 at 60 fps); each frame "
                        "more adds a frame interval to the delay, and fewer steps cost less CPU")
    for flag, what in (("blinks", "blinks"), ("gaze", "eye saccades"), ("head", "head motion"),
                       ("accents", "brows and lids on accents")):
        p.add_argument(f"--no-{flag}", dest=flag, action="store_false", help=f"no {what}")
    p.add_argument("--stats-json", action="store_true", help="print the exit figures as JSON on stdout")


def origin(text: str) -> str:
    """--allow-origin: scheme://host[:port] as a browser sends it (or "null", a page opened from a file); anything
    else could never match, and the user would only see the page refused later."""
    from urllib.parse import urlsplit

    text = text.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        parts = None
    if text.lower() == "null" or (parts and parts.scheme in ("http", "https") and parts.hostname
                                  and parts.path in ("", "/") and not (parts.query or parts.fragment)):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not a web page origin: scheme://host[:port], such as "
                                     "https://game.example or http://localhost:8080")


def _allow_origin(p) -> None:
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN", type=origin,
                   help="a web page origin (https://game.example) whose WebSocket connections are accepted; "
                        "repeat for several. Browsers on other origins are refused (native clients send none)")


def add_parsers(sub) -> None:
    s = sub.add_parser("stream", help="animate audio live and send the curves (Live Link, VMC, OSC, WebSocket)",
                       description="Stream a file at real-time pace, or the microphone, to live receivers.")
    s.add_argument("input", nargs="?", help="audio file played at real-time pace")
    s.add_argument("--mic", action="store_true", help="the default microphone instead of a file (needs PortAudio: "
                                                     "apt install libportaudio2)")
    s.add_argument("--token", type=token, help="shared token WebSocket clients must present (?token=...)")
    s.add_argument("--max-clients", type=COUNT, default=16,
                   help="with --to ws://: viewers at once (default 16), as serve's --character-clients")
    _allow_origin(s)
    _common(s)
    s.set_defaults(func=cmd_stream)
    v = sub.add_parser("serve", help="WebSocket server: clients send PCM and control, everyone gets the frames",
                       description="Serve live animation over WebSocket (schema: docs/LIVE.md).")
    v.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    v.add_argument("--port", type=PORT, default=8765, help="port to listen on (default 8765; 0: any free port)")
    v.add_argument("--token", type=token,
                   help="shared token clients must present (?token=... or Authorization: Bearer)")
    v.add_argument("--max-characters", type=COUNT, default=16,
                   help="characters at once (default 16); clients name theirs with ?character=NAME")
    v.add_argument("--max-clients", type=COUNT, default=64, help="WebSocket clients at once (default 64)")
    v.add_argument("--character-clients", type=COUNT, default=16,
                   help="clients of one character at once (default 16)")
    _allow_origin(v)
    _common(v)
    v.set_defaults(func=cmd_serve)


def _setup(args, serve: bool = False):
    """(make_session(character name) -> LiveSession, the ws:// target or None): one network for all characters."""
    from emoface.animator import Animator
    from emoface.live.animator import PhoneticStreamer, StreamingAnimator
    from emoface.live.session import LiveSession
    from emoface.live.sinks import parse_target
    from emoface.live.stage import character_seed
    from emoface.rigs import load_rig

    rig = args.rig
    load_rig(rig)  # an unknown rig is an error before anything starts
    ws, udp = [], []
    for url in args.to:
        target = parse_target(url, rig)
        if "character" in target[3] and not serve:
            raise InputError(url, "character= is for emoface serve (a stream has one character)")
        (ws if target[0] == "ws" else udp).append((url, target))
    if len(ws) > 1:
        raise InputError(ws[1][0], "one ws:// server per stream")
    emotion = EmotionTrack.constant(parse_emotion(args.emotion, args.intensity))
    options = dict(fps=args.fps, seed=args.seed, blinks=args.blinks, gaze=args.gaze, head=args.head,
                   accents=args.accents, articulation=args.articulation)
    engine = args.engine
    checkpoint = args.checkpoint or (_live_checkpoint() if engine == "neural" else None)
    try:
        animator = Animator(engine=engine, checkpoint=checkpoint, **options)
    except InputError as exc:
        if engine != "neural" or args.checkpoint:
            raise
        log.warning("%s; streaming with the phonetic engine instead (about 2.4 s behind the audio)", exc)
        engine = "phonetic"
        animator = Animator(engine=engine, **options)
    live = StreamingAnimator if engine == "neural" else PhoneticStreamer
    step = args.frames_per_step or default_step(args.fps)

    def make_session(name: str) -> LiveSession:
        sinks = [sink for sink in (_sink_for(url, target, name, rig) for url, target in udp) if sink is not None]
        streamer = live(animator, emotion, rig="livelink", seed=character_seed(args.seed, name))
        return LiveSession(streamer, sinks, rig, step=step)

    return make_session, (ws[0][1] if ws else None)


def _live_checkpoint():
    """The low-latency network when it is installed (docs/LIVE.md), else the default one."""
    from emoface.model import checkpoints

    return checkpoints.LIVE if checkpoints.LIVE.is_file() else None


def _sink_for(url: str, target, name: str, rig: str):
    """A character's UDP sink for a --to target, or None: `?character=` sends one character only; otherwise
    Live Link carries every character, each under its own subject (`default` under the URL's), and VMC/OSC
    (one avatar per port) the default character."""
    from emoface.live.sinks import open_sink
    from emoface.live.stage import DEFAULT_CHARACTER

    scheme, options = target[0], target[3]
    if "character" in options:
        return open_sink(url, rig) if options["character"] == name else None
    if scheme == "livelink":
        return open_sink(url, rig, subject=None if name == DEFAULT_CHARACTER else name)
    return open_sink(url, rig) if name == DEFAULT_CHARACTER else None


def _hub(runner, ws_target, args, audio: bool):
    from emoface.live.server import WebSocketHub

    if ws_target is None:
        return None
    _, host, port, options = ws_target
    limits = {k: getattr(args, k) for k in ("max_clients", "character_clients") if hasattr(args, k)}
    if getattr(args, "command", None) == "stream":  # one character, every viewer its client
        limits["character_clients"] = limits["max_clients"]
    return WebSocketHub(runner, host, port, options.get("token") or args.token, audio, options.get("rig"),
                        allow_origins=args.allow_origin, **limits)


def _run(runner, source, hub, args) -> int:
    """runner: a LiveSession playing `source`, or the Stage of a server's characters."""
    import asyncio  # here, not at the top: every command's parser comes from this module, bakes' too
    import signal

    from emoface.live.server import run_with_hub
    from emoface.live.stage import Stage

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
                pass
        return await run_with_hub(runner, source, hub, stop)

    from threadpoolctl import threadpool_limits

    try:
        # a live step's products are a few rows (a server's characters together, a few dozen): a second BLAS
        # thread only spins, taking a core from the rest of the machine for nothing (8 characters: 1.6 cores)
        with threadpool_limits(1, user_api="blas"):
            asyncio.run(main())
    except OSError as exc:  # the port is taken, the address is not ours
        where = f"ws://{hub.host}:{hub.port}" if hub else "stream"
        raise InputError(where, f"cannot serve: {exc.strerror or exc}") from None
    finally:
        named = [(f"{c.name}: ", c.session) for c in runner.characters.values()] if isinstance(runner, Stage) \
            else [("", runner)]  # on a stage every character sends to the targets: each line says whose
        sessions = [session for _, session in named]
        for session in sessions:
            for sink in session.sinks:
                sink.close()
        if hasattr(source, "close"):
            source.close()
    fps = sessions[0].fps if sessions else args.fps
    stats = runner.total() if isinstance(runner, Stage) else runner.stats
    summary = {**stats.summary(fps), "sinks": [who + s.stats() for who, session in named for s in session.sinks]}
    if isinstance(runner, Stage):  # closed characters too: the per-character figures add up to the totals
        summary["sinks"] = runner.sink_lines()
        summary["characters"] = {name: s.summary(fps) for name, s in runner.per_character().items()}
    if hub is not None:
        summary["ws_clients_dropped"] = hub.dropped
        summary["sinks"].append(hub.stats())
    if args.stats_json:
        print(json.dumps(summary))
    print(f"emoface: {stats.line(fps)}", file=sys.stderr)
    for line in summary["sinks"]:
        print(f"emoface:   {line}", file=sys.stderr)
    return 0


def cmd_stream(args) -> int:
    from emoface.live.session import FileSource

    if bool(args.input) == bool(args.mic):
        raise InputError("stream", "give an audio file or --mic (one of them)")
    if not args.to:
        raise InputError("stream", "say where the curves go: --to livelink://127.0.0.1:11111 (and/or vmc://, "
                                   "osc://, ws://)")
    make_session, ws_target = _setup(args)
    session = make_session("default")
    if args.allow_origin and ws_target is None:
        raise InputError("--allow-origin", "is for a WebSocket server: add --to ws://host:port")
    if args.mic:
        from emoface.live.mic import MicSource

        source = MicSource()
    else:
        source = FileSource(args.input)
    return _run(session, source, _hub(session, ws_target, args, audio=bool(args.mic)), args)


def cmd_serve(args) -> int:
    from emoface.live.sinks import parse_target

    url = f"ws://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}"
    if any(t.startswith("ws:") for t in args.to):
        raise InputError("--to", "serve is the WebSocket server itself; set its address with --host/--port")
    from emoface.live.stage import DEFAULT_CHARACTER, Stage

    make_session, _ = _setup(args, serve=True)
    # `default` goes out on a livelink:// target under the URL's subject: a character of that name would share it
    taken = {}
    for to in args.to:
        scheme, _, _, options = parse_target(to, args.rig)
        subject = options.get("subject") or "emoface"
        if scheme == "livelink" and "character" not in options and subject != DEFAULT_CHARACTER:
            taken[subject] = f"{to} sends `default` as that Live Link subject"
    stage = Stage(make_session, max_characters=args.max_characters, taken=taken)
    stage.join(DEFAULT_CHARACTER)  # always there: the UDP targets' character, and clients' that name none
    hub = _hub(stage, parse_target(url, args.rig), args, audio=True)
    return _run(stage, None, hub, args)
