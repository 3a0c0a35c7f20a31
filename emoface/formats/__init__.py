"""Output formats: one module each, registered here by name and file suffix.

A format module has NAME, SUFFIX, RIG (the rig it requires, or None), write(anim, path[, options]) and read(path);
CARRIES when what the file holds differs from the rig it takes (glb: canonical curves in, ARKit morph targets out).
Files are written to a temporary name and renamed into place, so a failure leaves no partial file.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from emoface.errors import InputError
from emoface.formats import emoface_txt, glb, json_format, livelink_csv, npz_format, rhubarb_tsv, visemes_json

FORMATS = {m.NAME: m for m in (emoface_txt, livelink_csv, json_format, npz_format, glb, visemes_json, rhubarb_tsv)}
DEFAULT_FORMAT = "json"


def get(name: str):
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r} (choose from {', '.join(FORMATS)})")
    return FORMATS[name]


def for_suffix(path) -> str | None:
    """The format whose suffix ends the name; the longest wins (line.visemes.json is visemes, not json)."""
    name = Path(path).name.lower()
    found = [(len(m.SUFFIX), n) for n, m in FORMATS.items() if name.endswith(m.SUFFIX) and len(name) > len(m.SUFFIX)]
    return max(found)[1] if found else None


def write_atomic(fmt, anim, path, **options) -> Path:
    """Write through a temporary file; options (such as glb's mesh=) go to fmt.write."""
    if fmt.RIG and anim.rig != fmt.RIG:
        raise ValueError(f"{fmt.NAME} holds the {fmt.RIG} rig only (got {anim.rig})")
    check_fps(fmt, anim.fps, path)
    with atomic_output(path) as tmp:
        fmt.write(anim, tmp, **options)
    return Path(path)


def check_fps(fmt, fps: float, what) -> None:
    """A format whose frame labels cannot count past a rate (Live Link CSV's two-digit FF) refuses a faster one."""
    limit = getattr(fmt, "MAX_FPS", None)
    if limit is not None and fps > limit:
        raise InputError(what, f"{fmt.NAME} holds at most {limit:g} fps ({fmt.MAX_FPS_WHY}), not {fps:g}: "
                               f"--fps {limit:g} or lower, or json/npz")


def check_writable(path, what: str = "the output") -> None:
    """Before the work (a render, minutes of tracking or training): one InputError if `path` cannot be written, as
    a folder of that name, a file where one of its folders should be, or a folder this user may not write in."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, f"cannot write {what}: a folder has that name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(path, f"cannot write {what}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        if _read_only(folder):  # os.access says no for a read-only disk too: not a matter of permission
            raise InputError(path, f"cannot write {what}: {folder} is on a read-only file system")
        raise InputError(path, f"cannot write {what}: {folder} may not be written (permission denied)")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


class OutputError(InputError):
    """An output that could not be written, with the OS's errno (a batch stops when its folder keeps failing)."""

    def __init__(self, source, problem: str, errno_: int | None = None):
        super().__init__(source, problem)
        self.errno = errno_


@contextmanager
def atomic_output(path, suffix: str = ".part", what: str = "the output"):
    """A temporary path beside `path`, renamed onto it when the block succeeds and removed when it fails:
    every file emoface writes (bakes, plots, videos, checkpoints) appears whole or not at all, and an OSError
    on the way (a full or read-only disk, a folder in its place, a name too long) is one InputError naming `path`
    and `what` it is. `suffix` for writers that pick their format from it (ffmpeg)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path, suffix), suffix=suffix, dir=path.parent)
        if not _lock(fd):  # held while the file is written: a later run's sweep knows a live writer's file
            os.close(fd)
            fd = None
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the output is an ordinary file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            if fd is not None:
                os.close(fd)
    except OSError as exc:
        problem = f"cannot write {what} ({exc.strerror or exc})"  # the OS's reason (Read-only file system)
        if exc.errno in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM):
            try:
                check_writable(path, what)  # says which: a file where a folder should be ("File exists" did not)
            except InputError as said:
                problem = said.problem
        raise OutputError(path, problem, exc.errno) from None


TEMP_RANDOM = 8  # characters mkstemp puts between the prefix and the suffix


def temporary_prefix(path, suffix: str = ".part") -> str:
    """atomic_output's mkstemp prefix for `path`: `.NAME.`, NAME cut short (whole characters) where the
    temporary name (prefix, TEMP_RANDOM random characters, suffix) would pass the folder's file name limit, so
    every name the output itself may have can be written; mkstemp's random part keeps cut names apart."""
    path = Path(path)
    try:
        limit = min(255, os.pathconf(path.parent, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or the file system will not say
        limit = 255
    room = limit - len(os.fsencode(suffix)) - TEMP_RANDOM - 2
    name = path.name
    while name and len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}."


def temporary_files(path, suffix: str = ".part") -> list[Path]:
    """The temporary files atomic_output may have left beside `path` (a writer killed mid-write)."""
    path = Path(path)
    prefix = temporary_prefix(path, suffix)
    size = len(prefix) + TEMP_RANDOM + len(suffix)
    try:
        return [p for p in path.parent.iterdir()
                if p.name.startswith(prefix) and p.name.endswith(suffix) and len(p.name) == size]
    except OSError:
        return []


STALE_AFTER_S = 10  # a temporary file untouched this long, its writer's lock gone, was left by a killed writer


def _lock(fd: int) -> bool:
    """An exclusive lock on a temporary file being written, gone when its writer is (kill -9 included)."""
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except (ImportError, OSError):  # Windows; a file system without locks: the file is written unlocked
        return False


def remove_stale_temporaries(outputs, suffix: str = ".part") -> int:
    """Remove the temporary files that atomic_output left beside any of `outputs` when its writer was killed
    (kill -9, a lost machine): those whose lock no one holds and that nobody wrote to for STALE_AFTER_S. A
    writer that is alive holds its lock (another bake into the same folder, a Ray worker on another machine
    of a shared file system that locks); the age spares a file on storage without working locks, and one just
    made. Each folder is listed once; only names atomic_output gives `outputs` are considered. Returns how many
    were removed."""
    try:
        import fcntl
    except ImportError:  # Windows: its writers cannot be told apart from dead ones
        return 0
    prefixes: dict[Path, set[str]] = {}
    for out in outputs:
        out = Path(out)
        prefixes.setdefault(out.parent, set()).add(temporary_prefix(out, suffix))
    removed, now = 0, time.time()
    for folder, ours in prefixes.items():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.endswith(suffix) or name[:len(name) - len(suffix) - TEMP_RANDOM] not in ours:
                continue
            leftover = folder / name
            try:
                fd = os.open(leftover, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))  # NFS locks need it writable
            except OSError:
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < STALE_AFTER_S:
                    continue
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError: a live writer holds it
                leftover.unlink()
                removed += 1
            except OSError:
                continue
            finally:
                os.close(fd)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read(path, fmt: str | None = None):
    """A baked file -> Animation, checked (checked_read): every command reading animation files gets one
    InputError naming the file and the field for a frame rate or frames nothing could play."""
    name = fmt or for_suffix(path)
    if name is None:
        raise ValueError(f"{path}: cannot tell the format from the suffix")
    return checked_read(get(name).read(path), path)


def checked_read(anim, path):
    """What a reader gave, refused unless it is an animation: fps a number bake --fps accepts (1-240: the
    same FPS option type), at least one frame, every value finite. A hand-edited or foreign file otherwise
    divides by zero in a plot, or reaches ffmpeg as an empty or minutes-per-frame video. fps comes back a float."""
    import argparse

    import numpy as np

    from emoface.errors import InputError
    from emoface.options import FPS

    fps = anim.fps
    if isinstance(fps, np.ndarray) and fps.shape == ():  # an npz scalar
        fps = fps.item()
    valid = isinstance(fps, (int, float, np.integer, np.floating)) and not isinstance(fps, (bool, np.bool_))
    if valid:
        try:
            FPS(repr(float(fps)))
        except argparse.ArgumentTypeError:
            valid = False
    if not valid:
        raise InputError(path, f"fps must be a number in 1-240, got {show(fps)}")
    if anim.n_frames == 0:
        raise InputError(path, "has no frames")
    finite = np.isfinite(anim.values)
    if not finite.all():
        frame, curve = np.argwhere(~finite)[0]
        raise InputError(path, f"frame {frame}, curve {anim.names[curve]} is {show(anim.values[frame, curve])}, "
                               "not a finite number")
    anim.fps = float(fps)
    return anim


def show(value) -> str:
    """A field's value as the file has it, for an error line (null, "abc", 0, nan), cut to 40 characters."""
    import json

    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        text = f"{value:g}"
    elif value is None or isinstance(value, (bool, str, list, dict)):
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    else:
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
