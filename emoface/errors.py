"""Errors a user can act on: each carries the input it concerns and one line saying what is wrong."""


class EmofaceError(Exception):
    """Base class; str() is the single line the CLI prints."""


class InputError(EmofaceError):
    """A bad input (audio, transcript, emotion, rig file, manifest row)."""

    def __init__(self, source, problem: str):
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")
