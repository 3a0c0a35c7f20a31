"""Output formats: one module each, registered here by name and file suffix.

A format module has NAME, SUFFIX, RIG (the rig it requires, or None), write(anim, path[, options]) and read(path);
CARRIES when what the file holds differs from the rig it takes (glb: canonical curves in, ARKit morph targets out).
Files are written to a temporary name and renamed into place, so a failure leaves no partial file.
"""

from __future__ import annotations

import os
import tempfile
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
        raise InputError(path, f"cannot write {what}: {folder} may not be written (permission denied)")


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
        os.close(fd)
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the output is an ordinary file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        check_writable(path, what)  # says which: a file where a folder should be ("File exists" did not)
        raise InputError(path, f"cannot write {what} ({exc.strerror or exc})") from None


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
