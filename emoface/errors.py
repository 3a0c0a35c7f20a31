"""Errors a user can act on: each carries the input it concerns and one line saying what is wrong."""

import os


class EmofaceError(Exception):
    """Base class; str() is the single line the CLI prints."""


class InputError(EmofaceError):
    """A bad input (audio, transcript, emotion, rig file, manifest row)."""

    def __init__(self, source, problem: str):
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


def from_os(exc: OSError, source=None) -> InputError:
    """An OSError about a path (a name too long for the file system, a folder that may not be entered) as the one
    line a user reads, naming that path: pathlib's exists() and is_dir() raise all but 'not found'."""
    return InputError(source if source is not None else exc.filename, exc.strerror or str(exc))


def missing_file(path, what: str) -> InputError:
    """A path that is not a readable file: a folder given for a file says so, rather than 'not found'."""
    try:
        folder = os.path.isdir(path)
    except (OSError, ValueError):
        folder = False
    return InputError(path, f"is a folder; the {what.removesuffix(' file')} must be a file" if folder
                      else f"{what} not found")


def need_torch(what: str):
    """torch, for what needs it (training, the emotion recogniser, backbones); bakes, previews and live links run
    without it. Not installed: one line naming the extra that brings it."""
    try:
        import torch
    except ImportError:
        raise InputError(what, "needs torch, which this installation leaves out: pip install 'emoface[train]' "
                               "(or -e \".[train]\" in a checkout)") from None
    return torch
