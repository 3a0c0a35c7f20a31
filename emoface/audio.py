"""Audio in: any common file -> mono 16 kHz float32, validated before any work is done.

libsndfile reads WAV, FLAC, OGG/Opus, MP3 and AIFF a block at a time (a long 96 kHz stereo file is never in
memory whole, only its 16 kHz mono result); what it cannot read (m4a/AAC, mp4, mov, webm, wma...) is decoded
by ffmpeg straight to 16 kHz mono. Either way a file whose data ends well before its header says (an MP3's
Xing/Info length included) is refused as truncated, as is an Ogg file without its end-of-stream page, and
every failure is one InputError line naming the file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from emoface.errors import InputError, from_os

SAMPLE_RATE = 16000
MIN_RATE, MAX_RATE = 8000, 96000
DEFAULT_MAX_DURATION_S = 30 * 60.0
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS: below this the line is treated as silent
# Containers and codecs libsndfile does not read; ffmpeg decodes them.
FFMPEG_SUFFIXES = (".m4a", ".m4b", ".aac", ".mp4", ".m4v", ".mov", ".mkv", ".mka", ".webm", ".wma", ".ac3",
                   ".amr", ".3gp")
# what a folder bake or a preview takes as audio (libsndfile's formats, then ffmpeg's)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".aifc", ".caf", ".au", ".w64",
                  ".opus") + FFMPEG_SUFFIXES
READ_BLOCK = 1 << 18  # frames per read (5.5 s at 48 kHz)
# Data shorter than the header says by more than this is a truncated file (less: codec padding, a warning);
# a container's duration as ffmpeg reports it is approximate, so there 1% of it is allowed too.
TRUNCATED_S, CONTAINER_SLACK = 0.1, 0.01
PADDING_S = 0.1  # most decoded audio past a container's length that is taken for a codec's end padding
# An MP3 decoder may pad or trim a few codec frames against the header's length (no Xing/Info tag: an estimate).
MP3_SLACK_FRAMES = 4
MPEG_FORMATS = ("MP3", "MPEG")  # libsndfile's name for MPEG audio (soundfile 0.13+ says "MP3")

log = logging.getLogger("emoface")


@dataclass
class Audio:
    samples: np.ndarray  # float32 mono at SAMPLE_RATE
    source: str
    original_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def is_silent(self) -> bool:
        return is_silent(self.samples)


def is_silent(samples: np.ndarray) -> bool:
    """The one definition of a silent line: peak below SILENCE_PEAK (-60 dBFS). max and -min rather than
    max(abs(x)): no temporary copy of a long line."""
    return not len(samples) or max(float(np.max(samples)), -float(np.min(samples))) < SILENCE_PEAK


def load_audio(path, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> Audio:
    """Decode, downmix and resample; raise InputError naming the file for anything unusable."""
    path = Path(path)
    try:
        found, folder = path.exists(), path.is_dir()
    except OSError as exc:
        raise from_os(exc, path) from None
    if not found:
        raise InputError(path, "file not found")
    if folder:
        raise InputError(path, "is a directory, not an audio file")
    _check_regular(path)
    if path.suffix.lower() in FFMPEG_SUFFIXES:
        samples, rate = _decode_ffmpeg(path, max_duration_s)
    else:
        try:
            samples, rate = _decode_sndfile(path, max_duration_s)
        except _SndfileCannot as exc:
            # libsndfile does not know the format (AAC named .wav, Ogg FLAC...): ffmpeg may, whatever the name
            samples, rate = _ffmpeg_or(path, max_duration_s, exc)
    if not len(samples):
        raise InputError(path, "audio is empty (zero length)")
    return Audio(samples, str(path), rate)


def load_track(path, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> Audio:
    """The sound of a video, whatever its container (ffmpeg decodes it)."""
    path = Path(path)
    _check_regular(path)
    try:
        # a container's duration is its longest stream's, often the picture's: no reason to call the sound cut short
        samples, rate = _decode_ffmpeg(path, max_duration_s, container_is_sound=False)
    except InputError as exc:
        if "no audio stream" in str(exc):
            raise InputError(path, "has no audio track") from None
        raise
    if not len(samples):
        raise InputError(path, "audio track is empty (zero length)")
    return Audio(samples, str(path), rate)


def _check_regular(path: Path) -> None:
    """A named pipe, device or socket would block the decoder forever (or read a stream that never ends)."""
    try:
        special = path.exists() and not path.is_file()
    except OSError as exc:  # a name too long, a folder that may not be entered
        raise from_os(exc, path) from None
    if special:
        raise InputError(path, "is not a regular file (a named pipe, device or socket?); give an audio file")


class _SndfileCannot(Exception):
    """libsndfile could not open or decode a file from its start: the InputError to raise if ffmpeg cannot either."""

    def __init__(self, error: InputError, opened: bool = False):
        super().__init__(str(error))
        self.error, self.opened = error, opened


def _ffmpeg_or(path: Path, max_duration_s: float, cannot: _SndfileCannot) -> tuple[np.ndarray, int]:
    """ffmpeg's decode of a file libsndfile cannot read; if ffmpeg cannot read it either (or is missing), the
    libsndfile reason, which sniffs text files and the like. A file libsndfile knew but could not decode (a
    FLAC cut or damaged in its first block) keeps libsndfile's reason for any refusal."""
    if ffmpeg_exe() is None:
        raise cannot.error
    try:
        return _decode_ffmpeg(path, max_duration_s)
    except InputError as exc:
        if cannot.opened or exc.problem.startswith("not a readable audio file"):
            raise cannot.error from None
        raise


def from_array(data: np.ndarray, rate: int, source: str = "<array>", original_rate: int | None = None) -> Audio:
    """Samples already in memory ([n] or [n, channels]) -> validated mono 16 kHz Audio."""
    data = np.asarray(data, dtype=np.float32)
    mono = data.mean(axis=1) if data.ndim == 2 else data
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    audio = Audio(np.ascontiguousarray(mono, dtype=np.float32), source, original_rate or rate)
    if len(audio.samples) == 0:
        raise InputError(source, "audio is empty (zero length)")
    return audio


def pcm16(samples: np.ndarray) -> bytes:
    """16-bit little-endian PCM, what pocketsphinx consumes."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


# --- libsndfile ---------------------------------------------------------------------------------------------

def native_path(path: Path) -> str | bytes:
    """The path as libsndfile opens it: on POSIX the OS's own bytes, so a name that is not valid UTF-8 (from a
    Latin-1 zip, an old share) opens as Python lists it; soundfile would encode the str strictly and fail."""
    return str(path) if os.name == "nt" else os.fsencode(path)


def _check_header(path: Path, max_duration_s: float) -> tuple[sf._SoundFileInfo, bool]:
    """(libsndfile's view of the file, whether its length is declared rather than guessed: an MP3 without a
    Xing/Info/VBRI header has only an estimate, checked while decoding instead)."""
    try:
        with quiet_stderr():  # libsndfile's mpg123 prints "Note: Illegal Audio-MPEG-Header" lines itself
            info = sf.info(native_path(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise _SndfileCannot(InputError(path, f"not a readable audio file ({_why_unreadable(path, exc)})")) from None
    _check_rate(path, info.samplerate)
    if info.frames == 0:
        if info.format == "OGG" and not _ogg_ends_cleanly(path):
            raise InputError(path, "the Ogg stream ends before its first whole audio page (truncated file?)")
        raise InputError(path, "audio is empty (zero length)")
    declared = info.format not in MPEG_FORMATS or _mp3_declares_length(path)
    if declared:
        _check_length(path, info.frames / info.samplerate, max_duration_s)
    return info, declared


def _decode_sndfile(path: Path, max_duration_s: float, channel: int | None = None) -> tuple[np.ndarray, int]:
    """Read, downmix (or take `channel` alone) and resample a block at a time into one 16 kHz array. Channels
    that cancel in the mix (one polarity-inverted) are read again, the loudest one alone."""
    info, declared = _check_header(path, max_duration_s)
    if not declared and ffmpeg_exe():
        # libsndfile stops at its estimated length, which cuts a VBR file without a Xing tag short; ffmpeg
        # reads to the stream's real end
        return _decode_ffmpeg(path, max_duration_s)
    rate = info.samplerate
    out = _Growing(int(info.frames * SAMPLE_RATE / rate) + 64 if info.frames > 0 else SAMPLE_RATE * 60)
    stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ") if rate != SAMPLE_RATE else None
    n_read, mpeg = 0, info.format in MPEG_FORMATS
    mix_energy, channel_energy = 0.0, np.zeros(info.channels if channel is None and info.channels > 1 else 0)
    try:
        with quiet_stderr(mpeg), sf.SoundFile(native_path(path)) as f:
            # f.read, not f.blocks: blocks() hands back a whole block even when the decoder stops early (a cut
            # MP3), the rest of it uninitialised memory, so a truncated file used to bake as if whole
            while len(block := f.read(READ_BLOCK, dtype="float32", always_2d=True)):
                n_read += len(block)
                _check_length(path, n_read / rate, max_duration_s)
                if not np.all(np.isfinite(block)):
                    raise InputError(path, "audio data contains NaN or infinite samples")
                if channel is not None:
                    mono = block[:, channel]
                elif block.shape[1] > 1:
                    mono = block.mean(axis=1)
                    mix_energy += float(np.dot(mono, mono))
                    channel_energy += np.einsum("ij,ij->j", block, block, dtype=np.float64)
                else:
                    mono = block[:, 0]
                out.add(stream.resample_chunk(mono) if stream else mono)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        cut = f"; its header declares {info.frames / rate:.2f} s: a truncated or damaged file?" \
            if n_read < info.frames else ""
        error = InputError(path, f"corrupt or unreadable audio data ({_reason(exc)}{cut})")
        if n_read == 0:  # not one block decoded (Ogg FLAC, a codec this libsndfile lacks): ffmpeg may read it
            raise _SndfileCannot(error, opened=True) from None
        raise error from None
    loudest = _cancelling_channels(path, mix_energy, channel_energy)
    if loudest is not None:
        return _decode_sndfile(path, max_duration_s, channel=loudest)
    if stream:
        out.add(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    if n_read and mpeg:
        if declared:  # without a Xing/Info/VBRI header the length is a guess: nothing to check
            frame = 1152 if rate >= 32000 else 576  # samples per MPEG-1 / MPEG-2 and 2.5 layer III frame
            _check_complete(path, n_read / rate, info.frames / rate, slack=MP3_SLACK_FRAMES * frame / info.frames,
                            warn_s=frame / rate)
    elif n_read and info.format == "OGG" and not _ogg_ends_cleanly(path):  # no length in the header to compare
        raise InputError(path, f"audio data ends at {n_read / rate:.2f} s without the stream's end mark "
                               "(truncated file?)")
    elif n_read:
        _check_complete(path, n_read / rate, max(info.frames, _declared_frames(path) or 0) / rate)
    return out.result(), rate


def _declared_frames(path: Path) -> int | None:
    """The frame count a WAV or AIFF header claims. libsndfile quietly shortens it to the data present,
    which is how a cut-off file used to bake a fraction of the line without a word. A WAV whose header gives no
    length (sizes 0xFFFFFFFF) gets a warning: it may be a file still being written."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    little = head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE"
    if not (little or (head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"))):
        return None
    order, pos, block_align, size64 = ("<" if little else ">"), 12, 0, None
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], struct.unpack(order + "I", head[pos + 4:pos + 8])[0]
        body = head[pos + 8:pos + 8 + min(size, 32)]
        if little and cid == b"ds64" and len(body) >= 16:  # RF64: the 64-bit sizes
            size64 = struct.unpack("<Q", body[8:16])[0]
        elif little and cid == b"fmt " and len(body) >= 14:
            tag, block_align = struct.unpack("<H", body[:2])[0], struct.unpack("<H", body[12:14])[0]
            if tag not in (1, 3, 6, 7, 0xFFFE):  # compressed WAV: block_align counts codec blocks, not frames
                return None
        elif little and cid == b"data":
            if size == 0xFFFFFFFF and not size64:  # a streaming header: a recorder or a pipe, or an export under way
                log.warning("%s: the WAV header gives no length (written as a stream, or still being written?): "
                            "baking the audio the file holds now", path)
            size = size64 if size == 0xFFFFFFFF and size64 else size
            return size // block_align if block_align and size not in (0, 0xFFFFFFFF) else None
        elif not little and cid == b"COMM" and len(body) >= 6:
            return struct.unpack(">I", body[2:6])[0] or None
        pos += 8 + size + (size & 1)
    return None


def _mp3_declares_length(path: Path) -> bool:
    """Whether an MP3's first frame carries a Xing/Info (LAME, ffmpeg) or VBRI header with the frame count.
    Without one, libsndfile's length is an estimate from the file size and the first frame's bitrate, which
    a VBR file can miss several times over, so a decoded length short of it proves nothing."""
    try:
        with open(path, "rb") as f:
            start, head = 0, f.read(10)
            while len(head) == 10 and head[:3] == b"ID3":  # ID3v2 tags: a synchsafe size, maybe a footer
                size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | head[9] & 0x7F
                start += 10 + size + (10 if head[5] & 0x10 else 0)
                f.seek(start)
                head = f.read(10)
            f.seek(start)
            data = f.read(1 << 16)
    except OSError:
        return False
    i = data.find(b"\xff")
    while 0 <= i < len(data) - 4:
        b1, b2, b3 = data[i + 1], data[i + 2], data[i + 3]
        version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3  # version 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        if b1 & 0xE0 == 0xE0 and version != 1 and layer != 0 and b2 >> 4 != 15 and (b2 >> 2) & 3 != 3:
            mono = b3 >> 6 == 3
            xing = i + 4 + ((17 if mono else 32) if version == 3 else (9 if mono else 17))  # after the side info
            if data[xing:xing + 4] in (b"Xing", b"Info"):
                return len(data) > xing + 7 and bool(data[xing + 7] & 1)  # flag 1: the frame count is there
            return data[i + 36:i + 40] == b"VBRI"
        i = data.find(b"\xff", i + 1)
    return False


def _ogg_ends_cleanly(path: Path) -> bool:
    """Whether an Ogg file (Vorbis, Opus, FLAC) ends with a whole page flagged end-of-stream, as every encoder
    writes it. Ogg declares no length up front, so libsndfile takes a cut file's last granule as its length."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 65307 - 4096))  # a page is at most 65307 bytes
            tail = f.read()
    except OSError:
        return True
    page = tail.rfind(b"OggS\x00")
    if page < 0 or page + 27 > len(tail):
        return page < 0  # no page header in the tail: not something to judge
    segments = tail[page + 27:page + 27 + tail[page + 26]]
    whole = len(segments) == tail[page + 26] and page + 27 + len(segments) + sum(segments) <= len(tail)
    return whole and bool(tail[page + 5] & 4)


class _Growing:
    """A float32 buffer filled block by block (sized from the header, grown if that was short): the
    decoded line is held once, not as a list of blocks plus their concatenation."""

    def __init__(self, capacity: int):
        self.buf, self.n = np.empty(max(capacity, 1), np.float32), 0

    def add(self, x: np.ndarray) -> None:
        if self.n + len(x) > len(self.buf):
            self.buf = np.resize(self.buf, max(2 * len(self.buf), self.n + len(x)))
        self.buf[self.n:self.n + len(x)] = x
        self.n += len(x)

    def result(self) -> np.ndarray:
        """The filled part: a view when the buffer is nearly full (a copy would double the peak)."""
        return self.buf[:self.n] if self.n >= 0.95 * len(self.buf) else self.buf[:self.n].copy()


_STDERR_LOCK = threading.Lock()


@contextmanager
def quiet_stderr(active: bool = True):
    """Hold back what C libraries write straight to file descriptor 2 (mpg123's "Note:" lines, LiteRT's
    "INFO:"), so a bad file gets emoface's one line; what was held back goes to the debug log."""
    if not active:
        yield
        return
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            held = sink.read(4096).decode(errors="replace").strip()
            if held:
                log.debug("decoder said: %s", held)


def _why_unreadable(path: Path, exc: Exception) -> str:
    """The real reason, where libsndfile's is wrong (it answers a text file named .mp3 with "File does not
    exist or is not a regular file")."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as err:
        return err.strerror or "cannot be opened"
    if head and Path(path).suffix.lower() in (".csv", ".tsv") and _looks_like_text(head):
        return "it is a text file, not audio; a dialogue sheet is read with `emoface bake --manifest`"
    sniffed = _sniff(head)
    if sniffed:
        return sniffed
    if head[:4] == b"OggS" and not _ogg_ends_cleanly(path):
        return "the Ogg stream ends inside its headers: a truncated file?"
    if getattr(exc, "code", None) == 7:  # SFE_BAD_FILE... for a file that is there: the decoder found no audio
        return "format not recognised: no audio frames found"
    return _reason(exc)


def _sniff(head: bytes) -> str | None:
    """A reason that shows from the first bytes: empty, a few bytes, or text."""
    if len(head) < 32:
        return f"only {len(head)} bytes, too short to be audio"
    return "it is a text file, not audio" if _looks_like_text(head) else None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the 4 KB boundary
            return False
        text = head[:err.start].decode("utf-8")
    return sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * max(len(text), 1)


def _reason(exc: Exception) -> str:
    """libsndfile's message without the path it repeats ("Error opening 'x': Format not recognised.")."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.split("': ", 1)[-1].rstrip(".")


# --- ffmpeg -------------------------------------------------------------------------------------------------

def ffmpeg_exe() -> str | None:
    """The system ffmpeg (the Makefile installs it), else imageio-ffmpeg's bundled binary (a dependency)."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def _ffmpeg_url(path: Path) -> str:
    """The path as ffmpeg must see it: a file, even when its name starts like a protocol ("concat:a.m4a",
    "pipe:1.m4a", "subfile:x.m4a" would otherwise be opened as those)."""
    return "file:" + str(path)


def _run_ffmpeg(exe: str, path: Path, max_duration_s: float, channels: int = 1) -> tuple[np.ndarray, str, int]:
    """(the first audio stream as 16 kHz float32, `channels` interleaved; ffmpeg's log; its exit code)."""
    cmd = [exe, "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", _ffmpeg_url(path), "-map", "0:a:0",
           "-vn", "-ac", str(channels), "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    out = _Growing(SAMPLE_RATE * 60 * channels)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        try:
            pending = b""
            while chunk := proc.stdout.read(READ_BLOCK * 4):
                chunk = pending + chunk
                usable = len(chunk) - len(chunk) % 4
                out.add(np.frombuffer(chunk[:usable], "<f4"))
                pending = chunk[usable:]
                _check_length(path, out.n / channels / SAMPLE_RATE, max_duration_s)
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        err.seek(0)
        text = err.read().decode(errors="replace")
    return out.result(), text, code


def _decode_ffmpeg(path: Path, max_duration_s: float, container_is_sound: bool = True) -> tuple[np.ndarray, int]:
    """ffmpeg decodes the first audio stream straight to 16 kHz mono float32 on a pipe, read a block at a
    time; its complaints become one line. A sound shorter than its file's picture is the line; a sound that
    starts well after the picture gets that much silence first, so frame 0 is the picture's first frame."""
    exe = ffmpeg_exe()
    if exe is None:
        raise InputError(path, f"{path.suffix} audio needs ffmpeg, which is not installed (apt install ffmpeg)")
    samples, text, code = _run_ffmpeg(exe, path, max_duration_s)
    if code != 0:
        with open(path, "rb") as f:
            reason = _sniff(f.read(4096)) or f"ffmpeg: {_ffmpeg_reason(text, path)}"
        raise InputError(path, f"not a readable audio file ({reason})")
    inputs = text.split("Stream mapping:")[0]  # what ffmpeg says of the input, not of its own output
    stream = re.search(r"Audio: .*?(\d+) Hz(?:, ([^,\n]+))?", inputs)
    rate = int(stream.group(1)) if stream else SAMPLE_RATE
    tracks = len(re.findall(r"Stream #\d+:\d+.*?: Audio:", inputs))
    if tracks > 1 and container_is_sound:  # a guide track first, the actor's second: which one is the line?
        log.warning("%s: %d audio streams; the first is used (extract the one you mean: ffmpeg -i IN -map 0:a:1 "
                    "line.wav)", path, tracks)
    if stream:
        _check_rate(path, rate)
    if not np.all(np.isfinite(samples)):
        raise InputError(path, "audio data contains NaN or infinite samples")
    if container_is_sound and stream and stream.group(2) not in (None, "mono") and len(samples):
        samples = _uncancelled(exe, path, max_duration_s, samples)
    declared = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", text)
    offset = 0.0
    if len(samples) and declared and "Estimating duration from bitrate" not in text:  # a guess declares nothing
        h, m, s = declared.groups()
        declared_s = int(h) * 3600 + int(m) * 60 + float(s)
        got_s = len(samples) / SAMPLE_RATE
        if container_is_sound:
            # the container's duration is its longest stream's (a picture that outlasts the sound), counted
            # from the earliest stream's start: the sound's own start and length, where ffprobe tells them
            short = declared_s - got_s > max(TRUNCATED_S, CONTAINER_SLACK * declared_s)
            picture = re.search(r"Stream #\d+:\d+.*: Video: (?!.*attached pic)", inputs)
            sound = _probe_sound(exe, path) if short or picture else None
            if sound is not None:
                offset, own_s = sound
                if short:
                    declared_s = own_s if own_s is not None else declared_s - offset
            elif short and picture:
                declared_s = got_s  # no ffprobe to say the sound's own length: take it as it decodes
            _check_complete(path, got_s, declared_s, slack=CONTAINER_SLACK, warn=False)
        # ffmpeg leaves an AAC/Opus encoder's end padding on (up to ~60 ms, a frame or more of silence past the
        # line): cut back to the container's length, rounded up to the 10 ms ffmpeg prints it in
        keep = int(np.ceil((declared_s + 0.01) * SAMPLE_RATE))
        if keep < len(samples) <= keep + PADDING_S * SAMPLE_RATE:
            samples = samples[:keep]
    if offset > TRUNCATED_S:
        log.warning("%s: the sound starts %.2f s after the picture; the animation starts with the picture "
                    "(%.2f s of silence first)", path, offset, offset)
        samples = np.concatenate([np.zeros(int(round(offset * SAMPLE_RATE)), np.float32), samples])
    return samples, rate


def _ffprobe_exe(ffmpeg: str) -> str | None:
    """ffprobe beside the ffmpeg in use (the system's; imageio-ffmpeg bundles none)."""
    beside = Path(ffmpeg).with_name("ffprobe" + Path(ffmpeg).suffix)
    return str(beside) if beside.is_file() else shutil.which("ffprobe")


def _probe(ffmpeg: str, path: Path, entries: str, stream: str = "a:0") -> tuple[dict, dict] | None:
    """ffprobe's answer for the first audio stream (or `stream`): (its entries, the container's), or None without
    ffprobe or an answer from it."""
    probe = _ffprobe_exe(ffmpeg)
    if probe is None:
        return None
    try:
        done = subprocess.run([probe, "-v", "error", "-select_streams", stream, "-show_entries", entries, "-of", "json",
                               _ffmpeg_url(path)], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        found = json.loads(done.stdout or b"{}")
        return (found.get("streams") or [{}])[0], found.get("format") or {}
    except (OSError, subprocess.SubprocessError, ValueError, AttributeError):
        return None


def picture_seconds(path) -> float | None:
    """The first video stream's duration as its header says (a file cut short keeps its header), or None without
    ffprobe, an ffmpeg or an answer."""
    exe = ffmpeg_exe()
    found = _probe(exe, Path(path), "stream=duration", "v:0") if exe else None
    try:
        seconds = float(found[0].get("duration")) if found else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and np.isfinite(seconds) and seconds > 0 else None


def _probe_sound(ffmpeg: str, path: Path) -> tuple[float, float | None] | None:
    """(how long after the file's earliest stream the first audio stream starts, its own duration or None),
    or None without ffprobe or an answer from it."""
    found = _probe(ffmpeg, path, "stream=start_time,duration:format=start_time")
    if found is None:
        return None
    audio, container = found

    def seconds(value) -> float | None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if np.isfinite(number) else None

    start, first = seconds(audio.get("start_time")), seconds(container.get("start_time"))
    offset = max(0.0, start - first) if start is not None and first is not None else 0.0
    return offset, seconds(audio.get("duration"))


def _uncancelled(exe: str, path: Path, max_duration_s: float, mix: np.ndarray) -> np.ndarray:
    """ffmpeg's mono mix, or the loudest channel alone where the channels cancel in it. A mix that is not
    quiet (RMS above -30 dBFS) cannot have lost 20 dB of a line: no second decode for those."""
    if float(np.dot(mix, mix)) / len(mix) > 10 ** (-30 / 10):
        return mix
    found = _probe(exe, path, "stream=channels")
    count = found[0].get("channels") if found else None
    if not isinstance(count, int) or count < 2:
        return mix
    samples, _, code = _run_ffmpeg(exe, path, max_duration_s, channels=count)
    if code != 0 or len(samples) % count:
        return mix
    block = samples.reshape(-1, count)
    loudest = _cancelling_channels(path, float(np.dot(mix, mix)), np.einsum("ij,ij->j", block, block,
                                                                            dtype=np.float64))
    return mix if loudest is None else np.ascontiguousarray(block[:, loudest])


def _ffmpeg_reason(text: str, path: Path) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if any("matches no streams" in ln for ln in lines):
        return "no audio stream"
    last = lines[-1] if lines else "failed"
    last = re.sub(r"^\[[^]]*\]\s*", "", last)  # "[mov,mp4,... @ 0x55d0] moov atom not found"
    for name in (_ffmpeg_url(path), str(path)):
        last = last.removeprefix(f"{name}: ")
    return last.removeprefix("Error opening input: ").rstrip(".")


# --- shared checks ------------------------------------------------------------------------------------------

def _check_length(path: Path, seconds: float, max_duration_s: float) -> None:
    if seconds > max_duration_s:
        got, limit = _seconds(seconds, max_duration_s)
        raise InputError(path, f"audio is {got} s long, over the {limit} s limit")


def _seconds(got: float, limit: float) -> tuple[str, str]:
    """The limit as given, the length with as many decimals (2 to 6) as it takes to differ from it:
    "10.3 s long, over the 10 s limit", not "10 s ... 10 s"."""
    shown = f"{limit:.6f}".rstrip("0").rstrip(".")
    for places in range(2, 7):
        a = f"{got:.{places}f}".rstrip("0").rstrip(".")
        if a != shown:
            break
    return a, shown


def _check_rate(path: Path, rate: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InputError(path, f"sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")


CANCEL_DB = 20.0  # a mix this far below its channels' energy has lost the voice to channels in opposite phase


def _cancelling_channels(path: Path, mix_energy: float, channel_energy: np.ndarray) -> int | None:
    """The loudest channel's index where the mono mix lost most of the channels' energy (one channel
    polarity-inverted: a miswired cable or mic pair), else None. A warning says so."""
    if not len(channel_energy) or not channel_energy.max() > 0:
        return None
    if mix_energy >= channel_energy.mean() * 10 ** (-CANCEL_DB / 10):
        return None
    loudest = int(np.argmax(channel_energy))
    drop = 10 * np.log10(channel_energy.mean() / max(mix_energy, 1e-30))
    log.warning("%s: the channels cancel when mixed to mono (the mix is %.0f dB down: one in opposite phase?); "
                "using channel %d alone", path, min(drop, 99.0), loudest + 1)
    return loudest


def _check_complete(path: Path, got_s: float, declared_s: float, slack: float = 0.0, warn: bool = True,
                    warn_s: float = 0.005) -> None:
    """Refuse data that ends well before the header says (by TRUNCATED_S, or the fraction `slack` of the
    length if that is more); short by more than warn_s is a warning."""
    missing = declared_s - got_s
    if missing > max(TRUNCATED_S, slack * declared_s):
        raise InputError(path, f"audio data ends at {got_s:.2f} s but the header says {declared_s:.2f} s "
                               "(truncated file?)")
    if warn and missing > warn_s:
        log.warning("%s: audio data ends %.3f s before its header says; using what is there", path, missing)
