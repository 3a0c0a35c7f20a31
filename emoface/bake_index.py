"""What a batch bake has already made, so a re-run (after a crash, or after one line of the dialogue sheet
changed) bakes only what is missing or stale.

Each written output gets a line in `.emoface-bake.jsonl` in the output folder: its path and a key, the hash of
everything the file was made from: the audio's bytes, the emotion, the transcript, the bake settings (engine,
rig, format, fps, seed, post-processing), the model's bytes and emoface's own code; and what was written: the
file's size, modification time (ns) and SHA-256. A line is skipped when the index holds the same key for it and
its output is still that file: the same size and modification time (one stat, as cheap as checking it
exists), or, when only the time differs (a copy that did not keep times), the same SHA-256. A truncated,
edited or replaced output is baked again, and so is any change to the inputs. An entry without the file's
figures (an index written by an earlier emoface, which recorded only the key) proves nothing about the file: that
line is baked again (its key was made by other code anyway, so it would not have matched). The index is
appended to (one JSON object per line, flushed as each output lands), so a crash loses at most the line
being written, and a torn last line is ignored. A bake that finds it holding more than twice as many lines as
outputs (plus COMPACT_ABOVE) rewrites it with each output's last line, only when no other bake runs into the folder
(each holds LOCK_NAME shared; compacting takes it exclusively). A line records the audio only when the audio file
is the same before its key was made and after it was baked (file_stamp): a file rewritten mid-bake is baked again
on the next run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from functools import lru_cache
from pathlib import Path

import numpy as np

from emoface.batch import Auto

log = logging.getLogger("emoface")

INDEX_NAME = ".emoface-bake.jsonl"
LOCK_NAME = ".emoface-bake.lock"  # every bake holds it shared; compacting the index needs it alone
COMPACT_ABOVE = 64  # the index is compacted when it holds more than twice its outputs' lines and this many more


def file_stamp(path: Path) -> tuple | None:
    """What the file system says of a file's identity: (device, inode, size, mtime_ns, ctime_ns). Taken before its
    bytes are hashed for a line's key and again once the line is baked: any write in between (a voice-over tool
    re-exporting the take mid-bake) changes it, and the key would not describe the bytes the bake read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=8)
def _cached_digest(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(Path(path))


def _digest_once(path: Path) -> str:
    """A model or rig file's digest, hashed once per process (keyed by size and modification time)."""
    st = path.stat()
    return _cached_digest(str(path.resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """emoface's own code and built-in rigs: a new version of the pipeline re-bakes (its output may differ)."""
    from importlib import resources

    h = hashlib.sha256()
    roots = (("code", Path(__file__).resolve().parent), ("rigs", Path(str(resources.files("emoface._rigs")))))
    for name, root in roots:
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".json") and p.is_file()):
            h.update(f"{name}/{path.relative_to(root)}".encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def settings_of(animator, fmt) -> dict:
    """Everything besides the line itself that decides a bake's bytes."""
    from emoface.model.checkpoints import DEFAULT

    out = {"format": fmt.NAME, "engine": animator.engine, "rig": animator.rig, "fps": animator.fps,
           "seed": animator.seed, "blinks": animator.blinks, "gaze": animator.gaze, "head": animator.head,
           "accents": animator.accents, "smooth": animator.smooth, "recognizer": animator.recognizer,
           "speech_encoder": animator.speech_encoder, "code": code_digest()}
    if animator.engine == "neural":
        out["model"] = _digest_once(Path(str(animator.checkpoint or DEFAULT)))
    if Path(str(animator.rig)).suffix == ".json" and Path(str(animator.rig)).is_file():
        out["rig_file"] = _digest_once(Path(animator.rig))
    return out


def line_key(audio: Path, emotion, text: str | None, settings: dict, articulation: float = 1.0) -> str:
    """The key of one line: its audio bytes, emotion (a track's keyframes, or batch.Auto), transcript, settings,
    articulation (only when not 1: the keys of lines baked before it existed stay theirs)."""
    if isinstance(emotion, Auto):  # recognised from the audio by the shipped recogniser
        from importlib import resources

        from emoface.emotion.recognize import SER_NAME

        feeling = {"auto": _digest_once(Path(str(resources.files("emoface._checkpoints") / SER_NAME)))}
        if emotion.intensity != 1.0:  # the key of a line baked before intensity scaled auto stays its own
            feeling["intensity"] = round(float(emotion.intensity), 6)
    elif emotion is None:
        feeling = None
    else:
        feeling = {"times": np.asarray(emotion.times, np.float64).round(6).tolist(),
                   "vectors": np.asarray(emotion.vectors, np.float64).round(6).tolist(),
                   "transition": round(float(emotion.transition), 6)}
    line = {"audio": file_digest(audio), "emotion": feeling, "text": text, "settings": settings}
    if articulation != 1.0:
        line["articulation"] = round(float(articulation), 6)
    blob = json.dumps(line, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class BakeIndex:
    """The index of one output folder: which outputs exist, made from which key."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / INDEX_NAME
        self.keys: dict[str, str] = {}
        self.files: dict[str, tuple[int, int, str] | None] = {}  # output -> (size, mtime_ns, sha256) written
        self._torn = False  # the last line was cut short: the next record starts on a line of its own
        self.unwritable = False  # said once: the index could not be written
        self._lock = None  # a shared lock on LOCK_NAME, held while this bake runs: no one compacts under it
        if self.path.is_file():
            alone = self._take_lock()
            text = self.path.read_text(encoding="utf-8", errors="replace")
            self._torn = bool(text) and not text.endswith("\n")
            lines, last = 0, {}
            for raw in text.splitlines():
                try:
                    entry = json.loads(raw)
                    name, key = str(entry["out"]), str(entry["key"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn line from a crash, or someone's edit: that output is simply redone
                self.keys[name] = key
                self.files[name] = _made(entry)
                lines, last[name] = lines + 1, raw
            if alone and lines > 2 * len(last) + COMPACT_ABOVE:
                self._compact(last)
            if alone:
                _flock(self._lock, "LOCK_SH")  # from now on, others may read and append beside this bake

    def _take_lock(self) -> bool:
        """Holds LOCK_NAME shared for this bake; True when no other bake held it (it was taken exclusively, and
        the index may be compacted)."""
        try:
            self._lock = open(self.path.parent / LOCK_NAME, "a+b")  # noqa: SIM115 - held for the bake's life
        except OSError:  # a read-only folder: nothing will be compacted (nor recorded)
            return False
        if _flock(self._lock, "LOCK_EX", wait=False):
            return True
        _flock(self._lock, "LOCK_SH")  # another bake runs (or compacts, for a moment)
        return False

    def _compact(self, last: dict[str, str]) -> None:
        """Rewrites the index with each output's last line only (an index appended to by --force and concurrent
        bakes grows for ever, and is read whole at every start): a new file renamed over the old one."""
        from emoface.errors import EmofaceError
        from emoface.formats import atomic_output

        try:
            with atomic_output(self.path, what="the bake index") as tmp:
                Path(tmp).write_text("".join(raw + "\n" for raw in last.values()), encoding="utf-8")
            self._torn = False
        except EmofaceError as exc:  # only the index's size is lost
            log.debug("index not compacted: %s", exc)

    def _name(self, out: Path) -> str:
        return str(Path(out).resolve().relative_to(self.path.parent.resolve()))

    def done(self, out: Path, key: str) -> bool:
        """The output was made from this key and is still the file that was written then."""
        try:
            name = self._name(out)
        except ValueError:  # an output outside the folder (a manifest's absolute path is refused earlier)
            return False
        made = self.files.get(name)
        if self.keys.get(name) != key or made is None:
            return False
        try:
            st = os.stat(out)
        except OSError:
            return False
        size, mtime_ns, sha256 = made
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return False
        if st.st_mtime_ns == mtime_ns:
            return True
        try:
            return file_digest(Path(out)) == sha256  # touched or copied: still the same bytes?
        except OSError:
            return False

    def record(self, out: Path, key: str) -> None:
        """Notes that `out` was just written from `key` (with its size, time and hash, for done())."""
        name = self._name(out)
        try:
            st = os.stat(out)
            made = (st.st_size, st.st_mtime_ns, file_digest(Path(out)))
        except OSError:  # gone already: nothing to record, the next run bakes it again
            return
        self.keys[name], self.files[name] = key, made
        entry = {"out": name, "key": key, "size": made[0], "mtime_ns": made[1], "sha256": made[2]}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(("\n" if self._torn else "") + json.dumps(entry) + "\n")
        except OSError as exc:  # a full disk, a folder in its place: the bake goes on; only resuming is lost
            if not self.unwritable:
                log.warning("%s: cannot record the bake (%s): the lines are baked, but a re-run will bake them "
                            "again", self.path, exc.strerror or exc)
            self.unwritable = True
            return
        self._torn = False


def _flock(f, how: str, wait: bool = True) -> bool:
    """fcntl.flock(f, how); False where it is refused (held by another) or not supported (Windows, a file system
    without locks: then an index is never compacted)."""
    try:
        import fcntl

        fcntl.flock(f.fileno(), getattr(fcntl, how) | (0 if wait else fcntl.LOCK_NB))
        return True
    except (ImportError, OSError):
        return False


def _made(entry: dict) -> tuple[int, int, str] | None:
    """(size, mtime_ns, sha256) an index entry records of its output, or None (an older index's entry, or
    fields someone edited into nonsense): then the output cannot be checked and is baked again."""
    size, mtime_ns, sha256 = entry.get("size"), entry.get("mtime_ns"), entry.get("sha256")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (size, mtime_ns)) \
            or not isinstance(sha256, str):
        return None
    return size, mtime_ns, sha256
