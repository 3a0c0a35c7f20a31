"""When long work shows a progress bar: only to a person watching a terminal, never into a log."""

from __future__ import annotations

import sys


def show_progress(wanted: bool = True) -> bool:
    """True when a bar was asked for and stderr (where tqdm draws) is a terminal: redirected to a file or a
    pipe, a bar's carriage-return redraws would fill the log, so the summary lines are all that is written."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(wanted and isatty is not None and isatty())


def bar(items, show: bool, **options):
    """items under a tqdm bar when one is shown, else items themselves: tqdm's import (30-60 ms, through
    importlib.metadata) is a tenth of a short line's bake."""
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, **options)


def say(line: str) -> None:
    """An error line on stderr, above a bar if one is drawn (tqdm.write), else plainly."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr)
