"""Reading a user's JSON file (rig profile, emotion track) with one clear error line when it is unusable."""

from __future__ import annotations

import json
from pathlib import Path

from emoface.errors import InputError


def read_json(path, what: str):
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"{what} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise InputError(path, f"{what} is not UTF-8 text") from None
    except RecursionError:  # [[[[...]]]] 100k deep: the parser gives up before the file is wrong
        raise InputError(path, f"{what} is nested too deeply to be one") from None
    except ValueError as exc:  # an integer of thousands of digits: Python's own limit, not a JSON error
        raise InputError(path, f"{what} has a number too long to read ({str(exc).split(';')[0]})") from None
