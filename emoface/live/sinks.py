"""Where live frames go: `livelink://`, `vmc://`, `osc://` (UDP) — several at once, each on its own rig.

A target is a URL; query parameters set options: `livelink://127.0.0.1:11111?subject=NPC1`,
`vmc://127.0.0.1:39539?rig=arkit`, `osc://127.0.0.1:9000?rig=metahuman`; on a server of several
characters, `?character=NAME` sends only that character's frames there (emoface.live.commands). UDP never blocks and an
unreachable target never stops the stream: send errors are counted and reported once.
(`ws://` targets are WebSocket servers, emoface.live.server.)
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

import numpy as np

from emoface.animation import Animation
from emoface.errors import InputError
from emoface.live import livelink, osc
from emoface.rigs import CANONICAL_RIG, canonical_names, load_rig, retarget

log = logging.getLogger("emoface")
DEFAULT_PORTS = {"livelink": livelink.DEFAULT_PORT, "vmc": 39539, "osc": 9000, "ws": 8765}


def finite(values) -> np.ndarray:
    """Values safe to send: NaN and infinities become 0 (the rest pose), whatever produced them."""
    values = np.asarray(values, np.float32)
    return values if np.isfinite(values).all() else np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass
class Frame:
    """One frame on its way out; every sink reads it through on(), which only ever gives finite values."""
    index: int
    time: float  # audio time (s) of this frame
    canonical: np.ndarray  # the 61 canonical curves
    _on: dict = field(default_factory=dict)

    def __post_init__(self):
        self.canonical = finite(self.canonical)

    def on(self, rig: str) -> np.ndarray:
        """The values on a rig (a built-in name or a profile path), retargeted once per frame and rig."""
        if rig not in self._on:
            anim = Animation(canonical_names(), 1.0, self.canonical[None], CANONICAL_RIG)
            self._on[rig] = finite(retarget(anim, _rig(rig)).values[0])
        return self._on[rig]


@lru_cache(maxsize=32)
def _rig(name: str):
    return load_rig(name)


@dataclass
class StreamInfo:
    """What a receiver needs to read frames: sent at the start and whenever it changes."""
    stream_id: str
    rig: str
    names: tuple
    fps: float
    audio_t0: float  # wall-clock time (Unix s) of audio time 0
    emotion: str
    emotion_weights: list


class UdpTarget:
    def __init__(self, host: str, port: int, what: str):
        # the name is resolved once, here: a socket given a name looks it up again on every send, on the thread
        # that sends every target's frames, and a name that does not resolve is a typo to say now, not a warning
        try:
            family, _, _, _, self.address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except socket.gaierror as exc:
            raise InputError(_short(what), f"cannot resolve the host {host!r} ({exc.strerror}): give an IP address "
                                           "or a name this machine resolves") from None
        self.what = what
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sent = self.errors = 0
        try:  # connected, the socket hears ICMP "port unreachable" and we can say so
            self.sock.connect(self.address)
            self.connected = True
        except OSError as exc:
            log.warning("%s: %s; sending anyway", what, exc.strerror or exc)
            self.connected = False

    def send(self, data: bytes) -> None:
        try:
            if self.connected:
                self.sock.send(data)
            else:
                self.sock.sendto(data, self.address)
            self.sent += 1
        except OSError as exc:  # unreachable, refused (ICMP from an earlier send), buffer full
            if not self.errors:
                log.warning("%s: cannot send (%s); going on", self.what, exc.strerror or exc)
            self.errors += 1

    def close(self) -> None:
        self.sock.close()


class Sink:
    rig: str

    def header(self, info: StreamInfo) -> None:
        pass

    def frame(self, frame: Frame) -> None:
        raise NotImplementedError

    def state(self, state: str) -> None:
        """'speaking' or 'idle', when it changes."""

    def close(self) -> None:
        pass

    def stats(self) -> str:
        return ""


class _UdpSink(Sink):
    def __init__(self, url: str, host: str, port: int):
        self.url = url
        self.udp = UdpTarget(host, port, url)

    def close(self) -> None:
        self.udp.close()

    def stats(self) -> str:
        return f"{self.url}: {self.udp.sent} datagrams" + (f", {self.udp.errors} send errors" if self.udp.errors else "")


class LiveLinkSink(_UdpSink):
    """Live Link Face v6: a stock Unreal Live Link Face source (ARKit) receives it, no plugin needed."""

    rig = "livelink"

    def __init__(self, url, host, port, subject: str = "emoface", device: str = "emoface", fold_close: bool = False):
        super().__init__(url, host, port)
        self.subject, self.device, self.fps = subject, device, 60.0
        names = canonical_names()  # the Live Link rig is the canonical one
        self.fold = (names.index("JawOpen"), names.index("MouthClose")) if fold_close else None

    def header(self, info: StreamInfo) -> None:
        self.fps = info.fps

    def frame(self, frame: Frame) -> None:
        values = frame.on(self.rig)
        if self.fold:  # mouthclose=fold: for receivers that ignore MouthClose, the jaw opens as far as the lips do
            jaw, close = self.fold
            values = values.copy()
            values[jaw], values[close] = max(values[jaw] - values[close], 0.0), 0.0
        self.udp.send(livelink.packet(values, self.subject, self.device, frame.index, 0.0, self.fps))


ROTATIONS = ("Yaw", "Pitch", "Roll")  # a curve named so that turns both ways is a head or eye rotation


class VMCSink(_UdpSink):
    """VMC blend shapes (perfect-sync ARKit names by default) for VSeeFace / Warudo-style receivers."""

    def __init__(self, url, host, port, rig: str = "livelink"):
        super().__init__(url, host, port)
        self.rig = rig
        profile = load_rig(rig)
        names = profile.names
        # blend shapes only: a head or eye rotation (a name for one, with a range that turns both ways) is not one,
        # a user's 0-1 shape that happens to be called LipRoll is
        self.keep = [i for i, (n, lo) in enumerate(zip(names, profile.lo)) if not (n.endswith(ROTATIONS) and lo < 0)]
        self.names = [names[i] for i in self.keep]

    def frame(self, frame: Frame) -> None:
        values = np.asarray(frame.on(self.rig))[self.keep]
        for bundle in osc.vmc_bundles(self.names, values, frame.time):
            self.udp.send(bundle)


class OSCSink(_UdpSink):
    """emoface's own OSC addresses (emoface.live.osc): names, then one message per frame."""

    def __init__(self, url, host, port, rig: str):
        super().__init__(url, host, port)
        self.rig = rig
        profile = load_rig(rig)  # once: a profile's file is not read again every second
        self.names = osc.names_messages(profile.name, profile.names)  # its name, never its path on this machine
        self.info = None
        self.since_names = 0

    def header(self, info: StreamInfo) -> None:
        self.info = info
        self._announce()

    def _announce(self) -> None:
        self.since_names = 0
        for m in self.names:
            self.udp.send(m)
        if self.info is not None:
            self.udp.send(osc.emotion_message(self.info.emotion, self.info.emotion_weights))

    def frame(self, frame: Frame) -> None:
        self.since_names += 1
        if self.info is not None and self.since_names >= self.info.fps:  # once a second for late joiners
            self._announce()
        self.udp.send(osc.frame_message(frame.index, frame.time, frame.on(self.rig)))

    def state(self, state: str) -> None:
        self.udp.send(osc.state_message(state))


def _short(url: str) -> str:
    """The URL as an error line names it: whole when short, its start when very long."""
    return url if len(url) <= 80 else url[:77] + "..."


def parse_target(url: str, default_rig: str):
    """(scheme, host, port, options) of a --to URL, or an InputError naming it."""
    where = _short(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # a malformed [IPv6] host
        raise InputError(where, f"not a usable URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InputError(where, f"unknown target (use {', '.join(s + '://host:port' for s in DEFAULT_PORTS)})")
    try:
        port = parts.port
    except ValueError:
        raise InputError(where, "port must be a number 0-65535") from None
    if port is None:
        port = DEFAULT_PORTS[scheme]
    elif port == 0 and scheme != "ws":  # ws:// is served here: 0 picks any free port; UDP goes to a receiver
        raise InputError(where, "port 0 is nowhere to send to: give the receiver's port (1-65535)")
    if scheme != "ws" and not parts.hostname:  # ws:// is served here; UDP needs the receiver's address
        raise InputError(where, f"no host: give the receiver's address, e.g. {scheme}://127.0.0.1:{port}")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if scheme == "ws" and not (parse_qs(parts.query, keep_blank_values=True).get("token") or ["x"])[-1].strip():
        raise InputError(where, "token= is empty: give a non-empty token, or leave token= out to accept every "
                                "client")
    known = {"livelink": {"subject", "device", "character", "mouthclose"}, "vmc": {"rig", "character"},
             "osc": {"rig", "character"}, "ws": {"rig", "token"}}[scheme]
    if set(options) - known:
        raise InputError(where, f"unknown option {sorted(set(options) - known)[0]!r} "
                                f"(known: {', '.join(sorted(known))})")
    for key in ("subject", "device") if scheme == "livelink" else ():
        size = len(options.get(key, "").encode("utf-8"))
        if size > livelink.MAX_STRING:
            raise InputError(where, f"{key} is {size} bytes; Live Link Face names are at most {livelink.MAX_STRING} "
                                    "(the receiver's packet buffer is about 1.3 KB)")
    if options.get("mouthclose", "send") not in ("send", "fold"):
        raise InputError(where, f"mouthclose={options['mouthclose'][:20]!r}: use send (the default) or fold (into "
                                "JawOpen, for receivers that ignore MouthClose)")
    if "character" in options:
        from emoface.live.stage import check_name

        try:
            check_name(options["character"])
        except ValueError as exc:
            raise InputError(where, str(exc)) from None
    if "rig" in options:
        try:
            load_rig(options["rig"])  # an unknown rig is an error now, not mid-stream
        except InputError as exc:
            raise InputError(where, f"rig={exc}") from None
    options.setdefault("rig", default_rig if scheme in ("osc", "ws") else "livelink")
    if scheme == "vmc":  # VMC blend shapes are weights 0-1 on every receiver
        profile = load_rig(options["rig"])
        both = [n for n, lo in zip(profile.names, profile.lo) if lo < 0 and not n.endswith(ROTATIONS)]
        if both:
            raise InputError(where, f"rig={profile.name} has controls that go both ways ({both[0]}: "
                                    f"{len(both)} of them); VMC blend shapes are 0-1: use rig=metahuman-expressions, "
                                    "arkit or livelink")
    return scheme, parts.hostname or "127.0.0.1", port, options


def open_sink(url: str, default_rig: str, subject: str | None = None) -> Sink:
    """A UDP sink for a --to URL (ws:// is served by emoface.live.server); subject: a Live Link subject
    instead of the URL's (a character's own name on a server)."""
    scheme, host, port, options = parse_target(url, default_rig)
    try:
        if scheme == "livelink":
            return LiveLinkSink(url, host, port, subject or options.get("subject", "emoface"),
                                options.get("device", "emoface"), options.get("mouthclose") == "fold")
        if scheme == "vmc":
            return VMCSink(url, host, port, options["rig"])
        if scheme == "osc":
            return OSCSink(url, host, port, options["rig"])
    except OSError as exc:
        raise InputError(_short(url), f"cannot open: {exc.strerror or exc}") from None
    raise InputError(_short(url), "ws:// targets are WebSocket servers: use them with emoface stream or serve")
