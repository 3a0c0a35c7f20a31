"""Errors a user can act on: each carries the input it concerns and one line saying what is wrong."""


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


def need_torch(what: str):
    """torch, for what needs it (training, the emotion recogniser, backbones); bakes, previews and live links run
    without it. Not installed: one line naming the extra that brings it."""
    try:
        import torch
    except ImportError:
        raise InputError(what, "needs torch, which this installation leaves out: pip install 'emoface[train]' "
                               "(or -e \".[train]\" in a checkout)") from None
    return torch
