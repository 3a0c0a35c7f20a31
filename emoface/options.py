"""Command-line option types shared by every command: a bad value is one line naming the option, exit 2.

argparse calls these with the option's text; an ArgumentTypeError becomes `emoface: error: argument --fps: ...`
(OneLineParser), so NaN, infinities, negative seeds and zero frame rates never reach the pipeline.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are the one line every other emoface error is (no usage block)."""

    def error(self, message):
        self.exit(2, f"emoface: error: {message} (see `{self.prog} --help`)\n")


def number(lo: float | None = None, hi: float | None = None, *, integer: bool = False, open_lo: bool = False):
    """A finite number in [lo, hi] (or (lo, hi] with open_lo)."""

    def parse(text: str):
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if integer else 'a number'}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if lo is not None and (value <= lo if open_lo else value < lo):
            raise argparse.ArgumentTypeError(f"{text} must be {'above' if open_lo else 'at least'} {lo:g}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"{text} must be at most {hi:g}")
        return value

    parse.__name__ = "integer" if integer else "number"  # argparse names the type in some messages
    return parse


class OutputPath(type(Path())):
    """-o's path, remembering a trailing slash: `-o takes_v1.2/` names a folder even before it exists."""

    slash = False


def output(text: str) -> Path:
    """-o: a file or folder. Empty or blank (`-o "$UNSET_VAR"`) would write into the current folder unnoticed,
    so it is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the output path is empty: name a file or folder")
    path = OutputPath(text)
    path.slash = text.endswith(("/", os.sep))
    return path


FPS = number(1, 240)
INTENSITY = number(0, 1)
ARTICULATION = number(0, 2)  # emoface.articulation's range
SEED = number(0, 2 ** 63 - 1, integer=True)
DURATION = number(0, None, open_lo=True)
PORT = number(0, 65535, integer=True)
COUNT = number(1, 10000, integer=True)
STEPS = number(1, integer=True)  # training steps (emoface train, python -m emoface.train)
LEARNING_RATE = number(0, 1, open_lo=True)


def quiet_broken_pipe() -> None:
    """`emoface rigs show arkit | head`: the reader left; stop writing without a traceback."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
