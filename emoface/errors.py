"""Errors a user can act on: each carries the input it concerns and one line saying what is wrong."""


class EmofaceError(Exception):
    """Base class; str() is the single line the CLI prints."""


class InputError(EmofaceError):
    """A bad input (audio, transcript, emotion, rig file, manifest row)."""

    def __init__(self, source, problem: str):
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


def need_torch(what: str):
    """torch, for what needs it (training, the emotion recogniser, backbones); bakes, previews and live links run
    without it. Not installed: one line naming the extra that brings it."""
    try:
        import torch
    except ImportError:
        raise InputError(what, "needs torch, which this installation leaves out: pip install 'emoface[train]' "
                               "(or -e \".[train]\" in a checkout)") from None
    return torch
