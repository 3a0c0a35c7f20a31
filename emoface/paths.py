"""Where outputs may go: every path a user's file names (a manifest's `out`) stays inside the output folder.

A dialogue sheet is data, often written by someone else: `out=../../victim.txt` or an absolute path must not
write, let alone replace, a file outside `-o`. All output paths built from user data go through inside().
"""

from __future__ import annotations

import os
from pathlib import Path

from emoface.errors import InputError


def inside(base: Path, relative: str, source: str) -> Path:
    """base / relative, refused (InputError naming source) unless it resolves inside base.

    Resolution follows symlinks that exist already, so a link inside the folder cannot point the write out."""
    rel = Path(relative)
    if rel.is_absolute() or rel.drive or rel.root:
        raise InputError(source, f"output {relative!r} is an absolute path; outputs go inside the output folder")
    target = base / rel
    root = os.path.realpath(base)
    if os.path.commonpath([root, os.path.realpath(target)]) != root or os.path.realpath(target) == root:
        raise InputError(source, f"output {relative!r} leaves the output folder {base}")
    return target
