"""Command line for previews: `emoface render` and `emoface plot`."""

from __future__ import annotations


def add_parsers(sub) -> None:
    from emoface.render import plot

    plot.add_parser(sub)
