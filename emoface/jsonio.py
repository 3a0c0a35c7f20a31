"""Reading a user's JSON file (rig profile, emotion track) with one clear error line when it is unusable."""

from __future__ import annotations

import json
from pathlib import Path

from emoface.errors import InputError, missing_file


class _Repeated(ValueError):
    pass


def _no_repeats(pairs):
    """An object whose key appears twice (a copy-pasted curve) is refused: json would keep the last in silence."""
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Repeated(key)
        seen[key] = value
    return seen


def read_json(path, what: str):
    path = Path(path)
    if not path.is_file():
        raise missing_file(path, what)
    try:  # utf-8-sig: Notepad and Excel save JSON with a byte-order mark, as they save sheets and transcripts
        return json.loads(path.read_text(encoding="utf-8-sig"), object_pairs_hook=_no_repeats)
    except _Repeated as exc:
        raise InputError(path, f"{what} gives {str(exc)[:60]!r} twice in one object: keep one") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"{what} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise InputError(path, f"{what} is not UTF-8 text") from None
    except RecursionError:  # [[[[...]]]] 100k deep: the parser gives up before the file is wrong
        raise InputError(path, f"{what} is nested too deeply to be one") from None
    except ValueError as exc:  # an integer of thousands of digits: Python's own limit, not a JSON error
        raise InputError(path, f"{what} has a number too long to read ({str(exc).split(';')[0]})") from None
