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
    with atomic_output(path) as tmp:
        fmt.write(anim, tmp, **options)
    return Path(path)


@contextmanager
def atomic_output(path, suffix: str = ".part"):
    """A temporary path beside `path`, renamed onto it when the block succeeds and removed when it fails:
    every file emoface writes (bakes, plots, videos) appears whole or not at all. `suffix` for writers that
    pick their format from it (ffmpeg)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the output is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read(path, fmt: str | None = None):
    name = fmt or for_suffix(path)
    if name is None:
        raise ValueError(f"{path}: cannot tell the format from the suffix")
    return get(name).read(path)
