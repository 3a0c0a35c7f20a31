"""When long work shows a progress bar: only to a person watching a terminal, never into a log."""

from __future__ import annotations

import sys


def show_progress(wanted: bool = True) -> bool:
    """True when a bar was asked for and stderr (where tqdm draws) is a terminal: redirected to a file or a
    pipe, a bar's carriage-return redraws would fill the log, so the summary lines are all that is written."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(wanted and isatty is not None and isatty())
